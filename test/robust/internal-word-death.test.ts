// Internal lock words (a lock manager's partition, allocator and fast-path group locks) guard
// multi-word updates of a shared table. A thread terminated while holding one may have left the
// update half done, so the word is refused with a clear error, every time, and never hangs its
// callers (issue 12 bug 5). Before, a waiter took it over silently and the word kept OWNER_DIED,
// so every later lock of it missed the one-CAS fast path while the docs said it stayed locked.
import { describe, expect, it } from 'vitest';
import { lockWord, ownerOf, unlockWord } from '../../src/raw/mutex.js';
import { SpinBudget } from '../../src/core/spin.js';
import { LockError } from '../../src/core/errors.js';
import { OWNER_ID } from '../../src/core/thread.js';
import { within } from '../harness/bounds.mjs';
import { testCrew } from '../harness/spawn.js';
import { JOURNAL_WORDS } from '../../src/manager/table.js';

const policy = { budget: new SpinBudget(4, 64), maxBackoff: 16, fairAfterMs: 1 };

// Inline (eval) workers. The holder is terminated and the dead threads exit at once, on purpose
// (exitOk); an 'error' of any still fails its test.
const crew = testCrew();
const evalWorker = (src: string, workerData: unknown, { exitOk }: { exitOk: boolean }) =>
  crew.start(src, workerData, { what: 'eval worker', exitOk, workerOptions: { eval: true } });

/** A thread that has exited (this thread created it, so its death is published): its owner id. */
async function deadOwnerId(): Promise<number> {
  const { worker, exited } = evalWorker('0', undefined, { exitOk: true });
  const id = worker.threadId + 1;
  await exited;
  crew.check();
  return id;
}

describe('an internal lock word whose holder died', () => {
  it('is refused with ERR_LOCK_BROKEN on every later lockWord, without hanging, and a healthy word is unaffected', async () => {
    const a = new Int32Array(new SharedArrayBuffer(8));
    // A worker takes word 0 the way lockWord does (its owner id in the word) and is terminated
    // while holding it, as in the middle of a table update.
    const w = evalWorker(
      `const { workerData, parentPort, threadId } = require('node:worker_threads');
       const a = new Int32Array(workerData);
       Atomics.compareExchange(a, 0, 0, threadId + 1);
       parentPort.postMessage('holding');
       Atomics.wait(a, 1, 0);`,
      a.buffer,
      { exitOk: true },
    );
    await within(Promise.race([w.firstMessage, w.done]), 10_000, 'the worker to hold word 0'); // 'holding', or its failure
    await w.worker.terminate();
    await w.exited; // its creator (this thread) publishes the death now
    for (let k = 0; k < 3; k++) {
      let err: unknown;
      try {
        lockWord(a, 0, OWNER_ID, policy, 'partition 0');
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(LockError);
      expect((err as LockError).code).toBe('ERR_LOCK_BROKEN');
      expect((err as Error).message).toMatch(/partition 0 was held by a thread that died/);
      expect(ownerOf(Atomics.load(a, 0))).toBe(0); // refused, not left held by us
    }
    // The neighbouring word never saw a death: it locks and unlocks as usual.
    lockWord(a, 1, OWNER_ID, policy);
    expect(ownerOf(Atomics.load(a, 1))).toBe(OWNER_ID);
    unlockWord(a, 1, OWNER_ID);
    expect(Atomics.load(a, 1)).toBe(0);
  });
});

describe('a LockManager whose partition word\'s holder died in an update it cannot undo', () => {
  it('fails requests with ERR_LOCK_BROKEN and leaves no other partition held: nothing hangs', async () => {
    const { LockManager } = await import('../../dist/index.js');
    const lm = new LockManager({ deadlockTimeout: 30 });
    const i32 = new Int32Array(lm.buffer);
    // Partition p's lock word (manager/table.ts: H_STRIPES 16 words in, STRIPE_WORDS 16 apart, S_LOCK 0).
    const partWord = (p: number) => (lm.byteOffset >> 2) + 16 + 16 * p;
    // Partition p's undo journal: the table's last 16 × JOURNAL_WORDS words (table.ts "Undo journal").
    const journal = (p: number) => (lm.byteOffset + LockManager.byteLengthFor({})) / 4 - 16 * JOURNAL_WORDS + JOURNAL_WORDS * p;
    // A worker that has exited (this thread created it, so its death is published) "held" partition
    // 15 when it died, in an update too long for its journal (J_LEN = JOURNAL_FULL, −1): the one
    // death inside a table update that is not undone (test/robust/table-journal.test.ts: the others).
    const deadId = await deadOwnerId();
    Atomics.store(i32, journal(15), -1);
    Atomics.store(i32, partWord(15), deadId);
    // A resource outside partition 15 (a try that touches 15 is refused).
    let name = '';
    for (let k = 0; k < 200 && name === ''; k++) {
      try {
        const l = lm.tryAcquire([`r${k}`], 'X');
        if (l) {
          lm.release(l);
          name = `r${k}`;
        }
      } catch (e) {
        expect((e as LockError).code).toBe('ERR_LOCK_BROKEN');
      }
    }
    expect(name).not.toBe('');
    const a = lm.newOwner();
    const b = lm.newOwner();
    const held = lm.acquire([name], 'X', { owner: a });
    // b waits; its deadlock check needs every partition and meets the refused one.
    await expect(lm.acquireAsync([name], 'X', { owner: b, timeout: 5000 })).rejects.toMatchObject({ code: 'ERR_LOCK_BROKEN' });
    // Before the fix the check kept partitions 0-14 (taken before 15 was refused) for ever.
    for (let p = 0; p < 15; p++) expect(Atomics.load(i32, partWord(p)) & 0x0fff_ffff).toBe(0);
    // So a release does not wait for this very thread, and other threads are not stuck either.
    lm.release(held);
    const other = evalWorker(
      `const { workerData, parentPort } = require('node:worker_threads');
       import(workerData.url).then(({ LockManager }) => {
         const lm = LockManager.from(workerData.handle);
         let tried = 0;
         for (let k = 0; k < 100; k++) { try { const l = lm.tryAcquire(['s' + k], 'S'); if (l) lm.release(l); tried++; } catch { tried++; } }
         parentPort.postMessage({ done: true, result: tried });
       });`,
      { handle: lm.handle, url: new URL('../../dist/index.js', import.meta.url).href },
      { exitOk: false },
    );
    expect(await within(other.done, 5000, 'another thread’s 100 tryAcquire calls')).toBe(100);
  });
});

describe('a worker terminated while its LockManager request runs a deadlock check', () => {
  it('a dead holder marked read-only (S_READER) is taken over, not refused: the manager keeps working', async () => {
    const { LockManager } = await import('../../dist/index.js');
    const lm = new LockManager({ deadlockTimeout: 30 });
    const i32 = new Int32Array(lm.buffer);
    const stripe = (p: number) => (lm.byteOffset >> 2) + 16 + 16 * p; // table.ts: S_LOCK 0, S_READER 3
    const deadId = await deadOwnerId();
    // As a deadlock check leaves them when its thread dies in the middle of the search: every
    // partition locked by it, every one marked read-only by it.
    for (let p = 0; p < 16; p++) {
      Atomics.store(i32, stripe(p), deadId);
      Atomics.store(i32, stripe(p) + 3, deadId);
    }
    for (let k = 0; k < 100; k++) lm.release(lm.acquire([`r${k}`], 'X', { timeout: 2000 }));
    expect(lm.query().held).toEqual([]);
    for (let p = 0; p < 16; p++) {
      expect(Atomics.load(i32, stripe(p))).toBe(0); // free again, OWNER_DIED cleared: the fast path is back
      expect(Atomics.load(i32, stripe(p) + 3)).toBe(0);
    }
  });
});
