/**
 * `LockManager`: multi-granularity locking (Gray et al. 1976) over a resource tree named by paths,
 * with everything in one SharedArrayBuffer so any worker can lock any resource. This file is the
 * public class: options and handles, the request walk over a path's levels, handles
 * (`ResourceLock`), owners. The parts it is built from:
 *
 * | file | job |
 * |---|---|
 * | `table.ts` | the shared table: entries, records, wait queues, partition locks |
 * | `fastpath.ts` | IS/IX holds in per-owner-group slots, strong counters |
 * | `modes.ts`, `hash.ts` | the modes and their compatibility matrix; path keys |
 * | `options.ts` | options and handle fields, their defaults and checks |
 * | `owners.ts` | owner ids, dead owners, releasing an owner |
 * | `local.ts` | this thread's bookkeeping of what each owner holds through it |
 * | `requests.ts` | the request machine: enqueue or grant, poll, withdraw, release one level |
 * | `waiting.ts` | waiting for a queued request (core/park.ts), deadlock checks |
 * | `deadlock.ts` | waits-for cycle search |
 * | `escalation.ts` | fine locks under one parent replaced by one coarse lock |
 * | `query.ts` | `query()` snapshots |
 *
 * - `acquire(path, mode)` takes the intention mode (IS for IS/S, IX otherwise) on every proper
 *   prefix of `path`, root first, then `mode` on `path`; releasing goes leaf first. Each level is
 *   one short critical section on that entry's partition lock; no partition lock is held while
 *   waiting, and none across two levels.
 * - Waiting: FIFO by ticket per entry (table.ts, invariant 4), in `core/park.ts`'s loop
 *   (`waiting.ts`); after `deadlockTimeout` ms (and every `deadlockTimeout` after that) a waiter
 *   searches the waits-for graph.
 * - Escalation (`escalation.ts`) is tried when a request's leaf makes its parent cross the
 *   threshold of fine locks held through this thread.
 *
 * ## Invariant
 * A request that fails (timeout, abort, deadlock, capacity) leaves no trace: levels already taken
 * are given back leaf first, bookkeeping created for it is dropped (`#unwind`). The bookkeeping's
 * own invariants are in `local.ts`.
 *
 * ## Memory ordering
 * This file touches shared memory only through the files above (one `Atomics.add` for owner ids,
 * `owners.ts`); see `requests.ts` and `table.ts`.
 *
 * ## Owners and owner death (docs/lock-manager.md)
 * Blocking calls default to the thread's owner; each `acquireAsync` without `owner` is an owner
 * of its own (`OwnerState.home` = this thread; its records carry it in R_HOME, and it never uses
 * the fast path). Waiters sleep in `ROBUST_SLICE_MS` slices and release every owner on their
 * entry whose thread (or whose task's thread) has died (`Requests.reapDeadOn`); `query()` does
 * the same for every owner it sees.
 *
 * ## Invalid use
 * Releasing a handle twice does nothing. Using an owner id from two threads at once is allowed
 * (they share holds) but escalation bookkeeping is per thread. `releaseAll(owner)` while that
 * owner has requests in flight makes those requests fail with `LockError` (`ERR_LOCK_STATE`).
 */
import { OWNER_ID, assertOwnerIdFits } from '../core/thread.js';
import { attach, describe, FROM_HANDLE, place, Primitive } from '../core/layout.js';
import { parseWaitOptions } from '../core/futex.js';
import { abortReason } from '../core/errors.js';
import { checkPath, hashPart, keyOfState, ROOT_HASH, type ResourcePath } from './hash.js';
import { parseMode, type LockMode } from './modes.js';
import { initHeader, LockTable, readHeader, tableByteLength, type TableShape } from './table.js';
import {
  readDeadlockTimeout,
  readSettings,
  readShape,
  type AcquireOptions,
  type LockManagerHandle,
  type LockManagerOptions,
  type LockManagerShape,
  type ManagerSettings,
} from './options.js';
import { checkOwner, newOwnerId, releaseOwner } from './owners.js';
import { forget, localLockOf, modesFor, OwnerState, type LocalLock } from './local.js';
import { GRANTED, Requests, type Pending, type Plan } from './requests.js';
import { waitAsync, waitSync } from './waiting.js';
import { extendEscalation, tryEscalate } from './escalation.js';
import { query, type LockManagerSnapshot } from './query.js';

export type { LockMode } from './modes.js';
export type { PathPart, ResourcePath } from './hash.js';
export type { DeadlockEdge } from './deadlock.js';
export type { AcquireOptions, LockManagerHandle, LockManagerOptions, LockManagerShape } from './options.js';
export type { LockHolderInfo, LockManagerSnapshot, LockResourceInfo, LockWaiterInfo } from './query.js';

/**
 * Proof of one `acquire`. `release()` (or leaving a `using` block) gives back every lock it took,
 * leaf first; releasing again does nothing.
 */
export class ResourceLock {
  /** The mode taken on `path`. */
  readonly mode: LockMode;
  /** The owner holding it. */
  readonly owner: number;
  #lm: LockManager | undefined;
  readonly #state: OwnerState;
  readonly #locks: readonly LocalLock[];
  readonly #modes: readonly number[];

  /** @internal */
  constructor(lm: LockManager, mode: LockMode, state: OwnerState, locks: readonly LocalLock[], modes: readonly number[]) {
    this.mode = mode;
    this.owner = state.owner;
    this.#lm = lm;
    this.#state = state;
    this.#locks = locks;
    this.#modes = modes;
  }
  /** The path locked (a frozen copy, shared by every handle of that path in this thread). */
  get path(): ResourcePath {
    return this.#locks[this.#locks.length - 1]!.path;
  }
  /** @internal The leaf's bookkeeping (Web Locks asks the table whether it is still held). */
  get _leaf(): LocalLock {
    return this.#locks[this.#locks.length - 1]!;
  }
  /** True until released (or until `releaseAll(owner)` ran in this thread). */
  get held(): boolean {
    return this.#lm !== undefined && !this.#state.closed;
  }
  /** Releases every level this acquisition took, leaf first. */
  release(): void {
    this._release();
  }
  /**
   * @internal `release()`, telling whether the table still had every level's hold (false: taken
   * away meanwhile, by a Web Locks steal or `releaseAll`). Released before: true.
   */
  _release(): boolean {
    const lm = this.#lm;
    if (lm === undefined) return true;
    this.#lm = undefined;
    if (this.#state.closed) return false;
    return releaseLevels(lm, this.#state, this.#locks, this.#modes, this.#locks.length);
  }
  /** Releases every level this acquisition took, like `release()` (for `using`). */
  [Symbol.dispose](): void {
    this.release();
  }
  /** Releases every level this acquisition took, like `release()` (for `await using`). */
  async [Symbol.asyncDispose](): Promise<void> {
    this.release();
  }
}

// Set once the class is defined: lets ResourceLock call the manager's private release path.
let releaseLevels: (lm: LockManager, st: OwnerState, locks: readonly LocalLock[], modes: readonly number[], upto: number) => boolean;

/**
 * A hierarchical lock manager in shared memory: IS/IX/S/SIX/U/X locks on resource paths,
 * intention locks on ancestors, FIFO queues, deadlock detection, escalation.
 */
export class LockManager extends Primitive {
  /** Most distinct resources held or waited on at once. */
  readonly capacity: number;
  /** Most (owner, resource) pairs held or waited on at once. */
  readonly holderCapacity: number;
  /** Default deadlock check delay in ms. */
  readonly deadlockTimeout: number;
  /** Fine locks under one parent before escalation (0 = never). */
  readonly escalationThreshold: number;
  readonly #shape: TableShape;
  readonly #settings: ManagerSettings;
  readonly #t: LockTable;
  readonly #rq: Requests;
  readonly #owners = new Map<number, OwnerState>();
  /**
   * Async-task owners of this thread whose request is over (released or failed, so no record or
   * slot of them is left): reused, id and cached path bookkeeping, before drawing new ids, which
   * are finite (newOwner).
   */
  readonly #freeTasks: OwnerState[] = [];
  #escalations = 0;

  /** Bytes a LockManager of this shape needs at a placement. */
  static byteLengthFor(shape: LockManagerShape = {}): number {
    return tableByteLength(readShape(shape, 'options'));
  }

  constructor(options?: LockManagerOptions);
  /** @internal */
  constructor(options: typeof FROM_HANDLE, handle: unknown);
  constructor(options?: LockManagerOptions | typeof FROM_HANDLE, handle?: unknown) {
    assertOwnerIdFits();
    let shape: TableShape;
    let settings: ManagerSettings;
    let p;
    if (options === FROM_HANDLE) {
      const h = handle as Record<string, unknown>;
      p = attach('LockManager', handle, (hh) => tableByteLength(readShape(hh, 'handle')));
      shape = readShape(h, 'handle');
      const stored = readHeader(p.i32, p.base);
      if (
        stored.capacity !== shape.capacity ||
        stored.holderCapacity !== shape.holderCapacity ||
        stored.nameBytes !== shape.nameBytes ||
        stored.hashBits !== shape.hashBits ||
        stored.fifo !== shape.fifo
      ) {
        throw new TypeError('handle: its sizes or its fifo setting do not match the LockManager stored at its byteOffset');
      }
      settings = readSettings(h, 'handle');
    } else {
      if (options !== undefined && (options === null || typeof options !== 'object')) {
        throw new TypeError(`options must be an object, got ${describe(options)}`);
      }
      const o = options ?? {};
      shape = readShape(o, 'options');
      settings = readSettings(o, 'options');
      p = place('LockManager', tableByteLength(shape), o);
      initHeader(p.i32, p.base, shape);
    }
    super('LockManager', p);
    this.capacity = shape.capacity;
    this.holderCapacity = shape.holderCapacity;
    this.deadlockTimeout = settings.deadlockTimeout;
    this.escalationThreshold = settings.escalationThreshold;
    this.#shape = shape;
    this.#settings = settings;
    this.#t = new LockTable(p.i32, p.base, shape);
    this.#rq = new Requests(p.name, this.#t, settings.fastPath, settings.unsafeSkipTransfer, settings.escalationThreshold);
  }

  /** Attaches to the LockManager a handle describes (possibly another thread's). */
  static from(handle: LockManagerHandle): LockManager {
    return attachHandle(handle);
  }

  /** Plain structured-cloneable description; `LockManager.from(handle)` attaches to the same table. */
  override get handle(): LockManagerHandle {
    return {
      kind: 'LockManager',
      buffer: this.buffer,
      byteOffset: this.byteOffset,
      name: this.name,
      ...this.#shape,
      deadlockTimeout: this.deadlockTimeout,
      escalationThreshold: this.escalationThreshold,
      fastPath: this.#settings.fastPath,
      unsafeSkipTransfer: this.#settings.unsafeSkipTransfer,
    };
  }

  /** Escalations this thread performed (diagnostics). */
  get escalations(): number {
    return this.#escalations;
  }

  /**
   * A fresh owner (transaction) id, unique among every thread using this table and distinct from
   * every thread's default owner id.
   */
  newOwner(): number {
    return newOwnerId(this.#t);
  }

  /**
   * Locks `path` in `mode` (and the intention mode on each ancestor), blocking this thread until
   * granted. Throws TimeoutError, DeadlockError (its message names every edge of the cycle; its
   * `cycle` property lists them as {@link DeadlockEdge}s), CapacityError, or the signal's reason
   * (checked before blocking: a blocked thread cannot see its own signal abort; use
   * `acquireAsync` for abortable waits). On any error, nothing of this request stays held.
   */
  acquire(path: ResourcePath, mode: LockMode, options?: AcquireOptions): ResourceLock {
    const plan = this.#plan(path, mode, options, OWNER_ID, false);
    let i = 0;
    try {
      for (; i < plan.locks.length; i++) {
        const pd = this.#rq.startLevel(plan, i, false);
        if (pd !== GRANTED) waitSync(this.#rq, plan, i, pd as Pending);
      }
    } catch (err) {
      this.#unwind(plan, i);
      throw err;
    }
    return this.#finish(plan, mode);
  }

  /** Like `acquire`, but returns null at once instead of waiting. */
  tryAcquire(path: ResourcePath, mode: LockMode, options?: Pick<AcquireOptions, 'owner'>): ResourceLock | null {
    return this.#tryPlan(this.#plan(path, mode, options, 0, false), mode);
  }

  /**
   * @internal For Web Locks: an async task's request (an owner of its own, as `acquireAsync`
   * without `owner`) decided in this turn. Without `robbed`: granted, or null where it would wait
   * (`ifAvailable`). With `robbed` (an empty array): granted at once, the leaf's holders robbed of
   * their holds (`steal`); their (owner, home thread owner) pairs are pushed onto `robbed`.
   */
  _takeNow(path: ResourcePath, mode: LockMode, robbed?: number[]): ResourceLock | null {
    const plan = this.#plan(path, mode, undefined, 0, true);
    return this.#tryPlan(plan, mode, robbed);
  }

  /**
   * @internal For Web Locks: this view reopens the fast words of entries left without records
   * (table.ts "Fast words"); returns the table, whose `fastTake` / `fastRelease` / `fastHolds`
   * Web Locks calls for an exclusive request.
   */
  _fastWords(): LockTable {
    this.#t.fastWords = true;
    return this.#t;
  }

  /** @internal For Web Locks: the table key of the one-level path `[name]`. */
  _keyOfName(name: string): [number, number] {
    return keyOfState(hashPart(ROOT_HASH, name), this.#shape.hashBits);
  }

  /** @internal For Web Locks: holds in this table may be stolen (see `Requests.stealable`). */
  _stealsHappen(): void {
    this.#rq.stealable = true;
  }

  /** @internal For Web Locks: does `lock`'s owner still hold its path (not robbed by a steal)? */
  _stillHolds(lock: ResourceLock): boolean {
    return lock.held && this.#rq.holds(lock._leaf, lock.owner);
  }

  /** Takes every level of `plan` now or gives back what it took (null); `robbed`: steal the leaf. */
  #tryPlan(plan: Plan, mode: LockMode, robbed?: number[]): ResourceLock | null {
    let i = 0;
    try {
      for (; i < plan.locks.length; i++) {
        if (robbed !== undefined && i === plan.locks.length - 1) plan.robbed = robbed;
        if (this.#rq.startLevel(plan, i, true) !== GRANTED) {
          this.#unwind(plan, i);
          return null;
        }
      }
    } catch (err) {
      this.#unwind(plan, i);
      throw err;
    }
    return this.#finish(plan, mode);
  }

  /**
   * Like `acquire`, waiting on the event loop; rejects instead of throwing. Without `owner`, the
   * request is an owner of its own (an async task, id in `lock.owner`, reused by this thread
   * once released): it conflicts with every other request, this thread's included, as
   * `Mutex.lockAsync` does. Pass an `owner` (e.g. from `newOwner()`) to make several requests
   * one transaction.
   */
  async acquireAsync(path: ResourcePath, mode: LockMode, options?: AcquireOptions): Promise<ResourceLock> {
    const plan = this.#plan(path, mode, options, 0, true);
    let i = 0;
    let waiting: Pending | undefined;
    let unwound = false;
    const signal = plan.wait.signal;
    // An abort withdraws the waiting level and gives back the levels already taken in the
    // aborting turn, not when the rejection is delivered: a release may have handed the waiting
    // level over already (table.ts invariant 7), and the thread that aborted may block on one of
    // them next (it would wait for its own abandoned request). Not once the waiting level was
    // granted as its waiter sees it (it goes on, and fails at the next level's check of the signal).
    const onAbort =
      signal === undefined
        ? undefined
        : (): void => {
            if (waiting === undefined || waiting.granted === true || unwound) return;
            unwound = true;
            this.#rq.abandon(plan, i, waiting);
            this.#unwind(plan, i);
          };
    if (onAbort !== undefined) signal!.addEventListener('abort', onAbort, { once: true });
    try {
      for (; i < plan.locks.length; i++) {
        const pd = this.#rq.startLevel(plan, i, false);
        if (pd !== GRANTED) {
          waiting = pd as Pending;
          await waitAsync(this.#rq, plan, i, waiting);
          waiting = undefined;
        }
      }
    } catch (err) {
      if (!unwound) this.#unwind(plan, i);
      throw err;
    } finally {
      if (onAbort !== undefined) signal!.removeEventListener('abort', onAbort);
    }
    return this.#finish(plan, mode);
  }

  /** Releases what `acquire` returned (same as `handle.release()`). */
  release(lock: ResourceLock): void {
    if (!(lock instanceof ResourceLock)) throw new TypeError(`lock must be a ResourceLock, got ${describe(lock)}`);
    lock.release();
  }

  /**
   * Releases every lock `owner` holds and withdraws its pending requests, in the shared table;
   * returns how many (owner, resource) records and non-empty fast-path slots it removed. For the
   * owner-death layer (a worker died holding locks: pass its thread's owner id, `threadId + 1`)
   * and for ending a transaction owner. The owner's requests must not be running in other threads meanwhile; this thread's
   * handles of that owner become no-ops.
   */
  releaseAll(owner: number = OWNER_ID): number {
    checkOwner(owner, 'owner');
    const st = this.#owners.get(owner);
    if (st !== undefined) {
      st.closed = true;
      this.#owners.delete(owner);
    }
    return releaseOwner(this.#t, owner);
  }

  /**
   * A snapshot of every resource's holders and waiters. Owners found dead (their thread exited)
   * are released first and never shown.
   */
  query(): LockManagerSnapshot {
    return query(this.#t);
  }

  // ---- planning ---------------------------------------------------------------------------------

  /**
   * `blocks`: this thread's owner id for a blocking acquire (it stops the thread), else 0.
   * `task`: an acquireAsync, which without `owner` gets an owner of its own (docs/lock-manager.md).
   */
  #plan(path: ResourcePath, mode: LockMode, options: AcquireOptions | undefined, blocks: number, task: boolean): Plan {
    checkPath(path);
    const m = parseMode(mode);
    const wait = parseWaitOptions(options);
    const o = options ?? {};
    const explicit = o.owner === undefined ? undefined : checkOwner(o.owner, 'options.owner');
    const dl = o.deadlockTimeout === undefined ? this.deadlockTimeout : readDeadlockTimeout(o.deadlockTimeout, 'options.deadlockTimeout');
    if (wait.signal?.aborted) throw abortReason(wait.signal);
    let state: OwnerState | undefined;
    if (explicit === undefined && task) {
      // An async task: an owner of its own, ended when its handle is released or it fails.
      state = this.#freeTasks.pop() ?? new OwnerState(this.newOwner(), OWNER_ID);
      this.#owners.set(state.owner, state);
    } else {
      const owner = explicit ?? OWNER_ID;
      state = this.#owners.get(owner);
      if (state === undefined) this.#owners.set(owner, (state = new OwnerState(owner)));
    }
    const leaf = localLockOf(state, path, this.#shape.hashBits, this.escalationThreshold);
    // Per-path and per-(depth, mode) arrays are built once and shared (never mutated).
    return { state, owner: state.owner, locks: leaf.chain, modes: modesFor(path.length, m), wait, deadlockTimeout: dl, blocks };
  }

  #finish(plan: Plan, mode: LockMode): ResourceLock {
    const leaf = plan.locks[plan.locks.length - 1]!;
    const parent = leaf.parent;
    if (parent !== undefined && this.escalationThreshold > 0 && parent.children.length >= parent.nextEscalationAt) {
      if (parent.escMode < 0) {
        if (tryEscalate(this.#rq, plan.state, parent)) this.#escalations++;
      } else {
        extendEscalation(this.#rq, plan.state, parent);
      }
    }
    return new ResourceLock(this, mode, plan.state, plan.locks, plan.modes);
  }

  // ---- releasing --------------------------------------------------------------------------------

  /** A request failed at level i: give back levels below it, drop the unused bookkeeping above. */
  #unwind(plan: Plan, i: number): void {
    for (let j = plan.locks.length - 1; j >= i; j--) forget(plan.state, plan.locks[j]!);
    this._releaseLevels(plan.state, plan.locks, plan.modes, i);
  }

  /** @internal releases levels upto-1 … 0 of one acquisition; false if a hold was gone from the table. */
  _releaseLevels(st: OwnerState, locks: readonly LocalLock[], modes: readonly number[], upto: number): boolean {
    if (st.closed) return false;
    // An async task's owner lives for one request: released or failed, it is over (its id is
    // reused below, once this release has removed everything it held).
    const taskOver = st.home !== 0;
    if (taskOver) this.#owners.delete(st.owner);
    let found = true;
    for (let i = upto - 1; i >= 0; i--) if (!this.#rq.releaseLevel(st, locks[i]!, modes[i]!)) found = false;
    if (taskOver) this.#freeTasks.push(st);
    return found;
  }
}

/**
 * `LockManager.from`, written outside the class body: a class that names itself in its own body is
 * bundled as `_LockManager` (its name in stack traces; tsup.config.ts).
 */
function attachHandle(handle: LockManagerHandle): LockManager {
  return new LockManager(FROM_HANDLE, handle);
}

releaseLevels = (lm, st, locks, modes, upto) => lm._releaseLevels(st, locks, modes, upto);
