// A thread is published dead only once it can run no more JavaScript (issue 12 bug 2): not from
// its own 'exit' event, after which its later 'exit' listeners and its child workers still run.
// And a release by a thread that was reaped anyway is ignored, never applied twice.
import { describe, expect, it } from 'vitest';
import { getEnvironmentData, threadId } from 'node:worker_threads';
import { Mutex, RWLock, Semaphore, SeqLock } from '../../dist/index.js';
import { sleep, until, within } from '../harness/bounds.mjs';
import { testCrew } from '../harness/spawn.js';

const fixture = new URL('../fixtures/robust/exit-late.mjs', import.meta.url);
const newFlags = () => new Int32Array(new SharedArrayBuffer(16));

// A worker's 'error' (which an unlistened Worker would have thrown) still fails its test.
const crew = testCrew();

/**
 * Starts a scenario whose worker ends by itself without `{ done: true }` (its script just ends), so
 * its exit is no failure; `holding` is its first message, bounded.
 */
function start(workerData: Record<string, unknown>) {
  const { worker, exited, firstMessage } = crew.start(fixture, workerData, { what: `exit-late ${workerData.mode}`, exitOk: true });
  return { worker, exited, holding: within(firstMessage, 10_000, `${workerData.mode}: the worker to hold`) };
}

describe('owner death is published only when the thread has stopped', () => {
  it('a worker whose later exit listener unlocks: the waiter gets the Mutex from that unlock, not by takeover', async () => {
    const m = new Mutex();
    const flags = newFlags();
    const { holding, exited } = start({ mode: 'late-unlock', handle: m.handle, flags: flags.buffer });
    await holding;
    const g = await m.lockAsync({ timeout: 10_000 });
    // Before the fix: the worker published itself dead from its own 'exit' event, a waiter's slice
    // took the Mutex over (ownerDied) while the late listener still ran, and its unlock() threw.
    expect(g.ownerDied).toBe(false);
    g.unlock();
    await exited;
    expect(Atomics.load(flags, 1)).toBe(1);
  });

  it('an RWLock read released by a late exit listener is released once: the state ends clean', async () => {
    const rw = new RWLock();
    const flags = newFlags();
    const { holding, exited } = start({ mode: 'late-read', handle: rw.handle, flags: flags.buffer });
    await holding;
    const g = await rw.writeLockAsync({ timeout: 10_000 });
    expect(rw.ownerDied).toBe(false);
    g.unlock();
    await exited;
    expect(Atomics.load(flags, 1)).toBe(1);
    // Before the fix the hold was reaped and then released again: the reader count wrapped and
    // neither a read nor a write could be taken any more.
    expect(rw.readerCount()).toBe(0);
    expect(rw.tryWriteLock()).toBe(true);
    rw.writeUnlock();
    expect(rw.tryReadLock()).toBe(true);
    rw.readUnlock();
  });

  it('a worker that ends while its child spins inside a Mutex: the waiter gets it only after the child stopped', async () => {
    const m = new Mutex();
    const flags = newFlags();
    const { holding, exited } = start({ mode: 'parent', handle: m.handle, flags: flags.buffer });
    await holding;
    await until(() => Atomics.load(flags, 0) !== 0, 10_000, 'the child to spin inside', 1);
    const g = await m.lockAsync({ timeout: 10_000 });
    // Inside now: the child must be gone (its death was published by the parent's creator after
    // the parent's teardown stopped it). Before the fix it was published with the parent's own
    // 'exit' event and still spinning inside when we got in.
    const beat = Atomics.load(flags, 0);
    await sleep(100);
    expect(Atomics.load(flags, 0)).toBe(beat);
    expect(g.ownerDied).toBe(true);
    g.unlock();
    await exited;
  });
});

describe('a release by a thread that was reaped is ignored', () => {
  it('Mutex, RWLock read and write, tracked Semaphore, SeqLock write: taken over, then released by their reaped owner', async () => {
    const m = new Mutex();
    const r = new RWLock();
    const w = new RWLock();
    const sem = new Semaphore(2, { trackOwners: true });
    const s = new SeqLock({ dataByteLength: 8 });
    const flags = newFlags();
    // Ends with { done: true, result }: an exit before it is a failure.
    const { worker, firstMessage, done } = crew.start(
      fixture,
      { mode: 'reaped', handle: { m: m.handle, r: r.handle, w: w.handle, sem: sem.handle, s: s.handle }, flags: flags.buffer },
      { what: 'exit-late reaped' },
    );
    await within(firstMessage, 10_000, 'the reaped worker to hold everything');
    try {
      // Publish the (live) worker dead the way owner-death.ts does, directly in the shared table:
      // the situation of a premature publication, which a release must survive.
      const table = new Int32Array(getEnvironmentData('sablock:owner-death:v1') as SharedArrayBuffer);
      const id = worker.threadId + 1;
      expect(threadId).toBe(0);
      Atomics.or(table, 2 + 1024 + (id >>> 5), 1 << (id & 31));
      // Everything is taken over (or reaped and then taken) by this thread.
      expect(m.tryLock()).toBe(true);
      expect(r.tryWriteLock()).toBe(true);
      expect(w.tryWriteLock()).toBe(true);
      expect(sem.tryAcquire(2)).toBe(true);
      m.unlock();
      r.writeUnlock();
      w.writeUnlock();
      sem.release(2);
      // The writer died mid-write as far as we know: our write repairs the sequence first.
      s.write((v) => v.setInt32(0, 7));
      const seq = () => Atomics.load(new Int32Array(s.buffer, s.byteOffset, 2), 1);
      expect(seq() % 2).toBe(0);
      Atomics.store(flags, 2, 1);
      Atomics.notify(flags, 2);
      const result = (await within(done, 10_000, 'the reaped worker to release')) as { threw: string[] };
      // Its releases are ignored, neither thrown nor applied a second time.
      expect(result.threw).toEqual([]);
      expect(m.isLocked()).toBe(false);
      expect(r.readerCount()).toBe(0);
      expect(r.tryWriteLock()).toBe(true);
      r.writeUnlock();
      expect(w.tryReadLock()).toBe(true);
      w.readUnlock();
      expect(sem.available()).toBe(2);
      // Its write's end did not bump the sequence again (odd: every optimistic read would fail).
      expect(seq() % 2).toBe(0);
      expect(s.read((v) => v.getInt32(0))).toBe(7);
    } finally {
      await worker.terminate();
    }
  });
});
