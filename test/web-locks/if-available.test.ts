/**
 * ifAvailable: the callback runs at once, with the lock when it can be granted without waiting,
 * else with null (web-platform-tests web-locks/ifAvailable, in one thread). Each case would hang
 * without the option, so each outer request is bounded.
 */
import { describe, expect, it } from 'vitest';
import { WebLocks } from '../../src/index.js';
import { deferred, rejects, unique, within } from './helpers.js';

/** What an ifAvailable request for `name` in `mode` handed its callback (null or a lock). */
async function probe(locks: WebLocks, name: string, mode: 'exclusive' | 'shared' = 'exclusive'): Promise<unknown> {
  let seen: unknown = 'callback not called';
  await within(
    locks.request(name, { mode, ifAvailable: true }, (lock) => void (seen = lock)),
    2_000,
    'an ifAvailable request',
  );
  return seen;
}

describe('ifAvailable', () => {
  it('grants a free lock', async () => {
    const locks = new WebLocks();
    const res = unique();
    expect(await probe(locks, res)).toMatchObject({ name: res, mode: 'exclusive' });
  });

  it('calls back with null when the lock is held, and request() resolves with the callback value', async () => {
    const locks = new WebLocks();
    const res = unique();
    await within(
      locks.request(res, async () => {
        let seen: unknown = 'not called';
        const v = await locks.request(res, { ifAvailable: true }, async (lock) => ((seen = lock), 123));
        expect(seen).toBeNull();
        expect(v).toBe(123);
      }),
      3_000,
      'outer request',
    );
  });

  it('held and the callback throws: request() rejects with what it threw', async () => {
    const locks = new WebLocks();
    const res = unique();
    await locks.request(res, async () => {
      const thrownSync = await rejects(() =>
        locks.request(res, { ifAvailable: true }, (lock) => {
          expect(lock).toBeNull();
          throw 123;
        }),
      );
      expect(thrownSync).toBe(123);
      const err = { name: 'test' };
      const thrownAsync = await rejects(() =>
        locks.request(res, { ifAvailable: true }, async (lock) => {
          expect(lock).toBeNull();
          throw err;
        }),
      );
      expect(thrownAsync).toBe(err);
    });
  });

  it('an unrelated held lock does not matter', async () => {
    const locks = new WebLocks();
    const [a, b] = [unique(), unique()];
    await locks.request(a, async () => {
      expect(await probe(locks, b)).toMatchObject({ name: b });
    });
  });

  it('shared while shared is held: granted', async () => {
    const locks = new WebLocks();
    const res = unique();
    await locks.request(res, { mode: 'shared' }, async () => {
      expect(await probe(locks, res, 'shared')).toMatchObject({ name: res, mode: 'shared' });
    });
  });

  it('exclusive while shared is held: null', async () => {
    const locks = new WebLocks();
    const res = unique();
    await locks.request(res, { mode: 'shared' }, async () => {
      expect(await probe(locks, res, 'exclusive')).toBeNull();
    });
  });

  it('shared while exclusive is held: null', async () => {
    const locks = new WebLocks();
    const res = unique();
    await locks.request(res, async () => {
      expect(await probe(locks, res, 'shared')).toBeNull();
    });
  });

  it('shared while shared is held but an exclusive request is queued: null (it would jump the queue)', async () => {
    const locks = new WebLocks();
    const res = unique();
    const hold = deferred();
    void locks.request(res, { mode: 'shared' }, () => hold.promise);
    const queued = locks.request(res, () => 'x');
    expect(await probe(locks, res, 'shared')).toBeNull();
    hold.resolve();
    expect(await within(queued, 2_000, 'the queued exclusive')).toBe('x');
  });

  it('a miss leaves nothing queued', async () => {
    const locks = new WebLocks();
    const res = unique();
    await locks.request(res, async () => {
      await probe(locks, res);
      const q = await locks.query();
      expect(q.pending).toEqual([]);
      expect(q.held.map((l) => l.name)).toEqual([res]);
    });
  });

  it('a lock just released is available to the next ifAvailable (the release is fully processed)', async () => {
    const locks = new WebLocks();
    const [a, b] = [unique(), unique()];
    await locks.request(a, async () => {
      let inner = false;
      await locks.request(b, async () => void (inner = true));
      expect(inner).toBe(true);
      expect(await probe(locks, b)).toMatchObject({ name: b });
    });
  });
});
