/**
 * Deadlock detection between threads that actually block: the waits-for entry a blocked thread
 * publishes in its thread slot, the watched wait that wakes every period to refresh it and follow
 * the owners through the other slots, and the `deadlock` report.
 *
 * A blocked thread wakes every watchdog period, republishes "waiting for class X, owner T" in its
 * slot and follows owners through the other slots; a cycle back to itself, seen twice with the
 * same waits, every wait older than `deadlockTimeout`, each owner's own held list naming the class
 * waited for (owner ids can be stale), is a deadlock. Waits-for edges need the owner; shared-mode
 * owners are unknown (0), so reader-only waits stop the search.
 */
import { threadId } from 'node:worker_threads';
import { now } from '../core/futex.js';
import type { WaitChecked } from '../core/hooks.js';
import type { Checker } from './checker.js';
import { banner, q, stackBlock, threadName, type LockOrderStack } from './report.js';
import { captureStack } from './stacks.js';
import {
  H_DEADLOCK_MS,
  MAX_THREADS,
  SLOT_HELD,
  T_HELD,
  T_HELD_COUNT,
  T_ID,
  T_STACK_SEQ,
  T_WAIT_CLASS,
  T_WAIT_OWNER,
  T_WAIT_SEQ,
  T_WAIT_SHARED,
  T_WAIT_SINCE,
} from './state-layout.js';
import type { SharedState } from './state.js';

/** One thread's published wait, as the search read it. */
interface WaitEntry {
  slot: number;
  id: number;
  cls: number;
  owner: number;
  shared: boolean;
  seq: number;
}

/** Milliseconds on a 2^30 wheel: wait ages are compared modulo it (fits an Int32 word). */
function clock(): number {
  return (Date.now() % 0x4000_0000) | 0;
}

/** Publishes "the thread in `slot` waits for class `cls`, held by `owner`" (no slot: nothing). */
export function publishWait(st: SharedState, slot: number, cls: number, shared: boolean, owner: number): void {
  if (slot < 0) return;
  const a = st.i32;
  // Publish the waits-for entry; the class word goes last, it is what marks the slot waiting.
  Atomics.store(a, slot + T_WAIT_OWNER, owner);
  Atomics.store(a, slot + T_WAIT_SHARED, shared ? 1 : 0);
  Atomics.store(a, slot + T_WAIT_SINCE, clock());
  Atomics.add(a, slot + T_WAIT_SEQ, 1); // a new wait: watchdogs compare sequence numbers
  Atomics.store(a, slot + T_WAIT_CLASS, cls + 1);
}

/** Clears the waits-for entry of `slot`. */
export function endWait(st: SharedState, slot: number): void {
  if (slot < 0) return;
  Atomics.store(st.i32, slot + T_WAIT_CLASS, 0);
  Atomics.add(st.i32, slot + T_WAIT_SEQ, 1); // the wait is over
}

/**
 * Checker `c`'s `waitChecked` (core/hooks.ts `WaitChecked`): publishes the wait, runs `attempt` in
 * watchdog-period steps until it succeeds or `deadline` passes, and clears the wait.
 */
export function watchedWait(c: Checker): WaitChecked {
  return (lock, shared, deadline, abandonable, attempt, owner) => {
    c.onWait(lock, shared, owner());
    try {
      return watchSteps(c, deadline, abandonable, attempt, owner);
    } finally {
      c.onWaitEnd();
    }
  };
}

/**
 * The steps of a published wait; past `deadlockTimeout`, each one looks for a waits-for cycle and
 * reports it when the same cycle is seen twice.
 */
function watchSteps(
  c: Checker,
  deadline: number,
  abandonable: boolean,
  attempt: (deadline: number) => boolean,
  owner: () => number,
): boolean {
  const st = c.state;
  const slot = c.slot;
  const timeout = Math.max(1, st.setting(H_DEADLOCK_MS));
  const period = Math.min(250, Math.max(5, timeout / 4));
  const start = now();
  let lastKey = '';
  let stackPublished = false;
  for (;;) {
    if (attempt(Math.min(deadline, now() + period))) return true;
    if (now() >= deadline) return false;
    if (slot < 0) continue;
    // Still waiting: refresh the owner (it may have changed hands) and look for a cycle.
    Atomics.store(st.i32, slot + T_WAIT_OWNER, owner());
    const waited = now() - start;
    if (!stackPublished && waited >= timeout / 2) {
      stackPublished = true;
      const seq = Atomics.load(st.i32, slot + T_WAIT_SEQ);
      st.setSlotStack(slot, seq, captureStack());
    }
    if (waited < timeout) continue;
    const cycle = waitsForCycle(st, slot, timeout);
    const key = cycle === undefined ? '' : cycle.map((w) => `${w.slot}:${w.seq}:${w.owner}`).join(',');
    if (key !== '' && key === lastKey) reportDeadlock(c, cycle!, abandonable);
    lastKey = key;
  }
}

/** Follows waits-for owners from `self`'s slot; the cycle back to it, if any. */
function waitsForCycle(st: SharedState, self: number, timeout: number): WaitEntry[] | undefined {
  const a = st.i32;
  const time = clock();
  const out: WaitEntry[] = [];
  let s = self;
  for (let hops = 0; hops < MAX_THREADS; hops++) {
    const cls = Atomics.load(a, s + T_WAIT_CLASS);
    if (cls === 0) return undefined;
    const since = Atomics.load(a, s + T_WAIT_SINCE);
    if ((((time - since) % 0x4000_0000) + 0x4000_0000) % 0x4000_0000 < timeout) return undefined;
    const owner = Atomics.load(a, s + T_WAIT_OWNER);
    out.push({
      slot: s,
      id: Atomics.load(a, s + T_ID),
      cls: cls - 1,
      owner,
      shared: Atomics.load(a, s + T_WAIT_SHARED) === 1,
      seq: Atomics.load(a, s + T_WAIT_SEQ),
    });
    const next = st.findThreadSlot(owner);
    if (next < 0) return undefined;
    // The owner id a waiter published may be stale (the lock changed hands since, and the waiter
    // has not run to refresh it). The owner's own held list is updated before every release, so
    // require it to name the class waited for; in a real deadlock every list is frozen.
    if (!slotHolds(st, next, cls - 1)) return undefined;
    if (next === self) return out;
    if (out.some((w) => w.slot === next)) return undefined; // a cycle without us: its members report it
    s = next;
  }
  return undefined;
}

function slotHolds(st: SharedState, slot: number, cls: number): boolean {
  const a = st.i32;
  const n = a[slot + T_HELD_COUNT]!;
  if (n > SLOT_HELD) return true; // deeper than the list: cannot tell, assume held
  for (let k = 0; k < n; k++) if (a[slot + T_HELD + k] === cls) return true;
  return false;
}

function reportDeadlock(c: Checker, cycle: WaitEntry[], abandonable: boolean): void {
  const st = c.state;
  const threads = cycle.map((w) => w.id - 1);
  const locks = cycle.map((w) => st.className(w.cls));
  const lines = [
    banner('deadlock'),
    `${cycle.length} threads are blocked, each waiting for a lock the next one holds:`,
    '',
  ];
  const stacks: LockOrderStack[] = [];
  cycle.forEach((w, j) => {
    const held = st.slotHeld(w.slot).map((cls) => st.className(cls));
    lines.push(
      `  ${threadName(w.id - 1)} waits for ${q(locks[j]!)}${w.shared ? ' (shared)' : ''}, held by ` +
        `${threadName(w.owner - 1)}; it holds ${held.length ? held.map(q).join(', ') : 'nothing listed'}`,
    );
    const stack = Atomics.load(st.i32, w.slot + T_STACK_SEQ) === w.seq ? st.slotStack(w.slot) : '';
    stacks.push({ label: `${threadName(w.id - 1)} waiting for ${q(locks[j]!)}`, thread: w.id - 1, stack });
  });
  lines.push('');
  for (const s of stacks) lines.push(stackBlock(`${s.label}:`, s.stack), '');
  lines.push(
    abandonable && c.throws()
      ? `${threadName(threadId)} gives up its wait with LockOrderError to break the deadlock.`
      : 'The threads stay blocked.',
  );
  const key = `deadlock:${[...threads].sort((x, y) => x - y).join(',')}:${[...locks].sort().join(',')}`;
  c.report({ kind: 'deadlock', message: lines.join('\n'), locks, threads, stacks }, key, abandonable, true);
}
