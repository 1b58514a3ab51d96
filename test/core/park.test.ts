// The one parking loop (src/core/park.ts), driven directly with a scripted Parking on a word of
// this thread: when it attempts, sleeps, gives up, reports `won`, and how it ends. The primitives'
// own tests cover it under real contention; these pin its contract.
import { describe, expect, it } from 'vitest';
import { park, parkAsync, PARKS, type Parking } from '../../src/core/park.js';
import { deadlineAfter, parseWaitOptions, wake } from '../../src/core/futex.js';

const word = () => new Int32Array(new SharedArrayBuffer(4));

/** A Parking whose attempt succeeds on the `succeedOn`-th call (never if 0), recording every call. */
function scripted(a: Int32Array, succeedOn: number) {
  const log: string[] = [];
  let attempts = 0;
  const p: Parking = {
    index: 0,
    attempt(parked, woken) {
      attempts++;
      log.push(`attempt ${attempts} parked=${parked} woken=${woken}`);
      return attempts === succeedOn ? null : Atomics.load(a, 0);
    },
    sleepUntil: (deadline) => Math.min(deadline, performance.now() + 5),
    beforeSleep: () => log.push('beforeSleep'),
    afterSleep: (r) => log.push(`afterSleep ${r}`),
    giveUp: () => log.push('giveUp'),
    won: () => log.push('won'),
  };
  return { p, log };
}

describe('park (sync)', () => {
  it('returns true at once when the first attempt succeeds: won, no sleep', () => {
    const a = word();
    const { p, log } = scripted(a, 1);
    expect(park(a, p, Infinity)).toBe(true);
    expect(log).toEqual(['attempt 1 parked=false woken=false', 'won']);
    expect(PARKS.count).toBe(0);
  });

  it('sleeps in bounded slices until an attempt succeeds, then reports won once', () => {
    const a = word();
    const { p, log } = scripted(a, 3);
    expect(park(a, p, deadlineAfter(5000))).toBe(true);
    expect(log).toEqual([
      'attempt 1 parked=false woken=false',
      'beforeSleep',
      'afterSleep timed-out',
      'attempt 2 parked=true woken=false',
      'beforeSleep',
      'afterSleep timed-out',
      'attempt 3 parked=true woken=false',
      'won',
    ]);
    expect(PARKS.count).toBe(2);
  });

  it('gives up past its deadline: giveUp, never won, false', () => {
    const a = word();
    const { p, log } = scripted(a, 0);
    const t0 = performance.now();
    expect(park(a, p, deadlineAfter(20))).toBe(false);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(19);
    expect(log.at(-1)).toBe('giveUp');
    expect(log).not.toContain('won');
  });

  it('a word that moved before the sleep returns at once (not-equal): no lost release', () => {
    const a = word();
    let n = 0;
    const results: string[] = [];
    const p: Parking = {
      index: 0,
      attempt: () => {
        n++;
        if (n === 2) return null;
        const expected = Atomics.load(a, 0);
        Atomics.store(a, 0, expected + 1); // a "release" between publishing and sleeping
        return expected;
      },
      afterSleep: (r) => results.push(String(r)),
    };
    const t0 = performance.now();
    expect(park(a, p, Infinity)).toBe(true);
    expect(results).toEqual(['not-equal']);
    expect(performance.now() - t0).toBeLessThan(40);
  });
});

describe('parkAsync', () => {
  it('a notify ends the sleep as woken, and won runs in the turn of the successful attempt', async () => {
    const a = word();
    let attempts = 0;
    const order: string[] = [];
    const p: Parking = {
      index: 0,
      attempt: (_parked, woken) => {
        attempts++;
        if (attempts === 2) {
          order.push(`attempt woken=${woken}`);
          // Anything queued as a microtask now must run after won.
          queueMicrotask(() => order.push('other microtask'));
          return null;
        }
        return Atomics.load(a, 0);
      },
      won: () => order.push('won'),
    };
    const pending = parkAsync(a, p, parseWaitOptions({ timeout: 5000 }), 'test');
    setTimeout(() => {
      Atomics.store(a, 0, 1);
      wake(a, 0, 1);
    }, 10);
    expect(await pending).toBe(1);
    expect(order).toEqual(['attempt woken=true', 'won', 'other microtask']);
  });

  it('rejects with TimeoutError past its timeout, after giveUp, without won', async () => {
    const a = word();
    const { p, log } = scripted(a, 0);
    await expect(parkAsync(a, p, parseWaitOptions({ timeout: 20 }), 'lockX')).rejects.toMatchObject({ name: 'TimeoutError' });
    expect(log).toContain('giveUp');
    expect(log).not.toContain('won');
  });

  it('rejects with the signal\'s reason on abort: afterSleep sees "aborted", then giveUp', async () => {
    const a = word();
    const { p, log } = scripted(a, 0);
    const ac = new AbortController();
    const pending = parkAsync(a, { ...p, sleepUntil: undefined }, parseWaitOptions({ signal: ac.signal }), 'lockX');
    setTimeout(() => ac.abort(new Error('stop')), 10);
    await expect(pending).rejects.toThrow('stop');
    expect(log.slice(-2)).toEqual(['afterSleep aborted', 'giveUp']);
    expect(log).not.toContain('won');
  });
});
