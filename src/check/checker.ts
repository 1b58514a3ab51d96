/**
 * The lock-order verifier, per thread: the hooks' implementation over the shared state. This file
 * wires the parts together; each job lives in its own file:
 * | file | job |
 * |------|-----|
 * | `held.ts` | lock classes, and the stack of locks this thread holds (mirrored in its thread slot) |
 * | `order.ts` | the acquired-before graph: new edges, rank checks, cycle search, `lock-order`/`rank` reports |
 * | `watchdog.ts` | waits-for entries of blocked threads, the watched wait, `deadlock` reports |
 * | `misuse.ts` | one thread's own misuse: recursive, not-owner, main-thread-block, held-across-await, exit-with-locks |
 * | `stacks.ts` | stack capture without the library's frames, construction sites |
 * | `state.ts`, `report.ts` | the shared memory; the report type and its text |
 *
 * Model (Linux lockdep, FreeBSD WITNESS): locks are grouped in **classes** (a name, or the
 * construction site of an unnamed lock). Each thread keeps the stack of locks it holds; acquiring
 * class `b` while holding class `a` records the edge `a -> b` ("a acquired before b") in a graph
 * shared by every thread. The first time an edge is seen, the verifier looks for a path back from
 * `b` to `a`: if there is one, some interleaving of the threads that recorded those edges can
 * deadlock, although none did. That check runs only on new edges; an edge already known costs one
 * bit test. Shared (read) acquisitions give typed edges; see order.ts for when a cycle through
 * them is a deadlock.
 *
 * ## What else it checks
 * - recursive: a blocking acquisition of a lock the thread already holds (a read re-entry is fine
 *   only for `readerPreferring` locks);
 * - rank: `rank` options, and `declareOrder([...])` lists, checked on each new edge;
 * - not-owner: a release of a lock this thread does not hold;
 * - held-across-await: a blocking-acquired lock still held when the microtask queued at its
 *   acquisition runs, i.e. after the current task yielded (await, or the end of the macrotask);
 * - main-thread-block: the main thread about to block in `Atomics.wait`;
 * - exit-with-locks: a worker exiting (its own `'exit'`) or terminated (its parent's `'exit'`
 *   event, from the held list the worker publishes in its thread slot) while holding locks;
 * - deadlock: threads blocked in a waits-for cycle (watchdog.ts).
 *
 * ## Known limits
 * - Locks acquired with a bare `lockAsync()` are tracked (not-owner, exit-with-locks) but order
 *   nothing: they belong to a task, not the thread, and concurrent tasks of one thread would make
 *   false edges. Inside `withLockAsync` (`runHolding`) the verifier knows the task (an
 *   AsyncLocalStorage scope), so locks taken there, sync or async, are ordered after it, until
 *   the callback settles; contexts inherited from the scope that run later hold nothing.
 * - Two instances of one class nested in one thread make no edge (no instance-level order).
 * - Waits-for edges need the owner; shared-mode owners are unknown (0), so reader-only waits
 *   stop the deadlock search.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { isMainThread } from 'node:worker_threads';
import { LockOrderError } from '../core/errors.js';
import { OWNER_ID } from '../core/thread.js';
import type { CheckedLock, CheckHooks, WaitChecked } from '../core/hooks.js';
import { ASYNC, classInfo, HeldSet, sameLock, SHARED, type ClassInfo } from './held.js';
import {
  reportExitedWorker,
  reportExitWithLocks,
  reportHeldAcrossAwait,
  reportMainThreadBlock,
  reportNotOwner,
  reportRecursive,
} from './misuse.js';
import { newEdge, TYPE_HELD_SHARED, TYPE_RECURSIVE_READ } from './order.js';
import type { HeldLock, LockOrderReport } from './report.js';
import { captureStack, constructionSite } from './stacks.js';
import { H_HOLD_STACKS, H_MODE, T_HELD_COUNT } from './state-layout.js';
import type { SharedState } from './state.js';
import { endWait, publishWait, watchedWait } from './watchdog.js';

/** What to do with a violation: print it, throw it, record it only, or call a function. */
export type OnViolation = 'warn' | 'throw' | 'silent' | ((report: LockOrderReport) => void);

/** Mode numbers stored in the shared header for threads that cannot share a function. */
export const MODE_WARN = 0;
export const MODE_THROW = 1;
export const MODE_SILENT = 2;

/**
 * One lock held by an async scope (`runHolding`), linked to the locks of enclosing scopes. Timers
 * and promises created in the scope inherit it (AsyncLocalStorage) and may run after the lock was
 * released: `released` is set when the scope's callback has settled, and such holds are skipped.
 */
interface ScopeHold {
  readonly lock: CheckedLock;
  readonly info: ClassInfo;
  readonly shared: boolean;
  readonly outer: ScopeHold | undefined;
  released: boolean;
}

/** This thread's verifier (one per thread, created when the verifier is enabled in it). */
export class Checker implements CheckHooks {
  readonly state: SharedState;
  /** The function given to enable() in this thread, if any; else the shared mode applies. */
  callback: ((r: LockOrderReport) => void) | undefined;
  /** Local mode set by enable() in this thread (-1: use the shared header's). */
  localMode = -1;
  /** This thread's slot in the shared state (-1: every slot taken, nothing published). */
  readonly slot: number;
  /** The locks this thread holds. */
  readonly #held: HeldSet;

  #turnNow = 0;
  #turnCheckQueued = false;
  readonly #turnCheck = (): void => this.#checkTurn();
  /** Locks held by the current async scope (withLockAsync); undefined outside any. */
  readonly #scope = new AsyncLocalStorage<ScopeHold>();

  constructor(state: SharedState) {
    this.state = state;
    this.slot = state.claimThreadSlot(OWNER_ID);
    this.#held = new HeldSet(state, this.slot);
  }

  // ---- hooks ----------------------------------------------------------------------------------------

  onAcquire(lock: CheckedLock, shared: boolean, async: boolean): void {
    const info = classInfo(this.state, lock);
    const recursiveRead = shared && info.recursiveRead;
    const h = this.#held;
    for (let k = h.length - 1; k >= 0; k--) {
      const mode = h.mode[k]!;
      // Async holds order nothing (see "Known limits").
      if ((mode & ASYNC) !== 0) continue;
      if (sameLock(h.lock[k]!, lock)) {
        // An async acquisition by the holder waits like any other task (API contract).
        if (async) continue;
        if (recursiveRead && (mode & SHARED) !== 0) continue;
        reportRecursive(this, info, (mode & SHARED) !== 0, shared);
        continue;
      }
      const from = h.cls[k]!;
      if (from === info.cls) continue; // two instances of one class: no edge (known limit)
      const type = ((mode & SHARED) !== 0 ? TYPE_HELD_SHARED : 0) | (recursiveRead ? TYPE_RECURSIVE_READ : 0);
      // Fast path: a known edge is one bit test (state invariant 2).
      if (!this.state.hasEdgeType(type, from, info.cls)) newEdge(this, from, h.rank[k], info, type, shared);
    }
    // Locks held by the enclosing async scopes of this task (withLockAsync).
    for (let s = this.#scope.getStore(); s !== undefined; s = s.outer) {
      if (s.released) continue; // a context inherited from a scope whose lock is released since
      if (sameLock(s.lock, lock)) {
        // The task waits for a lock it holds itself: nothing else will release it.
        if (!(recursiveRead && s.shared)) reportRecursive(this, s.info, s.shared, shared);
        continue;
      }
      const from = s.info.cls;
      if (from === info.cls) continue;
      const type = (s.shared ? TYPE_HELD_SHARED : 0) | (recursiveRead ? TYPE_RECURSIVE_READ : 0);
      if (!this.state.hasEdgeType(type, from, info.cls)) newEdge(this, from, s.info.rank, info, type, shared);
    }
  }

  runHolding<T>(lock: CheckedLock, shared: boolean, fn: () => T): T {
    const hold: ScopeHold = { lock, info: classInfo(this.state, lock), shared, outer: this.#scope.getStore(), released: false };
    const end = (): void => {
      hold.released = true;
    };
    let result: T;
    try {
      result = this.#scope.run(hold, fn);
    } catch (e) {
      end();
      throw e;
    }
    // The caller releases the lock once `fn` (and what it returned) settled: the hold ends there
    // for every context that inherited the scope.
    if (isThenable(result)) return Promise.resolve(result).finally(end) as T;
    end();
    return result;
  }

  onAcquired(lock: CheckedLock, shared: boolean, async: boolean): void {
    const info = classInfo(this.state, lock);
    const site = this.state.setting(H_HOLD_STACKS) === 1 ? captureStack() : undefined;
    this.#held.push(lock, info, (shared ? SHARED : 0) | (async ? ASYNC : 0), async ? Infinity : this.#turnNow, site);
    if (!async && !this.#turnCheckQueued) {
      this.#turnCheckQueued = true;
      queueMicrotask(this.#turnCheck);
    }
  }

  onRelease(lock: CheckedLock, shared: boolean, owner: number): void {
    const k = this.#held.find(lock, shared);
    if (k >= 0) {
      this.#held.remove(k);
      return;
    }
    // Held according to the lock word although we never saw it taken: it was acquired before
    // the verifier was enabled in this thread. Not a violation.
    if (owner === OWNER_ID) return;
    reportNotOwner(this, classInfo(this.state, lock), shared, owner);
  }

  onWait(lock: CheckedLock, shared: boolean, owner: number): void {
    const info = classInfo(this.state, lock);
    if (isMainThread) reportMainThreadBlock(this, info, shared);
    publishWait(this.state, this.slot, info.cls, shared, owner);
  }

  onWaitEnd(): void {
    endWait(this.state, this.slot);
  }

  readonly waitChecked: WaitChecked = watchedWait(this);

  constructionSite(kind: string): string {
    return constructionSite(kind);
  }

  // ---- public helpers for lockcheck ----------------------------------------------------------------

  /** Reports what a thread exiting now still holds (its own 'exit' event). */
  exitCheck(): void {
    if (isMainThread) return;
    if (this.#held.length > 0) reportExitWithLocks(this, this.#held.list());
    this.releaseSlot();
  }

  /** Called in the parent after worker `id` exited: reports what its slot says it held. */
  exitedWorker(id: number): void {
    const s = this.state.findThreadSlot(id + 1);
    if (s < 0) return;
    const count = this.state.i32[s + T_HELD_COUNT]!;
    if (count > 0) reportExitedWorker(this, id, count, this.state.slotHeld(s).map((c) => this.state.className(c)));
    this.state.releaseThreadSlot(s, id + 1);
  }

  releaseSlot(): void {
    if (this.slot >= 0) this.state.releaseThreadSlot(this.slot, OWNER_ID);
  }

  /** Locks this thread holds, for reports and tests. */
  held(): HeldLock[] {
    return this.#held.list();
  }

  /**
   * Records `r` under `key` (once per key, across threads) and reacts: throws LockOrderError when
   * the mode is 'throw' and `canThrow` (with `onlyFirst`, only if this call recorded it), else
   * warns/calls back the first time only.
   */
  report(r: LockOrderReport, key: string, canThrow: boolean, onlyFirst = false): boolean {
    const recorded = this.state.addReport(key, JSON.stringify(r));
    const mode = this.#mode();
    if (this.callback !== undefined) {
      if (recorded) this.callback(r);
      return recorded;
    }
    // `onlyFirst`: only the thread that recorded it throws (one deadlock victim, not all).
    if (mode === MODE_THROW && canThrow && (recorded || !onlyFirst)) throw new LockOrderError(r.message, r);
    if (recorded && mode !== MODE_SILENT) process.stderr.write(`${r.message}\n`);
    return recorded;
  }

  /** Whether a violation found now throws (mode 'throw' and no callback). */
  throws(): boolean {
    return this.callback === undefined && this.#mode() === MODE_THROW;
  }

  /** This thread's onViolation mode, else the shared one. */
  #mode(): number {
    return this.localMode >= 0 ? this.localMode : this.state.setting(H_MODE);
  }

  // ---- internals ------------------------------------------------------------------------------------

  /** Runs once the task that took blocking locks yielded: those still held are held across it. */
  #checkTurn(): void {
    this.#turnCheckQueued = false;
    const t = this.#turnNow++;
    const h = this.#held;
    for (let k = 0; k < h.length; k++) {
      if (h.turn[k]! > t) continue;
      h.turn[k] = Infinity; // reported (or deduplicated) once per hold
      reportHeldAcrossAwait(this, h.cls[k]!, h.site[k]);
    }
  }
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return (typeof v === 'object' || typeof v === 'function') && v !== null && typeof (v as { then?: unknown }).then === 'function';
}
