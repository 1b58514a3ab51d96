/**
 * The owner-death suite (test/conformance/owner-death-suite.ts) over every lock that recovers
 * from a dead holder: Mutex, SpinLock, TicketLock (API.md, "Exclusive locks"), RWLock's write
 * side through its methods and through its `writer` view, SeqLock's writers' lock (`write`), and
 * a one-permit Semaphore with trackOwners (docs/robustness.md), and the LockManager's X on one
 * path (a dead owner's locks are freed, but nothing reports it: it runs with "no flag"). Not
 * here: RWLock's read side (dead readers: test/robust/rw-owner-death.test.ts).
 *
 * The per-primitive owner-death files stay: they also cover what this suite does not (events,
 * nested workers, a worker exiting on its own, upgradable holders, dead readers, the semaphore
 * without trackOwners, latencies per acquisition style).
 */
import { LockManager, Mutex, SeqLock, SpinLock, TicketLock, TimeoutError, type WaitOptions } from '../../dist/index.js';
import { OnePermitSemaphore, REMOTE_ADAPTERS, RWLockWriterView, RWLockWriteSide } from '../conformance/adapters.js';
import { LOCK_MANAGER_PATH } from '../conformance/remote-adapters.mjs';
import { lockTarget, NOT_TAKEN, ownerDeathSuite, type DeathSubject, type DeathTarget } from '../conformance/owner-death-suite.js';

const remote = (kind: string) => ({ adapters: REMOTE_ADAPTERS, kind });

/** SeqLock's writers' lock: scoped (`writeAsync`), no try, repaired inside a write. */
function seqTarget(sl: SeqLock): DeathTarget {
  return {
    name: sl.name,
    handle: sl.handle,
    get ownerDied() {
      return sl.ownerDied;
    },
    holdAsync: <T>(fn: (g: boolean | undefined) => T, options?: WaitOptions) => sl.writeAsync(() => fn(undefined), options),
    markConsistent: () => sl.markConsistent(),
  };
}

/** The LockManager's X on one path: no flag, no repair; a timed try is a timed acquire. */
function managerTarget(lm: LockManager): DeathTarget {
  return {
    name: lm.name,
    handle: lm.handle,
    ownerDied: false,
    holdAsync: async <T>(fn: (g: boolean | undefined) => T, options?: WaitOptions) => {
      const h = await lm.acquireAsync(LOCK_MANAGER_PATH, 'X', options);
      try {
        return fn(undefined);
      } finally {
        lm.release(h);
      }
    },
    tryHold<T>(ms: number | undefined, fn: () => T): T | typeof NOT_TAKEN {
      let h;
      if (ms === undefined) h = lm.tryAcquire(LOCK_MANAGER_PATH, 'X');
      else {
        try {
          h = lm.acquire(LOCK_MANAGER_PATH, 'X', { timeout: ms });
        } catch (e) {
          if (e instanceof TimeoutError) return NOT_TAKEN;
          throw e;
        }
      }
      if (h === null) return NOT_TAKEN;
      try {
        return fn();
      } finally {
        lm.release(h);
      }
    },
  };
}

const NO_GUARD_FLAG = "its guard does not carry ownerDied (the lock's own flag is checked)";

const SUBJECTS: DeathSubject[] = [
  ...([['Mutex', Mutex], ['SpinLock', SpinLock], ['TicketLock', TicketLock]] as const).map(
    ([kind, L]): DeathSubject => ({ kind, make: (name) => lockTarget(new L({ name }), true), remote: remote(kind) }),
  ),
  {
    kind: 'RWLock:write',
    make: (name) => lockTarget(new RWLockWriteSide({ name }), true),
    remote: remote('RWLock:write'),
    lacks: { guardFlag: NO_GUARD_FLAG },
  },
  {
    kind: 'RWLock.writer',
    make: (name) => lockTarget(new RWLockWriterView({ name }), true),
    remote: remote('RWLock.writer'),
    lacks: { guardFlag: NO_GUARD_FLAG },
  },
  {
    kind: 'SeqLock:write',
    make: (name) => seqTarget(new SeqLock({ name, dataByteLength: 8 })),
    remote: remote('SeqLock:write'),
    lacks: { tryHold: 'SeqLock has no try-write', guardFlag: 'write(fn) has no guard' },
  },
  {
    kind: 'Semaphore(1)',
    make: (name) => lockTarget(new OnePermitSemaphore({ name }), false),
    remote: remote('Semaphore(1)'),
    lacks: { repair: 'a Semaphore has no markConsistent(): ownerDied is never cleared (semaphore.ts)', guardFlag: NO_GUARD_FLAG },
  },
  {
    kind: 'LockManager:X',
    make: (name) => managerTarget(new LockManager({ name, capacity: 64 })),
    remote: remote('LockManager:X'),
    lacks: {
      flag: "the LockManager frees a dead owner's locks (lock-manager.ts, owners.ts) but has no ownerDied",
      repair: 'nothing to repair: no flag',
      guardFlag: 'a ResourceLock has no ownerDied',
    },
  },
];

for (const s of SUBJECTS) ownerDeathSuite(s);
