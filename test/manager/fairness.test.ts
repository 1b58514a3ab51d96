/**
 * Scheduling (docs/lock-manager.md, "Scheduling rules"; table.ts invariant 4): by default the
 * manager is eventually fair: a request may take a resource ahead of a waiter that has waited
 * under about 1 ms, a waiter that has waited longer is handed it next, and nobody starves. With
 * `fifo: true` (what Web Locks uses) no request ever overtakes an earlier waiter.
 */
import { describe, expect, it } from 'vitest';
import { LockManager, type ResourceLock } from '../../src/index.js';
import { testCrew } from '../harness/spawn.js';
import { sleep } from './agent.js';

const HAMMER = new URL('../fixtures/manager/hammer.mjs', import.meta.url);
const crew = testCrew();

/** A holder of X on ['row'] (owner h), a waiter queued behind it (owner w); `waited` ms later, the holder lets go and owner n tries in the same turn. */
async function releaseAndTry(lm: LockManager, waited: number): Promise<{ barged: boolean; waiter: Promise<ResourceLock> }> {
  const [h, w, n] = [lm.newOwner(), lm.newOwner(), lm.newOwner()];
  const held = lm.acquire(['row'], 'X', { owner: h });
  const waiter = lm.acquireAsync(['row'], 'X', { owner: w, timeout: 5000 });
  if (waited > 0) await sleep(waited);
  // The same synchronous turn: the waiter has not run since it queued (or since it slept).
  held.release();
  const other = lm.tryAcquire(['row'], 'X', { owner: n });
  if (other !== null) other.release();
  return { barged: other !== null, waiter };
}

describe('LockManager scheduling', () => {
  it('eventually fair (default): a request may take a resource ahead of a waiter that has waited under 1 ms', async () => {
    const lm = new LockManager({ capacity: 16 });
    expect(lm.handle.fifo).toBe(false);
    // "Under 1 ms" is wall time between two statements of one turn; a loaded machine (a GC pause,
    // other test files) can stretch one try past it, so up to five tries. Strict FIFO never barges.
    let barges = 0;
    for (let k = 0; k < 5 && barges === 0; k++) {
      const { barged, waiter } = await releaseAndTry(lm, 0);
      if (barged) barges++;
      // The waiter was not forgotten: the resource is free again (or handed to it), and it gets it.
      (await waiter).release();
    }
    expect(barges).toBe(1);
    expect(lm.query().resources.filter((r) => r.holders.length + r.waiters.length > 0)).toEqual([]);
  });

  it('eventually fair: a waiter that has waited longer is handed the resource by the release; a later request cannot take it', async () => {
    const lm = new LockManager({ capacity: 16 });
    const { barged, waiter } = await releaseAndTry(lm, 20);
    expect(barged).toBe(false);
    expect(lm.query().held.map((x) => x.mode)).toEqual(['X']); // the waiter's, handed over
    (await waiter).release();
  });

  it('fifo: true: a request never overtakes an earlier waiter, however briefly it waited', async () => {
    const lm = new LockManager({ capacity: 16, fifo: true });
    expect(lm.handle.fifo).toBe(true);
    const { barged, waiter } = await releaseAndTry(lm, 0);
    expect(barged).toBe(false);
    (await waiter).release();
  });

  it('the choice belongs to the table: views attached by handle agree; a different one at the same place is refused', () => {
    const lm = new LockManager({ capacity: 16, fifo: true });
    expect(LockManager.from(lm.handle).handle.fifo).toBe(true);
    expect(() => LockManager.from({ ...lm.handle, fifo: false })).toThrow(TypeError);
    expect(() => new LockManager({ capacity: 16, fifo: 1 as unknown as boolean })).toThrow(/options\.fifo must be a boolean/);
  });

  it.each([false, true])(
    'nobody starves: 4 workers on 2 cores hammer one row (fifo: %s); each gets grants, none waits near its bound',
    async (fifo) => {
      const lm = new LockManager({ capacity: 16, fifo });
      const ctl = new Int32Array(new SharedArrayBuffer(8));
      const runs = Array.from({ length: 4 }, (_, k) =>
        crew.start(HAMMER, { handle: lm.handle, ctl, inside: 20, outside: 200 }, { what: `hammer ${k}`, timeoutMs: 30_000 }).done,
      );
      await crew.until(() => Atomics.load(ctl, 1) === 4, 10_000, 'the workers to start');
      await sleep(1000);
      Atomics.store(ctl, 0, 1); // stop
      const results = (await Promise.all(runs)) as { ops: number; maxWaitMs: number }[];
      for (const r of results) expect(r.ops).toBeGreaterThan(0);
      // Progress under contention with either rule: no hang, no lost wake-up, no wait near the
      // acquire's own 10 s bound. (The due rule itself is checked by the single-thread tests
      // above: on 2 cores a barging requester loses often enough that even a broken rule passes
      // this one, as a check with the rule switched off showed.)
      const worst = Math.max(...results.map((r) => r.maxWaitMs));
      expect(worst).toBeLessThan(1000);
      expect(lm.query().resources.filter((r) => r.holders.length + r.waiters.length > 0)).toEqual([]);
    },
    40_000,
  );
});
