// An async acquisition records its hold (RWLock owner words and read slots, Semaphore permit
// slots) in the turn that acquires, not after the caller's `await` resumes. Found by the torture
// (issue 12): a worker whose other task blocked it for good, or that was terminated, between the
// two left a read hold no reaper knew of (every writer hung) or a write lock with no owner.
import { describe, expect, it } from 'vitest';
import diagnosticsChannel from 'node:diagnostics_channel';
import { CHANNELS, RWLock, Semaphore } from '../../dist/index.js';
import { sleep } from '../harness/bounds.mjs';
import { testCrew } from '../harness/spawn.js';

const fixture = new URL('../fixtures/robust/async-record.mjs', import.meta.url);

// Its workers are terminated on purpose (exitOk); an 'error' of one still fails its test, and
// `crew.until` ends at it.
const crew = testCrew();
const start = (workerData: Record<string, unknown>) => crew.start(fixture, workerData, { what: `async-record ${workerData.mode}`, exitOk: true });

/**
 * Starts a worker whose async acquisition waits behind `hold` (taken here), releases `hold` once it
 * waits, lets the worker block for good right after its acquisition succeeded, terminates it, and
 * returns how `next` (an acquisition here, bounded) ended.
 */
async function stopAfterAcquiring(mode: string, handle: unknown, release: () => void, next: () => Promise<boolean>): Promise<boolean> {
  const flags = new Int32Array(new SharedArrayBuffer(8));
  const { worker, exited } = start({ mode, handle, flags: flags.buffer });
  try {
    await crew.until(() => Atomics.load(flags, 0) === 1, 10_000, 'the worker to wait');
    await sleep(30); // let it sleep in the wait
    release();
    await crew.until(() => Atomics.load(flags, 1) === 1, 10_000, 'the worker to acquire and block');
  } finally {
    await worker.terminate();
    await exited;
  }
  return next();
}

/**
 * The next acquisition after the stop: a writer here, bounded; true if it got in and was told the
 * previous holder died. Before the fixes the stopped worker's hold had no record, nobody could
 * give it back, and this waited until its timeout.
 */
function writerTold(rw: RWLock): () => Promise<boolean> {
  return async () => {
    if (!rw.tryWriteLock(3000)) return false;
    const died = rw.ownerDied;
    rw.markConsistent();
    rw.writeUnlock();
    return died;
  };
}

describe('an async acquisition is recorded in the turn that acquires', () => {
  it('RWLock read: a worker stopped right after readLockAsync succeeded is reaped, the writer gets in', async () => {
    const rw = new RWLock();
    rw.writeLock();
    // Before the fix: the read hold had no holder slot.
    const ok = await stopAfterAcquiring('read', rw.handle, () => rw.writeUnlock(), writerTold(rw));
    expect(ok).toBe(true);
    expect(rw.readerCount()).toBe(0);
  });

  it('RWLock write: a worker stopped right after writeLockAsync succeeded is reaped, a reader gets in', async () => {
    const rw = new RWLock();
    rw.readLock();
    const ok = await stopAfterAcquiring('write', rw.handle, () => rw.readUnlock(), async () => {
      // Before the fix: WRITE_LOCKED with WRITER_OWNER still 0: never reaped.
      if (!rw.tryReadLock(3000)) return false;
      const died = rw.ownerDied;
      rw.readUnlock();
      return died;
    });
    expect(ok).toBe(true);
  });

  it('RWLock upgradable: a worker stopped right after upgradableReadLockAsync succeeded is reaped', async () => {
    const rw = new RWLock();
    rw.writeLock();
    const ok = await stopAfterAcquiring('upgradable', rw.handle, () => rw.writeUnlock(), writerTold(rw));
    expect(ok).toBe(true);
  });

  it('Semaphore with trackOwners: permits of a worker stopped right after acquireAsync succeeded come back', async () => {
    const sem = new Semaphore(1, { trackOwners: true });
    sem.acquire();
    const ok = await stopAfterAcquiring('permits', sem.handle, () => sem.release(), async () => {
      // Before the fix: the permit had no holder slot and stayed lost.
      if (!sem.tryAcquire(1, 3000)) return false;
      sem.release();
      return true;
    });
    expect(ok).toBe(true);
    expect(sem.available()).toBe(1);
  });
});

describe('an async acquisition that did not wait is recorded before its acquire event is published', () => {
  for (const mode of ['read', 'write', 'upgradable'] as const) {
    it(`RWLock ${mode} (fast path): a worker stopped in the acquire-event subscriber is reaped`, async () => {
      const rw = new RWLock();
      // Before the fix the event came first: a hold with no owner word or slot, never reaped.
      const ok = await stopAfterAcquiring(`${mode}-fast`, rw.handle, () => {}, writerTold(rw));
      expect(ok).toBe(true);
    });
  }
});

describe('a blocking acquisition is recorded before its acquire event is published', () => {
  it('Semaphore acquire(): a worker stopped in an acquire-event subscriber gives its permit back', async () => {
    const sem = new Semaphore(1, { trackOwners: true });
    sem.acquire();
    const ok = await stopAfterAcquiring('permits-sync', sem.handle, () => sem.release(), async () => {
      // Before the fix the permits were recorded after the event: none to give back.
      if (!sem.tryAcquire(1, 3000)) return false;
      sem.release();
      return true;
    });
    expect(ok).toBe(true);
  });
});

describe('an upgrader that reaps a dead reader reports the death', () => {
  it('upgrade() waiting for a terminated reader: it gets in, ownerDied is set and sablock:owner-died is published once', async () => {
    const rw = new RWLock();
    const flags = new Int32Array(new SharedArrayBuffer(8));
    const { worker, exited } = start({ mode: 'hold-read', handle: rw.handle, flags: flags.buffer });
    let deaths = 0;
    const onDeath = (m: unknown) => {
      if ((m as { lock: unknown }).lock === rw) deaths++;
    };
    diagnosticsChannel.subscribe(CHANNELS.ownerDied, onDeath);
    try {
      await crew.until(() => Atomics.load(flags, 1) === 1, 10_000, 'the worker to hold a read');
      rw.upgradableReadLock();
      await worker.terminate();
      await exited;
      // The upgrader is the only waiter: it reaps the dead reader itself. Before the fix it did so
      // without reporting (no event, no owner-death count), so the torture saw the kill as unrecovered.
      expect(rw.tryUpgrade(3000)).toBe(true);
      expect(rw.ownerDied).toBe(true);
      expect(deaths).toBe(1);
      rw.markConsistent();
      rw.writeUnlock();
    } finally {
      diagnosticsChannel.unsubscribe(CHANNELS.ownerDied, onDeath);
    }
  });
});
