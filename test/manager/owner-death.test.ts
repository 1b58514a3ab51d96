/**
 * LockManager and the owner-death layer (issue 13, item 1): a worker terminated while holding or
 * while queued loses its grants and its queued requests within the owner-death bound, without
 * anyone calling releaseAll; waiters proceed long before their timeout and query() shows neither.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { LockManager } from '../../dist/index.js';
import { Agent, eventually, sleep, withAgents } from './agent.js';

const T = 30_000;
/** Far above the owner-death bound (one 50 ms slice plus scheduling on a loaded machine). */
const BOUND_MS = 1500;
let lm: LockManager;
afterEach(() => {
  if (lm) expect(lm.query().resources).toEqual([]);
});

const owners = (s: ReturnType<LockManager['query']>): number[] => [
  ...new Set([...s.held.map((h) => h.owner), ...s.pending.map((p) => p.owner)]),
];

describe('LockManager: dead owners', () => {
  it(
    'a worker terminated while holding X: a waiter gets in within the bound, query() forgets it',
    async () => {
      lm = new LockManager({ capacity: 64 });
      await withAgents(lm.handle, 1, async ([b]) => {
        const dying = new Agent(lm.handle);
        const deadId = await dying.call<number>('ownerId');
        await dying.call('acquire', ['db', 't', 1], 'X');
        const waiting = b!.call<number>('acquire', ['db', 't', 1], 'S', { timeout: 4000 });
        await sleep(50);
        const t0 = Date.now();
        await dying.terminate();
        const h = await waiting;
        expect(Date.now() - t0).toBeLessThan(BOUND_MS);
        expect(owners(lm.query())).not.toContain(deadId);
        await b!.call('release', h);
      });
    },
    T,
  );

  it(
    'a worker terminated while queued: its request leaves the queue, tryAcquire succeeds again',
    async () => {
      lm = new LockManager({ capacity: 64 });
      await withAgents(lm.handle, 2, async ([holder, other]) => {
        const h = await holder!.call<number>('acquire', ['r'], 'X');
        const dying = new Agent(lm.handle);
        const deadId = await dying.call<number>('ownerId');
        void dying.call('acquire', ['r'], 'X', { timeout: 4000 }).catch(() => {});
        await eventually(() => lm.query().pending.some((p) => p.owner === deadId));
        await dying.terminate();
        await holder!.call('release', h);
        // The dead waiter at the head of the queue must not keep IS out for good.
        const t0 = Date.now();
        let got: number | null = null;
        while (got === null && Date.now() - t0 < BOUND_MS) {
          got = await other!.call<number | null>('tryAcquire', ['r'], 'IS');
          if (got === null) await sleep(10);
        }
        expect(got).not.toBeNull();
        expect(owners(lm.query())).not.toContain(deadId);
        await other!.call('release', got);
      });
    },
    T,
  );

  it(
    'a dead holder found by query() alone is released (nobody waits for it)',
    async () => {
      lm = new LockManager({ capacity: 64 });
      const dying = new Agent(lm.handle);
      const deadId = await dying.call<number>('ownerId');
      await dying.call('acquire', ['db', 't', 2], 'X');
      await dying.call('acquire', ['db', 'u'], 'IS');
      expect(owners(lm.query())).toContain(deadId);
      await dying.terminate();
      expect(owners(lm.query())).not.toContain(deadId);
    },
    T,
  );
});
