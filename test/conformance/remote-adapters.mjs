/**
 * Worker-side adapters for the conformance suites (test/harness/remote-worker.mjs loads them):
 * `adapters[kind](handle, lib)` presents one lock, or one side of a lock, as the exclusive-lock
 * protocol the remote thread drives (`lock`, `unlock`, `tryLock(ms?)`, `lockAsync(opts?)`,
 * `isLocked`, `ownerDied`), and names the library object it drives as `target` (for `info()`).
 * A scoped lock (SeqLock's write side) supplies `hold(fn)` instead of lock/unlock. The main-thread
 * side of each adapter is in adapters.ts, under the same kind.
 */
import { adapters as exclusive } from '../harness/adapters.mjs';

/** Plain object over `target`: the protocol plus live `name`/`ownerDied` reads. */
function lockable(target, methods) {
  return Object.defineProperties(
    { target, byteOffset: target.byteOffset, handle: target.handle, ...methods },
    {
      name: { get: () => target.name },
      ownerDied: { get: () => target.ownerDied },
    },
  );
}

export const adapters = {
  ...exclusive,
  // RWLock's write side, through the RWLock's own methods.
  'RWLock:write': (h, lib) => {
    const rw = lib.RWLock.from(h);
    return lockable(rw, {
      lock: () => rw.writeLock(),
      unlock: () => rw.writeUnlock(),
      tryLock: (ms) => rw.tryWriteLock(ms),
      lockAsync: (o) => rw.writeLockAsync(o),
      isLocked: () => rw.isWriteLocked(),
    });
  },
  // RWLock's `writer` view (a Lockable), used as it is.
  'RWLock.writer': (h, lib) => {
    const rw = lib.RWLock.from(h);
    const w = rw.writer;
    return lockable(rw, {
      lock: () => w.lock(),
      unlock: () => w.unlock(),
      tryLock: (ms) => w.tryLock(ms),
      lockAsync: (o) => w.lockAsync(o),
      isLocked: () => w.isLocked(),
    });
  },
  // RWLock's read side (shared-suite.ts), through the RWLock's methods and through `reader`.
  'RWLock:read': (h, lib) => {
    const rw = lib.RWLock.from(h);
    return lockable(rw, {
      lock: () => rw.readLock(),
      unlock: () => rw.readUnlock(),
      tryLock: (ms) => rw.tryReadLock(ms),
      lockAsync: (o) => rw.readLockAsync(o),
      isLocked: () => rw.isLocked(),
    });
  },
  'RWLock.reader': (h, lib) => {
    const rw = lib.RWLock.from(h);
    const r = rw.reader;
    return lockable(rw, {
      lock: () => r.lock(),
      unlock: () => r.unlock(),
      tryLock: (ms) => r.tryLock(ms),
      lockAsync: (o) => r.lockAsync(o),
      isLocked: () => r.isLocked(),
    });
  },
  // A one-permit Semaphore created with trackOwners (main side: adapters.ts OnePermitSemaphore).
  'Semaphore(1)': (h, lib) => {
    const sem = lib.Semaphore.from(h);
    return lockable(sem, {
      lock: () => sem.acquire(),
      unlock: () => sem.release(),
      tryLock: (ms) => sem.tryAcquire(1, ms),
      lockAsync: (o) => sem.acquireAsync(1, o),
      isLocked: () => sem.available() === 0,
    });
  },
  // SeqLock's writers' lock: only scoped (`write(fn)`), so `hold` instead of lock/unlock.
  'SeqLock:write': (h, lib) => {
    const s = lib.SeqLock.from(h);
    return lockable(s, {
      hold: (fn) => s.write(() => fn()),
      isLocked: () => s.isWriting(),
    });
  },
  // The LockManager's X on one path (abort-timeout-suite.ts): lock/unlock over one handle.
  'LockManager:X': (h, lib) => {
    const lm = lib.LockManager.from(h);
    let held = null;
    return lockable(lm, {
      lock: () => {
        held = lm.acquire(LOCK_MANAGER_PATH, 'X');
      },
      unlock: () => {
        lm.release(held);
        held = null;
      },
      isLocked: () => held !== null,
    });
  },
};

/** The one path the LockManager adapters lock (main side: adapters.ts). */
export const LOCK_MANAGER_PATH = ['suite', 'resource', 1];
