/**
 * `LockManager`: multi-granularity locking (Gray et al. 1976) over a resource tree named by paths,
 * with everything in one SharedArrayBuffer so any worker can lock any resource.
 *
 * - The shared table (entries, records, wait queues, partition locks) is `table.ts`; the modes and
 *   their compatibility matrix are `modes.ts`; waits-for cycle search is `deadlock.ts`; options
 *   and handle fields are `options.ts`; owner ids and dead owners `owners.ts`; `query()`
 *   snapshots `query.ts`.
 * - `acquire(path, mode)` takes the intention mode (IS for IS/S, IX otherwise) on every proper
 *   prefix of `path`, root first, then `mode` on `path`; releasing goes leaf first. Each level is
 *   one short critical section on that entry's partition lock; no partition lock is held while
 *   waiting, and none across two levels.
 * - IS and IX go through the fast path (`fastpath.ts`, after PostgreSQL's): a slot in the owner's
 *   group instead of the main table, unless a strong request (S, SIX, U, X) on that key exists.
 *   A strong request raises its key's strong counter and moves that key's fast-path holds into
 *   the main table before it takes its own turn there (`#attemptCounted`); the table lowers the
 *   counter when the strong hold or wait leaves it. Conversions and escalations need nothing
 *   special: the owner's own fast-path holds are moved into its record first, and an owner never
 *   conflicts with itself. The deadlock checker sees only the main table, which is enough: a
 *   fast-path hold blocks only strong requests, and those have moved it into the table before
 *   they wait (fastpath.ts, invariant 2).
 * - A request by an owner that already holds something on the resource is a conversion: the
 *   record's held mask gains the new mode (so the effective mode is the least upper bound,
 *   IX ⊔ S = SIX), counted per mode so each handle releases exactly what it took.
 * - Waiting: FIFO by ticket per entry (table.ts, invariant 4); a waiter sleeps on the entry's
 *   futex word, is woken by any release or withdrawal there (or a first grant to its own
 *   owner's record, table.ts invariant 5) or after an owner-death slice, and re-checks. After
 *   `deadlockTimeout` ms (and every `deadlockTimeout` after that) it searches the waits-for graph.
 * - Escalation (SQL Server's lock escalation): this thread's bookkeeping counts, per owner and
 *   parent, the distinct child resources held through it. Past `escalationThreshold` it tries,
 *   without waiting and without overtaking another owner's queued request, to take S (if every
 *   fine lock below is IS/S) or X on the parent; on success it releases the fine locks' shared
 *   records. Later requests below it are taken in the table as usual; each time `threshold` of
 *   them accumulate, they are folded into the escalation too, unless another owner waits on the
 *   parent. So the coarse hold is dropped when the last handle it replaced is released, and
 *   while someone waits for the parent that happens within the fine locks already replaced,
 *   however many come after (issue 13, item 4). A failed try is retried after `threshold / 4`
 *   more fine locks.
 *
 * ## Invariant
 * A request that fails (timeout, abort, deadlock, capacity) leaves no trace: levels already taken
 * are given back leaf first, bookkeeping created for it is dropped. The per-thread bookkeeping
 * (`OwnerState`, `LocalLock`) and its invariants are `local.ts`.
 *
 * ## Memory ordering
 * This file touches shared memory only through `table.ts`, inside partition critical sections,
 * and sleeps on the entry futex word that `table.ts` bumps (see its CORRECTNESS note). The
 * bookkeeping here is thread-local, plain JS.
 *
 * ## Owners and owner death (docs/lock-manager.md)
 * Blocking calls default to the thread's owner; each `acquireAsync` without `owner` is an owner
 * of its own (`OwnerState.home` = this thread; its records carry it in R_HOME, and it never uses
 * the fast path). Waiters sleep in `ROBUST_SLICE_MS` slices and release every owner on their
 * entry whose thread (or whose task's thread) has died (`#reapDeadOn`); `query()` does the same
 * for every owner it sees.
 *
 * ## Invalid use
 * Releasing a handle twice does nothing. Using an owner id from two threads at once is allowed
 * (they share holds) but escalation bookkeeping is per thread. `releaseAll(owner)` while that
 * owner has requests in flight makes those requests fail with `LockError` (`ERR_LOCK_STATE`).
 */
import { OWNER_ID, assertOwnerIdFits } from '../core/thread.js';
import { attach, describe, place } from '../core/layout.js';
import { deadlineAfter, isOver, parseWaitOptions, passed, type ParsedWait } from '../core/futex.js';
import { park, parkAsync, type Parking } from '../core/park.js';
import { abortReason, CapacityError, DeadlockError, LockError, TimeoutError } from '../core/errors.js';
import { checkPath, keyHex, type ResourcePath } from './hash.js';
import { IS, IX, MODE_COUNT, MODE_NAMES, parseMode, S, X, type LockMode } from './modes.js';
import { initHeader, LockTable, NO_ENTRY, R_OWNER, R_WAIT, readHeader, tableByteLength, type TableShape } from './table.js';
import { describeCycle, findCycle, type DeadlockEdge } from './deadlock.js';
import { sliceDeadline } from '../core/owner-death.js';
import { isStrong, type FastPath } from './fastpath.js';
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
import { checkOwner, deadRecord, newOwnerId, releaseOwner } from './owners.js';
import { forget, leaveParent, localLockOf, modesFor, noteShared, OwnerState, type LocalLock } from './local.js';
import { entryName, query, type LockManagerSnapshot } from './query.js';

export type { LockMode } from './modes.js';
export type { PathPart, ResourcePath } from './hash.js';
export type { DeadlockEdge } from './deadlock.js';
export type { AcquireOptions, LockManagerHandle, LockManagerOptions, LockManagerShape } from './options.js';
export type { LockHolderInfo, LockManagerSnapshot, LockResourceInfo, LockWaiterInfo } from './query.js';

const FROM_HANDLE = Symbol('fromHandle');

/** A request parked on one level. */
interface Pending {
  e: number;
  r: number;
  /** 0: another request of the same owner already waits on this record; retry from scratch. */
  ticket: number;
  seq: number;
}

const GRANTED = 1;
const REFUSED = 0;
/** #attemptOnce: a pool looked empty (nothing changed); drain the partitions' free lists and retry. */
const POOL_EMPTY = 2;

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
  /** True until released (or until `releaseAll(owner)` ran in this thread). */
  get held(): boolean {
    return this.#lm !== undefined && !this.#state.closed;
  }
  /** Releases every level this acquisition took, leaf first. */
  release(): void {
    const lm = this.#lm;
    if (lm === undefined) return;
    this.#lm = undefined;
    if (this.#state.closed) return;
    releaseLevels(lm, this.#state, this.#locks, this.#modes, this.#locks.length);
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
let releaseLevels: (lm: LockManager, st: OwnerState, locks: readonly LocalLock[], modes: readonly number[], upto: number) => void;

/**
 * A hierarchical lock manager in shared memory: IS/IX/S/SIX/U/X locks on resource paths,
 * intention locks on ancestors, FIFO queues, deadlock detection, escalation.
 */
export class LockManager {
  /** Required alignment of `byteOffset`. */
  static readonly BYTE_ALIGNMENT = 4;

  /** Lock class name; shared through the handle. */
  readonly name: string;
  /** The buffer this lock manager lives in. */
  readonly buffer: SharedArrayBuffer;
  /** Byte offset of this lock manager (its tag word) in `buffer`. */
  readonly byteOffset: number;
  /** Most distinct resources held or waited on at once. */
  readonly capacity: number;
  /** Most (owner, resource) pairs held or waited on at once. */
  readonly holderCapacity: number;
  /** Default deadlock check delay in ms. */
  readonly deadlockTimeout: number;
  /** Fine locks under one parent before escalation (0 = never). */
  readonly escalationThreshold: number;
  readonly #shape: TableShape;
  readonly #t: LockTable;
  readonly #fp: FastPath;
  readonly #useFastPath: boolean;
  readonly #skipTransfer: boolean;
  readonly #move: (owner: number, lo: number, hi: number, isCount: number, ixCount: number, nameByte: number) => void;
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
        stored.hashBits !== shape.hashBits
      ) {
        throw new TypeError('handle: its sizes do not match the LockManager stored at its byteOffset');
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
    this.name = p.name;
    this.buffer = p.buffer;
    this.byteOffset = p.byteOffset;
    this.capacity = shape.capacity;
    this.holderCapacity = shape.holderCapacity;
    this.deadlockTimeout = settings.deadlockTimeout;
    this.escalationThreshold = settings.escalationThreshold;
    this.#shape = shape;
    this.#t = new LockTable(p.i32, p.base, shape);
    this.#fp = this.#t.fp;
    this.#useFastPath = settings.fastPath;
    this.#skipTransfer = settings.unsafeSkipTransfer;
    this.#move = (owner, lo, hi, isN, ixN, nameByte) => this.#moveSlot(owner, lo, hi, isN, ixN, nameByte);
  }

  /** Attaches to the LockManager a handle describes (possibly another thread's). */
  static from(handle: LockManagerHandle): LockManager {
    return new LockManager(FROM_HANDLE, handle);
  }

  /** Plain structured-cloneable description; `LockManager.from(handle)` attaches to the same table. */
  get handle(): LockManagerHandle {
    return {
      kind: 'LockManager',
      buffer: this.buffer,
      byteOffset: this.byteOffset,
      name: this.name,
      ...this.#shape,
      deadlockTimeout: this.deadlockTimeout,
      escalationThreshold: this.escalationThreshold,
      fastPath: this.#useFastPath,
      unsafeSkipTransfer: this.#skipTransfer,
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
        const pd = this.#startLevel(plan, i, false);
        if (pd !== GRANTED) this.#waitSync(plan, i, pd as Pending);
      }
    } catch (err) {
      this.#unwind(plan, i);
      throw err;
    }
    return this.#finish(plan, mode);
  }

  /** Like `acquire`, but returns null at once instead of waiting. */
  tryAcquire(path: ResourcePath, mode: LockMode, options?: Pick<AcquireOptions, 'owner'>): ResourceLock | null {
    const plan = this.#plan(path, mode, options, 0, false);
    let i = 0;
    try {
      for (; i < plan.locks.length; i++) {
        if (this.#startLevel(plan, i, true) !== GRANTED) {
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
    try {
      for (; i < plan.locks.length; i++) {
        const pd = this.#startLevel(plan, i, false);
        if (pd !== GRANTED) await this.#waitAsync(plan, i, pd as Pending);
      }
    } catch (err) {
      this.#unwind(plan, i);
      throw err;
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
   * The owner-death hook: releases every owner holding or waiting on L's entry whose thread has
   * died (`isDeadOwner`), everywhere in the table. Returns true if it released anyone (then the
   * entry's waiters were woken by the releases). Takes L's partition lock; caller holds none.
   */
  #reapDeadOn(L: LocalLock): boolean {
    const t = this.#t;
    let dead: number[] | undefined;
    const p = t.partitionOf(L.lo);
    t.lockPartitionRead(p); // a read-only look (table.ts S_READER)
    try {
      const e = t.findEntry(L.lo, L.hi);
      if (e >= 0) {
        t.forEachRecord(e, (r) => {
          if (deadRecord(t, r)) (dead ??= []).push(t.field(r, R_OWNER));
        });
      }
    } finally {
      t.unlockPartitionRead(p);
    }
    if (dead === undefined) return false;
    // A dead thread runs no more requests: releaseOwnerRecords' precondition holds.
    for (const o of dead) releaseOwner(this.#t, o);
    return true;
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
      if (parent.escMode < 0) this.#tryEscalate(plan.state, parent);
      else this.#extendEscalation(plan.state, parent);
    }
    return new ResourceLock(this, mode, plan.state, plan.locks, plan.modes);
  }

  // ---- one level --------------------------------------------------------------------------------

  /** Takes level i at once (GRANTED), or fails (REFUSED, only if tryOnly), or queues (Pending). */
  #startLevel(plan: Plan, i: number, tryOnly: boolean): Pending | typeof GRANTED | typeof REFUSED {
    if (plan.state.closed) throw releasedWhileWaiting(plan);
    const L = plan.locks[i]!;
    const mode = plan.modes[i]!;
    // No request is covered by an escalation hold at once: it goes to the table, and is folded
    // into the escalation later only while nobody waits for the parent (#extendEscalation), so
    // the coarse hold can end (issue 13, item 4: a walker kept its table lock for good).
    // Not for async tasks: a fast-path slot does not say which thread runs its owner (R_HOME).
    if (mode <= IX && this.#useFastPath && plan.state.home === 0 && this.#fp.tryWeak(plan.owner, L, mode)) {
      noteShared(L, mode);
      L.fast[mode]!++;
      return GRANTED;
    }
    let pd = this.#attemptCounted(L, mode, plan, tryOnly);
    // Refused, maybe only because of a dead owner's hold or queued wait: reap it and try again.
    if (pd === REFUSED && this.#reapDeadOn(L)) pd = this.#attemptCounted(L, mode, plan, tryOnly);
    if (pd === GRANTED) noteShared(L, mode);
    return pd;
  }

  /**
   * `#attempt`, plus the strong-counter protocol of fastpath.ts for a strong mode: raise the
   * key's counter and move the key's fast-path holds into the main table first; lower it again
   * if the request did not become a hold or a queued wait (which own the raise from then on, and
   * lower it in table.ts when they leave the record).
   */
  #attemptCounted(L: LocalLock, mode: number, req: Requester, tryOnly: boolean): Pending | typeof GRANTED | typeof REFUSED {
    if (!isStrong(mode)) return this.#attempt(L, mode, req, tryOnly);
    this.#strongBegin(L);
    let pd: Pending | typeof GRANTED | typeof REFUSED;
    try {
      pd = this.#attempt(L, mode, req, tryOnly);
    } catch (err) {
      this.#fp.strongEnd(L.ctr, 1);
      throw err;
    }
    // REFUSED: tidied away. ticket 0: sleeps without a queue slot, raises again when it retries.
    if (pd === REFUSED || (pd !== GRANTED && pd.ticket === 0)) this.#fp.strongEnd(L.ctr, 1);
    return pd;
  }

  /** Raises L's strong counter, then moves every fast-path hold on L's key into the main table. */
  #strongBegin(L: LocalLock): void {
    this.#fp.strongBegin(L.ctr);
    if (this.#skipTransfer) return;
    try {
      this.#fp.transfer(L.lo, L.hi, L.ctr, this.#move);
    } catch (err) {
      this.#fp.strongEnd(L.ctr, 1);
      throw err;
    }
  }

  /**
   * Moves one fast-path slot's holds into the main table as `owner`'s record (group lock held by
   * the caller: group → partition is the allowed order). CapacityError if the table is full.
   */
  #moveSlot(owner: number, lo: number, hi: number, isN: number, ixN: number, nameByte: number): void {
    if (this.#moveSlotOnce(owner, lo, hi, isN, ixN, nameByte)) return;
    // Pools look empty: refill from the partitions' free lists and retry once (as #attempt does).
    this.#t.drainFreeLists();
    if (this.#moveSlotOnce(owner, lo, hi, isN, ixN, nameByte)) return;
    throw new CapacityError(
      `${this.name}: lock table full: cannot move a fast-path hold of owner ${owner} on ${this.#t.nameAt(nameByte) || keyHex(lo, hi)} into the table for a strong request`,
    );
  }

  /** One critical section of #moveSlot; false if a pool was empty (nothing changed). */
  #moveSlotOnce(owner: number, lo: number, hi: number, isN: number, ixN: number, nameByte: number): boolean {
    const t = this.#t;
    const p = t.partitionOf(lo);
    t.lockPartition(p);
    try {
      const r = t.findOrCreateRecord(lo, hi, owner, t.nameAt(nameByte));
      if (r < 0) return false;
      const e = t.entryOf(r);
      if (isN > 0) t.grant(e, r, IS, isN);
      if (ixN > 0) t.grant(e, r, IX, ixN);
      // The owner's own queued request here may now count as a conversion (invariant 4).
      t.bump(e);
      return true;
    } finally {
      t.unlockPartition(p);
    }
  }

  /**
   * One critical section: find or create entry and record, grant or queue. If the pools look
   * empty, moves the partitions' free lists to the global pool (no partition lock held) and
   * tries once more before a CapacityError.
   */
  #attempt(L: LocalLock, mode: number, req: Requester, tryOnly: boolean): Pending | typeof GRANTED | typeof REFUSED {
    const got = this.#attemptOnce(L, mode, req, tryOnly, false);
    if (got !== POOL_EMPTY) return got;
    this.#t.drainFreeLists();
    return this.#attemptOnce(L, mode, req, tryOnly, true) as Pending | typeof GRANTED | typeof REFUSED;
  }

  #attemptOnce(
    L: LocalLock,
    mode: number,
    req: Requester,
    tryOnly: boolean,
    last: boolean,
  ): Pending | typeof GRANTED | typeof REFUSED | typeof POOL_EMPTY {
    const t = this.#t;
    const p = t.partitionOf(L.lo);
    t.lockPartition(p);
    try {
      const r = t.findOrCreateRecord(L.lo, L.hi, req.owner, L.text, req.state.home);
      if (r < 0) {
        if (!last) return POOL_EMPTY;
        throw new CapacityError(
          r === NO_ENTRY
            ? `${this.name}: lock table full: ${this.capacity} resources are held or waited on (capacity); cannot lock ${L.text}`
            : `${this.name}: lock table full: ${this.holderCapacity} (owner, resource) pairs are held or waited on (holderCapacity); cannot lock ${L.text}`,
        );
      }
      const e = t.entryOf(r);
      // An escalation does not jump the queue (as a conversion it would), so a waiter gets in.
      const overtakes = req.polite === true && t.othersWaiting(e, r) > 0;
      if (!overtakes && t.grantable(e, r, mode)) {
        t.grant(e, r, mode);
        return GRANTED;
      }
      if (tryOnly) {
        t.tidy(e, r);
        return REFUSED;
      }
      if (t.field(r, R_WAIT) !== 0) {
        // Another request of this owner already waits on this resource: sleep on the entry and
        // start over when it moves (that request's grant or withdrawal changes the word).
        return { e, r, ticket: 0, seq: t.seq(e) };
      }
      const ticket = t.enqueue(e, r, mode, req.blocks);
      return { e, r, ticket, seq: t.seq(e) };
    } finally {
      t.unlockPartition(p);
    }
  }

  /** After a wake: GRANTED, or still waiting (pd.seq refreshed). Throws if the wait was removed. */
  #poll(plan: Plan, i: number, pd: Pending): boolean {
    const L = plan.locks[i]!;
    const mode = plan.modes[i]!;
    if (pd.ticket === 0) {
      // Retry from scratch (see #attempt), strong counter and transfer included.
      const again = this.#attemptCounted(L, mode, plan, false);
      if (again === GRANTED) {
        noteShared(L, mode);
        return true;
      }
      Object.assign(pd, again);
      return false;
    }
    const t = this.#t;
    const p = t.partitionOf(L.lo);
    // Read-only unless it grants (#grantQueued marks the change): a waiter terminated while it
    // polls leaves nothing torn (table.ts S_READER).
    t.lockPartitionRead(p);
    try {
      if (this.#grantQueued(plan, L, mode, pd)) return true;
      pd.seq = t.seq(pd.e);
      return false;
    } finally {
      t.unlockPartitionRead(p);
    }
  }

  /**
   * With the request's partition (or all partitions) locked: grants the queued request `pd` if it
   * can be granted now. Throws if the request was removed while it waited (releaseAll).
   */
  #grantQueued(plan: Plan, L: LocalLock, mode: number, pd: Pending): boolean {
    const t = this.#t;
    if (!t.isWaiting(pd.e, pd.r, plan.owner, pd.ticket)) throw releasedWhileWaiting(plan);
    if (!t.grantable(pd.e, pd.r, mode)) return false;
    // From here the partition changes: no longer a read-only pass (table.ts S_READER).
    t.markWriting(t.partitionOf(L.lo));
    t.dequeue(pd.e, pd.r, true);
    t.grant(pd.e, pd.r, mode);
    // Let a same-owner request sleeping on this entry (ticket 0) retry.
    t.bump(pd.e);
    noteShared(L, mode);
    return true;
  }

  /** Withdraws a queued request (timeout, abort); wakes the waiters behind it. */
  #abandon(plan: Plan, i: number, pd: Pending): void {
    if (pd.ticket === 0) return;
    const t = this.#t;
    const p = t.partitionOf(plan.locks[i]!.lo);
    t.lockPartition(p);
    try {
      if (t.isWaiting(pd.e, pd.r, plan.owner, pd.ticket)) {
        t.dequeue(pd.e, pd.r);
        // Leaving the queue may unblock the waiters behind us (invariant 5).
        t.bump(pd.e);
        t.tidy(pd.e, pd.r);
      }
    } finally {
      t.unlockPartition(p);
    }
  }

  /**
   * The deadlock check (all partitions locked): grants if possible, else fails the request with a
   * DeadlockError if a waits-for cycle runs through its owner. Returns true if granted.
   */
  #checkDeadlock(plan: Plan, i: number, pd: Pending): boolean {
    const t = this.#t;
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
        edges = findCycle(t, plan.owner, { e: pd.e, r, mode }, (e) => this.#nameOf(e));
        // The victim has no queue slot to leave (and gave its strong-counter unit back already).
      } else {
        if (this.#grantQueued(plan, L, mode, pd)) return true;
        edges = findCycle(t, plan.owner, { e: pd.e, r: pd.r, mode }, (e) => this.#nameOf(e));
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
      `${this.name}: deadlock: ${describeCycle(edges)}; the request of owner ${plan.owner} for ` +
        `${MODE_NAMES[mode]} on ${L.text} was chosen as the victim`,
      edges,
      this.name,
    );
  }

  /** Waits (blocking) until the queued request `pd` at level i is granted; throws, withdrawn, if not. */
  #waitSync(plan: Plan, i: number, pd: Pending): void {
    let granted: boolean;
    try {
      granted = park(this.#t.a, this.#parking(plan, i, pd), plan.wait.deadline);
    } catch (e) {
      throw this.#outOfService(plan, i, pd, e);
    }
    // park gave up at the deadline and withdrew the request (giveUp).
    if (!granted) throw new TimeoutError(this.#waitName(plan, i), plan.wait.timeout ?? 0);
  }

  /** `#waitSync` on the event loop: rejects (withdrawn) on timeout, abort or deadlock. */
  async #waitAsync(plan: Plan, i: number, pd: Pending): Promise<void> {
    try {
      await parkAsync(this.#t.a, this.#parking(plan, i, pd), plan.wait, this.#waitName(plan, i));
    } catch (e) {
      throw this.#outOfService(plan, i, pd, e);
    }
  }

  /** What a TimeoutError of a wait at level i names: the manager and the resource. */
  #waitName(plan: Plan, i: number): string {
    return `${this.name} ${plan.locks[i]!.text}`;
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
  #parking(plan: Plan, i: number, pd: Pending): Parking {
    const t = this.#t;
    const L = plan.locks[i]!;
    let nextCheck = deadlineAfter(plan.deadlockTimeout);
    return {
      // pd.e may change when a ticket-0 request retries from scratch (#poll).
      get index() {
        return t.seqIndex(pd.e);
      },
      attempt: (parked) => {
        // CORRECTNESS: pd.seq was read under the partition lock; any change since then bumped the
        // word, so the sleep on it returns 'not-equal' instead of sleeping through it. Just
        // queued, the request sleeps first; if its wait is over already, it polls once more.
        if (!parked && !isOver(plan.wait)) return pd.seq;
        while (!this.#poll(plan, i, pd)) {
          // A dead owner's hold or wait here was released: look again at once.
          if (this.#reapDeadOn(L)) continue;
          // Timed out or aborted: the parking loop gives up before any deadlock check. (A blocked
          // thread's signal cannot abort: acquire checked it before blocking.)
          if (isOver(plan.wait) || !passed(nextCheck)) return pd.seq;
          if (this.#checkDeadlock(plan, i, pd)) return null;
          nextCheck = deadlineAfter(plan.deadlockTimeout);
          return pd.seq;
        }
        return null;
      },
      // One owner-death slice at most, and no later than the next deadlock check.
      sleepUntil: (deadline) => sliceDeadline(Math.min(deadline, nextCheck)),
      giveUp: () => this.#abandon(plan, i, pd),
    };
  }

  /**
   * A wait failed because an internal word was refused (a thread died inside a table update:
   * raw/mutex.ts lockWord): withdraw the request where that still works, so that it leaves no
   * queue slot behind. Returns the error to throw.
   */
  #outOfService(plan: Plan, i: number, pd: Pending, e: unknown): unknown {
    if (e instanceof LockError && e.code === 'ERR_LOCK_BROKEN') {
      try {
        this.#abandon(plan, i, pd);
      } catch {
        // The request's own partition is the refused one: nothing more can be done there.
      }
    }
    return e;
  }

  // ---- releasing --------------------------------------------------------------------------------

  /** A request failed at level i: give back levels below it, drop the unused bookkeeping above. */
  #unwind(plan: Plan, i: number): void {
    for (let j = plan.locks.length - 1; j >= i; j--) forget(plan.state, plan.locks[j]!);
    this._releaseLevels(plan.state, plan.locks, plan.modes, i);
  }

  /** Gives back `n` acquisitions of `mode` on L's shared record. */
  #sharedRelease(L: LocalLock, owner: number, mode: number, n: number): void {
    const t = this.#t;
    const p = t.partitionOf(L.lo);
    t.lockPartition(p);
    try {
      const e = t.findEntry(L.lo, L.hi);
      if (e < 0) return; // removed by releaseAll
      const r = t.findRecord(e, owner);
      if (r < 0) return;
      // Wakes the entry's waiters if a mode left the hold (invariant 5).
      t.ungrant(e, r, mode, n);
      t.tidy(e, r);
    } finally {
      t.unlockPartition(p);
    }
  }

  /** @internal releases levels upto-1 … 0 of one acquisition. */
  _releaseLevels(st: OwnerState, locks: readonly LocalLock[], modes: readonly number[], upto: number): void {
    if (st.closed) return;
    // An async task's owner lives for one request: released or failed, it is over (its id is
    // reused below, once this release has removed everything it held).
    const taskOver = st.home !== 0;
    if (taskOver) this.#owners.delete(st.owner);
    for (let i = upto - 1; i >= 0; i--) {
      const L = locks[i]!;
      const m = modes[i]!;
      if (L.shared[m]! > 0) {
        if (m <= IX && L.fast[m]! > 0) {
          L.fast[m]!--;
          // From the slot; if a strong request moved it, from the main table (fastpath.ts, invariant 3).
          if (!this.#fp.releaseWeak(st.owner, L, m)) this.#sharedRelease(L, st.owner, m, 1);
        } else {
          this.#sharedRelease(L, st.owner, m, 1);
        }
        L.shared[m]!--;
        if (--L.sharedTotal === 0) leaveParent(L);
      } else if (L.esc > 0) {
        L.esc--;
        const C = L.coveredBy!;
        if (--C.escRefsBelow === 0 && C.escMode >= 0) {
          this.#sharedRelease(C, st.owner, C.escMode, 1);
          C.escMode = -1;
          C.nextEscalationAt = this.escalationThreshold;
          forget(st, C);
        }
      }
      forget(st, L);
    }
    if (taskOver) this.#freeTasks.push(st);
  }

  // ---- escalation -------------------------------------------------------------------------------

  #tryEscalate(st: OwnerState, P: LocalLock): void {
    // X if anything below was taken for writing (it put IX on P), else S.
    const target = P.shared[IX]! > 0 ? X : S;
    let got: unknown;
    try {
      got = this.#attemptCounted(P, target, { owner: st.owner, state: st, blocks: 0, polite: true }, true);
    } catch {
      got = REFUSED;
    }
    if (got !== GRANTED) {
      // Like SQL Server: try again after more fine locks.
      P.nextEscalationAt = P.children.length + Math.max(1, this.escalationThreshold >> 2);
      return;
    }
    P.escMode = target;
    this.#coverChildren(st, P);
    this.#escalations++;
  }

  /**
   * Fine locks keep coming below an escalated parent: fold them into the escalation too (so the
   * table holds at most about `threshold` of them per parent), unless another owner waits on
   * the parent. Then they stay fine locks, and the coarse hold ends when the fine locks it
   * already replaced are released: it never outlasts them while someone waits for it.
   */
  #extendEscalation(st: OwnerState, P: LocalLock): void {
    // Writes below an S escalation (IX on P since) are not covered by it: leave them fine.
    const covered = P.escMode === X || P.shared[IX] === 0;
    if (!covered || this.#othersWaitOn(P, st.owner)) {
      P.nextEscalationAt = P.children.length + Math.max(1, this.escalationThreshold >> 2);
      return;
    }
    this.#coverChildren(st, P);
    P.nextEscalationAt = this.escalationThreshold;
  }

  /** True if an owner other than `owner` (which has a record there) waits on P's entry. */
  #othersWaitOn(P: LocalLock, owner: number): boolean {
    const t = this.#t;
    const p = t.partitionOf(P.lo);
    t.lockPartition(p);
    try {
      const e = t.findEntry(P.lo, P.hi);
      const r = e < 0 ? -1 : t.findRecord(e, owner);
      return r >= 0 && t.othersWaiting(e, r) > 0;
    } finally {
      t.unlockPartition(p);
    }
  }

  /** The escalation hold on P replaces P's children's shared acquisitions (it covers them all). */
  #coverChildren(st: OwnerState, P: LocalLock): void {
    for (const C of P.children) {
      let n = 0;
      for (let m = 0; m < MODE_COUNT; m++) {
        const c = C.shared[m]!;
        if (c === 0) continue;
        let inTable = c;
        if (m <= IX) {
          for (; C.fast[m]! > 0; C.fast[m]!--) if (this.#fp.releaseWeak(st.owner, C, m)) inTable--;
        }
        if (inTable > 0) this.#sharedRelease(C, st.owner, m, inTable);
        C.shared[m] = 0;
        n += c;
      }
      C.sharedTotal = 0;
      C.esc += n;
      C.coveredBy = P;
      P.escRefsBelow += n;
    }
    for (const C of P.children) C.childAt = -1;
    P.children.length = 0;
  }

  #nameOf(e: number): string {
    return entryName(this.#t, e);
  }
}

releaseLevels = (lm, st, locks, modes, upto) => lm._releaseLevels(st, locks, modes, upto);

/** What #attempt needs of a request: its owner, the owner's state (R_HOME), whether it blocks its thread. */
type Requester = Pick<Plan, 'owner' | 'state' | 'blocks'> & {
  /** Escalation: refused while another owner waits on the resource (no overtaking by conversion). */
  polite?: boolean;
};

interface Plan {
  state: OwnerState;
  /** This thread's owner id if the request blocks the thread (acquire), else 0 (R_BLOCKS). */
  blocks: number;
  owner: number;
  locks: readonly LocalLock[];
  modes: readonly number[];
  wait: ParsedWait;
  deadlockTimeout: number;
}

function releasedWhileWaiting(plan: Plan): LockError {
  return new LockError('ERR_LOCK_STATE', `owner ${plan.owner}: releaseAll() ran while this request was in flight`);
}
