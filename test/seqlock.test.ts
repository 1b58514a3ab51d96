/**
 * SeqLock: a writer fills a 64-byte record with one value per write (16 int32 or 8 float64 slots,
 * one slot at a time); readers on real workers must never return a mixed record, while many of
 * their optimistic runs are discarded. A reader that skips validation (negative control) must be
 * caught by the same check.
 */
import { describe, expect, it } from 'vitest';
import { LockError, Mutex, SeqLock } from '../dist/index.js';
import { spawn, within } from './rwlock-helpers.js';

interface Result {
  role: string;
  writes: number;
  reads: number;
  runs: number;
  violations: number;
  thrown: number;
  callbackThrows: number;
  retries: number;
  lockedReads: number;
}

interface Role {
  role: string;
  iterations?: number;
  gap?: number;
  hold?: number;
  type?: 'i32' | 'f64';
  tries?: number;
  throwOnTorn?: boolean;
  api?: 'sync' | 'async';
  minRetries?: number;
}

async function run(roles: Role[], ms = 20_000): Promise<Result[]> {
  const s = new SeqLock({ dataByteLength: 64, name: 'record' });
  const ctl = new SharedArrayBuffer(16);
  const c = new Int32Array(ctl);
  c[2] = roles.length;
  const writers = roles.filter((r) => r.role === 'writer').length;
  const { results, terminateAll } = spawn<Result>(
    'seq-stress.mjs',
    roles.map((r, id) => ({ handle: s.handle, ctl, id, writers, ...r })),
  );
  try {
    await within(Promise.all(results.filter((_, k) => roles[k]!.iterations)), ms, 'workers with fixed iterations');
    Atomics.store(c, 0, 1);
    const all = await within(Promise.all(results), ms, 'readers after stop');
    expect(s.isWriting()).toBe(false);
    expect(s.sequence() % 2).toBe(0);
    // The record left by the last write is whole.
    const last = s.read((v) => [0, 1, 2, 3, 4, 5, 6, 7].map((k) => v.getFloat64(k * 8)));
    expect(new Set(last.map((x) => (Number.isNaN(x) ? 'NaN' : x))).size).toBe(1);
    return all;
  } finally {
    Atomics.store(c, 0, 1);
    await terminateAll();
  }
}

const sum = (rs: Result[], k: keyof Result): number =>
  rs.filter((r) => r.role !== 'writer').reduce((s, r) => s + (r[k] as number), 0);

describe('SeqLock stress (real workers)', () => {
  it('int32 record: no torn snapshot, many discarded runs', async () => {
    const rs = await run([
      { role: 'writer' },
      { role: 'reader', iterations: 1000, hold: 1000, minRetries: 50 },
      { role: 'reader', iterations: 1000, hold: 1000, minRetries: 50 },
    ]);
    expect(sum(rs, 'violations')).toBe(0);
    expect(sum(rs, 'thrown')).toBe(0);
    expect(sum(rs, 'reads')).toBeGreaterThanOrEqual(2000);
    // Every callback run either produced a returned snapshot or was thrown away.
    expect(sum(rs, 'runs')).toBe(sum(rs, 'reads') + sum(rs, 'retries'));
    expect(sum(rs, 'retries')).toBeGreaterThan(0);
  });

  it('float64 record, oversubscribed (2 writers + 6 readers), async forms mixed in', async () => {
    const rs = await run([
      { role: 'writer', type: 'f64' },
      { role: 'writer', type: 'f64', api: 'async' },
      { role: 'reader', iterations: 500, type: 'f64', hold: 100 },
      { role: 'reader', iterations: 500, type: 'f64', hold: 100, api: 'async' },
      { role: 'reader', iterations: 500, type: 'f64', hold: 100 },
      { role: 'reader', iterations: 500, type: 'f64', hold: 100, tries: 1 },
      { role: 'reader', iterations: 500, type: 'f64', hold: 100 },
      { role: 'reader', iterations: 500, type: 'f64', hold: 100, api: 'async' },
    ]);
    expect(sum(rs, 'violations')).toBe(0);
    expect(sum(rs, 'thrown')).toBe(0);
    // Each reader did its 500 and read on until both writers had written (fixture, c[3]).
    expect(sum(rs, 'reads')).toBeGreaterThanOrEqual(3000);
    expect(sum(rs, 'runs')).toBe(sum(rs, 'reads') + sum(rs, 'retries'));
    expect(rs.filter((r) => r.role === 'writer').every((r) => r.writes > 0)).toBe(true);
  });

  it('exceptions from torn runs are swallowed; only validated runs count', async () => {
    const rs = await run([
      { role: 'writer' },
      { role: 'reader', iterations: 1000, hold: 1000, throwOnTorn: true, minRetries: 50 },
      { role: 'reader', iterations: 1000, hold: 1000, throwOnTorn: true, minRetries: 50 },
    ]);
    expect(sum(rs, 'thrown')).toBe(0); // a torn run's exception never escapes read()
    expect(sum(rs, 'violations')).toBe(0);
    expect(sum(rs, 'reads')).toBeGreaterThanOrEqual(2000);
    expect(sum(rs, 'callbackThrows')).toBeGreaterThan(0); // torn runs did happen
  });

  it('a busy writer cannot starve readers: they fall back to the writer lock', async () => {
    // Readers hold each run long and allow one optimistic try; writers write back to back.
    const rs = await run([
      { role: 'writer' },
      { role: 'writer' },
      { role: 'reader', iterations: 300, hold: 400, tries: 1 },
      { role: 'reader', iterations: 300, hold: 400, tries: 1 },
    ]);
    const readers = rs.filter((r) => r.role === 'reader');
    // Each reader finished its 300 (and may have read on until both writers had written, c[3]).
    for (const r of readers) expect(r.reads).toBeGreaterThanOrEqual(300);
    expect(sum(rs, 'violations')).toBe(0);
    expect(sum(rs, 'lockedReads')).toBeGreaterThan(0);
  });

  it('negative control: a reader that skips validation sees torn records', async () => {
    const rs = await run([
      { role: 'writer' },
      { role: 'brokenReader', iterations: 2000, hold: 100 },
      { role: 'brokenReader', iterations: 2000, hold: 100 },
    ]);
    expect(sum(rs, 'violations')).toBeGreaterThan(0);
  });
});

describe('SeqLock in one thread', () => {
  it('write then read; sequence is even between writes and moves by 2', () => {
    const s = new SeqLock({ dataByteLength: 64 });
    expect(s.sequence()).toBe(0);
    expect(s.dataByteLength).toBe(64);
    const r = s.write((v) => {
      expect(s.isWriting()).toBe(true);
      v.setFloat64(0, 1.5);
      v.setFloat64(8, -2);
      return 'done';
    });
    expect(r).toBe('done');
    expect(s.sequence()).toBe(2);
    expect(s.read((v) => [v.getFloat64(0), v.getFloat64(8)])).toEqual([1.5, -2]);
    expect(s.readRetries).toBe(0);
  });

  it('read inside write sees the writer’s data; write inside write throws', () => {
    const s = new SeqLock({ dataByteLength: 8 });
    s.write((v) => {
      v.setInt32(0, 7);
      expect(s.read((w) => w.getInt32(0))).toBe(7);
    });
    expect(() => s.write(() => s.write(() => 0))).toThrow(LockError);
    expect(s.isWriting()).toBe(false);
    expect(s.sequence() % 2).toBe(0);
  });

  it('an exception from a validated run propagates; a throwing writer still leaves the lock usable', async () => {
    const s = new SeqLock({ dataByteLength: 8 });
    expect(() => s.read(() => { throw new Error('reader'); })).toThrow('reader');
    expect(() => s.write(() => { throw new Error('writer'); })).toThrow('writer');
    expect(s.sequence() % 2).toBe(0);
    expect(await s.writeAsync((v) => v.setInt32(4, 9))).toBeUndefined();
    expect(await s.readAsync((v) => v.getInt32(4))).toBe(9);
  });

  it('byteLengthFor, placement in a caller buffer, handles', () => {
    expect(SeqLock.byteLengthFor(64)).toBe(80);
    expect(SeqLock.byteLengthFor(0)).toBe(16);
    expect(SeqLock.BYTE_ALIGNMENT).toBe(4);
    const sab = new SharedArrayBuffer(256);
    const s = new SeqLock({ dataByteLength: 64, buffer: sab, byteOffset: 32, name: 'pos' });
    expect(s.dataByteOffset).toBe(48);
    s.write((v) => v.setInt32(60, 123));
    expect(new DataView(sab).getInt32(48 + 60)).toBe(123);
    const t = SeqLock.from(s.handle);
    expect(t.name).toBe('pos');
    expect(t.read((v) => v.getInt32(60))).toBe(123);
    // The data view covers exactly the region.
    expect(() => s.read((v) => v.getInt32(64))).toThrow(RangeError);
  });

  it('rejects bad arguments and mismatched handles', async () => {
    const sab = new SharedArrayBuffer(128);
    expect(() => new SeqLock(undefined as never)).toThrow(TypeError);
    expect(() => new SeqLock({} as never)).toThrow(TypeError);
    expect(() => new SeqLock({ dataByteLength: -1 })).toThrow(RangeError);
    expect(() => new SeqLock({ dataByteLength: 2.5 })).toThrow(RangeError);
    expect(() => new SeqLock({ dataByteLength: 8, optimisticTries: 0 })).toThrow(RangeError);
    expect(() => SeqLock.byteLengthFor('8' as never)).toThrow(TypeError);
    expect(() => new SeqLock({ dataByteLength: 64, buffer: sab, byteOffset: 64 })).toThrow(RangeError);
    expect(() => new SeqLock({ dataByteLength: 8, buffer: sab, byteOffset: 6 })).toThrow(RangeError);
    const s = new SeqLock({ dataByteLength: 32, buffer: sab });
    expect(() => new SeqLock({ dataByteLength: 16, buffer: sab })).toThrow(RangeError);
    expect(() => SeqLock.from({ ...s.handle, dataByteLength: 16 })).toThrow(RangeError);
    expect(() => SeqLock.from({ ...s.handle, dataByteLength: undefined as never })).toThrow(TypeError);
    const m = new Mutex({ buffer: sab, byteOffset: 64 });
    expect(() => SeqLock.from({ ...m.handle, kind: 'SeqLock', dataByteLength: 8 })).toThrow(TypeError);
    expect(() => s.read(1 as never)).toThrow(TypeError);
    expect(() => s.write(null as never)).toThrow(TypeError);
    await expect(s.readAsync((v) => v, { timeout: -5 })).rejects.toThrow(RangeError);
  });
});
