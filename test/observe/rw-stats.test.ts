/**
 * Stats for RWLock and Semaphore: read, upgradable and write acquisitions all count as
 * acquisitions of the class, exactly, across contending workers (oversubscribed: 6 on 2 cores);
 * timeouts and aborts of every form; Semaphore acquisitions and holds.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { RWLock, Semaphore, stats } from '../../dist/index.js';
import { RW_WORKER, runWorkers as runObserveWorkers } from './run-workers.js';

interface Done {
  reads: number;
  writes: number;
  upgradables: number;
  timeouts: number;
  aborts: number;
}

/** Runs the RWLock / Semaphore workers to their end (each reports once), always terminating them. */
const runWorkers = (datas: Record<string, unknown>[], timeoutMs = 20_000): Promise<Done[]> =>
  runObserveWorkers<Done>(datas, { timeoutMs, fixture: RW_WORKER });

const sum = (ds: Done[], k: keyof Done): number => ds.reduce((s, d) => s + d[k], 0);

beforeAll(() => stats.enable());

describe('RWLock stats', () => {
  it('counts reads + upgradables + writes exactly across 6 contending workers (sync and async)', async () => {
    const name = 'rwstats.mix';
    const rw = new RWLock({ name });
    const shared = new SharedArrayBuffer(32);
    const done = await runWorkers(
      Array.from({ length: 6 }, (_, k) => ({ op: 'rwMix', handle: rw.handle, iterations: 400, seed: k + 1, shared, workers: 6 })),
    );
    const words = new Int32Array(shared);
    const reads = sum(done, 'reads');
    const writes = sum(done, 'writes');
    const upgradables = sum(done, 'upgradables');
    expect(words[2]).toBe(0); // no torn read: the workload really ran under the lock
    expect(words[0]).toBe(writes + upgradables); // each upgradable hold wrote once after its upgrade
    expect(reads).toBeGreaterThan(0);
    expect(writes).toBeGreaterThan(0);
    expect(upgradables).toBeGreaterThan(0);
    const s = stats()[name]!;
    // Upgrade and downgrade convert a hold: they count nothing of their own.
    expect(s.acquisitions).toBe(reads + writes + upgradables);
    expect(s.hold.count).toBe(reads + writes + upgradables);
    expect(s.contended).toBeGreaterThan(0);
    expect(s.contended).toBeLessThanOrEqual(s.acquisitions);
    expect(s.wait.count).toBe(s.contended);
    expect(s.spinSuccesses).toBeLessThanOrEqual(s.contended);
    expect(s.parks).toBeGreaterThanOrEqual(s.contended - s.spinSuccesses);
    expect(s.timeouts).toBe(0);
    expect(s.aborts).toBe(0);
  }, 30_000);

  it('counts timed-out reads, writes and upgradable reads (sync and async) and an aborted async write', async () => {
    const name = 'rwstats.timeouts';
    const rw = new RWLock({ name });
    rw.writeLock(); // held by main for the whole worker run
    try {
      const [d] = await runWorkers([{ op: 'rwTimeouts', handle: rw.handle, shared: new SharedArrayBuffer(32) }]);
      expect(d).toMatchObject({ timeouts: 4, aborts: 1 });
    } finally {
      rw.writeUnlock();
    }
    const s = stats()[name]!;
    expect(s.timeouts).toBe(4);
    expect(s.aborts).toBe(1);
    expect(s.acquisitions).toBe(1); // main's own write lock
    expect(s.hold.count).toBe(1);
  }, 30_000);
});

describe('Semaphore stats', () => {
  it('counts every acquisition and hold exactly across 5 workers on 2 permits', async () => {
    const name = 'semstats.hammer';
    const sem = new Semaphore(2, { name });
    const shared = new SharedArrayBuffer(32);
    await runWorkers(Array.from({ length: 5 }, () => ({ op: 'semHammer', handle: sem.handle, iterations: 300, shared, workers: 5 })));
    const words = new Int32Array(shared);
    expect(words[5]).toBeLessThanOrEqual(2);
    const s = stats()[name]!;
    expect(s.acquisitions).toBe(1500);
    expect(s.hold.count).toBe(1500);
    expect(s.wait.count).toBe(s.contended);
    expect(s.contended).toBeLessThanOrEqual(1500);
    expect(sem.available()).toBe(2);
  }, 30_000);
});
