/**
 * What the lock manager gives Web Locks (issue 15), at the manager's level: a request decided in
 * one turn (`_takeNow`: try, or steal), `_stillHolds`, and `query()`'s request order and threads
 * for async task owners.
 */
import { threadId } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { LockManager } from '../../src/index.js';

// Strict FIFO, as Web Locks' own tables (an earlier waiter is never overtaken, however briefly it waited).
const lm = (): LockManager => new LockManager({ capacity: 16, fastPath: false, deadlockTimeout: Infinity, fifo: true });

describe('LockManager steal and request order (for Web Locks)', () => {
  it('_takeNow without robbed: granted, or null where a holder or an earlier waiter conflicts', async () => {
    const m = lm();
    const a = m._takeNow(['n'], 'S')!;
    expect(a).not.toBeNull();
    expect(m._takeNow(['n'], 'X')).toBeNull(); // a shared holder
    const b = m._takeNow(['n'], 'S')!; // shared with shared
    expect(b).not.toBeNull();
    const waiting = m.acquireAsync(['n'], 'X'); // queued behind the two S
    await Promise.resolve();
    expect(m._takeNow(['n'], 'S')).toBeNull(); // FIFO: a later S does not overtake the queued X
    a.release();
    b.release();
    (await waiting).release();
    expect(m.query().resources.every((r) => r.holders.length === 0 && r.waiters.length === 0)).toBe(true);
  });

  it('a steal takes every hold at once, leaves the queue, and a robbed release frees nothing of the stealer', async () => {
    const m = lm();
    const s1 = m._takeNow(['n'], 'S')!;
    const s2 = m._takeNow(['n'], 'S')!;
    const queued = m.acquireAsync(['n'], 'X');
    let queuedGot = false;
    void queued.then(() => (queuedGot = true));
    await Promise.resolve();
    const robbed: number[] = [];
    const thief = m._takeNow(['n'], 'X', robbed)!;
    expect(thief).not.toBeNull();
    // (owner, home thread owner) pairs of both shared holders.
    expect(robbed.length).toBe(4);
    expect(new Set([robbed[0], robbed[2]])).toEqual(new Set([s1.owner, s2.owner]));
    expect(robbed[1]).toBe(threadId + 1);
    expect(m._stillHolds(s1)).toBe(false);
    expect(m._stillHolds(s2)).toBe(false);
    expect(m._stillHolds(thief)).toBe(true);
    const snap = m.query();
    expect(snap.held.map((h) => h.owner)).toEqual([thief.owner]);
    expect(snap.pending.length).toBe(1); // the queued X stays queued behind the stealer
    // The robbed callbacks end later: their releases find nothing and free nothing.
    s1.release();
    s2.release();
    expect(m._stillHolds(thief)).toBe(true);
    expect(m._takeNow(['n'], 'S')).toBeNull();
    await new Promise((r) => setTimeout(r, 20));
    expect(queuedGot).toBe(false);
    thief.release();
    (await queued).release();
    expect(queuedGot).toBe(true);
  });

  it('query() lists async tasks with their thread and request order, across names', async () => {
    const m = lm();
    const x = m._takeNow(['b'], 'X')!;
    const y = m._takeNow(['a'], 'X')!;
    const w1 = m.acquireAsync(['a'], 'S');
    const w2 = m.acquireAsync(['b'], 'X');
    await Promise.resolve();
    const snap = m.query();
    const holders = snap.resources.flatMap((r) => r.holders.map((h) => [JSON.parse(r.resource)[0], h.order!, h.thread] as const));
    holders.sort((p, q) => p[1] - q[1]);
    expect(holders.map((h) => h[0])).toEqual(['b', 'a']); // request order, not name or partition order
    expect(holders.every((h) => h[2] === threadId)).toBe(true);
    const waiters = snap.resources.flatMap((r) => r.waiters.map((w) => [JSON.parse(r.resource)[0], w.order!] as const));
    waiters.sort((p, q) => p[1] - q[1]);
    expect(waiters.map((w) => w[0])).toEqual(['a', 'b']);
    expect(waiters[0]![1]).toBeGreaterThan(holders[1]![1]);
    x.release();
    y.release();
    (await w1).release();
    (await w2).release();
  });
});
