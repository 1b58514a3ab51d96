/**
 * Lock-order verifier on RWLock (and SeqLock's writers' lock), with real workers: write/write
 * order cycles, re-entrant reads that must not make a cycle (with a negative control that must),
 * a reader that can wait behind a writer closing a cycle, not-owner releases, rank and lock class
 * carried by the handle, and an actual RW deadlock found by the waits-for watchdog.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { lockcheck, Mutex, RWLock, SeqLock } from '../../dist/index.js';
import { RW_FIXTURE, reportsFor, spawn as spawnProgram, stopAll, until, type Outcome } from './helpers.js';

/** The RWLock step program in a worker (helpers.ts's spawner: bounded by the tests, ended after each). */
const spawn = (locks: Record<string, unknown>, steps: unknown[][], coord = new SharedArrayBuffer(64)) =>
  spawnProgram(locks, steps, coord, RW_FIXTURE);

const run = (locks: Record<string, unknown>, steps: unknown[][]): Promise<Outcome> => spawn(locks, steps).result;

beforeAll(() => lockcheck.enable({ onViolation: 'silent', deadlockTimeout: 200 }));
afterEach(async () => {
  lockcheck.enable({ onViolation: 'silent', deadlockTimeout: 200 });
  await stopAll();
});

const h = (l: { handle: unknown }): unknown => l.handle;

describe('RWLock order cycles', () => {
  it('reports an AB/BA write-write cycle built by two workers', async () => {
    const a = new RWLock({ name: 'rww.a' });
    const b = new RWLock({ name: 'rww.b' });
    const locks = { a: h(a), b: h(b) };
    const w1 = spawn(locks, [['write', 'a'], ['write', 'b'], ['writeUnlock', 'b'], ['writeUnlock', 'a']]);
    expect((await w1.result).done).toBe(true);
    expect(reportsFor('lock-order', 'rww.a')).toEqual([]);
    const w2 = spawn(locks, [['write', 'b'], ['write', 'a'], ['writeUnlock', 'a'], ['writeUnlock', 'b']]);
    expect((await w2.result).done).toBe(true);
    const [r, more] = reportsFor('lock-order', 'rww.a');
    expect(more).toBeUndefined();
    expect(r!.locks).toEqual(['rww.b', 'rww.a']);
    expect(r!.threads).toEqual([w2.threadId, w1.threadId]);
    for (const e of r!.edges!) expect(e.stack).toMatch(/rw-steps\.mjs/);
  });

  it('re-entrant read locks in one thread make no cycle and no recursion report', async () => {
    const a = new RWLock({ name: 'rwr.a' });
    const b = new Mutex({ name: 'rwr.b' });
    const locks = { a: h(a), b: h(b) };
    // read A, then B, then A again: the second read cannot wait (this thread already reads), so
    // it must add no B -> A edge, which would close A -> B -> A.
    const out = await run(locks, [
      ['read', 'a'], ['read', 'a'], ['lock', 'b'], ['read', 'a'], ['tryRead', 'a'], ['tryRead', 'a', 50],
      ['readUnlock', 'a'], ['readUnlock', 'a'], ['readUnlock', 'a'], ['unlock', 'b'], ['readUnlock', 'a'], ['readUnlock', 'a'],
    ]);
    expect(out.done).toBe(true);
    expect(a.isLocked()).toBe(false);
    expect(reportsFor('recursive', 'rwr.a')).toEqual([]);
    expect(reportsFor('lock-order', 'rwr.a')).toEqual([]);
    expect(reportsFor('not-owner', 'rwr.a')).toEqual([]);
    // Negative control: a thread that does not already read A takes it after B, and that read
    // can wait behind a writer: the cycle A -> B -> A is real and must be reported.
    expect((await run(locks, [['lock', 'b'], ['read', 'a'], ['readUnlock', 'a'], ['unlock', 'b']])).done).toBe(true);
    expect(reportsFor('lock-order', 'rwr.a')).toHaveLength(1);
  });

  it('a reader that can wait behind a writer closes a cycle (read A + write B, then write B + read A)', async () => {
    const a = new RWLock({ name: 'rwq.a' });
    const b = new RWLock({ name: 'rwq.b' });
    const locks = { a: h(a), b: h(b) };
    expect((await run(locks, [['read', 'a'], ['write', 'b'], ['writeUnlock', 'b'], ['readUnlock', 'a']])).done).toBe(true);
    expect(reportsFor('lock-order', 'rwq.a')).toEqual([]);
    expect((await run(locks, [['write', 'b'], ['read', 'a'], ['readUnlock', 'a'], ['writeUnlock', 'b']])).done).toBe(true);
    const [r] = reportsFor('lock-order', 'rwq.a');
    expect(r).toBeDefined();
    expect(new Set(r!.locks)).toEqual(new Set(['rwq.a', 'rwq.b']));
    // With 'throw' (fresh classes: a cycle seen in silent mode is recorded, so it would not throw
    // again), the closing read throws LockOrderError before it can block, and holds nothing.
    lockcheck.enable({ onViolation: 'throw' });
    const ta = new RWLock({ name: 'rwq.ta' });
    const tb = new RWLock({ name: 'rwq.tb' });
    const tlocks = { a: h(ta), b: h(tb) };
    expect((await run(tlocks, [['read', 'a'], ['write', 'b'], ['writeUnlock', 'b'], ['readUnlock', 'a']])).done).toBe(true);
    const out = await run(tlocks, [
      ['write', 'b'], ['expectError', ['read', 'a'], 'LockOrderError', 'lock-order'], ['writeUnlock', 'b'],
    ]);
    expect(out).toMatchObject({ done: true });
    expect(ta.isLocked() || tb.isLocked()).toBe(false);
  });

  it('upgradable reads order as exclusive, and downgrade keeps the hold (no not-owner on the read release)', async () => {
    const a = new RWLock({ name: 'rwu.a' });
    const b = new RWLock({ name: 'rwu.b' });
    const locks = { a: h(a), b: h(b) };
    const out = await run(locks, [
      ['upgradable', 'a'], ['read', 'b'], ['readUnlock', 'b'], ['upgrade', 'a'], ['downgrade', 'a'], ['readUnlock', 'a'],
      ['write', 'a'], ['downgrade', 'a'], ['readUnlock', 'a'],
    ]);
    expect(out.done).toBe(true);
    expect(reportsFor('not-owner', 'rwu.a')).toEqual([]);
    expect(reportsFor('recursive', 'rwu.a')).toEqual([]);
    // b then a (upgradable): closes a -> b -> a.
    expect((await run(locks, [['write', 'b'], ['upgradable', 'a'], ['upgradableUnlock', 'a'], ['writeUnlock', 'b']])).done).toBe(true);
    expect(reportsFor('lock-order', 'rwu.a')).toHaveLength(1);
  });

  it("SeqLock's writers' lock takes part in the order graph", async () => {
    const m = new Mutex({ name: 'seqo.m' });
    const s = new SeqLock({ name: 'seqo.s', dataByteLength: 8 });
    m.withLock(() => s.write((v) => v.setFloat64(0, 1)));
    s.write(() => m.withLock(() => 0));
    const [r] = reportsFor('lock-order', 'seqo.s');
    expect(r).toBeDefined();
    expect(new Set(r!.locks)).toEqual(new Set(['seqo.m', 'seqo.s']));
    expect(s.read((v) => v.getFloat64(0))).toBe(1);
  });
});

describe('RWLock misuse', () => {
  it('reports a write unlock by a thread that does not hold it (free, and held by main)', async () => {
    const free = new RWLock({ name: 'rwn.free' });
    const out = await run({ l: h(free) }, [['expectError', ['writeUnlock', 'l'], 'LockError', 'ERR_LOCK_NOT_OWNER']]);
    expect(out.done).toBe(true);
    expect(reportsFor('not-owner', 'rwn.free')).toHaveLength(1);
    expect(reportsFor('not-owner', 'rwn.free')[0]!.message).toContain('it is not locked');

    const held = new RWLock({ name: 'rwn.held' });
    held.writeLock();
    try {
      const w = spawn({ l: h(held) }, [['expectError', ['writeUnlock', 'l'], 'LockError', 'ERR_LOCK_NOT_OWNER']]);
      expect((await w.result).done).toBe(true);
      const [r] = reportsFor('not-owner', 'rwn.held');
      expect(r!.threads).toEqual([w.threadId, 0]);
      expect(held.isWriteLocked()).toBe(true); // the bad release released nothing
    } finally {
      held.writeUnlock();
    }
    expect(reportsFor('not-owner', 'rwn.held')).toHaveLength(1); // main's own release is fine
  });

  it('reports a read unlock without a read hold', async () => {
    const l = new RWLock({ name: 'rwn.read' });
    const out = await run({ l: h(l) }, [['expectError', ['readUnlock', 'l'], 'LockError', 'ERR_LOCK_NOT_HELD']]);
    expect(out.done).toBe(true);
    const [r] = reportsFor('not-owner', 'rwn.read');
    expect(r!.message).toContain('(shared)');
  });

  it("with 'throw', the not-owner release throws LockOrderError and changes nothing", async () => {
    lockcheck.enable({ onViolation: 'throw' });
    const l = new RWLock({ name: 'rwn.throw' });
    l.readLock();
    try {
      const out = await run({ l: h(l) }, [['expectError', ['writeUnlock', 'l'], 'LockOrderError', 'not-owner']]);
      expect(out.done).toBe(true);
      expect(l.readerCount()).toBe(1);
    } finally {
      l.readUnlock();
    }
  });

  it('writeLock while reading is a recursive report, then ERR_LOCK_RECURSIVE', async () => {
    const l = new RWLock({ name: 'rwn.rec' });
    const out = await run({ l: h(l) }, [['read', 'l'], ['expectError', ['write', 'l'], 'LockError', 'ERR_LOCK_RECURSIVE'], ['readUnlock', 'l']]);
    expect(out.done).toBe(true);
    expect(reportsFor('recursive', 'rwn.rec')).toHaveLength(1);
  });
});

describe('RWLock class and rank', () => {
  it('carries lockClass and rank in the handle; an unnamed lock gets its construction site', () => {
    const unnamed = new RWLock();
    expect(unnamed.lockClass).toMatch(/^RWLock at .*rw-order\.test\.ts/);
    expect((unnamed.handle as { lockClass?: string }).lockClass).toBe(unnamed.lockClass);
    expect(RWLock.from(unnamed.handle).lockClass).toBe(unnamed.lockClass);
    const ranked = new RWLock({ name: 'rk', rank: 3 });
    expect((ranked.handle as { rank?: number }).rank).toBe(3);
    expect(RWLock.from(ranked.handle).rank).toBe(3);
    expect(() => new RWLock({ rank: Number.NaN })).toThrow(RangeError);
    expect(() => new RWLock({ rank: 'x' as unknown as number })).toThrow(TypeError);
    const s = new SeqLock({ name: 'sk', rank: 2, dataByteLength: 4 });
    expect(SeqLock.from(s.handle).rank).toBe(2);
  });

  it('reports a rank violation across workers (rank 5 write held, rank 1 read taken)', async () => {
    const hi = new RWLock({ name: 'rank.hi', rank: 5 });
    const lo = new RWLock({ name: 'rank.lo', rank: 1 });
    const out = await run({ hi: h(hi), lo: h(lo) }, [['write', 'hi'], ['read', 'lo'], ['readUnlock', 'lo'], ['writeUnlock', 'hi']]);
    expect(out.done).toBe(true);
    expect(reportsFor('rank', 'rank.lo')).toHaveLength(1);
  });
});

describe('RWLock deadlock (waits-for watchdog)', () => {
  it('finds an actual write-write deadlock between two workers', async () => {
    const a = new RWLock({ name: 'rwdl.a' });
    const b = new RWLock({ name: 'rwdl.b' });
    const coord = new SharedArrayBuffer(64);
    const locks = { a: h(a), b: h(b) };
    const w1 = spawn(locks, [['write', 'a'], ['set', 0, 1], ['await', 1, 1], ['write', 'b']], coord);
    const w2 = spawn(locks, [['write', 'b'], ['set', 1, 1], ['await', 0, 1], ['write', 'a']], coord);
    const r = await until(() => reportsFor('deadlock', 'rwdl.a')[0], 15_000, 'deadlock report');
    expect(new Set(r.threads)).toEqual(new Set([w1.threadId, w2.threadId]));
    expect(new Set(r.locks)).toEqual(new Set(['rwdl.a', 'rwdl.b']));
  }, 30_000);
});
