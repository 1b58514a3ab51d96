/**
 * An abort/timeout suite for async acquisitions that are not a lock's `lockAsync` (the exclusive
 * and shared suites cover those): SeqLock's `writeAsync` and `readAsync` (whose fallback waits
 * for the writers' lock), the LockManager's `acquireAsync(path, 'X')`. What every async
 * acquisition promises (API.md): it never blocks the event loop; `timeout` rejects with
 * TimeoutError (ERR_LOCK_TIMEOUT) within tolerance; `signal` rejects with the signal's reason,
 * already aborted or aborted while waiting; a rejected request leaves nothing behind, so the
 * next waiter gets in when the holder lets go; bad options are refused naming them.
 *
 * The holder is another thread (RemoteThread `holdFor`, ended through the RELEASE control
 * slot); every wait is bounded.
 */
import { describe, expect, it } from 'vitest';
import { TimeoutError, type WaitOptions } from '../../dist/index.js';
import { bounded, delay, RemoteThread } from '../harness/remote.js';
import { INSIDE, newSlots, release } from '../harness/slots.mjs';
import { rejection, state, until } from '../harness/expect.js';

export interface AsyncAcquirer {
  readonly name: string;
  readonly handle: unknown;
  /** Acquires on the event loop, runs nothing, resolves once it held (and let go of) the lock. */
  acquireAsync(options?: WaitOptions): Promise<void>;
}

export interface AbortSubject {
  kind: string;
  make(): AsyncAcquirer;
  /** The worker-side adapter that holds what this acquisition waits for. */
  remote: { adapters: URL; holder: string };
}

const SLACK_MS = 500;
const T = 20_000;

export function abortTimeoutSuite(s: AbortSubject): void {
  /** A thread holding it until `release(slots)`. */
  async function holder(m: AsyncAcquirer): Promise<{ t: RemoteThread; slots: Int32Array; done: Promise<unknown> }> {
    const slots = newSlots();
    const t = await RemoteThread.start(s.remote.holder, m.handle, { adapters: s.remote.adapters });
    const done = t.callWithin(60_000, 'holdFor', 30_000, slots.buffer);
    done.catch(() => {});
    await until(() => Atomics.load(slots, INSIDE) === 1, 10_000, `the ${s.kind} holder to be inside`);
    return { t, slots, done };
  }

  describe(`${s.kind}: abort and timeout`, () => {
    it('an already-aborted signal rejects with its reason, the lock free or held', async () => {
      const m = s.make();
      const reason = new Error('stop');
      expect(await rejection(m.acquireAsync({ signal: AbortSignal.abort(reason) }))).toBe(reason);
      expect(((await rejection(m.acquireAsync({ signal: AbortSignal.abort() }))) as Error).name).toBe('AbortError');
      const h = await holder(m);
      await using _t = h.t;
      expect(await rejection(m.acquireAsync({ signal: AbortSignal.abort(reason) }))).toBe(reason);
      release(h.slots);
      await h.done;
      await bounded(m.acquireAsync({ timeout: 5_000 }), 6_000, `${s.kind}: free again`);
    }, T);

    it('timeout rejects with TimeoutError (ERR_LOCK_TIMEOUT) within tolerance, without blocking the event loop', async () => {
      const m = s.make();
      const h = await holder(m);
      await using _t = h.t;
      let ticks = 0;
      const iv = setInterval(() => ticks++, 2);
      try {
        for (const timeout of [0, 40, 100]) {
          const t0 = performance.now();
          const e = await rejection(m.acquireAsync({ timeout }));
          const el = performance.now() - t0;
          expect(e).toBeInstanceOf(TimeoutError);
          expect((e as TimeoutError).code).toBe('ERR_LOCK_TIMEOUT');
          expect(String((e as TimeoutError).lock)).toContain(m.name);
          expect(el).toBeGreaterThanOrEqual(timeout - 1);
          expect(el).toBeLessThan(timeout + SLACK_MS);
        }
        expect(ticks).toBeGreaterThanOrEqual(5); // the loop ran while they waited
      } finally {
        clearInterval(iv);
      }
      expect(Atomics.load(h.slots, INSIDE)).toBe(1); // they timed out against a live holder
      release(h.slots);
      await h.done;
    }, T);

    it('aborting while waiting rejects with the reason; waiters behind timed-out and aborted ones still get in', async () => {
      const m = s.make();
      const h = await holder(m);
      await using _t = h.t;
      for (let round = 0; round < 3; round++) {
        const acs = [new AbortController(), new AbortController()];
        const reason = new Error(`round ${round}`);
        // rejection() attaches its handler at once: these settle while others are awaited.
        const gone = acs.map((ac) => rejection(m.acquireAsync({ signal: ac.signal, timeout: 10_000 })));
        const timedOut = rejection(m.acquireAsync({ timeout: 10 }));
        await delay(20);
        for (const ac of acs) ac.abort(reason);
        for (const p of gone) expect(await p).toBe(reason);
        expect(await timedOut).toBeInstanceOf(TimeoutError);
      }
      const stays = [m.acquireAsync(), m.acquireAsync({ timeout: 10_000 })];
      await delay(20);
      for (const p of stays) expect(await state(p)).toBe('pending');
      release(h.slots);
      await h.done;
      await bounded(Promise.all(stays), 5_000, `${s.kind}: waiters behind aborted ones (lost wakeup?)`);
      await bounded(m.acquireAsync({ timeout: 0 }), 5_000, `${s.kind}: free at the end`);
    }, T);

    it('bad options reject with TypeError/RangeError naming them', async () => {
      const m = s.make();
      const cases: [unknown, typeof TypeError | typeof RangeError, RegExp][] = [
        [{ timeout: -1 }, RangeError, /timeout/],
        [{ timeout: Number.NaN }, RangeError, /timeout/],
        [{ timeout: '5' }, TypeError, /timeout/],
        [{ signal: {} }, TypeError, /signal/],
      ];
      for (const [options, Err, message] of cases) {
        const e = await rejection(m.acquireAsync(options as WaitOptions));
        expect(e, `${String(JSON.stringify(options))}`).toBeInstanceOf(Err);
        expect((e as Error).message).toMatch(message);
      }
      await bounded(m.acquireAsync({ timeout: 0 }), 5_000, `${s.kind}: free after bad options`);
    });
  });
}
