/**
 * The verifier's checked paths of RWLock, Semaphore and Condition under real contention: with a
 * tiny deadlock timeout the checked waits run in 5 ms steps, so many steps time out and restart;
 * exclusion and exact counts must hold, no wakeup may be lost (a lost one would hang: the test
 * is time-bounded), and a consistent program must produce no report. Also the main-thread-block
 * reports of the Semaphore's and the Condition's blocking waits.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Condition, lockcheck, Mutex, RWLock, Semaphore } from '../../dist/index.js';
import { sleep } from '../harness/bounds.mjs';
import { RW_FIXTURE, spawn, stopAll, until } from './helpers.js';

/**
 * The RWLock step program in a worker (helpers.ts's spawner), to its end: what it posted, without
 * the exit code and stderr the helper adds, so `{ done: true }` still means "and nothing else".
 */
async function run(locks: Record<string, unknown>, steps: unknown[][], coord: SharedArrayBuffer): Promise<{ done?: boolean; error?: unknown }> {
  const { exitCode: _code, stderr: _stderr, ...got } = await spawn(locks, steps, coord, RW_FIXTURE).result;
  return got;
}

const reportsFor = (kind: string, lock: string) => lockcheck.reports().filter((r) => r.kind === kind && r.locks.includes(lock));
const classReports = (lock: string) => lockcheck.reports().filter((r) => r.locks.includes(lock));

// 20 ms deadlock timeout: the checked waits step every 5 ms.
beforeAll(() => lockcheck.enable({ onViolation: 'silent', deadlockTimeout: 20 }));
afterEach(() => stopAll());

describe('checked waits under contention', () => {
  it('RWLock: 6 workers on 2 cores, every form, exclusion and exact write count, no report', async () => {
    const rw = new RWLock({ name: 'cw.rw' });
    const coord = new SharedArrayBuffer(64);
    const outs = await Promise.all(
      Array.from({ length: 6 }, (_, k) => run({ l: rw.handle }, [['rwHammer', 'l', 300, k + 1]], coord)),
    );
    for (const o of outs) expect(o).toEqual({ done: true });
    const c = new Int32Array(coord);
    expect(c[8]).toBe(c[15]); // no lost update among the writers
    expect(c[15]).toBeGreaterThan(0);
    expect(c[10]).toBe(0); // no reader saw a half-done write
    expect(rw.isLocked()).toBe(false);
    expect(rw.readerCount()).toBe(0);
    // Blocking write waits for a reader are not deadlocks: nothing may be reported for the class.
    expect(classReports('cw.rw')).toEqual([]);
  }, 30_000);

  it('RWLock: an upgrade() that waits for another thread\'s reader is no deadlock (the upgrader is not its own blocker)', async () => {
    const rw = new RWLock({ name: 'cw.up' });
    const coord = new SharedArrayBuffer(64);
    const reader = run({ l: rw.handle }, [['read', 'l'], ['set', 0, 1], ['await', 1, 1], ['readUnlock', 'l']], coord);
    const upgrader = run({ l: rw.handle }, [['await', 0, 1], ['upgradable', 'l'], ['set', 2, 1], ['upgrade', 'l'], ['writeUnlock', 'l']], coord);
    const c = new Int32Array(coord);
    await until(() => Atomics.load(c, 2) !== 0, 10_000, 'the upgrader to hold its upgradable read');
    // The upgrader waits through many 5 ms steps and several 20 ms deadlock timeouts.
    await sleep(200);
    Atomics.store(c, 1, 1);
    Atomics.notify(c, 1);
    expect(await reader).toEqual({ done: true });
    expect(await upgrader).toEqual({ done: true });
    // Before the fix the stepped wait named the upgradable holder, that is the waiter itself, as
    // the owner it waited for: a one-thread "deadlock" report after two timeouts.
    expect(classReports('cw.up')).toEqual([]);
  }, 30_000);

  it('Semaphore: 5 workers on 2 permits never exceed 2 holders and all finish', async () => {
    const sem = new Semaphore(2, { name: 'cw.sem' });
    const coord = new SharedArrayBuffer(64);
    const outs = await Promise.all(Array.from({ length: 5 }, () => run({ s: sem.handle }, [['semHammer', 's', 300]], coord)));
    for (const o of outs) expect(o).toEqual({ done: true });
    const c = new Int32Array(coord);
    expect(c[13]).toBeLessThanOrEqual(2);
    expect(c[13]).toBeGreaterThanOrEqual(1);
    expect(sem.available()).toBe(2);
    expect(classReports('cw.sem')).toEqual([]);
  }, 30_000);

  it('Condition: two workers ping-pong 200 turns through stepped checked waits, none lost', async () => {
    const m = new Mutex({ name: 'cw.m' });
    const cv = new Condition({ name: 'cw.cv' });
    const coord = new SharedArrayBuffer(64);
    const locks = { m: m.handle, cv: cv.handle };
    const outs = await Promise.all([
      run(locks, [['condPingPong', 'm', 'cv', 200, 0]], coord),
      run(locks, [['condPingPong', 'm', 'cv', 200, 1]], coord),
    ]);
    for (const o of outs) expect(o).toEqual({ done: true });
    expect(new Int32Array(coord)[14]).toBe(400);
    expect(cv.waiters()).toBe(0);
    expect(classReports('cw.cv')).toEqual([]);
    expect(classReports('cw.m')).toEqual([]);
  }, 30_000);
});

describe('checked waits across many steps', () => {
  it('a writer, a reader and an upgradable reader blocked for ~12 steps all get the lock once it is released', async () => {
    const rw = new RWLock({ name: 'cw.long' });
    const coord = new SharedArrayBuffer(64);
    const c = new Int32Array(coord);
    const locks = { l: rw.handle };
    const holder = run(locks, [['write', 'l'], ['set', 0, 1], ['await', 1, 1], ['writeUnlock', 'l']], coord);
    const waiters = [
      run(locks, [['await', 0, 1], ['write', 'l'], ['writeUnlock', 'l']], coord),
      run(locks, [['await', 0, 1], ['read', 'l'], ['readUnlock', 'l']], coord),
      run(locks, [['await', 0, 1], ['upgradable', 'l'], ['upgrade', 'l'], ['writeUnlock', 'l']], coord),
    ];
    await until(() => Atomics.load(c, 0) !== 0, 10_000, 'the holder to write-lock');
    await sleep(60); // 5 ms steps: each waiter's step times out many times
    Atomics.store(c, 1, 1);
    Atomics.notify(c, 1);
    for (const o of await Promise.all([holder, ...waiters])) expect(o).toEqual({ done: true });
    expect(rw.isLocked()).toBe(false);
    expect(classReports('cw.long')).toEqual([]);
  }, 30_000);
});

describe('main-thread-block', () => {
  it('reports a blocking Semaphore wait and a Condition wait on the main thread', () => {
    const sem = new Semaphore(0, { name: 'mtb.sem' });
    expect(sem.tryAcquire(1)).toBe(false); // a plain try never blocks: no report
    expect(reportsFor('main-thread-block', 'mtb.sem')).toEqual([]);
    expect(sem.tryAcquire(1, 10)).toBe(false);
    expect(reportsFor('main-thread-block', 'mtb.sem')).toHaveLength(1);

    const m = new Mutex({ name: 'mtb.m' });
    const cv = new Condition({ name: 'mtb.cv' });
    m.lock();
    expect(cv.wait(m, 10)).toBe(false); // timed out, lock held again
    expect(m.isHeldByCurrentThread()).toBe(true);
    m.unlock();
    expect(reportsFor('main-thread-block', 'mtb.cv')).toHaveLength(1);
  });

  it('reports a contended RWLock read on the main thread', async () => {
    const rw = new RWLock({ name: 'mtb.rw' });
    const coord = new SharedArrayBuffer(64);
    const c = new Int32Array(coord);
    // A worker holds the write lock until we have tried.
    const done = run({ l: rw.handle }, [['write', 'l'], ['set', 0, 1], ['await', 1, 1], ['writeUnlock', 'l']], coord);
    await until(() => Atomics.load(c, 0) !== 0, 10_000, 'the worker to write-lock');
    expect(rw.tryReadLock(10)).toBe(false);
    Atomics.store(c, 1, 1);
    Atomics.notify(c, 1);
    expect(await done).toEqual({ done: true });
    expect(reportsFor('main-thread-block', 'mtb.rw')).toHaveLength(1);
  });
});
