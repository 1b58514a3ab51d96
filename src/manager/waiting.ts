/**
 * How a queued lock-manager request waits: through the project's one parking loop
 * (`core/park.ts`), blocking (`waitSync`) or on the event loop (`waitAsync`). The loop owns the
 * deadline, abort and the sleep itself; this file supplies the request's `Parking`: what to
 * re-check after each sleep, how long one sleep may last, how to withdraw.
 *
 * - A waiter sleeps on its entry's futex word, which any release or withdrawal there bumps (or a
 *   first grant to its own owner's record, table.ts invariant 5), at most one owner-death slice
 *   (`ROBUST_SLICE_MS`) at a time; after each sleep it polls, and releases every owner on its
 *   entry whose thread (or whose task's thread) has died (`Requests.reapDeadOn`).
 * - After `deadlockTimeout` ms (and every `deadlockTimeout` after that) it searches the waits-for
 *   graph (PostgreSQL's approach, `deadlock.ts`) over the main table. That is enough: a fast-path
 *   hold blocks only strong requests, and those have moved it into the table before they wait
 *   (fastpath.ts, invariant 2). Every waiting request is checked, an owner's second request on a
 *   resource (ticket 0, no queue slot) with its own edges.
 * - A request that fails (timeout, abort, deadlock, a refused internal word) is withdrawn from
 *   the queue before the error propagates: it leaves no queue slot behind.
 */
import { LockError, TimeoutError } from '../core/errors.js';
import { deadlineAfter, isOver, passed, sliceEnd } from '../core/futex.js';
import { park, parkAsync, type Parking } from '../core/park.js';
import { SpinBudget, spinWhile } from '../core/spin.js';
import { DeadlockError, describeCycle, findCycle, type DeadlockEdge } from './deadlock.js';
import { MODE_NAMES } from './modes.js';
import { R_OWNER, R_WAIT } from './table.js';
import { entryName } from './query.js';
import type { Pending, Plan, Requests } from './requests.js';

/**
 * This thread's spin budget for a blocking request that has just queued first in its queue
 * (core/spin.ts; 256–512 load probes, some 5–15 µs here). The floor is high on purpose: a hand-over
 * to a waiter that sleeps costs a wake-up round trip (tens of µs) during which the resource is
 * granted but idle and the releaser, wanting it back, queues behind it: on one hot row two workers
 * fell into that convoy (36.6 k grants/s against 946 k for one worker). With the default floor of
 * 4 the budget shrank after a few long waits and the convoy came back (0.1–0.25 sleeps per grant);
 * from 128 up it stays out (under 0.01). Async waits never spin: it would stop the event loop.
 */
const WAIT_SPIN = new SpinBudget(256, 512);

/** Waits (blocking) until the queued request `pd` at level i is granted; throws, withdrawn, if not. */
export function waitSync(rq: Requests, plan: Plan, i: number, pd: Pending): void {
  let granted: boolean;
  try {
    // Sleep on the entry's word until the request is granted, fails, or its deadline passes.
    granted = park(rq.t.a, parking(rq, plan, i, pd, true), plan.wait.deadline);
  } catch (e) {
    throw outOfService(rq, plan, i, pd, e);
  }
  // park gave up at the deadline and withdrew the request (giveUp).
  if (!granted) throw new TimeoutError(waitName(rq, plan, i), plan.wait.timeout ?? 0);
}

/** `waitSync` on the event loop: rejects (withdrawn) on timeout, abort or deadlock. */
export async function waitAsync(rq: Requests, plan: Plan, i: number, pd: Pending): Promise<void> {
  try {
    // The same on the event loop; an abort rejects at once (the request withdrawn by giveUp, or
    // already in the aborting turn by LockManager.acquireAsync's abort listener: abandon is once).
    await parkAsync(rq.t.a, parking(rq, plan, i, pd, false), plan.wait, waitName(rq, plan, i));
  } catch (e) {
    throw outOfService(rq, plan, i, pd, e);
  }
}

/** What a TimeoutError of a wait at level i names: the manager and the resource. */
function waitName(rq: Requests, plan: Plan, i: number): string {
  return `${rq.name} ${plan.locks[i]!.text}`;
}

/**
 * One queued request's parking (`core/park.ts`). It sleeps on its entry's futex word, which
 * every release, grant or withdrawal there bumps (table.ts, invariant 5), in owner-death slices
 * and never past its next deadlock check. After each sleep: poll, release dead owners found on
 * the resource, and once `deadlockTimeout` has passed (then every `deadlockTimeout`) search the
 * waits-for graph. Timeout and abort are the parking loop's: it withdraws the request (giveUp).
 * No `forward`: every notify on an entry word wakes all its sleepers, so an aborted async wait
 * that later swallows one takes nothing from anyone.
 */
function parking(rq: Requests, plan: Plan, i: number, pd: Pending, spin: boolean): Parking {
  const t = rq.t;
  const L = plan.locks[i]!;
  let nextCheck = deadlineAfter(plan.deadlockTimeout);
  const index = (): number => (pd.ticket !== 0 ? t.waitIndex(pd.r) : t.seqIndex(pd.e));
  // Only a blocking request first in its queue spins: one further back is handed the resource
  // after others, so spinning would only take a core from the holder.
  const spins = spin && pd.first === true;
  return {
    // Its record's R_WAIT when it holds a queue slot (table.ts invariant 8), else the entry's
    // E_SEQ; pd.e/pd.r/ticket may change when a ticket-0 request retries from scratch (`Requests.poll`).
    get index() {
      return index();
    },
    attempt: (parked) => {
      // CORRECTNESS: pd.seq was read under the partition lock; a grant or withdrawal since then
      // moved the word it sleeps on (R_WAIT, or E_SEQ for ticket 0), so the sleep returns
      // 'not-equal' instead of sleeping through it. Just queued, a blocking request first spins
      // briefly on that word (a load-only, budgeted spin, core/spin.ts): a holder on another core
      // that lets go soon hands the resource over, or nudges this waiter to take it (invariant 7),
      // and the waiter sees it at once instead of having to be woken. Then, unless the word moved or its wait is over
      // already, it sleeps first; otherwise it polls once more.
      // Load-only spin on the word it would sleep on, while it still holds pd.seq (the first
      // attempt is the only one before any sleep).
      if (!parked && spins) spinWhile(t.a, index(), (w) => w === pd.seq, () => true, WAIT_SPIN, 16);
      if (!parked && !isOver(plan.wait) && Atomics.load(t.a, index()) === pd.seq) return pd.seq;
      while (!rq.poll(plan, i, pd)) {
        // A dead owner's hold or wait here was released: look again at once.
        if (rq.reapDeadOn(L)) continue;
        // Timed out or aborted: the parking loop gives up before any deadlock check. (A blocked
        // thread's signal cannot abort: acquire checked it before blocking.)
        if (isOver(plan.wait) || !passed(nextCheck)) return pd.seq;
        if (checkDeadlock(rq, plan, i, pd)) return null;
        nextCheck = deadlineAfter(plan.deadlockTimeout);
        return pd.seq;
      }
      return null;
    },
    // One owner-death slice at most, and no later than the next deadlock check.
    sleepUntil: (deadline) => sliceEnd(Math.min(deadline, nextCheck)),
    giveUp: () => rq.abandon(plan, i, pd),
    // Granted, as this waiter sees it (same turn as the attempt): an abort from now on is too late.
    won: () => {
      pd.granted = true;
    },
  };
}

/**
 * The deadlock check (all partitions locked): grants if possible, else fails the request with a
 * DeadlockError if a waits-for cycle runs through its owner. Returns true if granted.
 */
function checkDeadlock(rq: Requests, plan: Plan, i: number, pd: Pending): boolean {
  const t = rq.t;
  const L = plan.locks[i]!;
  const mode = plan.modes[i]!;
  let edges: DeadlockEdge[] | null;
  // Read-only until a grant or the victim's withdrawal (markWriting): a worker terminated in
  // the middle of the search leaves nothing torn (table.ts S_READER).
  t.lockAll(true);
  try {
    if (pd.ticket === 0) {
      // A second request of this owner on this entry, without a queue slot: it waits at its
      // owner's record's FIFO place for its own mode (grant rule), so it checks with its own
      // edges. If the record no longer waits, the next poll retries from scratch instead.
      const r = pd.r;
      if (t.field(r, R_OWNER) !== plan.owner || t.entryOf(r) !== pd.e || t.field(r, R_WAIT) === 0) return false;
      if (t.grantable(pd.e, r, mode)) return false; // the next poll takes it
      edges = findCycle(t, plan.owner, { e: pd.e, r, mode, blocks: plan.blocks }, (e) => entryName(t, e));
      // The victim has no queue slot to leave (and gave its strong-counter unit back already).
    } else {
      if (rq.grantQueued(plan, L, mode, pd)) return true;
      edges = findCycle(t, plan.owner, { e: pd.e, r: pd.r, mode }, (e) => entryName(t, e));
    }
    if (edges !== null && pd.ticket !== 0) {
      t.markWriting(t.partitionOf(L.lo)); // the partition changes now (table.ts S_READER)
      t.dequeue(pd.e, pd.r);
      // The victim leaves the queue: whoever waited behind it may go on (invariant 5).
      t.bump(pd.e);
      t.tidy(pd.e, pd.r);
    }
  } finally {
    t.unlockAll();
  }
  if (edges === null) return false;
  throw new DeadlockError(
    `${rq.name}: deadlock: ${describeCycle(edges)}; the request of owner ${plan.owner} for ` +
      `${MODE_NAMES[mode]} on ${L.text} was chosen as the victim`,
    edges,
    rq.name,
  );
}

/**
 * A wait failed because an internal word was refused (a thread died inside a table update:
 * raw/mutex.ts lockWord): withdraw the request where that still works, so that it leaves no
 * queue slot behind. Returns the error to throw.
 */
function outOfService(rq: Requests, plan: Plan, i: number, pd: Pending, e: unknown): unknown {
  if (e instanceof LockError && e.code === 'ERR_LOCK_BROKEN') {
    try {
      rq.abandon(plan, i, pd);
    } catch {
      // The request's own partition is the refused one: nothing more can be done there.
    }
  }
  return e;
}
