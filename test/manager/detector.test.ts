/**
 * LockManager wake-ups and the deadlock detector (issue 13, items 2, 3, 5, 6): every waiting
 * request is covered by a check, the victim is a request on the cycle, no false positive from
 * async tasks, and every state change that can make a waiter grantable wakes it.
 */
import { describe, expect, it } from 'vitest';
import { DeadlockError, LockManager } from '../../dist/index.js';
import { withAgents } from './agent.js';

const clean = (lm: LockManager): void => expect(lm.query().resources).toEqual([]);
const settle = (p: Promise<unknown>): Promise<unknown> => p.then((v) => v, (e: unknown) => e);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('LockManager wake-ups', () => {
  it('a grant to an owner that also waits there wakes its waiting request (it became a conversion)', async () => {
    // deadlockTimeout Infinity: only a wake-up (or the timeout) ends the wait.
    const lm = new LockManager({ capacity: 16, deadlockTimeout: Infinity });
    const [holder, writer, o] = [lm.newOwner(), lm.newOwner(), lm.newOwner()];
    const s = lm.acquire(['r'], 'S', { owner: holder });
    // SIX conflicts with the held S: queued first.
    const six = lm.acquireAsync(['r'], 'SIX', { owner: writer, timeout: 5000 });
    // S is compatible with the held S, but queues behind the waiting SIX (FIFO only).
    const first = lm.acquireAsync(['r'], 'S', { owner: o, timeout: 1000 });
    await sleep(20);
    expect(lm.query().pending.map((p) => p.mode)).toEqual(['SIX', 'S']);
    // IS is compatible with S held and with SIX waiting: granted at once. Now o holds something
    // on r, so its waiting S is a conversion, checked against holders only: grantable.
    const is = lm.tryAcquire(['r'], 'IS', { owner: o });
    expect(is).not.toBeNull();
    const t0 = Date.now();
    const got = await settle(first);
    expect(got).not.toBeInstanceOf(Error);
    expect(Date.now() - t0).toBeLessThan(500);
    (got as { release(): void }).release();
    is!.release();
    s.release();
    (await six).release();
    clean(lm);
  });
});

describe('LockManager deadlock detector', () => {
  it('the victim is the request on the cycle, not another waiting request of the same owner', async () => {
    const lm = new LockManager({ capacity: 16, deadlockTimeout: Infinity });
    const [o, h, p] = [lm.newOwner(), lm.newOwner(), lm.newOwner()];
    const k1 = lm.acquire(['k1'], 'X', { owner: h }); // h never waits
    const k2 = lm.acquire(['k2'], 'X', { owner: p });
    const mine = lm.acquire(['m'], 'X', { owner: o });
    // o waits for k1 (held by h, who waits for nothing) and, with a later check, for k2.
    const r1 = settle(lm.acquireAsync(['k1'], 'X', { owner: o, deadlockTimeout: 30 }));
    const r2 = settle(lm.acquireAsync(['k2'], 'X', { owner: o, deadlockTimeout: 300 }));
    // p waits for m, held by o: cycle o →(k2) p →(m) o. The k1 request is not on it.
    const r3 = settle(lm.acquireAsync(['m'], 'X', { owner: p, deadlockTimeout: Infinity }));
    const e2 = await r2;
    expect(e2).toBeInstanceOf(DeadlockError);
    // The k1 request is still waiting (for h only): release h, and it is granted.
    k1.release();
    const g1 = await r1;
    expect(g1).not.toBeInstanceOf(Error);
    (g1 as { release(): void }).release();
    mine.release();
    const g3 = await r3;
    expect(g3).not.toBeInstanceOf(Error);
    (g3 as { release(): void }).release();
    k2.release();
    clean(lm);
  });

  it(
    'a blocking request behind its own thread\'s queued async request is checked too (real workers)',
    async () => {
      const lm = new LockManager({ capacity: 16, deadlockTimeout: 100 });
      await withAgents(lm.handle, 2, async ([w1, w2]) => {
        await w1!.call('acquire', ['A'], 'S');
        await w2!.call('acquire', ['B'], 'S');
        // Each queues an async X on the other's resource, then blocks in a plain acquire of it:
        // the event loops are blocked, so the async requests never run their checks.
        const q1 = settle(w1!.call('acquireAsync', ['B'], 'X', { timeout: 6000 }));
        const q2 = settle(w2!.call('acquireAsync', ['A'], 'X', { timeout: 6000 }));
        const t0 = Date.now();
        const b1 = settle(w1!.call('acquire', ['B'], 'X', { timeout: 6000 }));
        const b2 = settle(w2!.call('acquire', ['A'], 'X', { timeout: 6000 }));
        const first = (await Promise.race([b1, b2])) as { name?: string };
        expect(first.name).toBe('DeadlockError');
        expect(Date.now() - t0).toBeLessThan(3000);
        void q1;
        void q2;
      });
      // Both workers are gone: the owner-death layer frees what they left.
      clean(lm);
    },
    30_000,
  );
});
