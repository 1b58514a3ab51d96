import { describe, expect, it } from 'vitest';
import { spawner } from './harness/spawn.js';
import { Condition, LockError, Mutex, Semaphore, SpinLock, TicketLock } from '../dist/index.js';

const FIXTURE = new URL('./fixtures/cond-worker.mjs', import.meta.url);
const TURN = 0;
const COUNTER = 1;
const TIMEOUTS = 2;
const STOP = 3;
const RING = 8;

const spawn = spawner(FIXTURE, 25_000);

type LockKind = 'mutex' | 'spin' | 'ticket' | 'sem';

function makeLock(kind: LockKind): { handle: unknown } {
  switch (kind) {
    case 'mutex':
      return new Mutex({ name: 'cv-mutex' });
    case 'spin':
      return new SpinLock({ name: 'cv-spin' });
    case 'ticket':
      return new TicketLock({ name: 'cv-ticket' });
    case 'sem':
      return new Semaphore(1, { name: 'cv-sem', max: 1 });
  }
}

async function pingpong(opts: {
  rounds: number;
  lockKind?: LockKind;
  apis?: [string, string];
  testCv?: { seqAfterUnlock: boolean; widenMs: number };
  waitMs?: number;
  stopAfterTimeouts?: number;
}) {
  const lockKind = opts.lockKind ?? 'mutex';
  const lock = makeLock(lockKind);
  const cv = new Condition({ name: 'pingpong' });
  const shared = new SharedArrayBuffer(64);
  const s = new Int32Array(shared);
  const testCv = opts.testCv && { sab: new SharedArrayBuffer(4), ...opts.testCv };
  const ws = [0, 1].map((me) =>
    spawn({
      mode: 'pingpong',
      me,
      rounds: opts.rounds,
      lockKind,
      lock: lock.handle,
      cv: cv.handle,
      testCv,
      shared,
      api: opts.apis?.[me] ?? 'sync',
      waitMs: opts.waitMs ?? 5000,
      stopAfterTimeouts: opts.stopAfterTimeouts,
    }),
  );
  const results = await Promise.all(ws.map((w) => w.done));
  return { counter: Atomics.load(s, COUNTER), timeouts: Atomics.load(s, TIMEOUTS), results, cv };
}

describe('Condition: single thread', () => {
  it('wait(lock, ms) returns false on timeout, within tolerance, and relocks', () => {
    const cv = new Condition();
    for (const lock of [new Mutex(), new SpinLock(), new TicketLock()]) {
      lock.lock();
      const t0 = performance.now();
      expect(cv.wait(lock, 50)).toBe(false);
      const took = performance.now() - t0;
      expect(took).toBeGreaterThanOrEqual(45);
      expect(took).toBeLessThan(2000);
      expect(lock.isHeldByCurrentThread()).toBe(true);
      expect(cv.wait(lock, 0)).toBe(false);
      expect(lock.isHeldByCurrentThread()).toBe(true);
      lock.unlock();
    }
    expect(cv.waiters()).toBe(0);
  });

  it('waiting without holding the lock throws LockError ERR_LOCK_NOT_HELD', async () => {
    const cv = new Condition();
    for (const lock of [new Mutex(), new SpinLock(), new TicketLock()]) {
      expect(() => cv.wait(lock, 10)).toThrow(LockError);
      try {
        cv.wait(lock);
      } catch (e) {
        expect((e as LockError).code).toBe('ERR_LOCK_NOT_HELD');
      }
      await expect(cv.waitAsync(lock, { timeout: 10 })).rejects.toMatchObject({ code: 'ERR_LOCK_NOT_HELD' });
      expect(lock.isLocked()).toBe(false);
    }
    // A lock that cannot tell: its own unlock() error comes through, and nothing stays counted.
    const sem = new Semaphore(0, { max: 1 });
    const custom = { lock: () => sem.acquire(), unlock: () => sem.release(), lockAsync: () => sem.acquireAsync() };
    sem.release();
    expect(() => cv.wait(custom, 10)).toThrow(RangeError); // release above max 1
    expect(cv.waiters()).toBe(0);
  });

  it('waiting on a lock held by another thread throws', async () => {
    const m = new Mutex();
    const shared = new SharedArrayBuffer(64);
    const holder = spawn({ mode: 'holdLock', lockKind: 'mutex', lock: m.handle, cv: new Condition().handle, shared });
    await holder.firstMessage;
    try {
      expect(() => new Condition().wait(m, 10)).toThrow(/held by this thread/);
    } finally {
      Atomics.store(new Int32Array(shared), STOP, 1);
      Atomics.notify(new Int32Array(shared), STOP);
    }
    await holder.done;
  });

  it('rejects bad arguments', async () => {
    const cv = new Condition();
    const m = new Mutex();
    expect(() => cv.wait({} as never)).toThrow(TypeError);
    expect(() => cv.wait(null as never)).toThrow(/lock/);
    await expect(cv.waitAsync({ lock() {}, unlock() {} })).rejects.toThrow(/lockAsync/);
    m.lock();
    expect(() => cv.wait(m, -1)).toThrow(RangeError);
    expect(() => cv.wait(m, 'x' as never)).toThrow(/timeoutMs/);
    await expect(cv.waitAsync(m, { timeout: -1 })).rejects.toThrow(/timeout/);
    expect(m.isHeldByCurrentThread()).toBe(true);
    m.unlock();
    expect(() => cv.notify(0)).toThrow(RangeError);
    expect(() => cv.notify(1.5)).toThrow(/\bn\b/);
    expect(() => cv.notify('1' as never)).toThrow(TypeError);
    expect(cv.notify()).toBe(0);
    expect(cv.notify(Infinity)).toBe(0);
    expect(cv.notifyAll()).toBe(0);
    expect(cv.waiters()).toBe(0);
  });

  it('handles: placement, from(), kind checks; zeroed memory is a valid Condition', () => {
    expect(Condition.BYTE_LENGTH).toBe(12);
    expect(Condition.BYTE_ALIGNMENT).toBe(4);
    const buffer = new SharedArrayBuffer(64);
    const cv = new Condition({ buffer, byteOffset: 12, name: 'ready' });
    expect(cv.handle).toEqual({ kind: 'Condition', buffer, byteOffset: 12, name: 'ready' });
    const before = new Int32Array(buffer).slice();
    const same = Condition.from(structuredClone(cv.handle));
    expect(new Int32Array(buffer)).toEqual(before);
    expect(same.name).toBe('ready');
    expect(() => Condition.from(new Mutex().handle)).toThrow(TypeError);
    expect(() => Condition.from({ ...cv.handle, byteOffset: 0 })).toThrow(TypeError);
    expect(() => new Condition({ buffer, byteOffset: 60 })).toThrow(RangeError);
    expect(() => new Condition({ buffer, byteOffset: 13 })).toThrow(RangeError);
  });

  it('waitAsync: notified, timed out, aborted; relocks every time', async () => {
    const cv = new Condition();
    const m = new Mutex();
    m.lock();
    const p = cv.waitAsync(m, { timeout: 5000 });
    expect(m.isLocked()).toBe(false); // released while waiting
    setTimeout(() => m.withLock(() => cv.notify()), 10);
    expect(await p).toBe(true);
    expect(m.isHeldByCurrentThread()).toBe(true);
    expect(await cv.waitAsync(m, { timeout: 20 })).toBe(false);
    expect(m.isHeldByCurrentThread()).toBe(true);
    const ac = new AbortController();
    const q = cv.waitAsync(m, { signal: ac.signal });
    setTimeout(() => ac.abort(new Error('cancelled')), 10);
    await expect(q).rejects.toThrow('cancelled');
    expect(m.isHeldByCurrentThread()).toBe(true);
    await expect(cv.waitAsync(m, { signal: AbortSignal.abort('x') })).rejects.toBe('x');
    expect(m.isHeldByCurrentThread()).toBe(true);
    m.unlock();
    expect(cv.waiters()).toBe(0);
  });
});

describe('Condition: workers', () => {
  it('20,000-round ping-pong between two workers, no timed-out wait', async () => {
    const r = await pingpong({ rounds: 10_000 });
    expect(r.timeouts).toBe(0);
    expect(r.counter).toBe(20_000);
    expect(r.cv.waiters()).toBe(0);
  }, 30_000);

  it.each(['spin', 'ticket', 'sem'] as const)('ping-pong with a %s as the lock', async (lockKind) => {
    const r = await pingpong({ rounds: 1500, lockKind });
    expect(r.timeouts).toBe(0);
    expect(r.counter).toBe(3000);
  });

  it('ping-pong between waitAsync and wait', async () => {
    const r = await pingpong({ rounds: 2000, apis: ['async', 'sync'] });
    expect(r.timeouts).toBe(0);
    expect(r.counter).toBe(4000);
    const r2 = await pingpong({ rounds: 1000, apis: ['async', 'async'], lockKind: 'ticket' });
    expect(r2.timeouts).toBe(0);
    expect(r2.counter).toBe(2000);
  });

  async function prodcons(producers: number, consumers: number, items: number, lockKind: LockKind, api = 'sync') {
    const cap = 4;
    const total = producers * items;
    const lock = makeLock(lockKind);
    const cv = new Condition({ name: 'queue' });
    const shared = new SharedArrayBuffer(4 * (RING + cap + total));
    const s = new Int32Array(shared);
    const common = { lockKind, lock: lock.handle, cv: cv.handle, shared, cap, items, total, waitMs: 5000 };
    const ws = [
      ...Array.from({ length: producers }, (_, id) => spawn({ ...common, mode: 'producer', id, api })),
      ...Array.from({ length: consumers }, (_, k) => spawn({ ...common, mode: 'consumer', api: k % 2 ? 'sync' : api })),
    ];
    const results = await Promise.all(ws.map((w) => w.done));
    expect(Atomics.load(s, TIMEOUTS)).toBe(0);
    const got = results.slice(producers).reduce((a, r) => a + r.got, 0);
    expect(got).toBe(total);
    // Every item consumed exactly once.
    const seen = s.subarray(RING + cap);
    let bad = 0;
    for (let k = 0; k < total; k++) if (seen[k] !== 1) bad++;
    expect(bad).toBe(0);
    expect(cv.waiters()).toBe(0);
  }

  it('producer/consumer over one condition with notifyAll (2 + 2 workers)', async () => {
    await prodcons(2, 2, 1500, 'mutex');
  });

  it('producer/consumer with async consumers and a TicketLock', async () => {
    await prodcons(2, 2, 800, 'ticket', 'async');
  });

  it('oversubscribed producer/consumer: 4 + 4 workers', async () => {
    await prodcons(4, 4, 400, 'mutex', 'async');
  });

  it('an aborted waitAsync does not swallow the notify meant for another waiter', async () => {
    for (let round = 0; round < 3; round++) {
      const m = new Mutex();
      const cv = new Condition();
      const shared = new SharedArrayBuffer(64);
      m.lock();
      // Queued first on the futex list, then given up.
      const ac = new AbortController();
      const abandoned = cv.waitAsync(m, { signal: ac.signal });
      const waiter = spawn({ mode: 'waitOnceReport', lockKind: 'mutex', lock: m.handle, cv: cv.handle, shared, waitMs: 5000 });
      await waiter.firstMessage;
      await new Promise((r) => setTimeout(r, 50)); // let it fall asleep behind us
      ac.abort();
      await expect(abandoned).rejects.toThrow();
      expect(m.isHeldByCurrentThread()).toBe(true);
      // notify(1) first reaches the abandoned entry; the wakeup must be passed on.
      cv.notify(1);
      m.unlock();
      const r = await waiter.done;
      expect(r.ok).toBe(true);
      expect(r.waitedMs).toBeLessThan(4000);
      expect(r.held).toBe(true);
    }
  });

  describe('negative control: a condvar that reads its sequence after unlocking', () => {
    it('loses wakeups, and this harness catches it (timeouts) within a bounded time', async () => {
      const t0 = performance.now();
      const r = await pingpong({
        rounds: 400,
        testCv: { seqAfterUnlock: true, widenMs: 1 },
        waitMs: 100,
        stopAfterTimeouts: 3,
      });
      expect(r.timeouts).toBeGreaterThanOrEqual(1);
      expect(performance.now() - t0).toBeLessThan(15_000);
    });

    it('the same pause with the sequence read before unlocking loses nothing', async () => {
      const r = await pingpong({ rounds: 400, testCv: { seqAfterUnlock: false, widenMs: 1 }, waitMs: 2000 });
      expect(r.timeouts).toBe(0);
      expect(r.counter).toBe(800);
    });
  });
});
