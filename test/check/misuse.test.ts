/**
 * Lock-order verifier: every report kind besides lock-order, on real workers: recursive,
 * not-owner, rank (option and declared order), held-across-await, main-thread-block,
 * exit-with-locks and actual deadlocks found by the waits-for watchdog.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { lockcheck, LockOrderError, Mutex, SpinLock, TicketLock } from '../../dist/index.js';
import { reportsFor, runOne, spawn, stopAll, until } from './helpers.js';

beforeAll(() => lockcheck.enable({ onViolation: 'silent', deadlockTimeout: 200 }));
afterEach(async () => {
  lockcheck.enable({ onViolation: 'silent', holdStacks: false });
  await stopAll();
});

const h = (m: { handle: unknown }): unknown => m.handle;

describe('recursive', () => {
  it('reports re-locking a held lock, then the lock throws ERR_LOCK_RECURSIVE', async () => {
    const m = new Mutex({ name: 'rec.m' });
    const out = await runOne({ m: h(m) }, [['lock', 'm'], ['lock', 'm']]);
    expect(out.error).toMatchObject({ name: 'LockError', code: 'ERR_LOCK_RECURSIVE' });
    const [r] = reportsFor('recursive', 'rec.m');
    expect(r!.message).toContain('which it already holds: the lock is not reentrant');
    expect(r!.stacks[0]!.stack).toMatch(/steps\.mjs/);
  });

  it("with 'throw' the second lock() of a TicketLock throws LockOrderError before taking a ticket", async () => {
    lockcheck.enable({ onViolation: 'throw' });
    const t = new TicketLock({ name: 'rec.t' });
    const out = await runOne({ t: h(t) }, [['lock', 't'], ['expectThrow', ['lock', 't'], 'recursive'], ['unlock', 't']]);
    expect(out.done).toBe(true);
    expect(t.isLocked()).toBe(false); // no ticket left behind
  });
});

describe('not-owner', () => {
  it('reports unlocking a free lock', async () => {
    const m = new Mutex({ name: 'no.free' });
    const out = await runOne({ m: h(m) }, [['unlock', 'm']]);
    expect(out.error).toMatchObject({ code: 'ERR_LOCK_NOT_OWNER' });
    expect(reportsFor('not-owner', 'no.free')[0]!.message).toContain('but it is not locked');
  });

  it("reports unlocking another thread's lock, naming both threads; 'throw' throws instead", async () => {
    lockcheck.enable({ onViolation: 'throw' });
    const m = new SpinLock({ name: 'no.other' });
    const coord = new SharedArrayBuffer(256);
    const owner = spawn({ m: h(m) }, [['lock', 'm'], ['set', 0, 1], ['await', 1, 1], ['unlock', 'm']], coord);
    const thief = spawn({ m: h(m) }, [['await', 0, 1], ['expectThrow', ['unlock', 'm'], 'not-owner'], ['set', 1, 1]], coord);
    expect((await thief.result).done).toBe(true);
    expect((await owner.result).done).toBe(true);
    const [r] = reportsFor('not-owner', 'no.other');
    expect(r!.threads).toEqual([thief.threadId, owner.threadId]);
    expect(r!.message).toContain(`thread ${thief.threadId} is releasing "no.other", but it is held by thread ${owner.threadId}.`);
  });
});

describe('rank', () => {
  it('reports taking a lower rank while holding a higher one (rank carried in the handle)', async () => {
    const hi = new Mutex({ name: 'rk.hi', rank: 10 });
    const lo = new Mutex({ name: 'rk.lo', rank: 5 });
    expect(Mutex.from(hi.handle).rank).toBe(10);
    const locks = { hi: h(hi), lo: h(lo) };
    await runOne(locks, [['lock', 'lo'], ['lock', 'hi'], ['unlock', 'hi'], ['unlock', 'lo']]);
    expect(reportsFor('rank', 'rk.hi')).toEqual([]);
    await runOne(locks, [['lock', 'hi'], ['lock', 'lo'], ['unlock', 'lo'], ['unlock', 'hi']]);
    const [r] = reportsFor('rank', 'rk.hi');
    expect(r!.message).toContain('"rk.hi" has rank 10 and "rk.lo" rank 5; ranks must increase');
    expect(() => new Mutex({ rank: Number.NaN })).toThrow(RangeError);
    expect(() => new Mutex({ rank: '1' as unknown as number })).toThrow(TypeError);
  });

  it('reports acquisitions against a declared order, including edges seen before the declaration', async () => {
    lockcheck.declareOrder(['do.a', 'do.b', 'do.c']);
    const [a, b, c] = ['do.a', 'do.b', 'do.c'].map((name) => new Mutex({ name }));
    const locks = { a: h(a!), b: h(b!), c: h(c!) };
    await runOne(locks, [['lock', 'a'], ['lock', 'c'], ['unlock', 'c'], ['unlock', 'a']]);
    expect(reportsFor('rank', 'do.a')).toEqual([]);
    await runOne(locks, [['lock', 'c'], ['lock', 'a'], ['unlock', 'a'], ['unlock', 'c']]);
    expect(reportsFor('rank', 'do.a')[0]!.message).toContain('the declared order puts "do.a" before "do.c"');

    const [x, y] = ['late.x', 'late.y'].map((name) => new Mutex({ name }));
    await runOne({ x: h(x!), y: h(y!) }, [['lock', 'y'], ['lock', 'x'], ['unlock', 'x'], ['unlock', 'y']]);
    lockcheck.declareOrder(['late.x', 'late.y']);
    const [late] = reportsFor('rank', 'late.x');
    expect(late!.locks).toEqual(['late.y', 'late.x']);
    expect(late!.stacks[0]!.stack).toMatch(/steps\.mjs/);
    expect(() => lockcheck.declareOrder(['late.y', 'late.x'])).toThrow(RangeError);
  });
});

describe('held-across-await', () => {
  it('reports a blocking lock still held after an await; short sync holds and async holds are fine', async () => {
    const m = new Mutex({ name: 'await.m' });
    const n = new Mutex({ name: 'await.n' });
    const k = new Mutex({ name: 'await.k' });
    const locks = { m: h(m), n: h(n), k: h(k) };
    // Negative controls first: released before the await; held by lockAsync across the await.
    await runOne(locks, [
      ['lock', 'n'], ['unlock', 'n'], ['awaitTick'], ['lock', 'n'], ['unlock', 'n'], ['sleep', 5],
      ['lockAsync', 'k'], ['awaitTick'], ['sleep', 5], ['unlock', 'k'],
    ]);
    expect(lockcheck.reports().filter((r) => r.kind === 'held-across-await' && r.locks[0]!.startsWith('await.'))).toEqual([]);
    // holdStacks: the report shows where the lock was taken.
    lockcheck.enable({ onViolation: 'silent', holdStacks: true });
    const out = await runOne(locks, [['lock', 'm'], ['awaitTick'], ['unlock', 'm']]);
    expect(out.done).toBe(true);
    const [r] = reportsFor('held-across-await', 'await.m');
    expect(r!.message).toContain('took "await.m" with a blocking call and still holds it after yielding');
    expect(r!.message).toMatch(/#0: "await\.m" \(exclusive\), acquired at:\n\s+at .*steps\.mjs:\d+/);
    expect(r!.stacks[0]).toMatchObject({ label: '"await.m" acquired', stack: expect.stringMatching(/steps\.mjs/) });
  });
});

describe('main-thread-block', () => {
  it("reports the main thread about to block on a held lock ('throw': before it blocks)", async () => {
    lockcheck.enable({ onViolation: 'throw' });
    const m = new Mutex({ name: 'main.m' });
    const coord = new SharedArrayBuffer(256);
    const w = spawn({ m: h(m) }, [['lock', 'm'], ['set', 0, 1], ['await', 1, 1], ['unlock', 'm']], coord);
    const c = new Int32Array(coord);
    await until(() => (Atomics.load(c, 0) === 1 ? true : undefined), 10_000, 'worker holding the lock');
    expect(m.tryLock()).toBe(false); // never blocks: not reported
    let thrown: unknown;
    try {
      m.lock();
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(LockOrderError);
    expect((thrown as LockOrderError).report).toMatchObject({ kind: 'main-thread-block', locks: ['main.m'] });
    Atomics.store(c, 1, 1);
    Atomics.notify(c, 1);
    expect((await w.result).done).toBe(true);
    expect(reportsFor('main-thread-block', 'main.m')).toHaveLength(1);
  });
});

describe('main-thread-block (warn/silent)', () => {
  it('records it once and then blocks until the holder releases', async () => {
    const m = new Mutex({ name: 'main.wait' });
    const coord = new SharedArrayBuffer(256);
    const w = spawn({ m: h(m) }, [['lock', 'm'], ['set', 0, 1], ['sleep', 300], ['unlock', 'm']], coord);
    await until(() => (Atomics.load(new Int32Array(coord), 0) === 1 ? true : undefined), 10_000, 'worker holding the lock');
    const t0 = Date.now();
    m.lock(); // blocks the main thread in watchdog-sized steps until the worker's unlock
    expect(Date.now() - t0).toBeGreaterThanOrEqual(100);
    m.unlock();
    expect((await w.result).done).toBe(true);
    expect(reportsFor('main-thread-block', 'main.wait')).toHaveLength(1);
    expect(reportsFor('deadlock', 'main.wait')).toEqual([]);
  });
});

describe('exit-with-locks', () => {
  it('reports a worker that ends holding a lock, and one terminated holding a lock', async () => {
    const x = new Mutex({ name: 'exit.x' });
    const y = new TicketLock({ name: 'exit.y' });
    const ended = spawn({ x: h(x) }, [['lock', 'x']]);
    expect((await ended.result).done).toBe(true);
    const coord = new SharedArrayBuffer(256);
    const killed = spawn({ y: h(y) }, [['lock', 'y'], ['set', 0, 1], ['hang']], coord);
    await until(() => (Atomics.load(new Int32Array(coord), 0) === 1 ? true : undefined), 10_000, 'worker holding y');
    await killed.worker.terminate();
    const [rx] = await until(() => {
      const r = reportsFor('exit-with-locks', 'exit.x');
      return r.length ? r : undefined;
    });
    expect(rx!.threads).toEqual([ended.threadId]);
    const [ry] = await until(() => {
      const r = reportsFor('exit-with-locks', 'exit.y');
      return r.length ? r : undefined;
    });
    expect(ry!.threads).toEqual([killed.threadId]);
    expect(ry!.message).toMatch(new RegExp(`thread ${killed.threadId} (is exiting|exited)`));
  });
});

describe('deadlock (waits-for watchdog)', () => {
  it('finds an actual two-thread deadlock and names both threads, their locks and stacks', async () => {
    const a = new Mutex({ name: 'dl.a' });
    const b = new Mutex({ name: 'dl.b' });
    const coord = new SharedArrayBuffer(256);
    const locks = { a: h(a), b: h(b) };
    const w1 = spawn(locks, [['lock', 'a'], ['set', 0, 1], ['await', 1, 1], ['lock', 'b']], coord);
    const w2 = spawn(locks, [['lock', 'b'], ['set', 1, 1], ['await', 0, 1], ['lock', 'a']], coord);
    const r = await until(() => reportsFor('deadlock', 'dl.a')[0], 15_000, 'deadlock report');
    expect(new Set(r.threads)).toEqual(new Set([w1.threadId, w2.threadId]));
    expect(new Set(r.locks)).toEqual(new Set(['dl.a', 'dl.b']));
    expect(r.message).toContain(`thread ${w1.threadId} waits for "dl.b", held by thread ${w2.threadId}; it holds "dl.a"`);
    expect(r.message).toContain(`thread ${w2.threadId} waits for "dl.a", held by thread ${w1.threadId}; it holds "dl.b"`);
    expect(r.stacks.every((s) => /steps\.mjs/.test(s.stack))).toBe(true);
    expect(reportsFor('deadlock', 'dl.a')).toHaveLength(1);
  }, 30_000);

  it('finds a three-thread deadlock across Mutex, SpinLock and TicketLock', async () => {
    const a = new Mutex({ name: 'dl3.a' });
    const b = new SpinLock({ name: 'dl3.b' });
    const c = new TicketLock({ name: 'dl3.c' });
    const coord = new SharedArrayBuffer(256);
    const locks = { a: h(a), b: h(b), c: h(c) };
    const ws = [
      spawn(locks, [['lock', 'a'], ['add', 0, 1], ['await', 0, 3], ['lock', 'b']], coord),
      spawn(locks, [['lock', 'b'], ['add', 0, 1], ['await', 0, 3], ['lock', 'c']], coord),
      spawn(locks, [['lock', 'c'], ['add', 0, 1], ['await', 0, 3], ['lock', 'a']], coord),
    ];
    const r = await until(() => reportsFor('deadlock', 'dl3.a')[0], 20_000, 'deadlock report');
    expect(new Set(r.threads)).toEqual(new Set(ws.map((w) => w.threadId)));
    expect(new Set(r.locks)).toEqual(new Set(['dl3.a', 'dl3.b', 'dl3.c']));
  }, 40_000);

  it("with 'throw', one thread of a deadlock the graph cannot see (one class) gives up with LockOrderError", async () => {
    lockcheck.enable({ onViolation: 'throw', deadlockTimeout: 200 });
    // Two instances of one class: no order edge between them, so only the watchdog can catch it.
    const m1 = new Mutex({ name: 'dl.same' });
    const m2 = new Mutex({ name: 'dl.same' });
    const coord = new SharedArrayBuffer(256);
    const locks = { m1: h(m1), m2: h(m2) };
    const steps = (x: string, y: string): unknown[][] => [
      ['lock', x], ['add', 0, 1], ['await', 0, 2], ['lockOrReport', y], ['unlock', x],
    ];
    const outs = await Promise.all([spawn(locks, steps('m1', 'm2'), coord).result, spawn(locks, steps('m2', 'm1'), coord).result]);
    for (const o of outs) expect(o.done).toBe(true);
    expect(outs.map((o) => o.refused).filter((k) => k !== undefined)).toEqual(['deadlock']);
    expect(m1.isLocked() || m2.isLocked()).toBe(false);
    expect(reportsFor('deadlock', 'dl.same')).toHaveLength(1);
  }, 30_000);
});
