// Stats are off unless asked for; this file starts with a fresh module (vitest isolates files).
import { describe, expect, it } from 'vitest';
import { Mutex, TicketLock, stats, topContended } from '../../dist/index.js';
import { runWorkers } from './run-workers.js';

describe('stats off by default', () => {
  it('allocates no table and counts nothing, here or in workers', async () => {
    expect(stats.buffer).toBeNull();
    expect(stats.enabled).toBe(false);
    const m = new Mutex({ name: 'off' });
    m.lock();
    m.unlock();
    expect(stats()).toEqual({});
    expect(topContended(5)).toEqual([]);
    const shared = new SharedArrayBuffer(16);
    const [r] = await runWorkers([{ op: 'hammer', kind: 'Mutex', handle: m.handle, iterations: 100, shared, workers: 1 }]);
    expect(new Int32Array(shared)[0]).toBe(100);
    expect(r.hasBuffer).toBe(false);
    expect(r.enabled).toBe(false);
    expect(r.stats).toEqual({});
    expect(stats.buffer).toBeNull();
  });

  it('SABLOCK_STATS=1 turns stats on in a thread that loads sablock', async () => {
    const t = new TicketLock({ name: 'env-on' });
    const shared = new SharedArrayBuffer(16);
    const [r] = await runWorkers(
      [{ op: 'hammer', kind: 'TicketLock', handle: t.handle, iterations: 50, shared, workers: 1 }],
      { env: { ...process.env, SABLOCK_STATS: '1' } },
    );
    expect(r.enabled).toBe(true);
    expect(r.stats['env-on'].acquisitions).toBe(50);
    expect(stats.buffer).toBeNull(); // the worker's own table: main was not told
  });

  it('enable({ classes }) records only the listed classes', () => {
    stats.enable({ classes: ['listed'] });
    const listed = new Mutex({ name: 'listed' });
    const other = new Mutex({ name: 'unlisted' });
    for (const l of [listed, other]) {
      l.lock();
      l.unlock();
    }
    expect(Object.keys(stats())).toEqual(['listed']);
    stats.enable(); // all classes again, same table
    other.lock();
    other.unlock();
    expect(stats()['unlisted'].acquisitions).toBe(1);
  });

  it('a full table counts further classes in one "(other)" row', () => {
    stats.enable({ capacity: 2 });
    for (const name of ['c1', 'c2', 'c3', 'c4']) {
      const m = new Mutex({ name });
      m.lock();
      m.unlock();
    }
    const s = stats();
    expect(Object.keys(s).sort()).toEqual(['(other)', 'c1', 'c2']);
    expect(s['(other)'].acquisitions).toBe(2);
  });

  it('keeps the first 128 UTF-8 bytes of a long class name', () => {
    stats.enable({ capacity: 16 });
    const long = 'ü'.repeat(100);
    const l = new Mutex({ name: long });
    l.lock();
    l.unlock();
    expect(stats()[long.slice(0, 64)].acquisitions).toBe(1);
  });

  it('a worker can record into a table it was handed with enable({ buffer })', async () => {
    const a = stats.buffer!;
    stats.enable({ capacity: 8 }); // a new table B, published to workers started from now on
    const b = stats.buffer!;
    expect(b).not.toBe(a);
    const m = new Mutex({ name: 'joined' });
    const shared = new SharedArrayBuffer(16);
    await runWorkers([{ op: 'hammer', kind: 'Mutex', handle: m.handle, iterations: 20, shared, workers: 1, join: a }]);
    expect(stats()['joined']).toBeUndefined(); // not in B
    stats.enable({ buffer: a });
    expect(stats()['joined'].acquisitions).toBe(20);
  });
});
