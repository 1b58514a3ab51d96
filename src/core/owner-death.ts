/**
 * Owner death: which threads of this process have died, in shared memory, for every primitive.
 *
 * A worker that exits or is terminated while holding a lock leaves its owner id in the lock's
 * words forever; nothing in the dead thread can release it. Linux solves this for futexes with the
 * robust list the kernel walks at thread exit; pthread then reports `EOWNERDEAD` to the next owner.
 * There is no such hook for a JS thread, so sablock builds one from what Node offers:
 *
 * - The thread that creates a worker learns of its exit: `process.on('worker')` reports every new
 *   `Worker` in the creating thread, and that worker's `'exit'` event fires once it has stopped.
 *   Every thread that loads sablock installs that listener, so every worker created by a thread
 *   that loaded sablock is watched. CORRECTNESS: that is the only moment a thread is known to run
 *   no more JavaScript. A worker never publishes itself (say, from its own `process` `'exit'`
 *   event): its later `'exit'` listeners still run after that event, and may release the very
 *   locks a waiter would take over; and its own workers keep running until its teardown stops
 *   them. (The price: a creator whose event loop is blocked, for instance in a blocking `lock()`
 *   of a lock its worker holds, does not see that worker's exit. For its own workers it asks
 *   Node's handle of the worker instead: `isDeadOwner`, `stoppedProbe`; docs/robustness.md.)
 * - The dead thread's owner id (`threadId + 1`, never reused within a process) is published in a
 *   process-wide table: a `SharedArrayBuffer` created by the first thread that loads sablock (the
 *   main thread, normally) and handed to every worker started afterwards through
 *   `worker_threads.setEnvironmentData` (workers inherit their creator's environment data).
 * - Waiters sleep in bounded slices (`ROBUST_SLICE_MS`) instead of forever; on each wake-up a
 *   primitive checks whether the owner named in its words is dead (`isDeadOwner`) and, if so, takes
 *   over with a CAS from exactly that state, and reports the death to the new owner (`ownerDied`).
 *   Owner ids are never reused, so a word naming a dead id cannot change under the CAS except by
 *   another waiter's takeover (only one CAS wins).
 *
 * ## Table layout (Int32 words)
 * | word                 | name       | meaning |
 * |----------------------|------------|---------|
 * | 0                    | GENERATION | bumped (and notified) after every published death |
 * | 1                    | RING_NEXT  | count of deaths of ids ≥ BITMAP_IDS (next ring slot, mod RING) |
 * | 2 … 2+RING−1         | RING       | the most recent RING dead owner ids ≥ BITMAP_IDS |
 * | 2+RING …             | BITMAP     | bit `id` set ⇔ owner id `id` (< BITMAP_IDS) is dead |
 * | BITMAP+BITMAP_IDS/32 | CHILDREN   | CHILD_SLOTS pairs (child id, parent id) of live workers whose |
 * |                      |            | creator is itself a worker; child 0 = free, −1 = being filled |
 *
 * Nested workers: a worker's own workers are published by their creator (that worker) when it sees
 * their `'exit'`. When the worker itself stops, Node stops and joins its workers during its
 * teardown, before the worker's thread ends, and their `'exit'` events would have fired in the
 * thread that just died. So each worker records the workers it creates in CHILDREN, and publishing
 * a death (from the creator's `'exit'` event, after the teardown) also publishes every recorded
 * descendant: they had stopped before their parent's thread ended. The main thread's children need no record: the main thread outlives them.
 *
 * ## Invariants
 * 1. A bit is set (or a ring slot written) only after the thread it names has stopped running JS:
 *    its `Worker` emitted `'exit'` in its creator, or it is a recorded child of such a worker.
 * 2. Bits are never cleared: thread ids are never reused, so a dead id stays dead.
 * 3. GENERATION changes after the bit/slot is written, so whoever sees the new generation also
 *    sees the death (sequentially consistent Atomics).
 * 4. A CHILDREN pair is claimed (0 → −1), its parent written, then its child id stored; it is freed
 *    (child → 0) by whoever publishes that child's death, so each pair is published once.
 *
 * ## Memory ordering
 * All accesses are Atomics. A waiter that reads a dead owner id from a lock word and then the bit
 * needs no further ordering: both facts are stable once true (invariant 2, ids never reused).
 *
 * ## Hook API for primitives (how to use them: docs/robustness.md)
 * - `isDeadOwner(ownerId)`: true if the thread with that owner id (`threadId + 1`) has died.
 * - Slices: a waiter parks with `sleepUntil: sliceEnd` (`core/futex.ts`), so that it wakes at
 *   least every `ROBUST_SLICE_MS` to check for a dead owner; a slice running out is not the
 *   caller's timeout.
 * - `takeOverIfDead(a, i, ownerMask, keep, set)`: if the owner id in `a[i] & ownerMask` is dead,
 *   CAS the word from that exact value `old` to `(old & keep) | set`; true for the one winner.
 * - `deathGeneration()` / `waitForDeath(generation, ms)`: a counter that moves on every death and a
 *   futex wait on it, for a watchdog that has nothing better to sleep on.
 */
import { getEnvironmentData, setEnvironmentData, isMainThread } from 'node:worker_threads';
import type { Worker } from 'node:worker_threads';
import { WAKE_SLICE_MS } from './futex.js';
import { isSharedArrayBuffer } from './layout.js';
import { OWNER_ID } from './thread.js';

/** Environment-data key under which the table travels to workers. Versioned with the layout. */
export const OWNER_DEATH_KEY = 'sablock:owner-death:v1';

/**
 * Longest a waiter sleeps before it looks for a dead owner; bounds recovery latency. It is the
 * futex layer's one sleep slice (`WAKE_SLICE_MS`): every wait already wakes that often.
 */
export const ROBUST_SLICE_MS = WAKE_SLICE_MS;

const GENERATION = 0;
const RING_NEXT = 1;
const RING0 = 2;
const RING = 1024;
const BITMAP0 = RING0 + RING;
/** Owner ids below this are tracked exactly in the bitmap (one bit each: 128 KiB). */
export const BITMAP_IDS = 1 << 20;
const CHILDREN0 = BITMAP0 + BITMAP_IDS / 32;
/** Live workers created by workers that the table can remember at once (beyond: not watched). */
export const CHILD_SLOTS = 4096;
const TABLE_BYTES = (CHILDREN0 + 2 * CHILD_SLOTS) * 4;

/** The process-wide table; shared with the creator thread and every worker it starts. */
const table: Int32Array = new Int32Array(findOrCreateTable());

function findOrCreateTable(): SharedArrayBuffer {
  const inherited = getEnvironmentData(OWNER_DEATH_KEY);
  if (isSharedArrayBuffer(inherited) && inherited.byteLength === TABLE_BYTES) return inherited;
  // First thread to load sablock (normally the main thread): create the table and hand it on to
  // every worker started from here on. A worker started before that gets its own table, which
  // only its own descendants share (documented limitation).
  const sab = new SharedArrayBuffer(TABLE_BYTES);
  setEnvironmentData(OWNER_DEATH_KEY, sab);
  return sab;
}

/** Records that the thread with owner id `ownerId` has died (invariant 1: it has stopped). */
export function publishDead(ownerId: number): void {
  if (!Number.isInteger(ownerId) || ownerId <= 1) return; // 0: nobody; 1: the main thread
  publishOne(ownerId);
  // Its own workers were stopped before it finished: they are dead too (nested workers).
  for (let k = 0; k < CHILD_SLOTS; k++) {
    const child = Atomics.load(table, CHILDREN0 + 2 * k);
    if (child <= 0 || Atomics.load(table, CHILDREN0 + 2 * k + 1) !== ownerId) continue;
    // Free the pair; whoever frees it publishes the child (invariant 4).
    if (Atomics.compareExchange(table, CHILDREN0 + 2 * k, child, 0) === child) publishDead(child);
  }
}

/** Publishes `ownerId` alone (not the workers it created: see `isDeadOwner`), once. */
function publishOne(ownerId: number): void {
  // Already there (a probe came before the 'exit'): a second ring slot would push an older death out.
  if (isPublishedDead(ownerId)) return;
  if (ownerId < BITMAP_IDS) {
    // Set the id's bit; or() so concurrent publishers of neighbouring ids do not lose each other.
    Atomics.or(table, BITMAP0 + (ownerId >>> 5), 1 << (ownerId & 31));
  } else {
    // Claim a ring slot (the oldest entry is overwritten after RING such deaths).
    const k = Atomics.add(table, RING_NEXT, 1);
    // Publish the id in that slot.
    Atomics.store(table, RING0 + (k & (RING - 1)), ownerId);
  }
  // New generation after the bit (invariant 3), and wake any watchdog sleeping on it.
  Atomics.add(table, GENERATION, 1);
  // Wake every thread waiting in waitForDeath.
  Atomics.notify(table, GENERATION);
}

/** Records that `parent` created worker `child`; returns the pair's slot, or −1 if full. */
function recordChild(child: number, parent: number): number {
  for (let k = 0; k < CHILD_SLOTS; k++) {
    // Claim a free pair (0 → −1: being filled, ignored by readers).
    if (Atomics.compareExchange(table, CHILDREN0 + 2 * k, 0, -1) !== 0) continue;
    // Parent first, then the child id that makes the pair visible (invariant 4).
    Atomics.store(table, CHILDREN0 + 2 * k + 1, parent);
    Atomics.store(table, CHILDREN0 + 2 * k, child);
    return k;
  }
  return -1;
}

/**
 * True if the thread with owner id `ownerId` (`threadId + 1`) is known to have died. `ownerId`
 * may be any number a lock's words hold, a LockManager `owner` passed by another thread
 * included (`stoppedProbe` says why that is safe).
 *
 * Besides the table: a worker of this very thread that has stopped, but whose `'exit'` this
 * thread has not seen, because its event loop has not turned since. It may be blocked right
 * here, waiting for a lock that worker held (a thread that terminates a worker and then, before
 * its `'exit'`, takes a lock of the same lock table; docs/robustness.md). Such a worker is
 * published now, alone; its own workers are published with the `'exit'` as before (they may
 * still be stopping: invariant 1).
 */
export function isDeadOwner(ownerId: number): boolean {
  if (isPublishedDead(ownerId)) return true;
  if (probes.size === 0) return false;
  const stopped = probes.get(ownerId);
  if (stopped === undefined || !stopped()) return false;
  publishOne(ownerId);
  return true;
}

/** True if `ownerId`'s death is in the table (no probe: any owner id, this thread's too). */
function isPublishedDead(ownerId: number): boolean {
  if (ownerId <= 1) return false;
  if (ownerId < BITMAP_IDS) return (Atomics.load(table, BITMAP0 + (ownerId >>> 5)) & (1 << (ownerId & 31))) !== 0;
  for (let k = 0; k < RING; k++) if (Atomics.load(table, RING0 + k) === ownerId) return true;
  return false;
}

/**
 * True if this very thread is published dead. It cannot be while it runs (invariant 1); if it is
 * anyway (a publication by mistake), its holds may have been taken over or reaped, and every
 * release path checks this before it reports a not-owner error or gives a hold back, so a hold
 * that a reaper already released is never released twice. Off the fast paths except where the
 * release is anonymous (an RWLock read, tracked Semaphore permits): one load of a bitmap word.
 */
export function wasReaped(): boolean {
  return isPublishedDead(OWNER_ID);
}

/** A counter that moves after every published death. */
export function deathGeneration(): number {
  return Atomics.load(table, GENERATION);
}

/** Blocks (at most `timeoutMs`) until some death is published after `generation` was read. */
export function waitForDeath(generation: number, timeoutMs: number): void {
  // Sleep until publishDead bumps the generation (or it already moved: 'not-equal').
  Atomics.wait(table, GENERATION, generation, timeoutMs);
}

/**
 * If `a[i]` names a dead owner in its `ownerMask` bits, replaces it with `(old & keep) | set` by
 * one CAS from that exact value. Returns true only for the thread whose CAS won (it now acts for
 * the dead owner); false if the owner is alive, absent, or someone else took over first.
 */
export function takeOverIfDead(a: Int32Array, i: number, ownerMask: number, keep: number, set: number): boolean {
  const s = Atomics.load(a, i);
  const owner = s & ownerMask;
  if (owner === 0 || !isDeadOwner(owner)) return false;
  // From exactly the dead-owner state: ids are never reused, so only a rival takeover can beat us.
  return Atomics.compareExchange(a, i, s, (s & keep) | set) === s;
}

// ---- watching the workers this thread creates ------------------------------------------------

const INSTALLED = Symbol.for('sablock.ownerDeath.watching');

/**
 * This thread's live workers: owner id → whether that worker's thread has stopped running
 * JavaScript (`stoppedProbe`). Shared by the ESM and CJS builds of one thread, like the watchers.
 */
const probes: Map<number, () => boolean> = ((globalThis as { [k: symbol]: unknown })[Symbol.for('sablock.ownerDeath.probes')] ??=
  new Map()) as Map<number, () => boolean>;

/**
 * A synchronous test of whether worker `w` has stopped running JavaScript, or undefined where
 * this Node has none. Node's handle of a worker answers `loopIdleTime()` with −1 from the moment
 * the worker's thread, its event loop and last JavaScript done, marks itself stopped (node_worker.cc:
 * `stopped_` and `env_ = nullptr` together, after it can no longer call into JS); before that
 * moment it answers ≥ 0, except before the worker's environment exists, when no JavaScript of it
 * has run yet. So −1 proves a stop only for a worker that has run: the probe is registered when
 * the worker's `'online'` event comes (it runs JavaScript by then), not when it is created (a
 * review found an id passed as a LockManager `owner` for a worker not started yet published
 * dead, and that worker's later locks taken over while it held them). The handle is an internal
 * (the `kHandle` symbol of lib/internal/worker.js, Node 20 to 26); without it nothing changes.
 */
function stoppedProbe(w: Worker): (() => boolean) | undefined {
  const key = Object.getOwnPropertySymbols(w).find((k) => k.description === 'kHandle');
  const h = key === undefined ? undefined : (w as unknown as Record<symbol, { loopIdleTime?: () => number } | null>)[key];
  if (typeof h?.loopIdleTime !== 'function') return undefined;
  return () => {
    try {
      return h.loopIdleTime!() === -1;
    } catch {
      return false; // a handle that no longer answers: leave it to the 'exit'
    }
  };
}

function watchWorker(w: Worker): void {
  // threadId reads -1 once the worker has stopped: capture it now.
  const ownerId = w.threadId + 1;
  // A worker's workers die with it, when nobody is left to see their 'exit': remember them.
  const slot = isMainThread ? -1 : recordChild(ownerId, OWNER_ID);
  const probe = stoppedProbe(w);
  let exited = false;
  // Asked only once the worker has run: before that, its handle answers −1 too (stoppedProbe).
  if (probe !== undefined) w.once('online', () => exited || probes.set(ownerId, probe));
  w.once('exit', () => {
    exited = true;
    probes.delete(ownerId);
    publishDead(ownerId);
    // Free our record of it, unless a publisher of our own death already did (invariant 4).
    if (slot >= 0) Atomics.compareExchange(table, CHILDREN0 + 2 * slot, ownerId, 0);
  });
}

/** Installs the listeners once per thread (the ESM and CJS builds share them through the symbol). */
function installWatchers(): void {
  const g = globalThis as { [INSTALLED]?: boolean };
  if (g[INSTALLED]) return;
  g[INSTALLED] = true;
  process.on('worker', watchWorker);
  // No publication of ourselves from process 'exit' (invariant 1): JS still runs after it.
}

installWatchers();

/**
 * True if the worker with this `threadId` is known to have died (its creator saw it exit). For
 * diagnostics; locks consult the same table.
 */
export function isThreadDead(threadId: number): boolean {
  if (typeof threadId !== 'number' || !Number.isInteger(threadId) || threadId < 0) {
    throw new TypeError(`threadId must be a non-negative integer, got ${String(threadId)}`);
  }
  // The table only: a worker that has not started yet would fool the probe (stoppedProbe).
  return isPublishedDead(threadId + 1);
}
