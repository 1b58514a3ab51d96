/**
 * What sablock adds to the W3C API, and what it refuses: request options that are not an object,
 * the `timeout` option (TimeoutError, ERR_LOCK_TIMEOUT) and its bad values, `capacity`
 * (CapacityError), the constructor's options, `handle`/`WebLocks.from`, and placement in a given
 * buffer. Every request error is a rejection, never a synchronous throw (helpers.ts `rejects`).
 */
import { describe, expect, it } from 'vitest';
import { CapacityError, Mutex, TimeoutError, WebLocks } from '../../src/index.js';
import { modesOf, rejects, sleep, unique, unreached, within, holdUntilReleased } from './helpers.js';

/** Takes `name` and holds it until the returned release is called. */
describe('request options', () => {
  it('options that are not an object: a TypeError rejection naming options', async () => {
    const locks = new WebLocks();
    for (const options of [5, 'exclusive', true, Symbol('o')]) {
      const e = await rejects(() => locks.request(unique(), options as any, unreached()));
      expect(e, `options ${String(options)}`).toBeInstanceOf(TypeError);
      expect((e as Error).message).toMatch(/options/);
    }
  });

  it('options may be a function object: Web IDL reads it as a dictionary', async () => {
    const locks = new WebLocks();
    const options = Object.assign(() => {}, { mode: 'shared' as const });
    expect(await locks.request(unique(), options, (l) => l?.mode)).toBe('shared');
  });

  it('request() called on something that is not a WebLocks rejects with a TypeError (no synchronous throw)', async () => {
    const locks = new WebLocks();
    const detached = locks.request as (name: string, cb: () => unknown) => Promise<unknown>;
    for (const self of [undefined, {}, new Mutex()]) {
      const e = await rejects(() => detached.call(self, unique(), unreached()));
      expect(e, `this = ${String(self)}`).toBeInstanceOf(TypeError);
      expect((e as Error).message).toMatch(/WebLocks/);
    }
  });
});

describe('timeout', () => {
  it('rejects with TimeoutError (ERR_LOCK_TIMEOUT) when not granted in time, without calling back', async () => {
    const locks = new WebLocks({ name: 'wl-timeout' });
    const res = unique();
    const release = await holdUntilReleased(locks, res);
    const t0 = performance.now();
    const e = await rejects(() => locks.request(res, { timeout: 60 }, unreached()));
    const took = performance.now() - t0;
    expect(e).toBeInstanceOf(TimeoutError);
    expect((e as TimeoutError).code).toBe('ERR_LOCK_TIMEOUT');
    expect(took).toBeGreaterThanOrEqual(55);
    expect(took).toBeLessThan(1_500);
    // It left the queue: only the holder remains, and the lock is free once released.
    expect(modesOf((await locks.query()).pending, res)).toEqual([]);
    release();
    expect(await within(locks.request(res, () => 'free'), 2_000, 'after the timeout')).toBe('free');
  });

  it('a request granted in time is unaffected, and its timer does not fire later', async () => {
    const locks = new WebLocks();
    const res = unique();
    const release = await holdUntilReleased(locks, res);
    const p = locks.request(res, { timeout: 1_000 }, async () => {
      await sleep(80); // held longer than the wait took: the timeout bounds the wait, not the hold
      return 'held';
    });
    await sleep(20);
    release();
    expect(await within(p, 3_000, 'request')).toBe('held');
  });

  it('a timed-out request in the middle of the queue: the ones behind it keep their turn', async () => {
    const locks = new WebLocks();
    const res = unique();
    const release = await holdUntilReleased(locks, res);
    const timedOut = locks.request(res, { timeout: 30 }, unreached());
    const next = locks.request(res, () => 'next');
    expect(await rejects(() => timedOut)).toBeInstanceOf(TimeoutError);
    release();
    expect(await within(next, 2_000, 'next')).toBe('next');
  });

  it('on a free lock: granted at once', async () => {
    const locks = new WebLocks();
    expect(await locks.request(unique(), { timeout: 10 }, () => 'now')).toBe('now');
  });

  it.each([
    ['negative', -1],
    ['NaN', Number.NaN],
  ])('a %s timeout is a RangeError or TypeError rejection naming timeout', async (_what, timeout) => {
    const locks = new WebLocks();
    const e = await rejects(() => locks.request(unique(), { timeout }, unreached()));
    expect([RangeError, TypeError].some((C) => e instanceof C), String(e)).toBe(true);
    expect((e as Error).message).toMatch(/timeout/);
  });

  it('a timeout that is not a number is a TypeError rejection naming timeout', async () => {
    const locks = new WebLocks();
    for (const timeout of ['10', {}, true]) {
      const e = await rejects(() => locks.request(unique(), { timeout } as any, unreached()));
      expect(e, `timeout ${String(timeout)}`).toBeInstanceOf(TypeError);
      expect((e as Error).message).toMatch(/timeout/);
    }
  });
});

describe('capacity', () => {
  it('more live names than capacity: CapacityError; a freed name makes room', async () => {
    const locks = new WebLocks({ capacity: 2 });
    const [a, b, c] = [unique(), unique(), unique()];
    const releaseA = await holdUntilReleased(locks, a);
    const releaseB = await holdUntilReleased(locks, b);
    const e = await rejects(() => locks.request(c, unreached()));
    expect(e).toBeInstanceOf(CapacityError);
    expect((e as CapacityError).code).toBe('ERR_LOCK_CAPACITY');
    // A name already live takes no new room.
    expect(await locks.request(a, { ifAvailable: true }, (lock) => lock)).toBeNull();
    releaseA();
    await sleep(5);
    expect(await within(locks.request(c, () => 'room'), 2_000, 'after a release')).toBe('room');
    releaseB();
  });

  it('more requests held or waiting than holderCapacity: CapacityError, as a rejection; a settled one makes room', async () => {
    const locks = new WebLocks({ capacity: 4, holderCapacity: 2 });
    const res = unique();
    const release = await holdUntilReleased(locks, res);
    const queued = locks.request(res, () => 'queued');
    const e = await rejects(() => locks.request(res, unreached()));
    expect(e).toBeInstanceOf(CapacityError);
    release();
    expect(await within(queued, 2_000, 'the queued request')).toBe('queued');
    expect(await within(locks.request(res, () => 'room'), 2_000, 'after the releases')).toBe('room');
  });

  it('the instance reports the capacity it was made with', () => {
    const locks = new WebLocks({ capacity: 7 });
    expect(locks.capacity).toBeGreaterThanOrEqual(7);
  });
});

describe('constructor and handle', () => {
  it('refuses options that are not an object', () => {
    for (const o of [5, 'x', true, null]) {
      expect(() => new WebLocks(o as any), `options ${String(o)}`).toThrow(TypeError);
    }
  });

  it.each(['capacity', 'holderCapacity', 'nameBytes'])('refuses a bad %s, naming it', (key) => {
    // 0 names or holders is no lock table at all; 0 name bytes could mean "keep no names", so it is not tried.
    for (const v of [...(key === 'nameBytes' ? [] : [0]), -1, 1.5, Number.NaN, '8', {}]) {
      let e: unknown;
      try {
        new WebLocks({ [key]: v } as any);
      } catch (err) {
        e = err;
      }
      expect(e, `${key}: ${String(v)}`).toBeDefined();
      expect([RangeError, TypeError].some((C) => e instanceof C)).toBe(true);
      expect((e as Error).message).toContain(key);
    }
  });

  it('refuses a bad name or placement', () => {
    expect(() => new WebLocks({ name: '' })).toThrow(TypeError);
    expect(() => new WebLocks({ name: 5 } as any)).toThrow(TypeError);
    expect(() => new WebLocks({ buffer: new ArrayBuffer(1 << 16) } as any)).toThrow(TypeError);
    expect(() => new WebLocks({ byteOffset: 0 } as any)).toThrow(TypeError);
    expect(() => new WebLocks({ buffer: new SharedArrayBuffer(64) })).toThrow(RangeError);
  });

  it('WebLocks.from refuses what is not a WebLocks handle', () => {
    const m = new Mutex();
    for (const h of [undefined, null, 5, {}, { kind: 'WebLocks' }, m.handle]) {
      expect(() => WebLocks.from(h as any), `handle ${JSON.stringify(h)}`).toThrow(TypeError);
    }
  });

  it('the handle survives structured cloning, and from(handle) is the same set of locks', async () => {
    const locks = new WebLocks();
    const other = WebLocks.from(structuredClone(locks.handle));
    const res = unique();
    const release = await holdUntilReleased(locks, res);
    expect(await other.request(res, { ifAvailable: true }, (lock) => lock)).toBeNull();
    expect(modesOf((await other.query()).held, res)).toEqual(['exclusive']);
    release();
    await sleep(5);
    expect(await within(other.request(res, () => 'mine'), 2_000, 'after release')).toBe('mine');
  });

  it('two instances are separate sets of locks', async () => {
    const [one, two] = [new WebLocks(), new WebLocks()];
    const res = unique();
    const release = await holdUntilReleased(one, res);
    expect(await two.request(res, { ifAvailable: true }, (lock) => lock !== null)).toBe(true);
    expect(await two.query()).toEqual({ held: [], pending: [] });
    release();
  });

  it('placed in a given buffer at an offset, with byteLengthFor the room it needs', async () => {
    const shape = { capacity: 4 };
    const need = WebLocks.byteLengthFor(shape);
    const buffer = new SharedArrayBuffer(64 + need);
    const locks = new WebLocks({ ...shape, buffer, byteOffset: 64 });
    const res = unique();
    const release = await holdUntilReleased(locks, res);
    const again = WebLocks.from(locks.handle);
    expect(await again.request(res, { ifAvailable: true }, (lock) => lock)).toBeNull();
    release();
    // Too small a buffer for that shape is refused.
    expect(() => new WebLocks({ ...shape, buffer: new SharedArrayBuffer(need - 4) })).toThrow(RangeError);
  });
});
