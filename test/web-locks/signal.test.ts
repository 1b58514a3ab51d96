/**
 * The `signal` option: only an AbortSignal; an aborted one rejects with its reason (at once if it
 * already was; while queued, when it fires; even between request() and the callback); once
 * granted, aborting changes nothing; an aborted request frees its place in the queue
 * (web-platform-tests web-locks/signal).
 */
import { describe, expect, it } from 'vitest';
import { WebLocks } from '../../src/index.js';
import { deferred, expectDOMException, modesOf, rejects, sleep, unique, unreached, within, holdUntilReleased } from './helpers.js';

/** Takes `name` and holds it until the returned release is called. */
describe('signal', () => {
  it('must be an AbortSignal: anything else is a TypeError rejection', async () => {
    const locks = new WebLocks();
    const res = unique();
    for (const signal of ['string', 12.34, false, {}, Symbol('s'), () => {}, globalThis]) {
      const e = await rejects(() => locks.request(res, { signal } as any, unreached()));
      expect(e, `signal ${String(signal)}`).toBeInstanceOf(TypeError);
    }
  });

  it('already aborted: rejects with the default reason, an AbortError DOMException, and never calls back', async () => {
    const locks = new WebLocks();
    const c = new AbortController();
    c.abort();
    const e = await rejects(() => locks.request(unique(), { signal: c.signal }, unreached()));
    expectDOMException(e, 'AbortError');
    expect(e).toBe(c.signal.reason);
  });

  it('already aborted with a custom reason: rejects with exactly that reason', async () => {
    const locks = new WebLocks();
    const c = new AbortController();
    const reason = 'My dog ate it.';
    c.abort(reason);
    expect(await rejects(() => locks.request(unique(), { signal: c.signal }, unreached()))).toBe(reason);
  });

  it('aborted while queued: rejects with AbortError, callback never runs, the queue entry is gone', async () => {
    const locks = new WebLocks();
    const res = unique();
    const release = await holdUntilReleased(locks, res);
    const c = new AbortController();
    const p = locks.request(res, { signal: c.signal }, unreached());
    let q = await locks.query();
    expect(modesOf(q.held, res)).toHaveLength(1);
    expect(modesOf(q.pending, res)).toHaveLength(1);
    const rejected = rejects(() => p);
    c.abort();
    expectDOMException(await rejected, 'AbortError');
    q = await locks.query();
    expect(modesOf(q.pending, res)).toEqual([]);
    release();
    await sleep(10); // a callback run after the release would fail the test through unreached()
  });

  it('aborted by a timer 10 ms into the wait', async () => {
    const locks = new WebLocks();
    const res = unique();
    const release = await holdUntilReleased(locks, res);
    const c = new AbortController();
    const p = locks.request(res, { signal: c.signal }, () => {});
    let fired = false;
    setTimeout(() => {
      fired = true;
      c.abort();
    }, 10);
    expectDOMException(await rejects(() => p), 'AbortError');
    expect(fired).toBe(true);
    release();
  });

  it('a signal that is never aborted changes nothing', async () => {
    const locks = new WebLocks();
    let got = false;
    await locks.request(unique(), { signal: new AbortController().signal }, async () => void (got = true));
    expect(got).toBe(true);
  });

  it('aborted synchronously after request() on a free lock: still aborts; the lock is not left taken', async () => {
    const locks = new WebLocks();
    const res = unique();
    const c = new AbortController();
    let got = false;
    const p = locks.request(res, { signal: c.signal }, () => void (got = true));
    c.abort();
    expectDOMException(await rejects(() => p), 'AbortError');
    expect(got).toBe(false);
    await within(
      locks.request(res, () => void (got = true)),
      2_000,
      'the next request',
    );
    expect(got).toBe(true);
  });

  it('aborted after the grant: no effect, request() resolves with the callback value', async () => {
    const locks = new WebLocks();
    const c = new AbortController();
    const granted = deferred();
    const hold = deferred<string>();
    const p = locks.request(unique(), { signal: c.signal }, () => (granted.resolve(), hold.promise));
    await granted.promise;
    c.abort();
    hold.resolve('resolved ok');
    expect(await within(p, 2_000, 'request')).toBe('resolved ok');
  });

  it('aborted after the release: no effect', async () => {
    const locks = new WebLocks();
    const c = new AbortController();
    const granted = deferred();
    const hold = deferred<string>();
    const p = locks.request(unique(), { signal: c.signal }, () => (granted.resolve(), hold.promise));
    await granted.promise;
    hold.resolve('resolved ok');
    c.abort();
    expect(await within(p, 2_000, 'request')).toBe('resolved ok');
  });

  it('an aborted request lets the next one in the queue through', async () => {
    const locks = new WebLocks();
    const res = unique();
    const c = new AbortController();
    const first = locks.request(res, { signal: c.signal }, () => new Promise(() => {}));
    const next = locks.request(res, () => 'resolved');
    c.abort();
    expectDOMException(await rejects(() => first), 'AbortError');
    expect(await within(next, 2_000, 'the next request')).toBe('resolved');
  });

  it('an aborted queued request in the middle: the ones around it keep their order', async () => {
    const locks = new WebLocks();
    const res = unique();
    const release = await holdUntilReleased(locks, res);
    const order: number[] = [];
    const c = new AbortController();
    const a = locks.request(res, () => void order.push(1));
    const b = locks.request(res, { signal: c.signal }, () => void order.push(2));
    const d = locks.request(res, () => void order.push(3));
    c.abort();
    await rejects(() => b);
    release();
    await within(Promise.all([a, d]), 2_000, 'the others');
    expect(order).toEqual([1, 3]);
  });

  it('aborted with a custom reason before the callback: rejects with that reason', async () => {
    const locks = new WebLocks();
    const c = new AbortController();
    const p = locks.request(unique(), { signal: c.signal }, () => new Promise(() => {}));
    const reason = 'My cat handled it';
    c.abort(reason);
    expect(await rejects(() => p)).toBe(reason);
  });

  it('aborted with the default reason before the callback: rejects with signal.reason itself', async () => {
    const locks = new WebLocks();
    const c = new AbortController();
    const p = locks.request(unique(), { signal: c.signal }, () => new Promise(() => {}));
    c.abort();
    expect(await rejects(() => p)).toBe(c.signal.reason);
  });
});
