/**
 * LockManager wake-ups and the deadlock detector (issue 13, items 2, 3, 5, 6): every waiting
 * request is covered by a check, the victim is a request on the cycle, no false positive from
 * async tasks, and every state change that can make a waiter grantable wakes it.
 */
import { describe, expect, it } from 'vitest';
import { LockManager } from '../../dist/index.js';

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
