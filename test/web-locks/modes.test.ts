/**
 * Exclusive, shared and mixed requests on one thread: FIFO per name, distinct names independent,
 * shared requests granted together, an exclusive one alone and in its turn (web-platform-tests
 * web-locks/mode-exclusive, mode-shared, mode-mixed).
 */
import { describe, expect, it } from 'vitest';
import { WebLocks } from '../../src/index.js';
import { deferred, modesOf, sleep, unique, within } from './helpers.js';

describe("mode 'exclusive'", () => {
  it('grants requests for one name in the order made', async () => {
    const locks = new WebLocks();
    const res = unique();
    const granted: number[] = [];
    const log = (n: number) => async () => {
      granted.push(n);
      await sleep(1); // each hold spans a turn of the loop: the next must really wait for it
    };
    await within(Promise.all([1, 2, 3, 4, 5].map((n) => locks.request(res, log(n)))), 3_000, 'five requests');
    expect(granted).toEqual([1, 2, 3, 4, 5]);
  });

  it('grants a request for another name while the first name is held', async () => {
    const locks = new WebLocks();
    const [a, b] = [unique(), unique()];
    const granted: number[] = [];
    let inner!: Promise<unknown>;
    await locks.request(a, async () => {
      inner = Promise.all([locks.request(a, () => void granted.push(1)), locks.request(b, () => void granted.push(2))]);
      await sleep(20);
    });
    await within(inner, 2_000, 'inner requests');
    expect(granted).toEqual([2, 1]);
  });

  it('never has two holders of one name at once', async () => {
    const locks = new WebLocks();
    const res = unique();
    let inside = 0;
    let overlaps = 0;
    await within(
      Promise.all(
        Array.from({ length: 20 }, () =>
          locks.request(res, async () => {
            if (inside++ !== 0) overlaps++;
            await sleep(0);
            inside--;
          }),
        ),
      ),
      5_000,
      'twenty requests',
    );
    expect(overlaps).toBe(0);
  });
});

describe("mode 'shared'", () => {
  it('grants requests over several names in the order made', async () => {
    const locks = new WebLocks();
    const [a, b, c] = [unique(), unique(), unique()];
    const granted: number[] = [];
    const log = (n: number) => () => void granted.push(n);
    await within(
      Promise.all(
        [a, b, c, a, b, c].map((name, i) => locks.request(name, { mode: 'shared' }, log(i + 1))),
      ),
      2_000,
      'six shared requests',
    );
    expect(granted).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('is not exclusive: a second shared request is granted while the first holds', async () => {
    const locks = new WebLocks();
    const res = unique();
    let again = false;
    await within(
      locks.request(res, { mode: 'shared' }, async () => {
        await locks.request(res, { mode: 'shared' }, () => void (again = true));
      }),
      2_000,
      'nested shared request',
    );
    expect(again).toBe(true);
  });
});

describe('mixed modes', () => {
  it.each(['exclusive', 'shared'] as const)(
    'a %s request made right after a release comes after the requests that were waiting for it',
    async (mode) => {
      const locks = new WebLocks();
      const res = unique();
      const x = deferred();
      const order: string[] = [];
      const first = locks.request(res, () => x.promise);
      const waiting = [1, 2, 3].map((k) => locks.request(res, { mode: 'shared' }, () => void order.push(`waiting-${k}`)));
      x.resolve();
      await within(first, 2_000, 'the first release');
      // The release granted the three waiting requests: a new one cannot be served before them.
      const late = locks.request(res, { mode }, () => void order.push('late'));
      await within(Promise.all([...waiting, late]), 2_000, 'all requests');
      expect(order).toEqual(['waiting-1', 'waiting-2', 'waiting-3', 'late']);
    },
  );

  it('three shared holders keep an exclusive request waiting; another name is free; then the exclusive gets it', async () => {
    const locks = new WebLocks();
    const [a, b] = [unique(), unique()];
    const unblock = deferred();
    const granted: string[] = [];
    for (const k of [1, 2, 3]) {
      void locks.request(a, { mode: 'shared' }, async () => {
        granted.push(`a-shared-${k}`);
        await unblock.promise;
      });
    }
    let exclusiveLock: { mode: string } | null = null;
    const exclusive = locks.request(a, async (lock) => {
      granted.push('a-exclusive');
      exclusiveLock = lock;
    });
    await within(locks.request(b, () => void granted.push('b-exclusive')), 2_000, 'b');
    expect(granted).toEqual(['a-shared-1', 'a-shared-2', 'a-shared-3', 'b-exclusive']);
    unblock.resolve();
    await within(exclusive, 2_000, 'the exclusive request');
    expect(exclusiveLock!.mode).toBe('exclusive');
    expect(granted).toEqual(['a-shared-1', 'a-shared-2', 'a-shared-3', 'b-exclusive', 'a-exclusive']);
  });

  it('releasing an exclusive lock grants all the shared requests queued behind it at once', async () => {
    const locks = new WebLocks();
    const res = unique();
    const x = deferred();
    const shared = deferred();
    const exclusive = locks.request(res, () => x.promise);
    const readers = Array.from({ length: 5 }, () => locks.request(res, { mode: 'shared' }, () => shared.promise));
    let q = await locks.query();
    expect(modesOf(q.held, res)).toEqual(['exclusive']);
    expect(modesOf(q.pending, res)).toEqual(['shared', 'shared', 'shared', 'shared', 'shared']);
    x.resolve();
    await within(exclusive, 2_000, 'the exclusive release');
    q = await locks.query();
    expect(modesOf(q.held, res)).toEqual(['shared', 'shared', 'shared', 'shared', 'shared']);
    expect(modesOf(q.pending, res)).toEqual([]);
    shared.resolve();
    await within(Promise.all(readers), 2_000, 'the shared releases');
  });

  it('an exclusive request between two groups of shared ones: group, exclusive alone, group', async () => {
    const locks = new WebLocks();
    const res = unique();
    const first = deferred();
    const x = deferred();
    const second = deferred();
    const firstGroup = Array.from({ length: 5 }, () => locks.request(res, { mode: 'shared' }, () => first.promise));
    const exclusive = locks.request(res, () => x.promise);
    const secondGroup = Array.from({ length: 5 }, () => locks.request(res, { mode: 'shared' }, () => second.promise));

    let q = await locks.query();
    expect(modesOf(q.held, res)).toEqual(Array(5).fill('shared'));
    expect(modesOf(q.pending, res)).toEqual(['exclusive', ...Array(5).fill('shared')]);

    first.resolve();
    await within(Promise.all(firstGroup), 2_000, 'first group');
    q = await locks.query();
    expect(modesOf(q.held, res)).toEqual(['exclusive']);
    expect(modesOf(q.pending, res)).toEqual(Array(5).fill('shared'));

    x.resolve();
    await within(exclusive, 2_000, 'exclusive');
    q = await locks.query();
    expect(modesOf(q.held, res)).toEqual(Array(5).fill('shared'));
    expect(modesOf(q.pending, res)).toEqual([]);

    second.resolve();
    await within(Promise.all(secondGroup), 2_000, 'second group');
    expect(await locks.query()).toEqual({ held: [], pending: [] });
  });

  it('a shared request behind a queued exclusive one waits, though shared holders are in', async () => {
    const locks = new WebLocks();
    const res = unique();
    const s1 = deferred();
    void locks.request(res, { mode: 'shared' }, () => s1.promise);
    const order: string[] = [];
    const x = locks.request(res, () => void order.push('exclusive'));
    const s2 = locks.request(res, { mode: 'shared' }, () => void order.push('shared-2'));
    await sleep(20);
    expect(order).toEqual([]);
    s1.resolve();
    await within(Promise.all([x, s2]), 2_000, 'queued requests');
    expect(order).toEqual(['exclusive', 'shared-2']);
  });
});
