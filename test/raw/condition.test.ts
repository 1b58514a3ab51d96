// The raw condition variable (src/raw/condition.ts), one thread, driven as the verifier drives a
// checked wait: in short steps, each a `sleep` with its own step deadline. A notify that lands
// between two steps (the waiter is not in the futex queue then) must still end the wait.
import { describe, expect, it } from 'vitest';
import { CONDITION_WORDS, finishWait, notify, prepareWait, sleep, waitsOf, WAITERS } from '../../src/raw/condition.js';

const fresh = () => new Int32Array(new SharedArrayBuffer(4 * CONDITION_WORDS));

describe('raw Condition, stepped waits', () => {
  it('a notify between two steps ends the wait within a few steps (found as a 5 s timeout in the checked ping-pong)', () => {
    const a = fresh();
    const w = prepareWait(a, 0);
    // First step: nothing happens, it runs out.
    expect(sleep(a, 0, w, performance.now() + 5)).toBe(false);
    // Between steps: a notify (grants one wakeup, bumps SEQ; nobody is in the futex queue).
    notify(a, 0, 1);
    let notified = false;
    let steps = 0;
    while (!notified && steps < 40) {
      notified = sleep(a, 0, w, performance.now() + 5);
      steps++;
    }
    finishWait(a, 0);
    // Before the fix every later step saw SEQ moved while it "slept", then ran out at its step
    // deadline before the grant was looked at: the wait ran to its real timeout.
    expect(notified).toBe(true);
    expect(steps).toBeLessThanOrEqual(3);
    expect(waitsOf(a[WAITERS]!)).toBe(0);
    expect(a[WAITERS]).toBe(0); // the grant was taken, none left over
  });

  it('without a notify, steps keep running out (no spurious end)', () => {
    const a = fresh();
    const w = prepareWait(a, 0);
    for (let k = 0; k < 5; k++) expect(sleep(a, 0, w, performance.now() + 3)).toBe(false);
    finishWait(a, 0);
    expect(a[WAITERS]).toBe(0);
  });

  it('a notify before the first sleep (SEQ moved since prepareWait) ends it at once', () => {
    const a = fresh();
    const w = prepareWait(a, 0);
    notify(a, 0, 1);
    expect(sleep(a, 0, w, performance.now() + 1000)).toBe(true);
    finishWait(a, 0);
    expect(a[WAITERS]).toBe(0);
  });
});
