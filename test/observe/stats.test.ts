import { beforeAll, describe, expect, it } from 'vitest';
import { Mutex, SpinLock, TicketLock, stats, topContended } from '../../dist/index.js';
import { runWorkers } from './run-workers.js';

const KINDS = { Mutex, SpinLock, TicketLock } as const;
type KindName = keyof typeof KINDS;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function sane(h: { count: number; mean: number; p50: number; p90: number; p99: number; max: number }): void {
  expect(h.count).toBeGreaterThan(0);
  expect(h.p50).toBeGreaterThanOrEqual(0);
  expect(h.p50).toBeLessThanOrEqual(h.p90);
  expect(h.p90).toBeLessThanOrEqual(h.p99);
  expect(h.p99).toBeLessThanOrEqual(h.max);
  expect(h.mean).toBeLessThanOrEqual(h.max);
  expect(h.max).toBeLessThan(60_000); // ms: nothing in these tests takes a minute
}

beforeAll(() => {
  stats.enable();
});

describe.each(Object.keys(KINDS) as KindName[])('%s stats', (kind) => {
  it('counts every acquisition exactly across 4 contending workers (sync)', async () => {
    const name = `hammer-${kind}`;
    const lock = new KINDS[kind]({ name });
    const shared = new SharedArrayBuffer(16);
    const reports = await runWorkers(
      Array.from({ length: 4 }, () => ({ op: 'hammer', kind, handle: lock.handle, iterations: 1000, shared, workers: 4 })),
    );
    const s = stats()[name];
    expect(new Int32Array(shared)[0]).toBe(4000); // exclusion held
    expect(s.acquisitions).toBe(4000);
    expect(s.hold.count).toBe(4000);
    expect(s.contended).toBeGreaterThan(0);
    expect(s.contended).toBeLessThanOrEqual(4000);
    expect(s.wait.count).toBe(s.contended);
    expect(s.spinSuccesses).toBeLessThanOrEqual(s.contended);
    // Every contended acquisition either got it without sleeping or slept at least once.
    expect(s.parks).toBeGreaterThanOrEqual(s.contended - s.spinSuccesses);
    expect(s.timeouts).toBe(0);
    expect(s.aborts).toBe(0);
    sane(s.wait);
    sane(s.hold);
    // Readable from the workers too: each saw the same table (at least its own share, at most all).
    for (const r of reports) {
      expect(r.enabled).toBe(true);
      expect(r.stats[name].acquisitions).toBeGreaterThanOrEqual(1000);
      expect(r.stats[name].acquisitions).toBeLessThanOrEqual(4000);
    }
  });

  it('counts every acquisition exactly with 8 async workers on 2 cores', async () => {
    const name = `async-${kind}`;
    const lock = new KINDS[kind]({ name });
    const shared = new SharedArrayBuffer(16);
    await runWorkers(
      Array.from({ length: 8 }, () => ({ op: 'hammerAsync', kind, handle: lock.handle, iterations: 200, shared, workers: 8 })),
    );
    const s = stats()[name];
    expect(new Int32Array(shared)[0]).toBe(1600);
    expect(s.acquisitions).toBe(1600);
    expect(s.hold.count).toBe(1600);
    expect(s.wait.count).toBe(s.contended);
  });

  it('counts timeouts and aborts, and a worker reads the same numbers as main', async () => {
    const name = `timeouts-${kind}`;
    const lock = new KINDS[kind]({ name });
    lock.lock(); // held by main for the whole worker run
    let reports;
    try {
      reports = await runWorkers([{ op: 'timeouts', kind, handle: lock.handle }]);
    } finally {
      lock.unlock();
    }
    const [r] = reports;
    expect(r.outcome).toEqual({ failed: 3, asyncTimeouts: 1, aborts: 1 });
    const s = stats()[name];
    expect(s.timeouts).toBe(4);
    expect(s.aborts).toBe(1);
    expect(s.acquisitions).toBe(1); // main's own
    expect(s.contended).toBe(0);
    // The worker read the table before main released: same counters, main's hold not yet recorded.
    const w = r.stats[name];
    expect([w.timeouts, w.aborts, w.acquisitions]).toEqual([4, 1, 1]);
    expect(w.hold.count).toBe(0);
    expect(s.hold.count).toBe(1);
  });

  it('counts plain tryLock() acquisitions, and one timeout for a long failed tryLock(ms)', async () => {
    const name = `try-${kind}`;
    const lock = new KINDS[kind]({ name });
    for (let k = 0; k < 10; k++) {
      expect(lock.tryLock()).toBe(true);
      lock.unlock();
    }
    lock.lock(); // held by main while the worker tries
    let reports;
    try {
      // 300 ms: longer than one step of the verifier's watchdog (250 ms by default), so with the
      // verifier on (project lockcheck-on) the wait runs in several steps; still one timeout.
      reports = await runWorkers([{ op: 'tryLockFor', kind, handle: lock.handle, ms: 300 }]);
    } finally {
      lock.unlock();
    }
    expect(reports[0].outcome).toEqual({ taken: 0 });
    const s = stats()[name];
    expect(s.acquisitions).toBe(11);
    expect(s.hold.count).toBe(11);
    expect(s.timeouts).toBe(1);
    expect(s.contended).toBe(0);
  });

  it('times a contended async acquisition by the holding thread (deterministic)', async () => {
    const name = `self-${kind}`;
    const lock = new KINDS[kind]({ name });
    lock.lock();
    const waiting = lock.lockAsync();
    await sleep(10);
    lock.unlock();
    (await waiting).unlock();
    const s = stats()[name];
    expect(s.acquisitions).toBe(2);
    expect(s.contended).toBe(1);
    expect(s.wait.count).toBe(1);
    expect(s.wait.max).toBeGreaterThanOrEqual(8); // ms; it waited for the sleep
    expect(s.hold.max).toBeGreaterThanOrEqual(8);
    sane(s.wait);
  });
});

describe('stats across classes', () => {
  async function contend(lock: { lock(): unknown; unlock(): void; lockAsync(): Promise<{ unlock(): void }> }, times: number) {
    for (let k = 0; k < times; k++) {
      lock.lock();
      const waiting = lock.lockAsync(); // must wait: this thread holds it
      lock.unlock();
      (await waiting).unlock();
    }
  }

  it('topContended orders classes by contended acquisitions and skips uncontended ones', async () => {
    const hot = new Mutex({ name: 'top-hot' });
    const warm = new TicketLock({ name: 'top-warm' });
    const cold = new SpinLock({ name: 'top-cold' });
    const hot2 = new Mutex({ name: 'top-hot' }); // another lock of the same class adds to its row
    await contend(warm, 3);
    await contend(hot, 4);
    await contend(hot2, 2);
    cold.lock();
    cold.unlock();
    const top = topContended(50).filter((r) => r.name.startsWith('top-'));
    expect(top.map((r) => [r.name, r.contended])).toEqual([
      ['top-hot', 6],
      ['top-warm', 3],
    ]);
    expect(stats.topContended(1)).toHaveLength(1);
    expect(stats()['top-cold'].acquisitions).toBe(1);
    expect(() => topContended(-1)).toThrow(RangeError);
  });

  it('counts a handoff to a starving waiter (Mutex)', async () => {
    const name = 'handoff';
    const m = new Mutex({ name });
    m.lock();
    const waiting = m.lockAsync(); // parks on the word
    await sleep(5);
    m.unlock(); // wakes it, but we barge back in before its continuation runs
    m.lock();
    await sleep(5); // it wakes, finds the lock taken after > 1 ms parked: asks for a handoff
    m.unlock(); // hands off
    (await waiting).unlock();
    const s = stats()[name];
    expect(s.handoffs).toBe(1);
    expect(s.acquisitions).toBe(3);
    expect(s.contended).toBe(1);
    expect(s.parks).toBe(2);
  });

  it('reset() zeroes counters but keeps the rows', () => {
    const m = new Mutex({ name: 'reset-me' });
    m.lock();
    m.unlock();
    expect(stats()['reset-me'].acquisitions).toBe(1);
    stats.reset();
    const s = stats()['reset-me'];
    expect(s.acquisitions).toBe(0);
    expect(s.hold.count).toBe(0);
    expect(s.hold.max).toBe(0);
  });

  it('disable() stops recording everywhere; enable() resumes in the same table', async () => {
    const m = new Mutex({ name: 'toggle' });
    const buffer = stats.buffer;
    stats.disable();
    expect(stats.enabled).toBe(false);
    m.lock();
    m.unlock();
    const shared = new SharedArrayBuffer(16);
    await runWorkers([{ op: 'hammer', kind: 'Mutex', handle: m.handle, iterations: 10, shared, workers: 1 }]);
    expect(stats()['toggle']).toBeUndefined();
    stats.enable();
    expect(stats.buffer).toBe(buffer);
    m.lock();
    m.unlock();
    expect(stats()['toggle'].acquisitions).toBe(1);
  });

  it('rejects bad options', () => {
    expect(() => stats.enable({ capacity: 0 })).toThrow(RangeError);
    expect(() => stats.enable({ capacity: 1.5 })).toThrow(/options.capacity/);
    expect(() => stats.enable({ classes: 'abc' as never })).toThrow(TypeError);
    expect(() => stats.enable({ classes: [''] })).toThrow(/options.classes/);
    expect(() => stats.enable({ buffer: new SharedArrayBuffer(64) })).toThrow(/not a sablock stats table/);
    expect(() => stats.enable(42 as never)).toThrow(TypeError);
  });
});
