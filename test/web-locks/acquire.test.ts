/**
 * request(): its arguments, what its promise settles with, and how long the lock is held — the
 * behaviours the W3C web-platform-tests check in web-locks/acquire and web-locks/held, in one
 * thread, each test on its own WebLocks instance.
 */
import { describe, expect, it } from 'vitest';
import { WebLocks } from '../../src/index.js';
import { deferred, expectDOMException, rejects, sleep, state, unique, unreached, within } from './helpers.js';

describe('request(): arguments', () => {
  it('needs a name and a callback: a missing one is a TypeError rejection', async () => {
    const locks = new WebLocks();
    expect(await rejects(() => (locks.request as any)())).toBeInstanceOf(TypeError);
    expect(await rejects(() => (locks.request as any)('a'))).toBeInstanceOf(TypeError);
  });

  it('refuses a callback that is not a function, as a TypeError rejection', async () => {
    const locks = new WebLocks();
    for (const cb of [undefined, null, 123, 'abc', [], {}, new Promise(() => {})]) {
      const e = await rejects(() => (locks.request as any)('a', cb));
      expect(e, `callback ${String(cb)}`).toBeInstanceOf(TypeError);
      const e3 = await rejects(() => (locks.request as any)('a', {}, cb));
      expect(e3, `callback ${String(cb)} after options`).toBeInstanceOf(TypeError);
    }
    // Nothing was left behind by the refused calls.
    expect(await locks.query()).toEqual({ held: [], pending: [] });
  });

  it("mode must be 'shared' or 'exclusive'; the lock reports the mode granted", async () => {
    const locks = new WebLocks();
    const res = unique();
    for (const mode of ['foo', null, 'Exclusive', '']) {
      expect(await rejects(() => locks.request(res, { mode } as any, () => {})), `mode ${String(mode)}`).toBeInstanceOf(TypeError);
    }
    expect(await locks.request(res, { mode: 'exclusive' }, (lock) => lock!.mode)).toBe('exclusive');
    expect(await locks.request(res, { mode: 'shared' }, (lock) => lock!.mode)).toBe('shared');
    expect(await locks.request(res, (lock) => lock!.mode)).toBe('exclusive'); // the default
  });

  it('steal and ifAvailable together: NotSupportedError', async () => {
    const locks = new WebLocks();
    const e = await rejects(() => locks.request(unique(), { steal: true, ifAvailable: true }, unreached()));
    expectDOMException(e, 'NotSupportedError');
  });

  it("steal with mode 'shared': NotSupportedError", async () => {
    const locks = new WebLocks();
    const e = await rejects(() => locks.request(unique(), { mode: 'shared', steal: true }, unreached()));
    expectDOMException(e, 'NotSupportedError');
  });

  it('signal with steal: NotSupportedError', async () => {
    const locks = new WebLocks();
    const e = await rejects(() => locks.request(unique(), { signal: new AbortController().signal, steal: true }, unreached()));
    expectDOMException(e, 'NotSupportedError');
  });

  it('signal with ifAvailable: NotSupportedError', async () => {
    const locks = new WebLocks();
    const e = await rejects(() => locks.request(unique(), { signal: new AbortController().signal, ifAvailable: true }, unreached()));
    expectDOMException(e, 'NotSupportedError');
  });

  it('invokes the callback asynchronously, with a lock naming the resource', async () => {
    const locks = new WebLocks();
    const res = unique();
    let seen: unknown;
    const p = locks.request(res, (lock) => {
      seen = lock;
    });
    expect(seen).toBeUndefined(); // not from inside request()
    await p;
    expect(seen).toMatchObject({ name: res, mode: 'exclusive' });
  });
});

describe('request(): what it settles with', () => {
  it("returns a real Promise that resolves with the callback's value (promisified if not async)", async () => {
    const locks = new WebLocks();
    const p = locks.request(unique(), () => 123);
    expect(Promise.resolve(p)).toBe(p);
    expect(await p).toBe(123);
    expect(await locks.request(unique(), async () => 'async')).toBe('async');
  });

  it('resolves only after the lock is released (after the held promise settles)', async () => {
    const locks = new WebLocks();
    const hold = deferred();
    const order: string[] = [];
    const returned = locks.request(unique(), () => hold.promise);
    void returned.then(() => order.push('returned'));
    void hold.promise.then(() => order.push('holding'));
    hold.resolve();
    await within(Promise.all([returned, hold.promise]), 2_000, 'request()');
    expect(order).toEqual(['holding', 'returned']);
  });

  it('rejects with exactly what the callback threw synchronously', async () => {
    const locks = new WebLocks();
    const err = { name: 'test' };
    const p = locks.request(unique(), () => {
      throw err;
    });
    expect(Promise.resolve(p)).toBe(p);
    expect(await rejects(() => p)).toBe(err);
  });

  it('rejects with exactly what an async callback threw', async () => {
    const locks = new WebLocks();
    const err = { name: 'test' };
    expect(
      await rejects(() =>
        locks.request(unique(), async () => {
          throw err;
        }),
      ),
    ).toBe(err);
  });

  it('does not call then() of a thenable the callback threw', async () => {
    const locks = new WebLocks();
    let thenCalled = false;
    const err = { then: () => void (thenCalled = true) };
    const p = locks.request(unique(), async () => {
      throw err;
    });
    // Not through rejects(): an async helper returning the thenable would call then() itself.
    let caught: unknown;
    await within(
      p.then(
        () => expect.unreachable('the promise fulfilled'),
        (e) => void (caught = e),
      ),
      2_000,
      'the rejection',
    );
    expect(caught).toBe(err);
    await sleep(0);
    expect(thenCalled).toBe(false);
  });

  it('a throwing callback still releases its lock', async () => {
    const locks = new WebLocks();
    const res = unique();
    await rejects(() =>
      locks.request(res, () => {
        throw new Error('boom');
      }),
    );
    expect(await locks.request(res, { ifAvailable: true }, (lock) => lock !== null)).toBe(true);
    expect(await locks.query()).toEqual({ held: [], pending: [] });
  });
});

describe('a lock is held until the callback settles', () => {
  it('...until its returned promise resolves', async () => {
    const locks = new WebLocks();
    const res = unique();
    const granted = deferred();
    const hold = deferred();
    const order: string[] = [];
    void locks.request(res, () => (granted.resolve(), hold.promise));
    await granted.promise;
    await within(
      Promise.all([
        sleep(50).then(() => {
          order.push('1st released');
          hold.resolve();
        }),
        locks.request(res, () => void order.push('2nd granted')),
      ]),
      3_000,
      'the 2nd request',
    );
    expect(order).toEqual(['1st released', '2nd granted']);
  });

  it('...until its returned promise rejects (and request() rejects with that reason)', async () => {
    const locks = new WebLocks();
    const res = unique();
    const granted = deferred();
    const hold = deferred();
    const order: string[] = [];
    const first = locks.request(res, () => (granted.resolve(), hold.promise));
    const firstRejection = rejects(() => first);
    await granted.promise;
    const reason = new Error('expected');
    await within(
      Promise.all([
        sleep(50).then(() => {
          order.push('reject');
          hold.reject(reason);
        }),
        locks.request(res, () => void order.push('2nd granted')),
      ]),
      3_000,
      'the 2nd request',
    );
    expect(order).toEqual(['reject', '2nd granted']);
    expect(await firstRejection).toBe(reason);
  });

  it('a held lock keeps out the same thread (ifAvailable gets null)', async () => {
    const locks = new WebLocks();
    const res = unique();
    let inner: unknown = 'not called';
    await locks.request(res, async () => {
      await locks.request(res, { ifAvailable: true }, (lock) => void (inner = lock));
    });
    expect(inner).toBeNull();
  });

  it('a second request waits while the first holds, and is not granted early', async () => {
    const locks = new WebLocks();
    const res = unique();
    const hold = deferred();
    void locks.request(res, () => hold.promise);
    let second = false;
    const p = locks.request(res, () => void (second = true));
    await sleep(30);
    expect(second).toBe(false);
    expect(await state(p)).toBe('pending');
    hold.resolve();
    await within(p, 2_000, 'the second request');
    expect(second).toBe(true);
  });

  it('a request is released before its request() promise resolves (the next ifAvailable gets it)', async () => {
    const locks = new WebLocks();
    const [a, b] = [unique(), unique()];
    let probe: unknown = 'not called';
    await locks.request(a, async () => {
      await locks.request(b, async () => {});
      await locks.request(b, { ifAvailable: true }, (lock) => void (probe = lock));
    });
    expect(probe).toMatchObject({ name: b, mode: 'exclusive' });
  });
});
