import { describe, expect, it } from 'vitest';
import { spawner } from './harness/spawn.js';
import { Mutex, Semaphore, TimeoutError } from '../dist/index.js';

const FIXTURE = new URL('./fixtures/sem-worker.mjs', import.meta.url);
const INSIDE = 0;
const MAX_INSIDE = 1;
const VIOLATIONS = 2;
const STOP = 3;

const spawn = spawner(FIXTURE, 20_000);

function counters(): { sab: SharedArrayBuffer; c: Int32Array } {
  const sab = new SharedArrayBuffer(64);
  return { sab, c: new Int32Array(sab) };
}

describe('Semaphore: single thread', () => {
  it('counts permits, weighted', () => {
    const s = new Semaphore(5);
    expect(s.available()).toBe(5);
    const g = s.acquire(3);
    expect(g.permits).toBe(3);
    expect(s.available()).toBe(2);
    expect(s.tryAcquire(3)).toBe(false);
    expect(s.tryAcquire(2)).toBe(true);
    expect(s.available()).toBe(0);
    g.release();
    g.release(); // a guard releases once
    expect(s.available()).toBe(3);
    s.release(2);
    expect(s.available()).toBe(5);
  });

  it('guards release the same n on dispose (using)', async () => {
    const s = new Semaphore(4);
    {
      using _g = s.acquire(3);
      expect(s.available()).toBe(1);
    }
    expect(s.available()).toBe(4);
    {
      await using _g = await s.acquireAsync(2);
      expect(s.available()).toBe(2);
    }
    expect(s.available()).toBe(4);
    expect(s.withPermits(4, () => s.available())).toBe(0);
    expect(() => s.withPermits(2, () => { throw new Error('x'); })).toThrow('x');
    expect(await s.withPermitsAsync(1, async () => s.available())).toBe(3);
    expect(s.available()).toBe(4);
  });

  it('tryAcquire(n, ms) returns false on timeout, within tolerance', () => {
    const s = new Semaphore(1);
    const t0 = performance.now();
    expect(s.tryAcquire(2, 60)).toBe(false);
    const took = performance.now() - t0;
    expect(took).toBeGreaterThanOrEqual(55);
    expect(took).toBeLessThan(2000);
    expect(s.tryAcquire(1, 0)).toBe(true);
    expect(s.tryAcquire(1, 0)).toBe(false);
    expect(s.hasQueuedHead()).toBe(false); // a head that timed out opened the gate
  });

  it('acquireAsync rejects with TimeoutError or the abort reason, holding nothing', async () => {
    const s = new Semaphore(0);
    await expect(s.acquireAsync(1, { timeout: 30 })).rejects.toBeInstanceOf(TimeoutError);
    const ac = new AbortController();
    const p = s.acquireAsync(1, { signal: ac.signal });
    setTimeout(() => ac.abort(new Error('stop')), 10);
    await expect(p).rejects.toThrow('stop');
    await expect(s.acquireAsync(1, { signal: AbortSignal.abort('early') })).rejects.toBe('early');
    expect(s.available()).toBe(0);
    s.release();
    expect(s.available()).toBe(1);
    expect(s.hasQueuedHead()).toBe(false);
  });

  it('an async waiter is served by a later release', async () => {
    const s = new Semaphore(0);
    const p = s.acquireAsync(2);
    setTimeout(() => s.release(1), 5);
    setTimeout(() => s.release(1), 10);
    const g = await p;
    expect(g.permits).toBe(2);
    expect(s.available()).toBe(0);
  });

  it('rejects bad arguments with TypeError/RangeError naming them', async () => {
    expect(() => new Semaphore(-1)).toThrow(RangeError);
    expect(() => new Semaphore(1.5)).toThrow(/permits/);
    expect(() => new Semaphore(2 ** 31)).toThrow(RangeError);
    expect(() => new Semaphore('3' as never)).toThrow(TypeError);
    expect(() => new Semaphore(3, { max: 2 })).toThrow(/max/);
    expect(() => new Semaphore(3, { max: 0 })).toThrow(RangeError);
    expect(() => new Semaphore(1, { max: 'x' as never })).toThrow(TypeError);
    const s = new Semaphore(2, { max: 4 });
    expect(s.max).toBe(4);
    for (const bad of [0, -1, 1.5, NaN, Infinity, 5]) {
      expect(() => s.acquire(bad)).toThrow(RangeError);
      expect(() => s.tryAcquire(bad)).toThrow(/\bn\b/);
      expect(() => s.release(bad)).toThrow(RangeError);
    }
    expect(() => s.acquire('1' as never)).toThrow(TypeError);
    expect(() => s.tryAcquire(1, -5)).toThrow(/timeoutMs/);
    await expect(s.acquireAsync(1, { timeout: -1 })).rejects.toThrow(/timeout/);
    s.release(2);
    expect(() => s.release(1)).toThrow(/above max 4/);
    expect(s.available()).toBe(4); // a refused release changed nothing
    const big = new Semaphore(Semaphore.MAX_PERMITS);
    expect(() => big.release(1)).toThrow(RangeError);
  });

  it('handles: placement, from(), kind checks; attaching never writes', () => {
    expect(Semaphore.BYTE_LENGTH).toBe(104);
    expect(Semaphore.BYTE_ALIGNMENT).toBe(4);
    const buffer = new SharedArrayBuffer(256);
    const s = new Semaphore(3, { buffer, byteOffset: 32, name: 'pool' });
    const h = s.handle;
    expect(h).toEqual({ kind: 'Semaphore', buffer, byteOffset: 32, name: 'pool' });
    const t = Semaphore.from(structuredClone(h));
    expect(t.name).toBe('pool');
    t.acquire(2);
    expect(s.available()).toBe(1);
    // A second constructor at the same place attaches and does not re-add its permits.
    const again = new Semaphore(10, { buffer, byteOffset: 32 });
    expect(again.available()).toBe(1);
    const before = new Int32Array(buffer).slice();
    Semaphore.from(h);
    expect(new Int32Array(buffer)).toEqual(before);
    expect(() => Semaphore.from(new Mutex().handle)).toThrow(TypeError);
    expect(() => Semaphore.from({ ...h, kind: 'Mutex' } as never)).toThrow(/kind/);
    expect(() => Semaphore.from({ ...h, byteOffset: 4 })).toThrow(TypeError);
    expect(() => new Semaphore(1, { buffer, byteOffset: 2 })).toThrow(RangeError);
    expect(() => new Semaphore(1, { buffer, byteOffset: 200 })).toThrow(RangeError);
    expect(() => new Semaphore(1, { buffer: new ArrayBuffer(64) as never })).toThrow(TypeError);
    new Mutex({ buffer, byteOffset: 0 });
    expect(() => new Semaphore(1, { buffer, byteOffset: 0 })).toThrow(/Mutex/);
  });
});

describe('Semaphore: constructors racing at one place', () => {
  const race = spawner(new URL('./fixtures/sem-place-race.mjs', import.meta.url), 20_000);

  it('every object agrees on trackOwners: the constructor that claims the place decides it, in the same step', async () => {
    // Four workers, 300 rounds: in each, all of them construct at one fresh place at once, two
    // asking for trackOwners and two not. Each object reads the decision once and keeps it, so
    // one that read before the claimer had decided would disagree for good.
    const workers = 4;
    const rounds = 300;
    const bytes = Semaphore.BYTE_LENGTH;
    const buffer = new SharedArrayBuffer(rounds * bytes);
    const sync = new SharedArrayBuffer(4);
    const out = new Int32Array(new SharedArrayBuffer(rounds * workers * 4));
    const ws = Array.from({ length: workers }, (_, index) =>
      race({ mode: 'race', buffer, sync, out: out.buffer, index, workers, rounds, bytes }),
    );
    await Promise.all(ws.map((w) => w.done));
    for (let r = 0; r < rounds; r++) {
      const seen = Array.from(out.subarray(r * workers, (r + 1) * workers));
      const final = new Semaphore(1, { buffer, byteOffset: r * bytes }).tracksOwners ? 1 : 2;
      expect(seen, `round ${r}`).toEqual(Array(workers).fill(final));
    }
  });
});

describe('Semaphore: workers', () => {
  async function exclusion(workers: number, permits: number, extra: Record<string, unknown>) {
    const sem = new Semaphore(permits, { name: 'exclusion' });
    const { sab, c } = counters();
    const ws = Array.from({ length: workers }, (_, k) =>
      spawn({ mode: 'exclusion', sem: sem.handle, counters: sab, permits, seed: 7 + k, startTogether: workers, ...extra }),
    );
    const results = await Promise.all(ws.map((w) => w.done));
    expect(Atomics.load(c, VIOLATIONS)).toBe(0);
    expect(Atomics.load(c, INSIDE)).toBe(0);
    expect(results.reduce((s, r) => s + r.timeouts, 0)).toBe(0);
    expect(sem.available()).toBe(permits);
    expect(sem.hasQueuedHead()).toBe(false);
    return Atomics.load(c, MAX_INSIDE);
  }

  it('never more holders than permits, and every permit gets used (4 workers, 3 permits)', async () => {
    const max = await exclusion(4, 3, { iters: 1000, api: 'sync' });
    expect(max).toBe(3);
  });

  it('mixed sync / tryAcquire(ms) / async / guard acquisitions', async () => {
    const max = await exclusion(4, 2, { iters: 800, api: 'mixed' });
    expect(max).toBe(2);
  });

  it('weighted acquisitions (1..4 of 5 permits) never exceed the count', async () => {
    const max = await exclusion(4, 5, { iters: 700, api: 'mixed', maxWeight: 4 });
    expect(max).toBeLessThanOrEqual(5);
    expect(max).toBeGreaterThanOrEqual(4);
  });

  it('oversubscribed: 8 workers on 3 permits', async () => {
    const max = await exclusion(8, 3, { iters: 300, api: 'mixed', maxWeight: 2 });
    expect(max).toBe(3);
  });

  it('a large request completes while 4 workers stream small acquire/release', async () => {
    const permits = 4;
    const sem = new Semaphore(permits, { name: 'large' });
    const { sab, c } = counters();
    const streams = Array.from({ length: 4 }, (_, k) =>
      spawn({ mode: 'stream', sem: sem.handle, counters: sab, permits, holdMs: 0.05, seed: k + 1 }),
    );
    // Every stream is running before the large request starts.
    await Promise.all(streams.map((w) => w.firstMessage));
    const big = spawn({ mode: 'large', sem: sem.handle, counters: sab, permits, iters: 5, largeTimeoutMs: 5000 });
    try {
      const r = await big.done;
      expect(r.failed).toBe(0);
      expect(r.times.length).toBe(5);
    } finally {
      Atomics.store(c, STOP, 1);
    }
    const ops = (await Promise.all(streams.map((s) => s.done))).map((r) => r.ops);
    // The streams kept running (and competing) meanwhile.
    for (const n of ops) expect(n).toBeGreaterThan(1);
    expect(Atomics.load(c, VIOLATIONS)).toBe(0);
    expect(sem.available()).toBe(permits);
  });

  it('an aborted async wait does not lose the wakeup a release meant for another waiter', async () => {
    for (let round = 0; round < 3; round++) {
      const sem = new Semaphore(0, { name: 'abort' });
      const { sab } = counters();
      // The main thread queues first on the futex list, then gives up.
      const ac = new AbortController();
      const abandoned = sem.acquireAsync(1, { signal: ac.signal });
      abandoned.catch(() => {});
      const blocked = spawn({ mode: 'blockOnce', sem: sem.handle, counters: sab, permits: 1, timeoutMs: 5000 });
      await blocked.firstMessage;
      await new Promise((r) => setTimeout(r, 50)); // let it fall asleep behind us
      ac.abort();
      await expect(abandoned).rejects.toThrow();
      // Its wake-n release wakes the abandoned entry first; the wakeup must reach the worker.
      sem.release(1);
      const r = await blocked.done;
      expect(r.ok).toBe(true);
      expect(r.waitedMs).toBeLessThan(4000);
      expect(sem.available()).toBe(0);
    }
  });

  it('a head that dies costs fairness for one lease, never progress', async () => {
    const sem = new Semaphore(0, { name: 'dead-head' });
    const { sab } = counters();
    const head = spawn({ mode: 'blockOnce', sem: sem.handle, counters: sab, permits: 2, n: 2, timeoutMs: 60_000 });
    await head.firstMessage;
    await new Promise((r) => setTimeout(r, 20));
    // One permit: not enough for its 2, but it wakes (weighted sleeper), has waited > 1 ms: it
    // claims the head and closes the gate.
    sem.release(1);
    const t0 = performance.now();
    while (!sem.hasQueuedHead() && performance.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 5));
    expect(sem.hasQueuedHead()).toBe(true);
    expect(sem.tryAcquire(1)).toBe(false); // gated: the head goes first
    await head.worker.terminate();
    // Its lease runs out; the permit is usable again.
    const t1 = performance.now();
    expect(sem.tryAcquire(1, 5000)).toBe(true);
    expect(performance.now() - t1).toBeLessThan(4000);
    expect(sem.hasQueuedHead()).toBe(false);
    sem.release(1);
    expect(sem.available()).toBe(1);
  });
});
