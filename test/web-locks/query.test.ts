/**
 * query() on one thread: its shape, held and pending entries per name and mode with counts, the
 * thread's one clientId, and request order (web-platform-tests web-locks/query, query-empty,
 * query-ordering; the cross-thread cases are in workers.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { WebLocks } from '../../src/index.js';
import { clientsOf, deferred, modesOf, unique, within, type LockInfo } from './helpers.js';

const hasInfoShape = (l: LockInfo): void => {
  expect(Object.keys(l)).toEqual(expect.arrayContaining(['name', 'mode', 'clientId']));
  expect(typeof l.name).toBe('string');
  expect(['exclusive', 'shared']).toContain(l.mode);
  expect(typeof l.clientId).toBe('string');
  expect(l.clientId.length).toBeGreaterThan(0);
};

describe('query()', () => {
  it('with nothing requested: own held and pending properties, both empty arrays', async () => {
    const locks = new WebLocks();
    const p = locks.query();
    expect(p).toBeInstanceOf(Promise);
    const q = await p;
    expect(Object.hasOwn(q, 'held')).toBe(true);
    expect(Object.hasOwn(q, 'pending')).toBe(true);
    expect(Array.isArray(q.held)).toBe(true);
    expect(Array.isArray(q.pending)).toBe(true);
    expect(q.held).toEqual([]);
    expect(q.pending).toEqual([]);
  });

  it('entries carry name, mode and clientId, held and pending alike', async () => {
    const locks = new WebLocks();
    const res = unique();
    await within(
      locks.request(res, async () => {
        let second = false;
        void locks.request(res, () => void (second = true));
        const q = await locks.query();
        expect(second).toBe(false);
        expect(q.held).toHaveLength(1);
        expect(q.pending).toHaveLength(1);
        hasInfoShape(q.held[0]!);
        hasInfoShape(q.pending[0]!);
        expect(q.held[0]).toMatchObject({ name: res, mode: 'exclusive' });
        expect(q.pending[0]).toMatchObject({ name: res, mode: 'exclusive' });
      }),
      3_000,
      'outer request',
    );
  });

  it('reports each held lock once, in its mode', async () => {
    const locks = new WebLocks();
    const res = unique();
    await locks.request(res, async () => {
      expect(modesOf((await locks.query()).held, res)).toEqual(['exclusive']);
    });
    await locks.request(res, { mode: 'shared' }, async () => {
      expect(modesOf((await locks.query()).held, res)).toEqual(['shared']);
    });
  });

  it('reports several held locks', async () => {
    const locks = new WebLocks();
    const [a, b] = [unique(), unique()];
    await locks.request(a, async () => {
      await locks.request(b, { mode: 'shared' }, async () => {
        const q = await locks.query();
        expect(modesOf(q.held, a)).toEqual(['exclusive']);
        expect(modesOf(q.held, b)).toEqual(['shared']);
      });
    });
  });

  it('reports pending and held together', async () => {
    const locks = new WebLocks();
    const res = unique();
    await within(
      locks.request(res, async () => {
        void locks.request(res, () => {});
        await locks.request(res, { ifAvailable: true }, async (lock) => {
          expect(lock).toBeNull();
          const q = await locks.query();
          expect(modesOf(q.pending, res)).toEqual(['exclusive']);
          expect(modesOf(q.held, res)).toEqual(['exclusive']);
        });
      }),
      3_000,
      'outer request',
    );
  });

  it('reports one entry per shared holder and per pending shared request', async () => {
    const locks = new WebLocks();
    const [a, b] = [unique(), unique()];
    await locks.request(a, { mode: 'shared' }, async () => {
      await locks.request(a, { mode: 'shared' }, async () => {
        expect(modesOf((await locks.query()).held, a)).toEqual(['shared', 'shared']);
      });
    });
    await within(
      locks.request(b, async () => {
        void locks.request(b, { mode: 'shared' }, () => {});
        void locks.request(b, { mode: 'shared' }, () => {});
        const q = await locks.query();
        expect(modesOf(q.held, b)).toEqual(['exclusive']);
        expect(modesOf(q.pending, b)).toEqual(['shared', 'shared']);
      }),
      3_000,
      'outer request',
    );
  });

  it('reports one clientId for every lock this thread holds or waits for', async () => {
    const locks = new WebLocks();
    const [a, b] = [unique(), unique()];
    await within(
      locks.request(a, async () => {
        await locks.request(b, async () => {
          void locks.request(a, { mode: 'shared' }, () => {});
          const q = await locks.query();
          const ids = [...clientsOf(q.held, a), ...clientsOf(q.held, b), ...clientsOf(q.pending, a)];
          expect(ids).toHaveLength(3);
          expect(new Set(ids).size).toBe(1);
        });
      }),
      3_000,
      'outer request',
    );
  });

  it('the clientId is stable: the same across instances and over time in one thread', async () => {
    const [one, two] = [new WebLocks(), new WebLocks()];
    const idOf = (locks: WebLocks) =>
      locks.request(unique(), async () => (await locks.query()).held[0]!.clientId);
    const first = await idOf(one);
    expect(await idOf(two)).toBe(first);
    expect(await idOf(one)).toBe(first);
  });

  it('lists pending requests in the order they were made, whatever their mode', async () => {
    const locks = new WebLocks();
    const res = unique();
    const hold = deferred();
    void locks.request(res, () => hold.promise);
    const modes = ['shared', 'exclusive', 'shared', 'shared', 'exclusive'] as const;
    const rest = modes.map((mode) => locks.request(res, { mode }, () => {}));
    expect(modesOf((await locks.query()).pending, res)).toEqual([...modes]);
    hold.resolve();
    await within(Promise.all(rest), 2_000, 'queued requests');
  });

  it('forgets released locks and settled requests', async () => {
    const locks = new WebLocks();
    const [a, b] = [unique(), unique()];
    await locks.request(a, () => {});
    await locks.request(b, { mode: 'shared' }, () => {});
    expect(await locks.query()).toEqual({ held: [], pending: [] });
  });

  it('returns a fresh snapshot each call (changing one does not change the next)', async () => {
    const locks = new WebLocks();
    const res = unique();
    await locks.request(res, async () => {
      const q1 = await locks.query();
      q1.held.length = 0;
      expect((await locks.query()).held).toHaveLength(1);
    });
  });
});
