/**
 * `LockManager`: multi-granularity locking (Gray et al. 1976) over a resource tree named by paths,
 * with everything in one SharedArrayBuffer so any worker can lock any resource.
 *
 * - The shared table (entries, records, wait queues, partition locks) is `table.ts`; the modes and
 *   their compatibility matrix are `modes.ts`; waits-for cycle search is `deadlock.ts`.
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
 * ## Local bookkeeping (per thread, per owner)
 * `LocalLock` (one per path an owner holds through this thread) counts, per mode, the
 * acquisitions it added to the shared record (`shared`) and those an escalation replaced
 * (`esc`); `fast[IS]`, `fast[IX]` say how many of `shared[IS]`, `shared[IX]` went through the fast
 * path (a release of one of those looks in the owner's slot first, then in the main table, where
 * a strong request may have moved it). A handle remembers (lock, mode) per level; releasing a level takes back one shared
 * acquisition of that mode if there is one, else one replaced acquisition. Both kinds of one
 * mode on one path stand for one acquisition each, so which handle gives back which does not
 * matter: the totals stay right, and the coarse hold goes with the last replaced one.
 *
 * ## Invariants (per thread and owner)
 * 1. For each path, `shared[m]` = the acquisitions of mode m this thread's live handles added to
 *    the owner's shared record; the shared record's count may be larger (other threads using the
 *    same owner id) but never smaller, unless `releaseAll(owner)` ran (then the state is closed
 *    and every handle of it is a no-op).
 * 2. A lock is in its parent's `children` iff its `sharedTotal > 0`.
 * 3. `escMode ≥ 0` ⇔ this thread holds one extra acquisition of `escMode` on the shared record
 *    for an escalation, and `escRefsBelow` > 0 counts the covered acquisitions below it.
 * 4. A request that fails (timeout, abort, deadlock, capacity) leaves no trace: levels already
 *    taken are given back leaf first, bookkeeping created for it is dropped.
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
import { attach, describe, place, readBoolean, type Handle, type PlacementOptions } from '../core/layout.js';
import { checkTimeout, deadlineAfter, isOver, parseWaitOptions, passed, type ParsedWait, type WaitOptions } from '../core/futex.js';
import { park, parkAsync, type Parking } from '../core/park.js';
import { abortReason, CapacityError, DeadlockError, LockError, TimeoutError } from '../core/errors.js';
import { checkPath, hashPart, keyHex, keyOfState, partText, ROOT_HASH, type HashState, type PathPart, type ResourcePath } from './hash.js';
import { intentionFor, IS, IX, lubOfMask, maskNames, MODE_COUNT, MODE_NAMES, parseMode, S, X, type LockMode } from './modes.js';
import {
  H_OWNER_SEQ,
  initHeader,
  R_HOME,
  LockTable,
  NO_ENTRY,
  nowStamp,
  PARTITIONS,
  R_HOLD,
  R_OWNER,
  R_SINCE,
  R_TICKET,
  R_WAIT,
  readHeader,
  tableByteLength,
  type TableShape,
} from './table.js';
import { describeCycle, findCycle, type DeadlockEdge } from './deadlock.js';
import { isDeadOwner, sliceDeadline } from '../core/owner-death.js';
import { isStrong, strongIndex, type FastKey, type FastPath } from './fastpath.js';

export type { LockMode } from './modes.js';
export type { PathPart, ResourcePath } from './hash.js';
export type { DeadlockEdge } from './deadlock.js';

const DEFAULT_CAPACITY = 4096;
const DEFAULT_NAME_BYTES = 64;
const DEFAULT_DEADLOCK_TIMEOUT = 1000;
const DEFAULT_ESCALATION_THRESHOLD = 5000;
const MAX_CAPACITY = 1 << 24;
/** First id handed out by `newOwner()`: above every thread owner id (28 bits). */
const FIRST_TXN_OWNER = 0x1000_0000;
const MAX_OWNER = 0x7fff_ffff;

/** Sizes that decide the buffer layout (see `byteLengthFor`). */
export interface LockManagerShape {
  /** Most distinct resources held or waited on at once (table entries). Default 4096. */
  capacity?: number;
  /** Most (owner, resource) pairs held or waited on at once. Default `2 × capacity`. */
  holderCapacity?: number;
  /** UTF-8 bytes of each resource's path kept for messages and `query()`. Default 64; 0 = none. */
  nameBytes?: number;
  /**
   * Test-only: keep only this many bits of each 64-bit key (0–64, default 64), to force hash
   * collisions. Colliding paths share one entry: they serialize, never both conflict-free.
   */
  hashBits?: number;
}

/** Options of `new LockManager(options)`. */
export interface LockManagerOptions extends LockManagerShape, PlacementOptions {
  /** How long a request waits before it checks for a deadlock, in ms. Default 1000. */
  deadlockTimeout?: number;
  /** Fine locks one owner holds under one parent before escalating to the parent. Default 5000; 0 = never. */
  escalationThreshold?: number;
  /**
   * Take IS/IX through the per-owner-group fast path when no strong lock (S, SIX, U, X) is
   * requested on that resource (default true). With false, this view takes every lock in the main
   * table; strong requests still move other views' fast-path holds there, so views with and
   * without it can share a table.
   */
  fastPath?: boolean;
  /**
   * Test-only, breaks exclusion: strong requests skip moving fast-path holds into the main table,
   * so a strong lock can be granted beside a conflicting IX/IS. For negative-control tests only.
   */
  unsafeSkipTransfer?: boolean;
}

/** Options of one request. */
export interface AcquireOptions extends WaitOptions {
  /** Owner (transaction) id, an integer in 1…2^31−1. Default: this thread. See `newOwner()`. */
  owner?: number;
  /** Overrides the manager's `deadlockTimeout` for this request (ms; Infinity = never check). */
  deadlockTimeout?: number;
}

/** The structured-cloneable handle of a LockManager. */
export interface LockManagerHandle extends Handle {
  /** Always `'LockManager'`. */
  readonly kind: 'LockManager';
  /** See {@link LockManagerShape.capacity}. */
  readonly capacity: number;
  /** See {@link LockManagerShape.holderCapacity}. */
  readonly holderCapacity: number;
  /** See {@link LockManagerShape.nameBytes}. */
  readonly nameBytes: number;
  /** See {@link LockManagerShape.hashBits}. */
  readonly hashBits: number;
  /** The manager's default deadlock check delay, in ms. */
  readonly deadlockTimeout: number;
  /** The manager's escalation threshold (0 = never). */
  readonly escalationThreshold: number;
  /** See {@link LockManagerOptions.fastPath}. */
  readonly fastPath: boolean;
  /** See {@link LockManagerOptions.unsafeSkipTransfer} (test-only). */
  readonly unsafeSkipTransfer: boolean;
}

/** One holder of a resource in a `query()` snapshot. */
export interface LockHolderInfo {
  /** Owner id: a thread's (threadId + 1), a transaction id from `newOwner()`, or an async task's (`ResourceLock.owner`). */
  owner: number;
  /** The least upper bound of the modes held. */
  mode: LockMode;
  /** Every mode held (each with at least one acquisition). */
  modes: LockMode[];
  /** Acquisitions held, all modes together. */
  count: number;
  /** Of `count`, the IS/IX acquisitions held in the fast path (absent when none). */
  fastPath?: number;
}

/** One waiter on a resource in a `query()` snapshot. */
export interface LockWaiterInfo {
  /** Owner id: a thread's (threadId + 1), a transaction id from `newOwner()`, or an async task's (`ResourceLock.owner`). */
  owner: number;
  /** The mode requested. */
  mode: LockMode;
  /** Milliseconds waited so far. */
  waitingMs: number;
  /** True if the owner already holds something there (a conversion, served first). */
  conversion: boolean;
}

/** A resource in a `query()` snapshot. */
export interface LockResourceInfo {
  /** The path that created the entry (JSON text, maybe truncated to `nameBytes`). */
  resource: string;
  /** The 64-bit key in hex. Paths with the same key share the entry. */
  key: string;
  /** Owners holding the resource. */
  holders: LockHolderInfo[];
  /** In FIFO order. */
  waiters: LockWaiterInfo[];
}

/** `lm.query()`: like Web Locks' `navigator.locks.query()`, plus modes and wait times. */
export interface LockManagerSnapshot {
  /** Every resource with holders or waiters, with both. */
  resources: LockResourceInfo[];
  /** Web Locks style: one entry per (resource, holder); `mode` is the least upper bound of its modes. */
  held: {
    /** The resource's path (JSON text, maybe truncated to `nameBytes`). */
    resource: string;
    /** The holder's owner id. */
    owner: number;
    /** The least upper bound of the modes it holds there. */
    mode: LockMode;
  }[];
  /** Web Locks style: one entry per waiting request, FIFO per resource. */
  pending: {
    /** The resource's path (JSON text, maybe truncated to `nameBytes`). */
    resource: string;
    /** The waiter's owner id. */
    owner: number;
    /** The mode requested. */
    mode: LockMode;
    /** Milliseconds waited so far. */
    waitingMs: number;
  }[];
}

const FROM_HANDLE = Symbol('fromHandle');

// ---- local bookkeeping -------------------------------------------------------------------------

/** Idle LocalLocks an owner state keeps cached before it prunes them. */
const IDLE_LIMIT = 4096;

class OwnerState {
  /**
   * The owner's paths as a tree: root component → LocalLock, then each lock's `kids`. No path
   * text is built or hashed to find a lock: one Map lookup per component (42 and '42' are
   * different Map keys, as they are different resources).
   */
  readonly roots = new Map<PathPart, LocalLock>();
  /** LocalLocks left in the tree with nothing held (a cache: reused without hashing). */
  idle = 0;
  pruneAt = IDLE_LIMIT;
  closed = false;
  /**
   * @param home 0 for a thread's or an explicit owner; for the owner of one `acquireAsync`
   *   without `owner` (an async task), this thread's owner id: its records carry it (R_HOME).
   */
  constructor(
    readonly owner: number,
    readonly home = 0,
  ) {}
}

class LocalLock implements FastKey {
  /** Next components below this one, created on first use. */
  kids: Map<PathPart, LocalLock> | undefined;
  /** In the tree only as a cache (nothing held, no handle refers to it); see `forget`. */
  idle = false;
  readonly lo: number;
  readonly hi: number;
  /** strongIndex(lo, hi): the key's strong counter (fastpath.ts). */
  readonly ctr: number;
  /** Fast-path slot hint (fastpath.ts); -1 = none yet. */
  fpSlot = -1;
  /** Of `shared[IS]`, `shared[IX]`: how many were taken through the fast path (may have been moved to the main table since). */
  readonly fast = [0, 0];
  /** Running hash of the text up to this component, for the children's keys. */
  readonly hash: HashState;
  #text: string | undefined;
  /** Acquisitions per mode added to the shared record through this thread. */
  readonly shared = [0, 0, 0, 0, 0, 0];
  sharedTotal = 0;
  /** Acquisitions covered by an ancestor's escalation (no shared record). */
  esc = 0;
  coveredBy: LocalLock | undefined;
  /**
   * Direct children with shared acquisitions (escalation candidates), in any order: an array with
   * swap-removal (each child knows its place, `childAt`), cheaper than a Set on every request.
   */
  readonly children: LocalLock[] = [];
  /** Index in the parent's `children`, or -1. */
  childAt = -1;
  /** Mode of the escalation hold on this lock, or -1. */
  escMode = -1;
  /** Acquisitions below that the escalation hold covers. */
  escRefsBelow = 0;
  nextEscalationAt: number;
  constructor(
    readonly part: PathPart,
    readonly parent: LocalLock | undefined,
    hashBits: number,
    threshold: number,
  ) {
    this.hash = hashPart(parent === undefined ? ROOT_HASH : parent.hash, part);
    const [lo, hi] = keyOfState(this.hash, hashBits);
    this.lo = lo;
    this.hi = hi;
    this.ctr = strongIndex(lo, hi);
    this.nextEscalationAt = threshold;
  }
  #chain: readonly LocalLock[] | undefined;
  #path: ResourcePath | undefined;
  /** This lock and its ancestors, root first (built on first use, then shared by every request on the path). */
  get chain(): readonly LocalLock[] {
    return (this.#chain ??= Object.freeze(this.parent === undefined ? [this] : [...this.parent.chain, this]));
  }
  /** The path, frozen (built on first use). */
  get path(): ResourcePath {
    return (this.#path ??= Object.freeze(this.chain.map((L) => L.part)));
  }
  /** Canonical text of the path (= JSON.stringify of it), built on first use. */
  get text(): string {
    if (this.#text === undefined) {
      const p = partText(this.part);
      this.#text = this.parent === undefined ? '[' + p + ']' : this.parent.text.slice(0, -1) + ',' + p + ']';
    }
    return this.#text;
  }
}

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
    let deadlockTimeout: number;
    let threshold: number;
    let fastPath: boolean;
    let skipTransfer: boolean;
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
      deadlockTimeout = readDeadlockTimeout(h.deadlockTimeout, 'handle.deadlockTimeout');
      threshold = readThreshold(h.escalationThreshold, 'handle.escalationThreshold');
      fastPath = readBoolean(h.fastPath, 'handle.fastPath', true);
      skipTransfer = readBoolean(h.unsafeSkipTransfer, 'handle.unsafeSkipTransfer', false);
    } else {
      if (options !== undefined && (options === null || typeof options !== 'object')) {
        throw new TypeError(`options must be an object, got ${describe(options)}`);
      }
      const o = options ?? {};
      shape = readShape(o, 'options');
      deadlockTimeout = readDeadlockTimeout(o.deadlockTimeout, 'options.deadlockTimeout');
      threshold = readThreshold(o.escalationThreshold, 'options.escalationThreshold');
      fastPath = readBoolean(o.fastPath, 'options.fastPath', true);
      skipTransfer = readBoolean(o.unsafeSkipTransfer, 'options.unsafeSkipTransfer', false);
      p = place('LockManager', tableByteLength(shape), o);
      initHeader(p.i32, p.base, shape);
    }
    this.name = p.name;
    this.buffer = p.buffer;
    this.byteOffset = p.byteOffset;
    this.capacity = shape.capacity;
    this.holderCapacity = shape.holderCapacity;
    this.deadlockTimeout = deadlockTimeout;
    this.escalationThreshold = threshold;
    this.#shape = shape;
    this.#t = new LockTable(p.i32, p.base, shape);
    this.#fp = this.#t.fp;
    this.#useFastPath = fastPath;
    this.#skipTransfer = skipTransfer;
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
    // One shared counter: ids are unique across threads.
    const n = Atomics.add(this.#t.a, this.#t.base + H_OWNER_SEQ, 1);
    if (n >= MAX_OWNER - FIRST_TXN_OWNER) throw new RangeError('newOwner(): owner ids exhausted');
    return FIRST_TXN_OWNER + n;
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
    return this.#releaseOwner(owner);
  }

  /** Everything `owner` holds or waits for, in the shared table and fast path; see releaseAll. */
  #releaseOwner(owner: number): number {
    // Fast-path slots first: nothing waits on them (fastpath.ts, invariant 2).
    return this.#fp.releaseOwner(owner) + this.#t.releaseOwnerRecords(owner);
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
    for (const o of dead) this.#releaseOwner(o);
    return true;
  }

  /**
   * A snapshot of every resource's holders and waiters. Owners found dead (their thread exited)
   * are released first and never shown.
   */
  query(): LockManagerSnapshot {
    for (;;) {
      const dead = new Set<number>();
      const snap = this.#snapshot(dead);
      if (dead.size === 0) return snap;
      // A dead thread runs no more requests: release what it left, then look again.
      for (const o of dead) this.#releaseOwner(o);
    }
  }

  /** One snapshot; adds to `dead` every owner seen whose thread has died. */
  #snapshot(dead: Set<number>): LockManagerSnapshot {
    const t = this.#t;
    const resources: LockResourceInfo[] = [];
    const stamp = nowStamp();
    // One consistent snapshot: every fast-path group, then every partition (fastpath.ts,
    // invariant 4). Read piecemeal, a hold moving between a slot and the table could be counted
    // twice (read in the table, released, taken again in a slot, read there).
    this.#fp.lockAllGroups();
    try {
      t.lockAll(true); // read-only: a death in here leaves nothing torn (table.ts S_READER)
    } catch (e) {
      this.#fp.unlockAllGroups(); // a partition was refused: hold nothing when it propagates
      throw e;
    }
    try {
      for (let p = 0; p < PARTITIONS; p++) {
        t.forEachEntryIn(p, (e) => {
          const info: LockResourceInfo = { resource: this.#nameOf(e), key: keyHex(t.keyLo(e), t.keyHi(e)), holders: [], waiters: [] };
          const waiters: [number, LockWaiterInfo][] = [];
          t.forEachRecord(e, (r) => {
            const hold = t.field(r, R_HOLD);
            const owner = t.field(r, R_OWNER);
            if (deadRecord(t, r)) dead.add(owner);
            if (hold !== 0) {
              let count = 0;
              for (let m = 0; m < MODE_COUNT; m++) count += t.count(r, m);
              info.holders.push({ owner, mode: MODE_NAMES[lubOfMask(hold)]!, modes: maskNames(hold), count });
            }
            const w = t.field(r, R_WAIT);
            if (w !== 0) {
              const waitingMs = (stamp - t.field(r, R_SINCE) + 0x7fff_ffff) % 0x7fff_ffff;
              waiters.push([t.field(r, R_TICKET), { owner, mode: MODE_NAMES[w - 1]!, waitingMs, conversion: hold !== 0 }]);
            }
          });
          waiters.sort((x, y) => (x[0] - y[0]) | 0);
          info.waiters = waiters.map((x) => x[1]);
          resources.push(info);
        });
      }
      this.#queryFastPath(resources, dead);
    } finally {
      t.unlockAll();
      this.#fp.unlockAllGroups();
    }
    const held = resources.flatMap((r) => r.holders.map((h) => ({ resource: r.resource, owner: h.owner, mode: h.mode })));
    const pending = resources.flatMap((r) =>
      r.waiters.map((w) => ({ resource: r.resource, owner: w.owner, mode: w.mode, waitingMs: w.waitingMs })),
    );
    return { resources, held, pending };
  }

  /**
   * Adds the fast-path holders (IS/IX) to a query() snapshot, merged into the resource of the
   * same key and into the same owner's holder entry if the main table has them too.
   */
  #queryFastPath(resources: LockResourceInfo[], dead: Set<number>): void {
    const byKey = new Map<string, LockResourceInfo>();
    for (const r of resources) byKey.set(r.key, r);
    this.#fp.forEachHeld((owner, lo, hi, isN, ixN, nameByte) => {
      if (deadThreadOwner(owner)) dead.add(owner);
      const key = keyHex(lo, hi);
      let info = byKey.get(key);
      if (info === undefined) {
        const name = this.#t.nameAt(nameByte);
        info = { resource: name !== '' ? name : `key ${key}`, key, holders: [], waiters: [] };
        byKey.set(key, info);
        resources.push(info);
      }
      const mask = (isN > 0 ? 1 << IS : 0) | (ixN > 0 ? 1 << IX : 0);
      const h = info.holders.find((x) => x.owner === owner);
      if (h === undefined) {
        info.holders.push({ owner, mode: MODE_NAMES[lubOfMask(mask)]!, modes: maskNames(mask), count: isN + ixN, fastPath: isN + ixN });
      } else {
        let all = mask;
        for (const m of h.modes) all |= 1 << MODE_NAMES.indexOf(m);
        h.mode = MODE_NAMES[lubOfMask(all)]!;
        h.modes = maskNames(all);
        h.count += isN + ixN;
        h.fastPath = (h.fastPath ?? 0) + isN + ixN;
      }
    });
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
    const owner = state.owner;
    let parent: LocalLock | undefined;
    let map = state.roots;
    const n = path.length;
    for (let k = 0; k < n; k++) {
      const part = path[k]!;
      let L = map.get(part);
      if (L === undefined) {
        L = new LocalLock(part, parent, this.#shape.hashBits, this.escalationThreshold);
        map.set(part, L);
      } else if (L.idle) {
        // A cached lock comes back into use: fresh escalation bookkeeping.
        L.idle = false;
        state.idle--;
        L.nextEscalationAt = this.escalationThreshold;
      }
      parent = L;
      if (k < n - 1) map = L.kids ??= new Map();
    }
    // Per-path and per-(depth, mode) arrays are built once and shared (never mutated).
    return { state, owner, locks: parent!.chain, modes: modesFor(n, m), wait, deadlockTimeout: dl, blocks };
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
    const n = this.#t.nameOf(e);
    return n !== '' ? n : `key ${keyHex(this.#t.keyLo(e), this.#t.keyHi(e))}`;
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

/** MODES[m][n]: the modes of an n-level request for mode m (intention modes, then m), shared. */
const MODES: (readonly number[])[][] = Array.from({ length: MODE_COUNT }, () => []);

function modesFor(n: number, m: number): readonly number[] {
  let modes = MODES[m]![n];
  if (modes === undefined) {
    const intention = intentionFor(m);
    modes = Object.freeze(Array.from({ length: n }, (_, k) => (k === n - 1 ? m : intention)));
    MODES[m]![n] = modes;
  }
  return modes;
}

function noteShared(L: LocalLock, mode: number): void {
  if (L.sharedTotal++ === 0 && L.parent !== undefined) {
    L.childAt = L.parent.children.length;
    L.parent.children.push(L);
  }
  L.shared[mode]!++;
}

/** Takes L out of its parent's `children` (swap with the last one). */
function leaveParent(L: LocalLock): void {
  const P = L.parent;
  if (P === undefined || L.childAt < 0) return;
  const last = P.children.pop()!;
  if (last !== L) {
    P.children[L.childAt] = last;
    last.childAt = L.childAt;
  }
  L.childAt = -1;
}

function unused(L: LocalLock): boolean {
  return L.sharedTotal === 0 && L.esc === 0 && L.escMode < 0 && L.children.length === 0 && L.escRefsBelow === 0;
}

/**
 * Marks a LocalLock nobody refers to any more as idle: it stays in the tree as a cache (so the
 * next request on that path neither allocates nor hashes), until the owner has more than
 * `pruneAt` idle ones; then every idle leaf goes.
 */
function forget(st: OwnerState, L: LocalLock): void {
  if (L.idle || !unused(L)) return;
  L.idle = true;
  if (++st.idle > st.pruneAt) {
    prune(st, st.roots);
    st.pruneAt = Math.max(IDLE_LIMIT, 2 * st.idle);
  }
}

/** Removes idle LocalLocks without kids from a level of the tree (children first). */
function prune(st: OwnerState, map: Map<PathPart, LocalLock>): void {
  for (const [part, L] of map) {
    if (L.kids !== undefined) prune(st, L.kids);
    if (!L.idle) continue;
    if (!unused(L)) {
      // Taken again by a request in flight since it went idle (async interleaving).
      L.idle = false;
      st.idle--;
    } else if (L.kids === undefined || L.kids.size === 0) {
      map.delete(part);
      L.idle = false;
      st.idle--;
    }
  }
}

/** A record of a dead thread's owner, or of an async task of a dead thread (owner-death layer). */
function deadRecord(t: LockTable, r: number): boolean {
  const home = t.field(r, R_HOME);
  return deadThreadOwner(t.field(r, R_OWNER)) || (home !== 0 && isDeadOwner(home));
}

/** A thread's owner id (below every newOwner() id) whose thread has died. */
function deadThreadOwner(owner: number): boolean {
  // newOwner() ids are never threads': skip the owner-death ring scan for them.
  return owner < FIRST_TXN_OWNER && isDeadOwner(owner);
}

function releasedWhileWaiting(plan: Plan): LockError {
  return new LockError('ERR_LOCK_STATE', `owner ${plan.owner}: releaseAll() ran while this request was in flight`);
}

function checkOwner(owner: unknown, name: string): number {
  if (typeof owner !== 'number') throw new TypeError(`${name} must be an integer owner id, got ${describe(owner)}`);
  if (!Number.isInteger(owner) || owner < 1 || owner > MAX_OWNER) {
    throw new RangeError(`${name} must be an integer in 1…${MAX_OWNER}, got ${owner}`);
  }
  return owner;
}

function readDeadlockTimeout(v: unknown, name: string): number {
  return v === undefined ? DEFAULT_DEADLOCK_TIMEOUT : checkTimeout(v, name);
}

function readThreshold(v: unknown, name: string): number {
  if (v === undefined) return DEFAULT_ESCALATION_THRESHOLD;
  if (typeof v !== 'number') throw new TypeError(`${name} must be a number, got ${describe(v)}`);
  if (!Number.isInteger(v) || v < 0) throw new RangeError(`${name} must be a non-negative integer, got ${v}`);
  return v;
}

function readShape(o: LockManagerShape | Record<string, unknown>, what: string): TableShape {
  const s = o as LockManagerShape;
  const int = (v: unknown, name: string, dflt: number, min: number, max: number): number => {
    if (v === undefined) return dflt;
    if (typeof v !== 'number') throw new TypeError(`${what}.${name} must be a number, got ${describe(v)}`);
    if (!Number.isInteger(v) || v < min || v > max) {
      throw new RangeError(`${what}.${name} must be an integer in ${min}…${max}, got ${v}`);
    }
    return v;
  };
  const capacity = int(s.capacity, 'capacity', DEFAULT_CAPACITY, 1, MAX_CAPACITY);
  const holderCapacity = int(s.holderCapacity, 'holderCapacity', 2 * capacity, 1, 4 * MAX_CAPACITY);
  const nameBytes = int(s.nameBytes, 'nameBytes', DEFAULT_NAME_BYTES, 0, 1024);
  const hashBits = int(s.hashBits, 'hashBits', 64, 0, 64);
  return { capacity, holderCapacity, nameBytes: (nameBytes + 3) & ~3, hashBits };
}
