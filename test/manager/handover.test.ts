/**
 * The hand-over (table.ts invariant 7: a release grants the waiters it made grantable) against the
 * other requests of the same owner (review of 2026-12-05): a handed-over request whose record is
 * queued again by its owner before it heard still gets its grant, and one that gives up then gives
 * it back; a ticket-0 request in flight during releaseAll fails instead of holding for a released
 * owner; a blocking ticket-0 request whose thread's task holds the resource is a deadlock.
 * Each case ends with an empty table and another owner able to take X.
 */
import { describe, expect, it } from 'vitest';
import { DeadlockError, LockManager, type ResourceLock } from '../../src/index.js';
import { LockTable } from '../../src/manager/table.js';
import { testCrew } from '../harness/spawn.js';

const FIXTURE = new URL('../fixtures/manager/hold-x.mjs', import.meta.url);
// The holder just ends once it has released, or is terminated after its test (exitOk); an 'error'
// of one still fails its test.
const crew = testCrew();

type Outcome = { ok: true; h: ResourceLock } | { ok: false; e: Error & { code?: string } };
const outcome = (p: Promise<ResourceLock>): Promise<Outcome> =>
  p.then(
    (h) => ({ ok: true as const, h }),
    (e: Error) => ({ ok: false as const, e }),
  );

/** A worker holding X on ['r']; `release()` makes it let go and returns once it has (blocking this thread meanwhile). */
function holder(lm: LockManager): { release(): void } {
  const ctl = new Int32Array(new SharedArrayBuffer(4));
  // Waited for by blocking this thread (Atomics.wait, bounded), not through messages: the hand-over
  // under test must happen while this thread has not run.
  crew.start(FIXTURE, { handle: lm.handle, ctl }, { what: 'X holder', exitOk: true });
  const until = Date.now() + 10_000;
  while (Atomics.load(ctl, 0) !== 1 && Date.now() < until) Atomics.wait(ctl, 0, 0, 50);
  expect(Atomics.load(ctl, 0)).toBe(1);
  return {
    release() {
      Atomics.store(ctl, 0, 2);
      Atomics.notify(ctl, 0); // tell the worker to release
      const end = Date.now() + 10_000;
      while (Atomics.load(ctl, 0) !== 3 && Date.now() < end) Atomics.wait(ctl, 0, 2, 50);
      expect(Atomics.load(ctl, 0)).toBe(3);
    },
  };
}

function expectEmptyAndFree(lm: LockManager): void {
  expect(lm.query().resources.filter((r) => r.holders.length + r.waiters.length > 0)).toEqual([]);
  const other = lm.tryAcquire(['r'], 'X');
  expect(other).not.toBeNull();
  other!.release();
}

describe('hand-over and the same owner’s other requests', () => {
  it.each(['polls', 'gives up'] as const)(
    'a request handed S whose owner queues X on the record before it heard: it %s correctly, nothing leaks',
    async (how) => {
      // Strict FIFO: the release hands S to A and Q at once (eventual fairness would nudge them to
      // race for it instead, as they have waited under 1 ms; test/manager/fairness.test.ts).
      const lm = new LockManager({ deadlockTimeout: 100_000, fifo: true });
      const x = holder(lm);
      const O = lm.newOwner();
      const ac = new AbortController();
      const A = outcome(lm.acquireAsync(['r'], 'S', { owner: O, timeout: 3000, signal: ac.signal }));
      const Q = outcome(lm.acquireAsync(['r'], 'S', { timeout: 3000 })); // another owner waits S too
      x.release(); // hands S to A and Q; this thread has not run since, so A has not heard
      const B = outcome(lm.acquireAsync(['r'], 'X', { owner: O, timeout: 1000 })); // queued: Q holds S
      if (how === 'gives up') ac.abort(new Error('stop'));
      const a = await A;
      if (how === 'polls') expect(a.ok ? 'granted' : `${a.e.code}: ${a.e.message}`).toBe('granted');
      else expect(a.ok ? 'granted' : a.e.message).toBe('stop');
      const q = await Q;
      expect(q.ok).toBe(true);
      if (q.ok) q.h.release();
      const b = await B;
      if (a.ok) a.h.release();
      if (b.ok) b.h.release();
      expectEmptyAndFree(lm);
    },
  );

  it('a ticket-0 request in flight during releaseAll(owner) fails and leaves nothing held', async () => {
    const lm = new LockManager({ deadlockTimeout: 100_000 });
    const x = holder(lm);
    const O = lm.newOwner();
    const A = outcome(lm.acquireAsync(['r'], 'X', { owner: O, timeout: 3000 })); // queued, with a ticket
    const B = outcome(lm.acquireAsync(['r'], 'S', { owner: O, timeout: 3000 })); // same owner: ticket 0
    await new Promise((r) => setTimeout(r, 20));
    expect(lm.releaseAll(O)).toBeGreaterThan(0);
    const a = await A;
    expect(a.ok ? 'granted' : a.e.code).toBe('ERR_LOCK_STATE');
    x.release();
    const b = await B;
    expect(b.ok ? 'granted' : b.e.code).toBe('ERR_LOCK_STATE');
    expectEmptyAndFree(lm);
  });

  it('a blocking request without a queue slot, whose thread’s task holds the resource, is reported as a deadlock', async () => {
    const lm = new LockManager({ deadlockTimeout: 50 });
    const O = lm.newOwner();
    const task = await lm.acquireAsync(['r'], 'S'); // an async task of this thread holds S
    const twin = outcome(lm.acquireAsync(['r'], 'X', { owner: O, timeout: 5000 })); // O already queued
    const t0 = performance.now();
    // This thread stops; the task cannot release: a cycle the table shows only through this request.
    expect(() => lm.acquire(['r'], 'X', { owner: O, timeout: 3000 })).toThrow(DeadlockError);
    expect(performance.now() - t0).toBeLessThan(2000);
    task.release();
    const t = await twin;
    if (t.ok) t.h.release();
    expectEmptyAndFree(lm);
  });

  it.each([
    ['the leaf it was handed', ['r'], ['r'], 'X'],
    ['an ancestor it took before waiting', ['db', 't'], ['db'], 'S'],
  ] as const)(
    'an aborted request gives back %s in the aborting turn: a blocking acquire right after gets in',
    async (_what, path, next, nextMode) => {
      const lm = new LockManager({ deadlockTimeout: Infinity });
      const h1 = await lm.acquireAsync([...path], 'X');
      const ac = new AbortController();
      const p2 = outcome(lm.acquireAsync([...path], 'X', { signal: ac.signal })); // queued behind h1
      await new Promise((r) => setTimeout(r, 5));
      h1.release(); // hands the leaf over (or leaves the ancestor's IX with the waiting request)
      ac.abort(new Error('stop'));
      const h = lm.acquire([...next], nextMode, { timeout: 1000 }); // same thread, same turn
      h.release();
      const r = await p2;
      expect(r.ok ? 'granted' : r.e.message).toBe('stop');
      expect(lm.query().resources.filter((x) => x.holders.length + x.waiters.length > 0)).toEqual([]);
    },
  );
});


// Review of 2026-12-05 (second): a ticket-0 request (a second async request of an owner already
// queued on the resource) that is aborted after its wake-up settled but before its parking loop
// resumed. The abort gave back its levels above (IS on the parent) but was not marked on the
// request, so the loop's retry granted it: the aborted request resolved, and releasing it gave
// back the parent's IS a second time, the other request's, after which X on the parent was granted
// beside that request's S on the child.
describe('an aborted ticket-0 request', () => {
  it('rejects even when the abort lands between its wake-up and its retry; the parent stays protected', async () => {
    const lm = new LockManager({ capacity: 16, fifo: true });
    const h = lm.handle;
    // The one entry in the table (the parent's IS goes through the fast path): ['r','k'].
    const t = new LockTable(new Int32Array(h.buffer), h.byteOffset >> 2, h);
    const O = lm.newOwner();
    const x = lm.acquire(['r', 'k'], 'X');
    const a = lm.acquireAsync(['r', 'k'], 'S', { owner: O }); // queued with a ticket
    const ac = new AbortController();
    const b = outcome(lm.acquireAsync(['r', 'k'], 'S', { owner: O, signal: ac.signal })); // ticket 0: sleeps on E_SEQ
    expect(t.nameOf(0)).toBe('["r","k"]');
    // A waiter on the same word, woken by the same bump right after b's: it aborts b in the
    // microtask hop between b's wake-up and its parking loop going on.
    const seq = t.seqIndex(0);
    const w = Atomics.waitAsync(t.a, seq, Atomics.load(t.a, seq));
    expect(w.async).toBe(true);
    void (w.value as Promise<string>).then(() => ac.abort(new Error('aborted')));
    x.release(); // hands S to a, bumps E_SEQ: b and the waiter above wake
    const ha = await a;
    const rb = await b;
    if (rb.ok) rb.h.release();
    expect(rb.ok).toBe(false);
    // a's S on the child still has its IS on the parent: X on the parent must be refused.
    const xp = lm.tryAcquire(['r'], 'X');
    xp?.release();
    expect(xp).toBeNull();
    ha.release();
    expect(lm.query().resources).toEqual([]);
  });
});
