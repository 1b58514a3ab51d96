/**
 * The `steal` option on one thread: granted at once, ahead of the queue; the robbed holders'
 * request() promises reject with AbortError at the moment of the steal while their callbacks run
 * on; a robbed callback that ends later frees nothing of the thief's (web-platform-tests
 * web-locks/steal, plus the late-release case the spec implies). Cross-worker steals are in
 * workers.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { WebLocks } from '../../src/index.js';
import { deferred, expectDOMException, modesOf, rejects, sleep, state, unique, within } from './helpers.js';

const never = new Promise<never>(() => {});

describe('steal', () => {
  it('on a free lock: granted', async () => {
    const locks = new WebLocks();
    const res = unique();
    let seen: unknown = 'not called';
    await within(
      locks.request(res, { steal: true }, (lock) => void (seen = lock)),
      2_000,
      'steal',
    );
    expect(seen).toMatchObject({ name: res, mode: 'exclusive' });
  });

  it('on a held lock: granted at once; the holder’s request() rejects with AbortError', async () => {
    const locks = new WebLocks();
    const res = unique();
    const robbed = locks.request(res, () => never);
    const robbedRejection = rejects(() => robbed);
    let seen: unknown = 'not called';
    await within(
      locks.request(res, { steal: true }, (lock) => void (seen = lock)),
      2_000,
      'steal',
    );
    expect(seen).toMatchObject({ name: res, mode: 'exclusive' });
    expectDOMException(await robbedRejection, 'AbortError');
  });

  it('the robbed request has already rejected when the thief’s callback runs', async () => {
    const locks = new WebLocks();
    const res = unique();
    const robbed = locks.request(res, () => never);
    robbed.catch(() => {});
    await sleep(5); // granted to the first request
    await within(
      locks.request(res, { steal: true }, async () => {
        expect(await state(robbed)).toBe('rejected');
      }),
      2_000,
      'steal',
    );
  });

  it('steals from every shared holder', async () => {
    const locks = new WebLocks();
    const res = unique();
    const robbed = [1, 2, 3].map(() => locks.request(res, { mode: 'shared' }, () => never));
    const rejections = robbed.map((p) => rejects(() => p));
    await within(
      locks.request(res, { steal: true }, async () => {
        expect(modesOf((await locks.query()).held, res)).toEqual(['exclusive']);
      }),
      2_000,
      'steal',
    );
    for (const r of rejections) expectDOMException(await r, 'AbortError');
  });

  it('robs a holder in another view of the same locks in this thread (from(handle))', async () => {
    const locks = new WebLocks();
    const view = WebLocks.from(locks.handle);
    const res = unique();
    const robbed = locks.request(res, () => never);
    const robbedRejection = rejects(() => robbed);
    await sleep(5);
    await within(
      view.request(res, { steal: true }, async () => {
        expectDOMException(await robbedRejection, 'AbortError');
      }),
      2_000,
      'steal through the other view',
    );
  });

  it('goes ahead of queued requests, which are granted after it, in order', async () => {
    const locks = new WebLocks();
    const res = unique();
    void locks.request(res, () => never).catch(() => {});
    const order: string[] = [];
    const queued = locks.request(res, () => void order.push('queued'));
    await within(
      locks.request(res, { steal: true }, () => void order.push('thief')),
      2_000,
      'steal',
    );
    await within(queued, 2_000, 'the queued request');
    expect(order).toEqual(['thief', 'queued']);
  });

  it('the last thief wins: the first thief is robbed in turn', async () => {
    const locks = new WebLocks();
    const res = unique();
    void locks.request(res, () => never).catch(() => {});
    const firstThief = locks.request(res, { steal: true }, () => never);
    const firstRejection = rejects(() => firstThief);
    await within(
      locks.request(res, { steal: true }, () => {}),
      2_000,
      'second steal',
    );
    expectDOMException(await firstRejection, 'AbortError');
  });

  it('the robbed callback keeps running, and its end frees nothing of the thief’s', async () => {
    const locks = new WebLocks();
    const res = unique();
    const robbedHold = deferred();
    let robbedEnded = false;
    const robbed = locks.request(res, async () => {
      await robbedHold.promise;
      robbedEnded = true;
      return 'robbed value';
    });
    const robbedRejection = rejects(() => robbed);
    await sleep(5);
    const thiefHold = deferred();
    const thiefGranted = deferred();
    const thief = locks.request(res, { steal: true }, () => (thiefGranted.resolve(), thiefHold.promise));
    await within(thiefGranted.promise, 2_000, 'steal');
    expectDOMException(await robbedRejection, 'AbortError');

    robbedHold.resolve(); // the robbed callback ends now, long after it lost the lock
    await within(
      (async () => {
        while (!robbedEnded) await sleep(1);
      })(),
      1_000,
      'robbed callback',
    );
    await sleep(10);
    // The thief still holds it: an ifAvailable request here gets null, a queued one waits.
    expect(await locks.request(res, { ifAvailable: true }, (lock) => lock)).toBeNull();
    const q = await locks.query();
    expect(modesOf(q.held, res)).toEqual(['exclusive']);
    let next = false;
    const after = locks.request(res, () => void (next = true));
    await sleep(20);
    expect(next).toBe(false);

    thiefHold.resolve();
    await within(Promise.all([thief, after]), 2_000, 'thief release');
    expect(next).toBe(true);
    expect(await locks.query()).toEqual({ held: [], pending: [] });
  });
});
