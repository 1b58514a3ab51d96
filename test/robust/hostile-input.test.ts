/**
 * Hostile input, property-based (fast-check): constructors, placements, from(handle), timeouts and
 * wait options with forged, wrong-kind, non-shared, odd-sized, growable, frozen and proxied
 * arguments. Every case either works or throws a TypeError/RangeError naming the argument; none
 * hangs, and the neighbouring locks in the same buffer keep every word they had.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as sablock from '../../dist/index.js';
import { Mutex, SpinLock, TicketLock } from '../../dist/index.js';
import { withActors, Actor, ACTOR } from './helpers.js';

const KINDS = { Mutex, SpinLock, TicketLock } as const;
type KindName = keyof typeof KINDS;
const KIND_NAMES = Object.keys(KINDS) as KindName[];
const RUNS = 400;

// ---- the arena: a buffer with three neighbours around a free middle ---------------------------
const ARENA_BYTES = 512;
const arena = new SharedArrayBuffer(ARENA_BYTES);
const words = new Int32Array(arena);
const NEIGHBOURS = [
  { kind: 'Mutex' as KindName, byteOffset: 0 },
  { kind: 'TicketLock' as KindName, byteOffset: 300 },
  { kind: 'SpinLock' as KindName, byteOffset: 448 },
];
const neighbourWords = new Set<number>();
for (const n of NEIGHBOURS) {
  new KINDS[n.kind]({ buffer: arena, byteOffset: n.byteOffset, name: `neighbour-${n.kind}` });
  for (let w = n.byteOffset / 4; w < (n.byteOffset + KINDS[n.kind].BYTE_LENGTH) / 4; w++) neighbourWords.add(w);
}
const snapshot = (): number[] => [...neighbourWords].map((w) => Atomics.load(words, w));
/** Zeroes everything but the neighbours, so each case starts from the same arena. */
function resetArena(): void {
  for (let w = 0; w < words.length; w++) if (!neighbourWords.has(w)) Atomics.store(words, w, 0);
}

// ---- arbitraries ------------------------------------------------------------------------------
const detached = (): ArrayBuffer => {
  const b = new ArrayBuffer(64);
  structuredClone(b, { transfer: [b] });
  return b;
};
const bufferArb = fc.oneof(
  { weight: 6, arbitrary: fc.constant(() => arena) },
  fc.constantFrom(
    () => new ArrayBuffer(64),
    detached,
    () => new Int32Array(arena),
    () => new SharedArrayBuffer(64, { maxByteLength: 256 }),
    () => new SharedArrayBuffer(10),
    () => new SharedArrayBuffer(0),
    () => ({ byteLength: 64 }),
    () => new DataView(arena),
  ),
  fc.anything().map((x) => () => x),
);
const offsetArb = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0, max: 64 }).map((x) => x * 4) },
  fc.integer({ min: -16, max: 300 }),
  fc.integer(),
  fc.constantFrom(Number.NaN, Infinity, -Infinity, -0, 0.5, 2 ** 31, 2 ** 32 + 8, 2 ** 53, Number.MAX_VALUE, 4.000001),
  fc.double(),
  fc.bigInt(),
  fc.string(),
  fc.anything(),
);
const nameArb = fc.oneof(fc.constant(undefined), fc.string(), fc.anything());
const wrapArb = fc.constantFrom('plain', 'frozen', 'proxy', 'nullproto', 'fickle', 'getters');

/** Wraps a record the way a hostile caller might: frozen, proxied, prototype-less, or fickle. */
function wrap(o: Record<string, unknown>, how: string): unknown {
  switch (how) {
    case 'frozen':
      return Object.freeze({ ...o });
    case 'proxy':
      return new Proxy({ ...o }, { get: (t, k) => Reflect.get(t, k) });
    case 'nullproto':
      return Object.assign(Object.create(null), o);
    case 'fickle': {
      // Answers the real value the first time, garbage afterwards: a second read would be a TOCTOU bug.
      const seen = new Set<PropertyKey>();
      return new Proxy(
        { ...o },
        {
          get(t, k) {
            if (typeof k === 'string' && seen.has(k)) return k === 'byteOffset' ? 1e9 : { evil: true };
            seen.add(k);
            return Reflect.get(t, k);
          },
        },
      );
    }
    case 'getters': {
      const g = {};
      for (const [k, v] of Object.entries(o)) Object.defineProperty(g, k, { get: () => v, enumerable: true });
      return g;
    }
    default:
      return o;
  }
}

function expectArgumentError(e: unknown, names: RegExp): void {
  if (!(e instanceof TypeError || e instanceof RangeError)) throw new Error(`expected TypeError/RangeError, got ${String(e)}`);
  expect(e.message).toMatch(names);
}

// ---- properties --------------------------------------------------------------------------------
describe('hostile input', () => {
  beforeAll(resetArena);
  afterAll(resetArena);

  it.each(KIND_NAMES)('new %s(options): works or a named argument error; neighbours untouched', (kind) => {
    const K = KINDS[kind];
    fc.assert(
      fc.property(
        fc.oneof(
          fc.record({ buffer: bufferArb, byteOffset: offsetArb, name: nameArb }, { requiredKeys: [] }),
          fc.anything().map((x) => ({ raw: x })),
        ),
        wrapArb,
        (spec, how) => {
          resetArena();
          const before = snapshot();
          let options: unknown;
          if ('raw' in spec) options = spec.raw;
          else {
            const o: Record<string, unknown> = {};
            if ('buffer' in spec) o.buffer = (spec.buffer as () => unknown)();
            if ('byteOffset' in spec) o.byteOffset = spec.byteOffset;
            if ('name' in spec) o.name = spec.name;
            options = wrap(o, how);
          }
          let lock: InstanceType<typeof K> | undefined;
          try {
            lock = new K(options as never);
          } catch (e) {
            expectArgumentError(e, /^options/);
          }
          if (lock && !NEIGHBOURS.some((n) => lock!.buffer === arena && n.byteOffset === lock!.byteOffset)) {
            // It works: a usable, free lock of the right kind.
            expect(lock.isLocked()).toBe(false);
            expect(lock.tryLock()).toBe(true);
            lock.unlock();
            expect(K.from(lock.handle).isLocked()).toBe(false);
          }
          expect(snapshot()).toEqual(before);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it.each(KIND_NAMES)('%s.from(forged handle): attaches only to a real one of its kind; never writes', (kind) => {
    const K = KINDS[kind];
    fc.assert(
      fc.property(
        fc.oneof(
          fc.record(
            {
              kind: fc.oneof(fc.constantFrom('Mutex', 'SpinLock', 'TicketLock', 'RWLock', 'Condition', 'nope'), fc.anything()),
              buffer: bufferArb,
              byteOffset: offsetArb,
              name: nameArb,
            },
            { requiredKeys: [] },
          ),
          fc.anything().map((x) => ({ raw: x })),
        ),
        wrapArb,
        (spec, how) => {
          resetArena();
          const all = [...words];
          let handle: unknown;
          if ('raw' in spec) handle = spec.raw;
          else {
            const o: Record<string, unknown> = { ...spec };
            if ('buffer' in spec) o.buffer = (spec.buffer as () => unknown)();
            handle = wrap(o, how);
          }
          let lock: InstanceType<typeof K> | undefined;
          try {
            lock = K.from(handle as never);
          } catch (e) {
            expectArgumentError(e, /^handle/);
          }
          if (lock) {
            // Only the neighbour of this very kind can be attached to, at its own offset.
            expect(lock.buffer).toBe(arena);
            expect(NEIGHBOURS.some((n) => n.kind === kind && n.byteOffset === lock!.byteOffset)).toBe(true);
          }
          expect([...words]).toEqual(all); // attaching never writes
        },
      ),
      { numRuns: RUNS },
    );
  });

  // The other primitives share the handle contract: run the forged-handle property on whichever
  // of them this build exports (none of them lives in the arena, so attaching must always fail).
  const OTHERS = ['RWLock', 'SeqLock', 'Semaphore', 'Condition', 'LockManager'].filter(
    (k) => typeof (sablock as Record<string, unknown>)[k] === 'function',
  );
  it.runIf(OTHERS.length > 0).each(OTHERS)('%s.from(forged handle): a named error, never a write', (kind) => {
    const K = (sablock as unknown as Record<string, { from(h: unknown): unknown }>)[kind]!;
    fc.assert(
      fc.property(
        fc.record(
          {
            kind: fc.oneof(fc.constantFrom(kind, 'Mutex', 'nope'), fc.anything()),
            buffer: bufferArb,
            byteOffset: offsetArb,
            name: nameArb,
            dataByteLength: fc.oneof(fc.integer({ min: -8, max: 64 }), fc.anything()),
            capacity: fc.oneof(fc.integer({ min: -8, max: 64 }), fc.anything()),
          },
          { requiredKeys: [] },
        ),
        wrapArb,
        (spec, how) => {
          resetArena();
          const all = [...words];
          const o: Record<string, unknown> = { ...spec };
          if ('buffer' in spec) o.buffer = (spec.buffer as () => unknown)();
          let attached: unknown;
          try {
            attached = K.from(wrap(o, how));
          } catch (e) {
            expectArgumentError(e, /^handle/);
          }
          expect(attached).toBeUndefined();
          expect([...words]).toEqual(all);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it.each(KIND_NAMES)('%s: tryLock(x), lockAsync(opts), withLock(fn) on a free lock: work or named errors', async (kind) => {
    resetArena();
    const lock = new KINDS[kind]({ buffer: arena, byteOffset: 64 });
    const timeoutArb = fc.oneof(fc.double(), fc.integer(), fc.constantFrom(undefined, Number.NaN, -0, -1, Infinity, 1e300), fc.anything());
    const signalArb = fc.oneof(
      fc.constant(undefined),
      fc.constant(new AbortController().signal),
      fc.constant(AbortSignal.abort('gone')),
      fc.anything(),
    );
    await fc.assert(
      fc.asyncProperty(timeoutArb, fc.record({ timeout: timeoutArb, signal: signalArb }, { requiredKeys: [] }), wrapArb, fc.anything(), async (t, opts, how, fn) => {
        const before = snapshot();
        let took: boolean | undefined;
        try {
          took = lock.tryLock(t as number);
        } catch (e) {
          expectArgumentError(e, /^timeoutMs/);
        }
        if (took !== undefined) {
          expect(took).toBe(true);
          lock.unlock();
        }
        const options = wrap(opts as Record<string, unknown>, how);
        try {
          const g = await lock.lockAsync(options as never);
          g.unlock();
        } catch (e) {
          if (!(opts.signal instanceof AbortSignal && opts.signal.aborted && e === opts.signal.reason)) {
            expectArgumentError(e, /^options/);
          }
        }
        try {
          lock.withLock(fn as never);
        } catch (e) {
          if (typeof fn !== 'function') expectArgumentError(e, /^fn/);
        }
        expect(lock.isLocked()).toBe(false);
        expect(snapshot()).toEqual(before);
      }),
      { numRuns: RUNS },
    );
  });

  it.each(KIND_NAMES)('%s held by a worker: bad timeouts are errors, good short ones give up in time', async (kind) => {
    const lock = new KINDS[kind]();
    await withActors(async (spawn) => {
      const holder: Actor = spawn({ kind, handle: lock.handle, role: 'holder' }, ACTOR);
      await holder.next();
      const shortOrBad = fc.oneof(
        fc.integer({ min: 0, max: 20 }),
        fc.double({ min: 0, max: 20, noNaN: true }),
        fc.constantFrom(Number.NaN, -1, -0.0001, -Infinity, '5', null, {}, 5n),
      );
      await fc.assert(
        fc.asyncProperty(shortOrBad, async (t) => {
          const start = performance.now();
          try {
            expect(lock.tryLock(t as number)).toBe(false);
          } catch (e) {
            expectArgumentError(e, /^timeoutMs/);
          }
          try {
            await lock.lockAsync({ timeout: t as number });
            throw new Error('acquired a lock held by a live worker');
          } catch (e) {
            if ((e as Error).name !== 'TimeoutError') expectArgumentError(e, /^options\.timeout/);
          }
          // Generous: a 20 ms timeout on a loaded machine, twice.
          expect(performance.now() - start).toBeLessThan(2_000);
        }),
        { numRuns: 60 },
      );
      expect(lock.isLocked()).toBe(true);
    });
  });

  it('a buffer whose length is not a multiple of 4 works; a handle read twice cannot swap its fields', () => {
    const odd = new SharedArrayBuffer(10);
    const m = new Mutex({ buffer: odd });
    expect(m.tryLock()).toBe(true);
    m.unlock();
    // Valid on the first read of each field, something else on any later read.
    const fickle = wrap({ ...m.handle }, 'fickle');
    const again = Mutex.from(fickle as never);
    expect(again.byteOffset).toBe(0);
    expect(again.name).toBe('Mutex');
  });

  it('placement refuses to overlap a neighbour, in either direction', () => {
    resetArena();
    const before = snapshot();
    // Onto the Mutex's (unlocked, zero) state word, and onto the TicketLock's.
    expect(() => new SpinLock({ buffer: arena, byteOffset: 4 })).toThrow(/options.byteOffset 4 lies inside the Mutex/);
    expect(() => new Mutex({ buffer: arena, byteOffset: 336 })).toThrow(RangeError);
    // A TicketLock whose 136 bytes would run over the TicketLock neighbour's tag.
    expect(() => new TicketLock({ buffer: arena, byteOffset: 200 })).toThrow(/would overlap the TicketLock at byteOffset 300/);
    // Right next to a neighbour is fine.
    const ok = new TicketLock({ buffer: arena, byteOffset: 164 });
    expect(ok.tryLock()).toBe(true);
    ok.unlock();
    expect(snapshot()).toEqual(before);
  });
});
