/**
 * Web Locks (the W3C `LockManager` interface: `request()`, `query()`) across every worker of a
 * process, built on the lock manager (`manager/`): a lock name is the one-level resource path
 * `[name]`, `'exclusive'` is X and `'shared'` is S, and each request is an async task owner of
 * its own (manager/lock-manager.ts), so the manager's FIFO queues, owner-death recovery, timeouts
 * and aborts are the Web Locks ones. This file adds what the spec has and the manager does not:
 * the callback that holds the lock until its promise settles, `ifAvailable`, `steal`, the
 * spec's errors, `query()` (held in grant order, pending in request order) with client ids, and the process-wide `locks`.
 *
 * ## Layout (Int32 words from the tag word)
 * | word | content |
 * |---|---|
 * | 0 | tag (`WebLocks`) |
 * | 1 | STEAL: futex word, bumped after every steal that took a hold away; threads holding locks wait on it (`waitAsync`) to learn that theirs was taken |
 * | 2–15 | unused (the manager starts on its own cache line) |
 * | 16… | the `LockManager` (its own tag word first), fast path off, deadlock checks off |
 *
 * ## Steals across threads
 * A steal takes the holds away in the table, in the stealer's critical section
 * (`LockTable.stealHolds`), then bumps STEAL and wakes every waiter on it. A thread that holds
 * locks keeps one `Atomics.waitAsync` on STEAL (which does not keep its event loop alive, so a
 * held lock never keeps a thread from exiting); when it wakes, it re-arms first, then asks the
 * table, for each of its holds, whether it is still held, and rejects the robbed requests with
 * an `AbortError`. A hold granted while a steal ran is checked when it registers (see
 * `#granted`). The robbed callback keeps running; its release later finds no record in the
 * table (its owner is a task of its own; a fast hold's is its thread, which holds no other fast
 * hold of that name meanwhile) and frees nothing of the new holder's.
 *
 * ## Fast words
 * An exclusive request on a name with no record takes the entry's fast word (two CASes, no table
 * update: manager/table.ts "Fast words") and gets a `FastHold`; anything else on the name moves
 * that hold into the table as a record of this thread, where steals and owner death find it.
 * `#fast` caches each name's key and entry; the table checks the key after each take.
 */
import { getEnvironmentData, setEnvironmentData } from 'node:worker_threads';
import { attach, describe, FROM_HANDLE, place, REGION_CHECKED, Primitive } from './core/layout.js';
import { now } from './core/futex.js';
import { TimeoutError } from './core/errors.js';
import { OWNER_ID, threadIdOf } from './core/thread.js';
import { checking, onAcquire, onAcquired, onRelease, runHolding } from './core/hooks.js';
import { noteAbort, noteAcquired, noteReleased, noteTimeout, watching } from './core/observe.js';
import { LockManager, type ResourceLock } from './manager/lock-manager.js';
import type { LockManagerHandle, LockManagerOptions } from './manager/options.js';
import type { LockTable } from './manager/table.js';
import {
  clientIdOf,
  FastHold,
  type FastName,
  LockRequest,
  managerShape,
  modeOf,
  nameOfResource,
  parseRequest,
  WebLock,
  type NamedLock,
  type WebLockCallback,
  type WebLockInfo,
  type WebLockRequestOptions,
  type WebLocksHandle,
  type WebLocksOptions,
  type WebLocksShape,
  type WebLocksSnapshot,
} from './web-locks-request.js';

const W_STEAL = 1;
const HEADER_BYTES = 64;
/** Named-lock objects kept for the verifier and stats (per name); cleared beyond this. */
const NAMED_CACHE = 1024;

/**
 * A Web Locks `LockManager` in shared memory: `request()` and `query()` as the W3C spec, for every
 * thread that has this object or one made `from` its handle. `locks` is the process-wide one.
 */
export class WebLocks extends Primitive {
  /** Most distinct names held or waited on at once. */
  readonly capacity: number;
  /** Most requests held or waiting at once. */
  readonly holderCapacity: number;
  readonly #lm: LockManager;
  readonly #a: Int32Array;
  readonly #steal: number;
  /** This thread's granted requests through this object. */
  readonly #held = new Set<LockRequest>();
  /** A waitAsync on STEAL is pending. */
  #armed = false;
  readonly #onSteal = (): void => this.#stolenCheck();
  readonly #named = new Map<string, NamedLock>();
  /** The lock table, for fast takes (manager/table.ts "Fast words"). */
  readonly #t: LockTable;
  /** Names' keys and entries as this thread last found them (fast takes); cleared beyond NAMED_CACHE. */
  readonly #fast = new Map<string, FastName>();
  /** This view's requests waiting in the manager, per name: their sequence numbers (`#waitSeq`). */
  readonly #waiting = new Map<string, Set<number>>();
  /** Numbers this view's waiting requests in the order they started waiting. */
  #waitSeq = 0;
  /** Requests granted at once while earlier ones of this view for the same name still waited (see #start). */
  readonly #deferred = new Map<string, LockRequest[]>();

  /** Bytes a WebLocks of this shape needs at a placement. */
  static byteLengthFor(shape: WebLocksShape = {}): number {
    return HEADER_BYTES + LockManager.byteLengthFor(managerShape(shape, 'options'));
  }

  constructor(options?: WebLocksOptions);
  /** @internal */
  constructor(options: typeof FROM_HANDLE, handle: unknown);
  constructor(options?: WebLocksOptions | typeof FROM_HANDLE, handle?: unknown) {
    let p;
    let lm: LockManager;
    if (options === FROM_HANDLE) {
      const m = (handle as { manager?: unknown } | null)?.manager;
      if (m === null || typeof m !== 'object') throw new TypeError(`handle.manager must be a LockManager handle, got ${describe(m)}`);
      const mh = m as LockManagerHandle;
      p = attach('WebLocks', handle, () => HEADER_BYTES + LockManager.byteLengthFor(mh));
      if (mh.buffer !== p.buffer || mh.byteOffset !== p.byteOffset + HEADER_BYTES) {
        throw new TypeError('handle.manager: not the lock manager of this WebLocks (other buffer or byteOffset)');
      }
      lm = LockManager.from(mh);
    } else {
      if (options !== undefined && (options === null || typeof options !== 'object')) {
        throw new TypeError(`options must be an object, got ${describe(options)}`);
      }
      const o = options ?? {};
      const shape = managerShape(o, 'options');
      p = place('WebLocks', HEADER_BYTES + LockManager.byteLengthFor(shape), o);
      lm = new LockManager({
        ...shape,
        name: p.name,
        buffer: p.buffer,
        byteOffset: p.byteOffset + HEADER_BYTES,
        fastPath: false, // only S and X: nothing would go through it
        deadlockTimeout: Infinity, // each request is an owner of its own: no waits-for graph to search
        escalationThreshold: 0,
        fifo: true, // the spec's queue: a request never overtakes an earlier one
        [REGION_CHECKED]: true, // inside our own region, checked by place() above
      } as LockManagerOptions);
    }
    super('WebLocks', p);
    lm._stealsHappen();
    this.#t = lm._fastWords();
    this.#lm = lm;
    this.#a = p.i32;
    this.#steal = p.base + W_STEAL;
    this.capacity = lm.capacity;
    this.holderCapacity = lm.holderCapacity;
  }

  /** Attaches to the WebLocks a handle describes (possibly another thread's). */
  static from(handle: WebLocksHandle): WebLocks {
    return attachHandle(handle);
  }

  /** This thread's `clientId` in `query()` snapshots. */
  static get clientId(): string {
    return clientIdOf(threadIdOf(OWNER_ID));
  }

  /** Plain structured-cloneable description; `WebLocks.from(handle)` attaches to the same locks. */
  override get handle(): WebLocksHandle {
    return { ...super.handle, kind: 'WebLocks', manager: this.#lm.handle };
  }

  /**
   * Requests the lock `name` and calls `callback` with it once granted; the lock is held until
   * the promise `callback` returns settles, and the returned promise settles with it. See
   * docs/web-locks.md for the options and errors (all reported as rejections).
   */
  request<T>(name: string, callback: WebLockCallback<T>): Promise<T>;
  request<T>(name: string, options: WebLockRequestOptions, callback: WebLockCallback<T>): Promise<T>;
  request(name: string, options: unknown, callback?: unknown): Promise<unknown> {
    let q: LockRequest;
    try {
      // Web IDL's receiver check, reported like every other error of a promise-returning operation.
      if (typeof this !== 'object' || this === null || !(#lm in this)) {
        throw new TypeError(`request() must be called on a WebLocks, got ${describe(this)}`);
      }
      q = parseRequest(arguments.length, name, options, callback);
    } catch (e) {
      return Promise.reject(e);
    }
    const p = new Promise((resolve, reject) => {
      q.resolve = resolve;
      q.reject = reject;
    });
    this.#start(q);
    return p;
  }

  /** Every thread's held locks (in the order granted) and waiting requests (in the order made). */
  async query(): Promise<WebLocksSnapshot> {
    const snap = this.#lm.query();
    const held: [number, WebLockInfo][] = [];
    const pending: [number, WebLockInfo][] = [];
    for (const res of snap.resources) {
      const name = nameOfResource(res.resource);
      for (const h of res.holders) held.push([h.order ?? 0, { name, mode: modeOf(h.mode), clientId: clientIdOf(h.thread) }]);
      for (const w of res.waiters) pending.push([w.order ?? 0, { name, mode: modeOf(w.mode), clientId: clientIdOf(w.thread) }]);
    }
    const byOrder = (x: [number, WebLockInfo], y: [number, WebLockInfo]): number => (x[0] - y[0]) | 0;
    return { held: held.sort(byOrder).map((x) => x[1]), pending: pending.sort(byOrder).map((x) => x[1]) };
  }

  // ---- one request ------------------------------------------------------------------------------
  // (Methods taking the request object rather than closures over it: fewer allocations per request.)

  #start(q: LockRequest): void {
    // Read before any grant: a steal that robs this request bumps STEAL after it (see #granted).
    q.epoch = Atomics.load(this.#a, this.#steal);
    const named = checking || watching() ? this.#namedLock(q.name) : undefined;
    q.named = named;
    let lock: ResourceLock | FastHold | null;
    try {
      // Only a request that may wait orders after what this task holds (a try adds no edge).
      if (named !== undefined && checking && !q.ifAvailable && !q.steal) onAcquire(named, q.shared, true);
      lock = q.steal
        ? this.#stealNow(q)
        : ((q.shared ? null : this.#fastTake(q.name)) ?? this.#lm._takeNow(q.path, q.shared ? 'S' : 'X'));
    } catch (e) {
      q.reject(e);
      return;
    }
    if (lock !== null) {
      q.lock = lock;
      const waiting = this.#waiting.size > 0 && !q.steal ? this.#waiting.get(q.name) : undefined;
      if (waiting !== undefined) {
        // Requests of this view for this name that were waiting ended first (a grantable
        // request never waits: the release handed them the lock, table.ts invariant 7; or a steal
        // took it from them) but have not heard yet: their callbacks go first, as the spec's
        // queued tasks would. Only those: requests that start waiting later do not hold it back.
        q.after = this.#waitSeq;
        const d = this.#deferred.get(q.name);
        if (d === undefined) this.#deferred.set(q.name, [q]);
        else d.push(q);
        return;
      }
      // The callback runs after request() returned, as the spec's task does.
      queueMicrotask(() => this.#granted(q));
      return;
    }
    if (q.ifAvailable) {
      queueMicrotask(() => this.#run(q, null));
      return;
    }
    if (named !== undefined && watching()) q.waitStart = now();
    const seq = ++this.#waitSeq;
    const w = this.#waiting.get(q.name);
    if (w === undefined) this.#waiting.set(q.name, new Set([seq]));
    else w.add(seq);
    this.#lm.acquireAsync(q.path, q.shared ? 'S' : 'X', q.wait).then(
      (l) => {
        q.lock = l;
        try {
          this.#granted(q);
        } finally {
          this.#waitEnded(q.name, seq);
        }
      },
      (e: unknown) => {
        try {
          this.#gaveUp(q, e);
        } finally {
          this.#waitEnded(q.name, seq);
        }
      },
    );
  }

  /**
   * The waiting request `seq` of this view for `name` ended: run the grants deferred behind it once
   * every request that was waiting when they were deferred has ended (`after`: the last one).
   */
  #waitEnded(name: string, seq: number): void {
    const w = this.#waiting.get(name)!;
    w.delete(seq);
    // Sets iterate in insertion order and seqs only grow: the first left is the oldest still waiting.
    const oldest = w.size === 0 ? Infinity : (w.values().next().value as number);
    if (w.size === 0) this.#waiting.delete(name);
    const d = this.#deferred.get(name);
    if (d === undefined) return;
    let k = 0;
    while (k < d.length && d[k]!.after < oldest) k++;
    if (k === 0) return;
    const ready = k === d.length ? d : d.slice(0, k);
    if (k === d.length) this.#deferred.delete(name);
    else this.#deferred.set(name, d.slice(k));
    for (const q of ready) queueMicrotask(() => this.#granted(q));
  }

  /** A waiting request ended without the lock (timeout, abort, capacity…). */
  #gaveUp(q: LockRequest, e: unknown): void {
    if (q.waitStart >= 0) {
      if (e instanceof TimeoutError) noteTimeout(q.named!, q.waitStart);
      else if (q.wait.signal?.aborted) noteAbort(q.named!, q.waitStart);
    }
    q.reject(e);
  }

  /**
   * An exclusive request's fast take of a name with no record and no holder (manager/table.ts
   * "Fast words"), or null: the table decides.
   */
  #fastTake(name: string): FastHold | null {
    let f = this.#fast.get(name);
    if (f === undefined) {
      if (this.#fast.size >= NAMED_CACHE) this.#fast.clear();
      const [lo, hi] = this.#lm._keyOfName(name);
      f = { lo, hi, e: -1 };
      this.#fast.set(name, f);
    }
    const t = this.#t;
    // The name's entry is made by its first request through the table; look it up once after that.
    if (f.e < 0 && (f.e = t.lookupEntry(f.lo, f.hi)) < 0) return null;
    if (t.fastTake(f.e, f.lo, f.hi)) return new FastHold(t, f.e, f.lo, f.hi);
    if (t.fastStale(f.e, f.lo, f.hi)) f.e = -1; // maybe recycled or freed: look it up again next time
    return null;
  }

  /** Is `lock` still held (not taken by a steal)? The table decides. */
  #stillHolds(lock: ResourceLock | FastHold): boolean {
    return lock instanceof FastHold ? lock.stillHolds() : this.#lm._stillHolds(lock);
  }

  /** A steal: granted now; the robbed holders of this thread are told here, the others through STEAL. */
  #stealNow(q: LockRequest): ResourceLock {
    const robbed: number[] = [];
    const lock = this.#lm._takeNow(q.path, 'X', robbed)!;
    if (robbed.length > 0) {
      // Robbed holds of this thread (their home is this thread; a fast hold's owner is the thread too).
      let ours = false;
      for (let k = 1; k < robbed.length; k += 2) if (robbed[k] === OWNER_ID) ours = true;
      if (ours) this.#robGone();
      // Tell every holding thread (and other views in this one) to look: holds were taken.
      Atomics.add(this.#a, this.#steal, 1);
      // Wake every thread's watcher (#watch): each checks its own holds.
      Atomics.notify(this.#a, this.#steal);
    }
    return lock;
  }

  /** `q.lock` was granted: register it, then run the callback holding it. */
  #granted(q: LockRequest): void {
    const lock = q.lock!;
    // The spec grants in parallel and runs the callback in a later task: an abort signalled before
    // that task (even synchronously after request() returned, on a free lock) still wins. Let go
    // of the hold, which nothing has seen yet, and reject with the signal's reason.
    if (q.wait.signal?.aborted) {
      lock.release();
      this.#gaveUp(q, q.wait.signal.reason);
      return;
    }
    this.#held.add(q);
    // Arm the watcher first: a steal after its read of STEAL wakes it (it then looks at this hold).
    this.#watch();
    // CORRECTNESS: a steal that ran since `q.epoch` was read may have taken this hold before it was
    // registered or before the watcher read STEAL: ask the table once.
    if (Atomics.load(this.#a, this.#steal) !== q.epoch && !this.#stillHolds(lock)) this.#rob(q);
    if (q.named !== undefined) {
      onAcquired(q.named, q.shared, true);
      noteAcquired(q.named, q.waitStart, q.waitStart < 0 ? 0 : 1);
    }
    this.#run(q, new WebLock(q.name, q.shared ? 'shared' : 'exclusive'));
  }

  /** Calls the callback (with the lock, or null) and settles the request with its result. */
  #run(q: LockRequest, lk: WebLock | null): void {
    if (q.lock !== undefined && q.named === undefined && (checking || watching())) q.named = this.#namedLock(q.name);
    let result: unknown;
    try {
      // Under the verifier, the callback and what it awaits run in a scope that holds the lock.
      result = q.named !== undefined && checking && lk !== null ? runHolding(q.named, q.shared, () => q.callback(lk)) : q.callback(lk);
    } catch (e) {
      this.#settle(q, false, e);
      return;
    }
    if ((typeof result === 'object' && result !== null) || typeof result === 'function') {
      // Adopted as a promise resolution does (reads `then` once; a throwing getter or `then`
      // rejects): whatever the object does, the request settles and the lock is released.
      new Promise((resolve) => resolve(result)).then(
        (v) => this.#settle(q, true, v),
        (e: unknown) => this.#settle(q, false, e),
      );
    } else {
      this.#settle(q, true, result); // a plain value settles now: no extra turn holding the lock
    }
  }

  /** The callback's result settled: release (if granted), then settle request()'s promise. */
  #settle(q: LockRequest, ok: boolean, v: unknown): void {
    const lock = q.lock;
    if (lock !== undefined) {
      this.#held.delete(q);
      if (q.named !== undefined) onRelease(q.named, q.shared, OWNER_ID);
      let had = true;
      try {
        // A robbed hold finds no record: this frees nothing of the new holder's, and says so.
        had = lock._release();
      } catch (e) {
        // The table refused (a thread died inside an update of it, ERR_LOCK_BROKEN): say so.
        ok = false;
        v = e;
      }
      if (q.named !== undefined) noteReleased(q.named);
      // CORRECTNESS: the table decides, under the partition lock: a steal that took this hold before
      // the watcher could tell us is found here (the callback finished first).
      if (!had) this.#rob(q);
      if (q.stolen) return; // request() already rejected with the AbortError
    }
    if (ok) q.resolve(v);
    else q.reject(v);
  }

  /** A hold of this thread was taken by a steal: reject its request now. */
  #rob(q: LockRequest): void {
    if (q.stolen) return;
    q.stolen = true;
    q.reject(new DOMException('The lock was stolen by another request', 'AbortError'));
  }

  /** Keeps one wait on STEAL pending while this thread holds locks through this object. */
  #watch(): void {
    if (this.#armed || this.#held.size === 0) return;
    this.#armed = true;
    const seen = Atomics.load(this.#a, this.#steal);
    // Wait for the next steal anywhere; a waitAsync does not keep the event loop alive.
    const w = Atomics.waitAsync(this.#a, this.#steal, seen);
    if (w.async) void w.value.then(this.#onSteal);
    else queueMicrotask(this.#onSteal);
  }

  /** STEAL moved: re-arm first (a later steal wakes the new wait), then look at every hold. */
  #stolenCheck(): void {
    this.#armed = false;
    this.#watch();
    this.#robGone();
  }

  /** Rejects every hold of this view that the table no longer has (taken by a steal). */
  #robGone(): void {
    for (const g of this.#held) {
      if (!g.stolen && !this.#stillHolds(g.lock!)) this.#rob(g);
    }
  }

  /** The verifier's and observers' object for one name (lock class `<instance name>:<name>`). */
  #namedLock(name: string): NamedLock {
    let n = this.#named.get(name);
    if (n === undefined) {
      if (this.#named.size >= NAMED_CACHE) this.#named.clear();
      const cls = `${this.name}:${name}`;
      n = { name: cls, lockClass: cls, handle: { kind: 'WebLocks' } };
      this.#named.set(name, n);
    }
    return n;
  }
}

/**
 * `WebLocks.from`, written outside the class body: a class that names itself in its own body is
 * bundled as `_WebLocks` (its name in stack traces; tsup.config.ts).
 */
function attachHandle(handle: WebLocksHandle): WebLocks {
  return new WebLocks(FROM_HANDLE, handle);
}

// ---- the process-wide instance ------------------------------------------------------------------

/** Environment-data key under which the process-wide `locks` handle is published to workers. */
export const WEB_LOCKS_ENV_KEY = 'sablock:web-locks:v1';

function processLocks(): WebLocks {
  const h = getEnvironmentData(WEB_LOCKS_ENV_KEY);
  if (h !== undefined) {
    try {
      return WebLocks.from(h as WebLocksHandle);
    } catch {
      // Published by an incompatible copy of sablock: use one of our own (below).
    }
  }
  const wl = new WebLocks({ name: 'locks' });
  // Every worker this thread starts from now on inherits it (and passes it on to its own).
  setEnvironmentData(WEB_LOCKS_ENV_KEY, wl.handle as unknown as Parameters<typeof setEnvironmentData>[1]);
  return wl;
}

/**
 * The process-wide Web Locks: shared by the first thread that imported sablock and every worker
 * started after that (and their workers). A worker whose parent never imported sablock has its own.
 */
export const locks: WebLocks = processLocks();
