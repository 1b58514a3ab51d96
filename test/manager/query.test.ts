/**
 * `query()` is one consistent snapshot (issue 13, item 7): a hold that moves between a fast-path
 * slot and the main table while a snapshot is taken is never counted twice.
 */
import { describe, expect, it } from 'vitest';
import { LockManager } from '../../dist/index.js';
import { withAgents } from './agent.js';

describe('LockManager.query() snapshots', () => {
  it(
    'never shows an owner holding more than it ever held, while holds move between fast path and table',
    async () => {
      const lm = new LockManager({ capacity: 16 });
      await withAgents(lm.handle, 2, async ([weak, strong]) => {
        const weakId = await weak!.call<number>('ownerId');
        const strongId = await strong!.call<number>('ownerId');
        // One hold at a time each: IX (fast path unless a strong request exists, then moved into
        // the table by it) against S (strong: moves the IX holds it finds into the table).
        const ms = 2500;
        const runs = Promise.all([
          weak!.call<number>('churn', ['k'], 'IX', ms),
          strong!.call<number>('churn', ['k'], 'S', ms, 0, 20), // 20 µs pauses: the IX gets back to its slot
        ]);
        let done = false;
        void runs.finally(() => (done = true));
        let snapshots = 0;
        let worst = 0;
        while (!done) {
          for (let k = 0; k < 200; k++) {
            for (const r of lm.query().resources) {
              for (const h of r.holders) if (h.owner === weakId || h.owner === strongId) worst = Math.max(worst, h.count);
            }
            snapshots++;
          }
          await new Promise((r) => setImmediate(r));
        }
        const [nWeak, nStrong] = await runs;
        expect(nWeak).toBeGreaterThan(0);
        expect(nStrong).toBeGreaterThan(0);
        expect(snapshots).toBeGreaterThan(0);
        expect(worst).toBeLessThanOrEqual(1);
      });
      expect(lm.query().resources).toEqual([]);
    },
    30_000,
  );
});
