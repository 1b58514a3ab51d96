/**
 * Steals that land where a holder cannot hear of them in time (found by review, issue 15): the
 * robbed request must still reject with an AbortError, and a handed-over request robbed before
 * its thread polled still counts as granted (its callback runs). Each case keeps this thread
 * busy (synchronous work) while another thread steals, so the STEAL watcher cannot run first.
 */
import { describe, expect, it } from 'vitest';
import { WebLocks } from '../../src/index.js';
import { spawner } from '../harness/spawn.js';
import { until, within } from './helpers.js';

const FIXTURE = new URL('../fixtures/web-locks/steal-race.mjs', import.meta.url);
const busy = (ms: number): void => {
  const end = Date.now() + ms;
  while (Date.now() < end); // synchronous work: this thread's event loop does not run
};
// Each role is bounded by its ready and result bounds below (10 s + 15 s) and ended after its test.
const spawn = spawner(FIXTURE, 25_000);

/** Starts a role; resolves once it is ready, with a promise of its result (listened for at once). */
async function start(wl: WebLocks, sync: Int32Array, role: string): Promise<{ result: Promise<unknown> }> {
  const { firstMessage, done } = spawn({ handle: wl.handle, sync, role });
  await within(firstMessage, 10_000, `${role} ready`);
  return { result: within(done, 15_000, `${role} result`) };
}

describe('steals a holder cannot hear of in time', () => {
  it.each(['sync', 'async'] as const)(
    'a %s callback that ends before its thread hears of the steal: request() still rejects with AbortError',
    async (kind) => {
      const wl = new WebLocks({ capacity: 8 });
      const sync = new Int32Array(new SharedArrayBuffer(12));
      const stealer = await start(wl, sync, 'steal-on-go');
      const body = (): string => {
        Atomics.store(sync, 0, 1);
        Atomics.notify(sync, 0); // go: the stealer steals while we are busy
        busy(300);
        return 'done';
      };
      const outcome = await within(
        wl.request('x', kind === 'sync' ? body : async () => body()).then(
          (v) => `resolved ${v}`,
          (e: Error) => `rejected ${e.name}`,
        ),
        5_000,
        'the robbed request',
      );
      expect(await stealer.result).toBe('stole');
      expect(outcome).toBe('rejected AbortError');
      expect((await wl.query()).held).toEqual([]);
    },
  );

  it('a queued request handed the lock and robbed before its thread polled: its callback runs, request() rejects with AbortError', async () => {
    const wl = new WebLocks({ capacity: 8 });
    const sync = new Int32Array(new SharedArrayBuffer(12));
    const holder = await start(wl, sync, 'hold-then-release');
    const stealer = await start(wl, sync, 'steal-after-release');
    await until(() => Atomics.load(sync, 0) !== 0, 10_000, 'the holder to hold x');
    let called = false;
    const mine = wl.request('x', () => {
      called = true;
    });
    await new Promise((r) => setTimeout(r, 20)); // queued behind the holder, asleep
    Atomics.store(sync, 1, 1);
    Atomics.notify(sync, 1); // the holder releases: hand-over to us; then the stealer steals
    busy(400); // ... while this thread does not poll
    const outcome = await within(
      mine.then(
        () => 'resolved',
        (e: Error & { code?: unknown }) => `rejected ${e.name}${typeof e.code === 'string' ? ` ${e.code}` : ''}`,
      ),
      5_000,
      'the handed-over request',
    );
    expect(await holder.result).toBe('released');
    expect(await stealer.result).toBe('stole');
    expect(outcome).toBe('rejected AbortError');
    expect(called).toBe(true);
    expect((await wl.query()).held).toEqual([]);
  });
});

describe('grants deferred behind earlier waiters of the same view', () => {
  it('wait only for the requests that were waiting then, not for ones that queue behind them later', async () => {
    const wl = new WebLocks({ capacity: 8 });
    let releaseH!: () => void;
    const H = wl.request('c', () => new Promise<void>((r) => (releaseH = r)));
    await new Promise((r) => setTimeout(r, 10));
    const A = wl.request('c', () => 'A').catch((e: Error) => e.name); // waits behind H
    await new Promise((r) => setTimeout(r, 10));
    releaseH();
    await H; // 'c' handed over to A, which has not heard yet
    await wl.request('c', { steal: true }, () => {}); // takes it from A and lets go: 'c' is free
    const B = wl.request('c', { mode: 'shared' }, () => 'B'); // granted at once, deferred behind A
    const C = wl.request('c', () => 'C'); // queues behind B's hold
    expect(await within(Promise.all([A, B, C]), 2_000, 'A, B and C')).toEqual(['AbortError', 'B', 'C']);
    expect((await wl.query()).held).toEqual([]);
  });
});

describe('odd callback results', () => {
  it('a result whose then getter throws rejects the request and releases the lock', async () => {
    const wl = new WebLocks({ capacity: 8 });
    const boom = new Error('boom');
    const r = wl.request('a', () => ({
      get then(): never {
        throw boom;
      },
    }));
    await expect(within(r, 2_000, 'the request')).rejects.toBe(boom);
    expect(await within(wl.request('a', { ifAvailable: true }, (l) => l !== null), 2_000, 'next')).toBe(true);
  });
});

describe('query() order', () => {
  it('held locks appear in the order they were granted, not requested', async () => {
    const wl = new WebLocks({ capacity: 8 });
    const hold = (name: string): Promise<() => void> =>
      new Promise((granted) => {
        let release!: () => void;
        const done = new Promise<void>((r) => (release = r));
        void wl.request(name, () => {
          granted(release);
          return done;
        });
      });
    const [r1, r2, r3] = await Promise.all([hold('res1'), hold('res2'), hold('res3')]);
    const again = [hold('res1'), hold('res2'), hold('res3')]; // queued, in this order
    await wl.request('other', () => {});
    r2!();
    r3!();
    r1!();
    const rel = await within(Promise.all(again), 2_000, 'the second holds');
    expect((await wl.query()).held.map((h) => h.name)).toEqual(['res2', 'res3', 'res1']);
    for (const r of rel) r();
  });
});
