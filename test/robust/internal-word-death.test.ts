// Internal lock words (a lock manager's partition, allocator and fast-path group locks) guard
// multi-word updates of a shared table. A thread terminated while holding one may have left the
// update half done, so the word is refused with a clear error, every time, and never hangs its
// callers (issue 12 bug 5). Before, a waiter took it over silently and the word kept OWNER_DIED,
// so every later lock of it missed the one-CAS fast path while the docs said it stayed locked.
import { describe, expect, it } from 'vitest';
import { Worker } from 'node:worker_threads';
import { once } from 'node:events';
import { lockWord, ownerOf, unlockWord } from '../../src/raw/mutex.js';
import { SpinBudget } from '../../src/core/spin.js';
import { LockError } from '../../src/core/errors.js';
import { OWNER_ID } from '../../src/core/thread.js';

const policy = { budget: new SpinBudget(4, 64), maxBackoff: 16, fairAfterMs: 1 };

describe('an internal lock word whose holder died', () => {
  it('is refused with ERR_LOCK_STATE on every later lockWord, without hanging, and a healthy word is unaffected', async () => {
    const a = new Int32Array(new SharedArrayBuffer(8));
    // A worker takes word 0 the way lockWord does (its owner id in the word) and is terminated
    // while holding it, as in the middle of a table update.
    const w = new Worker(
      `const { workerData, parentPort, threadId } = require('node:worker_threads');
       const a = new Int32Array(workerData);
       Atomics.compareExchange(a, 0, 0, threadId + 1);
       parentPort.postMessage('holding');
       Atomics.wait(a, 1, 0);`,
      { eval: true, workerData: a.buffer },
    );
    await once(w, 'message');
    const exited = once(w, 'exit');
    await w.terminate();
    await exited; // its creator (this thread) publishes the death now
    for (let k = 0; k < 3; k++) {
      let err: unknown;
      try {
        lockWord(a, 0, OWNER_ID, policy, 'partition 0');
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(LockError);
      expect((err as LockError).code).toBe('ERR_LOCK_STATE');
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
