/**
 * A behaviour suite for the shared side of a lock (RWLock's read side, through its methods and
 * through its `reader` view): many threads hold it at once, its exclusive side keeps them out and
 * waits for the last of them, a thread that already holds it never waits behind a queued
 * exclusive waiter, timeouts and aborts leave nothing behind, and releasing without a hold is a
 * LockError. The exclusive-lock suite does not fit a shared lock: half its cases assert that a
 * second thread is kept out.
 *
 * Every "other thread" is a real worker (RemoteThread); every cross-thread wait is bounded, and
 * the main thread never blocks without a timeout.
 */
import { describe, expect, it } from 'vitest';
import { LockError, TimeoutError, type Handle, type WaitOptions } from '../../dist/index.js';
import { bounded, delay, RemoteError, RemoteThread } from '../harness/remote.js';
import { rejection, state, thrown } from '../harness/expect.js';

/** A shared guard: releases one hold, once. */
export interface SharedGuard {
  readonly held: boolean;
  unlock(): void;
  [Symbol.dispose](): void;
}

/** What the suite needs of the shared side. */
export interface SharedLockInstance {
  lock(): SharedGuard;
  unlock(): void;
  tryLock(timeoutMs?: number): boolean;
  lockAsync(options?: WaitOptions): Promise<SharedGuard>;
  /** Held in any mode (shared or exclusive). */
  isLocked(): boolean;
  readonly name: string;
  readonly handle: Handle;
}

export interface SharedSubject {
  kind: string;
  make(): SharedLockInstance;
  /** Worker-side adapter module, and the keys of the shared side and of the exclusive side. */
  remote: { adapters: URL; shared: string; exclusive: string };
  /** LockError code of unlock() without a hold. */
  notHeldCode: string;
}

const SLACK_MS = 500;
const T = 20_000;

export function sharedSuite(s: SharedSubject): void {
  const reader = (m: SharedLockInstance) => RemoteThread.start(s.remote.shared, m.handle, { adapters: s.remote.adapters });
  const writer = (m: SharedLockInstance) => RemoteThread.start(s.remote.exclusive, m.handle, { adapters: s.remote.adapters });

  describe(`${s.kind}: shared holds`, () => {
    it('this thread and another hold it at once; it is free once both left', async () => {
      const m = s.make();
      await using t = await reader(m);
      expect(m.isLocked()).toBe(false);
      const g = m.lock();
      expect(g.held).toBe(true);
      expect(await t.call('tryLock')).toBe(true);
      await t.call('lock'); // a second hold there: does not wait
      expect(m.tryLock()).toBe(true); // and a second one here
      m.unlock();
      g.unlock();
      expect(m.isLocked()).toBe(true); // the other thread's two holds
      await t.call('unlock');
      expect(await t.call('isLocked')).toBe(true);
      await t.call('unlock');
      expect(m.isLocked()).toBe(false);
    }, T);

    it('the exclusive side in another thread waits for the last holder, then keeps new holders out', async () => {
      const m = s.make();
      await using r = await reader(m);
      await using w = await writer(m);
      m.lock();
      await r.call('lock');
      const excl = w.call('lock');
      await delay(50);
      expect(await state(excl)).toBe('pending');
      m.unlock();
      await delay(20);
      expect(await state(excl)).toBe('pending'); // one holder left
      await r.call('unlock');
      await bounded(excl, 5_000, 'exclusive side after the last shared holder left');
      expect(m.isLocked()).toBe(true);
      expect(m.tryLock()).toBe(false);
      expect(await r.call('tryLock')).toBe(false);
      await w.call('unlock');
      expect(m.tryLock()).toBe(true);
      m.unlock();
      expect(m.isLocked()).toBe(false);
    }, T);

    it('a thread that already holds it takes another hold without waiting behind a queued exclusive waiter', async () => {
      // The re-entrant hold is taken in a worker, where a wait behind the writer (which waits for
      // that worker) would only fail this bounded call instead of deadlocking the runner.
      const m = s.make();
      await using r = await reader(m);
      await using w = await writer(m);
      await r.call('lock');
      const excl = w.call('lock');
      await delay(50);
      expect(await state(excl)).toBe('pending');
      await r.call('lock');
      expect(await r.call('tryLock')).toBe(true);
      for (let i = 0; i < 3; i++) await r.call('unlock');
      await bounded(excl, 5_000, 'exclusive waiter once the re-entrant holds left');
      await w.call('unlock');
      expect(m.isLocked()).toBe(false);
    }, T);
  });

  describe(`${s.kind}: waiting, timeouts and aborts`, () => {
    it('tryLock() is false and tryLock(ms) times out within tolerance while the exclusive side is held elsewhere', async () => {
      const m = s.make();
      await using w = await writer(m);
      await w.call('lock');
      expect(m.isLocked()).toBe(true);
      expect(m.tryLock()).toBe(false);
      for (const ms of [0, 20, 80]) {
        const t0 = performance.now();
        expect(m.tryLock(ms)).toBe(false);
        const el = performance.now() - t0;
        expect(el).toBeGreaterThanOrEqual(ms - 1);
        expect(el).toBeLessThan(ms + SLACK_MS);
      }
      const released = w.call('unlockAfter', 50);
      expect(m.tryLock(5_000)).toBe(true);
      await released;
      m.unlock();
      expect(m.isLocked()).toBe(false);
    }, T);

    it('lockAsync waits without blocking the event loop; every shared waiter gets in on release', async () => {
      const m = s.make();
      await using w = await writer(m);
      await w.call('lock');
      let ticks = 0;
      const iv = setInterval(() => ticks++, 2);
      try {
        const ps = [m.lockAsync(), m.lockAsync({ timeout: 10_000 })];
        await delay(60);
        for (const p of ps) expect(await state(p)).toBe('pending');
        expect(ticks).toBeGreaterThanOrEqual(5);
        await w.call('unlock');
        const gs = await bounded(Promise.all(ps), 5_000, 'shared waiters after release');
        expect(m.isLocked()).toBe(true);
        expect(await w.call('tryLock')).toBe(false);
        for (const g of gs) g.unlock();
        expect(m.isLocked()).toBe(false);
      } finally {
        clearInterval(iv);
      }
    }, T);

    it('timeouts reject with TimeoutError within tolerance and aborts with the reason; a waiter behind them still gets in', async () => {
      const m = s.make();
      await using w = await writer(m);
      await w.call('lock');
      for (const timeout of [0, 40]) {
        const t0 = performance.now();
        const e = await rejection(m.lockAsync({ timeout }));
        const el = performance.now() - t0;
        expect(e).toBeInstanceOf(TimeoutError);
        expect((e as TimeoutError).lock).toBe(m.name);
        expect(el).toBeGreaterThanOrEqual(timeout - 1);
        expect(el).toBeLessThan(timeout + SLACK_MS);
      }
      const reason = new Error('stop');
      expect(await rejection(m.lockAsync({ signal: AbortSignal.abort(reason) }))).toBe(reason);
      const ac = new AbortController();
      const aborted = m.lockAsync({ signal: ac.signal });
      const stays = m.lockAsync();
      await delay(20);
      ac.abort(reason);
      expect(await rejection(aborted)).toBe(reason);
      expect(await state(stays)).toBe('pending');
      await w.call('unlock');
      const g = await bounded(stays, 5_000, 'shared waiter behind timed-out and aborted ones');
      g.unlock();
      expect(m.isLocked()).toBe(false);
      // Nothing was left counted: the exclusive side gets in at once.
      expect(await w.call('tryLock')).toBe(true);
      await w.call('unlock');
    }, T);
  });

  describe(`${s.kind}: guards and misuse`, () => {
    it('a guard releases its hold once; a stale guard never releases a later hold', async () => {
      const m = s.make();
      await using w = await writer(m);
      const g = m.lock();
      g.unlock();
      expect(g.held).toBe(false);
      expect(m.isLocked()).toBe(false);
      const g2 = m.lock();
      g.unlock();
      g[Symbol.dispose]();
      expect(m.isLocked()).toBe(true);
      expect(await w.call('tryLock')).toBe(false);
      {
        using _g3 = m.lock();
      }
      expect(await w.call('tryLock')).toBe(false); // g2 still holds
      g2.unlock();
      expect(await w.call('tryLock')).toBe(true);
      await w.call('unlock');
    }, T);

    it(`unlock() without a hold throws LockError naming the lock, here and in another thread, and changes nothing`, async () => {
      const m = s.make();
      const e = thrown(() => m.unlock());
      expect(e).toBeInstanceOf(LockError);
      expect((e as LockError).code).toBe(s.notHeldCode);
      expect((e as Error).message).toContain(m.name);
      await using r = await reader(m);
      m.lock();
      const re = await rejection(r.call('unlock'));
      expect(re).toBeInstanceOf(RemoteError);
      expect((re as RemoteError).code).toBe(s.notHeldCode);
      expect(m.isLocked()).toBe(true);
      m.unlock();
      expect(m.isLocked()).toBe(false);
    }, T);

    it('bad timeouts and options throw/reject naming them, and take nothing', async () => {
      const m = s.make();
      for (const [ms, Err] of [[-1, RangeError], [Number.NaN, RangeError], ['10', TypeError], [null, TypeError]] as const) {
        const e = thrown(() => m.tryLock(ms as number));
        expect(e).toBeInstanceOf(Err);
        expect((e as Error).message).toMatch(/timeoutMs/);
      }
      for (const [o, Err] of [[{ timeout: -1 }, RangeError], [{ timeout: '5' }, TypeError], [{ signal: {} }, TypeError], [5, TypeError]] as const) {
        expect(await rejection(m.lockAsync(o as WaitOptions))).toBeInstanceOf(Err);
      }
      expect(m.isLocked()).toBe(false);
    });
  });
}
