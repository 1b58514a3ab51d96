/**
 * A placement and handle suite for primitives that are not exclusive locks (the exclusive suite
 * has its own placement cases, written against lock()/isLocked()): placed at an offset in a
 * caller's buffer, neighbours untouched, a second construction at a place attaches, overlaps and
 * bad placements refused without writing, handles plain and cloneable, `from()` of a bogus or
 * foreign handle refused. "The same primitive" is checked through a small state probe per
 * primitive (`bump` changes something observable, `read` reads it), where it has one.
 */
import { describe, expect, it } from 'vitest';
import { Mutex, type Handle } from '../../dist/index.js';
import { thrown } from '../harness/expect.js';

export interface Placed {
  readonly name: string;
  readonly buffer: SharedArrayBuffer;
  readonly byteOffset: number;
  readonly handle: Handle;
}

export interface PlacementSubject {
  kind: string;
  /** Bytes one occupies with the options `make` adds. */
  size: number;
  /** Constructs one (the subject adds what its constructor needs; non-objects go through as they are). */
  make(options?: unknown): Placed;
  from(handle: Handle): Placed;
  /** Changes something observable through every object attached to it; absent: no state to probe. */
  bump?(p: Placed): void;
  read?(p: Placed): number;
  /** Cases that do not apply, with the reason (shown in the skipped test's name). */
  lacks?: { overlapCheck?: string };
}

export function placementSuite(s: PlacementSubject): void {
  const L = s.size;
  const probe = s.bump !== undefined && s.read !== undefined;
  const same = (a: Placed, b: Placed): void => {
    if (!probe) return;
    const before = s.read!(b);
    s.bump!(a);
    expect(s.read!(b)).not.toBe(before);
  };

  describe(`${s.kind}: placement and handles`, () => {
    it('size and alignment; a default instance owns a buffer from offset 0', () => {
      expect(Number.isInteger(L)).toBe(true);
      expect(L % 4).toBe(0);
      const p = s.make();
      expect(p.buffer.byteLength).toBeGreaterThanOrEqual(L);
      expect(p.byteOffset).toBe(0);
    });

    it('the handle is a plain structured-cloneable object; from(clone) is the same one, with its name', () => {
      const p = s.make({ name: 'placed' });
      const h = p.handle;
      expect(Object.getPrototypeOf(h)).toBe(Object.prototype);
      expect(h).toMatchObject({ kind: s.kind, byteOffset: 0, name: 'placed' });
      const again = s.from(structuredClone(h));
      expect(again.name).toBe('placed');
      expect(again.byteOffset).toBe(0);
      same(p, again);
      same(again, p);
    });

    it("placed at offsets in a caller's buffer: neighbours independent, nothing outside written, a second construction attaches", () => {
      const sab = new SharedArrayBuffer(16 + 3 * L + 16);
      const bytes = new Uint8Array(sab);
      const [a, b, c] = [0, 1, 2].map((k) => s.make({ buffer: sab, byteOffset: 16 + k * L }));
      expect([a.byteOffset, b.byteOffset, c.byteOffset]).toEqual([16, 16 + L, 16 + 2 * L]);
      expect(a.handle.buffer).toBe(sab);
      if (probe) {
        const before = [s.read!(a), s.read!(b), s.read!(c)];
        s.bump!(b);
        expect(s.read!(a)).toBe(before[0]);
        expect(s.read!(b)).not.toBe(before[1]);
        expect(s.read!(c)).toBe(before[2]);
      }
      expect(bytes.subarray(0, 16).every((x) => x === 0)).toBe(true);
      expect(bytes.subarray(16 + 3 * L).every((x) => x === 0)).toBe(true);
      same(a, s.make({ buffer: sab, byteOffset: 16 }));
      const tail = new SharedArrayBuffer(16 + L);
      s.make({ buffer: tail, byteOffset: tail.byteLength - L });
    });

    const overlap = 'a placement starting inside a fresh neighbour (its state all zero) is refused and writes nothing';
    const overlapCase = (): void => {
      const sab = new SharedArrayBuffer(16 + 3 * L + 16);
      const bytes = new Uint8Array(sab);
      s.make({ buffer: sab, byteOffset: 16 + 2 * L });
      const snapshot = bytes.slice();
      expect(() => s.make({ buffer: sab, byteOffset: 16 + 2 * L + 4 })).toThrow(/byteOffset/);
      expect(bytes).toEqual(snapshot);
    };
    if (s.lacks?.overlapCheck === undefined) it(overlap, overlapCase);
    else it.skip(`${overlap} [n/a for ${s.kind}: ${s.lacks.overlapCheck}]`, overlapCase);

    it('bad placements throw TypeError/RangeError naming the argument, and write nothing', () => {
      const sab = new SharedArrayBuffer(4 * L);
      const bytes = new Uint8Array(sab);
      const cases: [unknown, typeof TypeError | typeof RangeError, RegExp][] = [
        [{ buffer: new ArrayBuffer(4 * L) }, TypeError, /options\.buffer.*SharedArrayBuffer/],
        [{ buffer: new Uint8Array(sab) }, TypeError, /options\.buffer/],
        [{ buffer: sab, byteOffset: 2 }, RangeError, /options\.byteOffset.*multiple of 4/],
        [{ buffer: sab, byteOffset: -4 }, RangeError, /options\.byteOffset/],
        [{ buffer: sab, byteOffset: Number.NaN }, RangeError, /options\.byteOffset/],
        [{ buffer: sab, byteOffset: 3 * L + 4 }, RangeError, /options\.byteOffset/],
        [{ buffer: sab, byteOffset: '8' }, TypeError, /options\.byteOffset/],
        [{ byteOffset: 8 }, TypeError, /byteOffset.*buffer/],
        ['options', TypeError, /options/],
        [{ name: '' }, TypeError, /options\.name/],
      ];
      for (const [options, Err, message] of cases) {
        const e = thrown(() => s.make(options));
        expect(e, `new ${s.kind}(${String(JSON.stringify(options))})`).toBeInstanceOf(Err);
        expect((e as Error).message).toMatch(message);
      }
      expect(bytes.every((x) => x === 0)).toBe(true);
    });

    it('placing it where another kind (or foreign data) lives is a TypeError that changes nothing', () => {
      const sab = new SharedArrayBuffer(8 + L + 64);
      const m = new Mutex({ buffer: sab, byteOffset: 8 });
      const before = new Uint8Array(sab).slice();
      const e = thrown(() => s.make({ buffer: sab, byteOffset: 8 }));
      expect(e).toBeInstanceOf(TypeError);
      expect((e as Error).message).toMatch(/byteOffset.*Mutex/);
      expect(new Uint8Array(sab)).toEqual(before);
      m.lock();
      m.unlock();
      const foreign = new SharedArrayBuffer(8 + L + 64);
      new Int32Array(foreign)[2] = 0x12345678;
      expect(thrown(() => s.make({ buffer: foreign, byteOffset: 8 }))).toBeInstanceOf(TypeError);
      expect(new Int32Array(foreign)[2]).toBe(0x12345678);
    });

    it('bogus and foreign handles throw TypeError/RangeError and write nothing; its handle is refused by other classes', () => {
      const sab = new SharedArrayBuffer(8 * L);
      const p = s.make({ buffer: sab, byteOffset: 0 });
      const h = p.handle;
      const before = new Uint8Array(sab).slice();
      const cases: [unknown, typeof TypeError | typeof RangeError, RegExp][] = [
        [null, TypeError, /handle/],
        [42, TypeError, /handle/],
        [{}, TypeError, /handle\.kind/],
        [{ ...h, kind: 'Nope' }, TypeError, /handle\.kind/],
        [{ ...h, buffer: new ArrayBuffer(8 * L) }, TypeError, /handle\.buffer/],
        [{ ...h, byteOffset: 2 }, RangeError, /handle\.byteOffset/],
        [{ ...h, byteOffset: 8 * L }, RangeError, /handle\.byteOffset/],
        [{ ...h, byteOffset: 4 * L }, TypeError, /handle.*nothing/],
        [{ ...h, name: '' }, TypeError, /handle\.name/],
      ];
      for (const [handle, Err, message] of cases) {
        const e = thrown(() => s.from(handle as Handle));
        expect(e, `${s.kind}.from(${String(JSON.stringify(handle))})`).toBeInstanceOf(Err);
        expect((e as Error).message).toMatch(message);
      }
      expect(new Uint8Array(sab)).toEqual(before);
      expect(thrown(() => Mutex.from(h))).toBeInstanceOf(TypeError);
      const forged = thrown(() => Mutex.from({ ...h, kind: 'Mutex' } as Handle));
      expect(forged).toBeInstanceOf(TypeError);
      expect((forged as Error).message).toMatch(new RegExp(`holds a ${s.kind}`));
      expect(thrown(() => s.from(new Mutex().handle))).toBeInstanceOf(TypeError);
    });
  });
}
