/**
 * Lock-order verifier: order cycles across real workers (2 and 3 locks), read modes, throw mode,
 * consistent orders under contention, report text and DOT export.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { lockcheck, Mutex, RWLock, SpinLock, TicketLock, LockOrderError, type LockOrderReport } from '../../dist/index.js';
import { reportsFor, runOne, spawn, stopAll } from './helpers.js';

beforeAll(() => lockcheck.enable({ onViolation: 'silent' }));
afterEach(async () => {
  lockcheck.enable({ onViolation: 'silent', deadlockTimeout: 1000 });
  await stopAll();
});

const h = (m: { handle: unknown }): unknown => m.handle;

describe('lock-order cycles', () => {
  it('reports AB in one worker and BA later in another, never overlapping in time', async () => {
    const a = new Mutex({ name: 'ab.a' });
    const b = new Mutex({ name: 'ab.b' });
    const locks = { a: h(a), b: h(b) };
    const w1 = spawn(locks, [['lock', 'a'], ['lock', 'b'], ['unlock', 'b'], ['unlock', 'a']]);
    expect((await w1.result).done).toBe(true);
    expect(reportsFor('lock-order', 'ab.a')).toHaveLength(0);
    const w2 = spawn(locks, [['lock', 'b'], ['lock', 'a'], ['unlock', 'a'], ['unlock', 'b']]);
    expect((await w2.result).done).toBe(true); // silent: the acquisition goes on
    const [r, more] = reportsFor('lock-order', 'ab.a');
    expect(more).toBeUndefined();
    expect(r!.locks).toEqual(['ab.b', 'ab.a']);
    expect(r!.threads).toEqual([w2.threadId, w1.threadId]);
    expect(r!.edges!.map((e) => [e.from, e.to, e.thread])).toEqual([
      ['ab.b', 'ab.a', w2.threadId],
      ['ab.a', 'ab.b', w1.threadId],
    ]);
    // Every edge carries the stack where it was first seen, pointing at the fixture.
    for (const e of r!.edges!) expect(e.stack).toMatch(/steps\.mjs:\d+/);
    expect(r!.stacks).toHaveLength(2);
    // Every thread reads every thread's reports.
    const reader = await runOne({}, [['postReports']]);
    expect(reader.reports!.filter((x) => x.kind === 'lock-order' && x.locks.includes('ab.a'))).toEqual([r]);
    // Seen again: not reported again.
    expect((await runOne(locks, [['lock', 'b'], ['lock', 'a'], ['unlock', 'a'], ['unlock', 'b']])).done).toBe(true);
    expect(reportsFor('lock-order', 'ab.a')).toHaveLength(1);
  });

  it('reports a 3-lock cycle built by three workers, naming every edge with its stack and thread', async () => {
    const a = new Mutex({ name: 'tri.a' });
    const b = new SpinLock({ name: 'tri.b' });
    const c = new TicketLock({ name: 'tri.c' });
    const locks = { a: h(a), b: h(b), c: h(c) };
    const pair = (x: string, y: string): unknown[][] => [['lock', x], ['lock', y], ['unlock', y], ['unlock', x]];
    const w1 = spawn(locks, pair('a', 'b'));
    await w1.result;
    const w2 = spawn(locks, pair('b', 'c'));
    await w2.result;
    expect(reportsFor('lock-order', 'tri.a')).toHaveLength(0);
    const w3 = spawn(locks, pair('c', 'a'));
    await w3.result;
    const [r] = reportsFor('lock-order', 'tri.a');
    expect(r).toBeDefined();
    expect(r!.locks).toEqual(['tri.c', 'tri.a', 'tri.b']);
    expect(new Set(r!.threads)).toEqual(new Set([w1.threadId, w2.threadId, w3.threadId]));
    expect(r!.edges!.map((e) => `${e.from}>${e.to}@${e.thread}`)).toEqual([
      `tri.c>tri.a@${w3.threadId}`,
      `tri.a>tri.b@${w1.threadId}`,
      `tri.b>tri.c@${w2.threadId}`,
    ]);
    expect(r!.message).toContain('Cycle (3 locks): "tri.c" -> "tri.a" -> "tri.b" -> "tri.c"');
    for (const e of r!.edges!) expect(e.stack).toMatch(/steps\.mjs/);
  });

  it("with 'throw', every acquisition that would close the cycle throws before blocking", async () => {
    lockcheck.enable({ onViolation: 'throw' });
    const a = new Mutex({ name: 'thr.a' });
    const b = new Mutex({ name: 'thr.b' });
    const locks = { a: h(a), b: h(b) };
    await runOne(locks, [['lock', 'a'], ['lock', 'b'], ['unlock', 'b'], ['unlock', 'a']]);
    // Twice: the rejected edge is not recorded, so the next attempt throws again.
    for (let k = 0; k < 2; k++) {
      const out = await runOne(locks, [['lock', 'b'], ['expectThrow', ['lock', 'a'], 'lock-order'], ['unlock', 'b']]);
      expect(out.done).toBe(true);
      expect(a.isLocked() || b.isLocked()).toBe(false);
    }
    // In the enabling thread too.
    b.lock();
    expect(() => a.lock()).toThrow(LockOrderError);
    expect(a.isLocked()).toBe(false);
    b.unlock();
    expect(reportsFor('lock-order', 'thr.a')).toHaveLength(1);
  });

  it('unnamed locks get their construction site as class, carried to other threads in the handle', async () => {
    const a = new Mutex();
    const b = new Mutex();
    expect(a.lockClass).toMatch(/^Mutex at .*order\.test\.ts:\d+:\d+$/);
    expect(b.lockClass).not.toBe(a.lockClass);
    expect(Mutex.from(a.handle).lockClass).toBe(a.lockClass);
    const locks = { a: h(a), b: h(b) };
    await runOne(locks, [['lock', 'a'], ['lock', 'b'], ['unlock', 'b'], ['unlock', 'a']]);
    await runOne(locks, [['lock', 'b'], ['lock', 'a'], ['unlock', 'a'], ['unlock', 'b']]);
    expect(reportsFor('lock-order', a.lockClass)).toHaveLength(1);
  });

  it('makes no report for consistent orders over thousands of contended acquisitions (6 workers, 2 cores)', async () => {
    // A 5 ms deadlock timeout: the watchdog runs during ordinary contention and must stay quiet.
    lockcheck.enable({ onViolation: 'silent', deadlockTimeout: 5 });
    const a = new Mutex({ name: 'ok.a' });
    const b = new SpinLock({ name: 'ok.b' });
    const c = new TicketLock({ name: 'ok.c' });
    const locks = { a: h(a), b: h(b), c: h(c) };
    const coord = new SharedArrayBuffer(256);
    const body = [
      ['lock', 'a'], ['lock', 'b'], ['count', 0], ['unlock', 'b'],
      ['lock', 'c'], ['count', 1], ['unlock', 'c'], ['unlock', 'a'],
      ['lock', 'b'], ['lock', 'c'], ['count', 2], ['unlock', 'c'], ['unlock', 'b'],
    ];
    const n = 1000;
    const workers = Array.from({ length: 6 }, () => spawn(locks, [['loop', n, body]], coord));
    const outs = await Promise.all(workers.map((w) => w.result));
    for (const o of outs) expect(o.done).toBe(true);
    const counts = new Int32Array(coord);
    expect([counts[0], counts[1], counts[2]]).toEqual([6 * n, 6 * n, 6 * n]);
    const mine = lockcheck.reports().filter((r) => r.locks.some((l) => l.startsWith('ok.')));
    expect(mine).toEqual([]);
  }, 60_000);
});

describe('async holds', () => {
  it('orders locks taken inside withLockAsync after it, across awaits', async () => {
    const a = new Mutex({ name: 'as.a' });
    const b = new Mutex({ name: 'as.b' });
    const locks = { a: h(a), b: h(b) };
    await runOne(locks, [['withLockAsync', 'a', [['sleep', 1], ['lockAsync', 'b'], ['unlock', 'b']]]]);
    await runOne(locks, [['withLockAsync', 'b', [['awaitTick'], ['lock', 'a'], ['unlock', 'a']]]]);
    const [r] = reportsFor('lock-order', 'as.a');
    expect(r!.locks).toEqual(['as.b', 'as.a']);
  });

  it('concurrent tasks of one thread do not order each other’s locks (no false cycle)', async () => {
    const c = new Mutex({ name: 'ac.c' });
    const d = new Mutex({ name: 'ac.d' });
    const locks = { c: h(c), d: h(d) };
    // Task 1 holds c across a sleep while task 2 takes d: c is not held by task 2.
    await runOne(locks, [
      ['parallel', [['withLockAsync', 'c', [['sleep', 40]]]], [['sleep', 10], ['withLockAsync', 'd', [['sleep', 1]]]]],
    ]);
    await runOne(locks, [['withLockAsync', 'd', [['lock', 'c'], ['unlock', 'c']]]]);
    expect(lockcheck.reports().filter((r) => r.locks.some((l) => l.startsWith('ac.')))).toEqual([]);
  });

  // Each form: a lock of class `name`, its async scoped helper, and a blocking take-and-release.
  const SCOPED: [string, (name: string) => { hold(fn: () => void): Promise<void>; take(): void }][] = [
    ['Mutex.withLockAsync', (name) => {
      const m = new Mutex({ name });
      return { hold: (fn) => m.withLockAsync(fn), take: () => void m.lock().unlock() };
    }],
    ['RWLock.withWriteLockAsync', (name) => {
      const rw = new RWLock({ name });
      return { hold: (fn) => rw.withWriteLockAsync(fn), take: () => void rw.writeLock().unlock() };
    }],
    ['RWLock.withReadLockAsync', (name) => {
      const rw = new RWLock({ name });
      return { hold: (fn) => rw.withReadLockAsync(fn), take: () => void rw.readLock().unlock() };
    }],
  ];

  it.each(SCOPED)('%s: a timer scheduled inside that runs after the release holds nothing', async (form, make) => {
    const name = `late.${form}`;
    const a = make(name);
    const b = new Mutex({ name: `${name}.b` });
    let later!: Promise<void>;
    await a.hold(() => {
      // Inherits the callback's async context, but runs once the lock is released.
      later = new Promise((resolve, reject) =>
        setTimeout(() => {
          try {
            a.take(); // not a re-acquisition: the scope's hold is over
            b.lock(); // not ordered after a
            b.unlock();
            resolve();
          } catch (e) {
            reject(e);
          }
        }, 20),
      );
    });
    await later;
    // B then A for real: no cycle, since nothing took B while holding A.
    b.lock();
    a.take();
    b.unlock();
    expect(lockcheck.reports().filter((r) => r.locks.includes(name))).toEqual([]);
  });

  it('a task awaiting a lock its own scope holds is a self-deadlock', async () => {
    lockcheck.enable({ onViolation: 'throw' });
    const e = new Mutex({ name: 'as.self' });
    const out = await runOne({ e: h(e) }, [['withLockAsync', 'e', [['lockAsync', 'e']]]]);
    expect(out.error).toMatchObject({ name: 'LockOrderError', kind: 'recursive' });
    expect(e.isLocked()).toBe(false); // withLockAsync released it on the way out
  });
});

describe('shared (read) acquisitions', () => {
  const rw = (name: string, readerPreferring: boolean): unknown => ({ double: name, readerPreferring });
  const cross = (x: unknown[][], y: unknown[][], locks: Record<string, unknown>): Promise<unknown> =>
    runOne(locks, x).then(() => runOne(locks, y));

  it('recursive readers (reader-preferring) holding and wanting the same lock form no cycle', async () => {
    const b = new Mutex({ name: 'rr.b' });
    const locks = { A: rw('rr.A', true), b: h(b) };
    await cross(
      [['read', 'A'], ['lock', 'b'], ['unlock', 'b'], ['readUnlock', 'A']],
      [['lock', 'b'], ['read', 'A'], ['readUnlock', 'A'], ['unlock', 'b']],
      locks,
    );
    expect(reportsFor('lock-order', 'rr.A')).toEqual([]);
    // Read re-entry is fine for such a lock.
    await runOne(locks, [['read', 'A'], ['read', 'A'], ['readUnlock', 'A'], ['readUnlock', 'A']]);
    expect(reportsFor('recursive', 'rr.A')).toEqual([]);
  });

  it('read-read cycles of recursive readers are no cycle; of writer-preferring readers they are', async () => {
    const rec = { A: rw('rrr.A', true), B: rw('rrr.B', true) };
    const steps = (x: string, y: string): unknown[][] => [['read', x], ['read', y], ['readUnlock', y], ['readUnlock', x]];
    await cross(steps('A', 'B'), steps('B', 'A'), rec);
    expect(reportsFor('lock-order', 'rrr.A')).toEqual([]);
    const fair = { A: rw('wpr.A', false), B: rw('wpr.B', false) };
    await cross(steps('A', 'B'), steps('B', 'A'), fair);
    expect(reportsFor('lock-order', 'wpr.A')).toHaveLength(1);
  });

  it('a reader that can wait behind a writer (writer-preferring) does close a cycle', async () => {
    const b = new Mutex({ name: 'wp.b' });
    const locks = { A: rw('wp.A', false), b: h(b) };
    await cross(
      [['read', 'A'], ['lock', 'b'], ['unlock', 'b'], ['readUnlock', 'A']],
      [['lock', 'b'], ['read', 'A'], ['readUnlock', 'A'], ['unlock', 'b']],
      locks,
    );
    const [r] = reportsFor('lock-order', 'wp.A');
    expect(r).toBeDefined();
    expect(r!.edges!.map((e) => `${e.from}(${e.held})>${e.to}(${e.acquired})`)).toEqual([
      'wp.b(exclusive)>wp.A(exclusive)',
      'wp.A(shared)>wp.b(exclusive)',
    ]);
    // Read re-entry can deadlock behind a queued writer: reported as recursive.
    await runOne(locks, [['read', 'A'], ['read', 'A'], ['readUnlock', 'A'], ['readUnlock', 'A']]);
    expect(reportsFor('recursive', 'wp.A')).toHaveLength(1);
  });

  it('a recursive reader queued behind a writer that holds the lock closes a cycle', async () => {
    const b = new Mutex({ name: 'wr.b' });
    const locks = { A: rw('wr.A', true), b: h(b) };
    await cross(
      [['write', 'A'], ['lock', 'b'], ['unlock', 'b'], ['writeUnlock', 'A']],
      [['lock', 'b'], ['read', 'A'], ['readUnlock', 'A'], ['unlock', 'b']],
      locks,
    );
    const [r] = reportsFor('lock-order', 'wr.A');
    expect(r).toBeDefined();
    expect(r!.edges!.map((e) => `${e.held}>${e.acquired}`)).toEqual(['exclusive>shared, recursive', 'exclusive>exclusive']);
  });
});

describe('report text and graph', () => {
  let report: LockOrderReport;
  beforeAll(async () => {
    const x = new Mutex({ name: 'txt.x' });
    const y = new Mutex({ name: 'txt.y' });
    const locks = { x: h(x), y: h(y) };
    await runOne(locks, [['lock', 'x'], ['lock', 'y'], ['unlock', 'y'], ['unlock', 'x']]);
    await runOne(locks, [['lock', 'y'], ['lock', 'x'], ['unlock', 'x'], ['unlock', 'y']]);
    report = reportsFor('lock-order', 'txt.x')[0]!;
  });

  it('reads like lockdep: headline, new acquisition, held locks, every edge, scenario', () => {
    const m = report.message;
    const [t2, t1] = report.threads;
    expect(m).toContain('sablock lockcheck: possible deadlock: lock order inversion [lock-order]');
    expect(m).toContain(`thread ${t2} is acquiring "txt.x" while holding "txt.y".`);
    expect(m).toContain('No deadlock happened (yet).');
    expect(m).toContain('Cycle (2 locks): "txt.y" -> "txt.x" -> "txt.y"');
    expect(m).toContain(`new acquisition of "txt.x" (closes the cycle), thread ${t2}:`);
    expect(m).toContain(`thread ${t2} holds 1 lock:\n  #0: "txt.y" (exclusive)`);
    expect(m).toContain(`[0] "txt.y" (exclusive) -> "txt.x" (exclusive), first seen in thread ${t2} (now):`);
    expect(m).toContain(`[1] "txt.x" (exclusive) -> "txt.y" (exclusive), first seen in thread ${t1}:`);
    expect(m).toMatch(/Possible scenario[^\n]*\n\n\s+thread A\s+thread B\n/);
    expect(m).toMatch(/lock\("txt\.y"\)\n\s+lock\("txt\.x"\)\n\s+lock\("txt\.y"\)\s+<- waits for A\n\s+lock\("txt\.x"\)/);
    expect(m).toContain('*** DEADLOCK ***');
    // Stacks name the caller's file, not the library's internals.
    expect(m).toMatch(/at .*steps\.mjs:\d+:\d+/);
    expect(m).not.toMatch(/dist\/index\.(js|cjs)/);
  });

  it('is structured: { kind, message, locks, threads, stacks }', () => {
    expect(Object.keys(report)).toEqual(expect.arrayContaining(['kind', 'message', 'locks', 'threads', 'stacks']));
    expect(report.stacks.map((s) => s.label)).toEqual([
      'new acquisition of "txt.x" while holding "txt.y"',
      '"txt.x" -> "txt.y" first seen',
    ]);
    expect(report.stacks.every((s) => /steps\.mjs/.test(s.stack))).toBe(true);
  });

  it('toDot() exports the acquired-before graph with the cycle highlighted', () => {
    const d = lockcheck.toDot();
    expect(d).toMatch(/^digraph lockcheck \{/);
    const id = (name: string): string => new RegExp(`(c\\d+) \\[label="${name.replace('.', '\\.')}"`).exec(d)![1]!;
    const x = id('txt.x');
    const y = id('txt.y');
    expect(d).toContain(`${x} -> ${y} [color=red, penwidth=2];`);
    expect(d).toContain(`${y} -> ${x} [color=red, penwidth=2];`);
    const okA = id('ok.a');
    expect(d).toMatch(new RegExp(`${okA} -> c\\d+;`)); // consistent edges are plain
  });

  it('calls an onViolation function in the enabling thread, once per distinct violation', () => {
    const seen: LockOrderReport[] = [];
    lockcheck.enable({ onViolation: (r) => seen.push(r) });
    const p = new Mutex({ name: 'fn.p' });
    const q = new Mutex({ name: 'fn.q' });
    for (let k = 0; k < 3; k++) {
      p.withLock(() => q.withLock(() => {}));
      q.withLock(() => p.withLock(() => {}));
    }
    expect(seen.map((r) => [r.kind, r.locks])).toEqual([['lock-order', ['fn.q', 'fn.p']]]);
  });

  it('other threads fall back to warn: one stderr report per distinct violation', async () => {
    const seen: LockOrderReport[] = [];
    lockcheck.enable({ onViolation: (r) => seen.push(r) });
    const u = new Mutex({ name: 'warn.u' });
    const v = new Mutex({ name: 'warn.v' });
    const uv = [['lock', 'u'], ['lock', 'v'], ['unlock', 'v'], ['unlock', 'u']];
    const vu = [['lock', 'v'], ['lock', 'u'], ['unlock', 'u'], ['unlock', 'v']];
    const out = await runOne({ u: h(u), v: h(v) }, [...uv, ...vu, ...vu]);
    expect(out.done).toBe(true);
    expect(out.stderr!.match(/\[lock-order\]/g)).toHaveLength(1);
    expect(out.stderr).toContain('Cycle (2 locks): "warn.v" -> "warn.u" -> "warn.v"');
    expect(seen).toEqual([]); // the function runs only for the enabling thread's own violations
    expect(reportsFor('lock-order', 'warn.u')).toHaveLength(1);
  });
});
