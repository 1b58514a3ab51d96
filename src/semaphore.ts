/**
 * `Semaphore`: a counting semaphore in shared memory with weighted acquisitions, blocking and
 * async, and eventual FIFO fairness for large requests (see `raw/semaphore.ts` for the state
 * machine, its word table, invariants and wake policy).
 *
 * Layout (BYTE_LENGTH 104):
 * | word | content |
 * |------|---------|
 * | 0    | tag (kind id), written once by the constructor |
 * | 1–8  | COUNT, SEQ, SLEEPERS, WEIGHTED, HEAD, HEAD_STAMP, TOKENS, MAX — see `raw/semaphore.ts` |
 * | 9    | TRACK: initialized (bit 2), created with `trackOwners` (bit 0), a dead holder's permits given back (bit 1) |
 * | 10–25| HOLDERS: 8 slots `(owner id, permits)` for `trackOwners` (core/holders.ts) |
 *
 * ## Owner death (`trackOwners`; docs/robustness.md)
 * By default permits have no owner and a thread that dies holding some leaks them. Created with
 * `{ trackOwners: true }`, a semaphore records per thread how many permits it holds (8 threads at
 * a time; beyond that, untracked), and waiters give back a dead thread's permits (raw invariant 6);
 * `ownerDied` then stays true. Permits become owned: release them through the `Semaphore` object
 * (or guard) that acquired them, in the same thread; `release(n)` for more than this object holds
 * throws `LockError` `ERR_LOCK_NOT_HELD`.
 *
 * Unlike the locks, a Semaphore is not all-zero when new: the constructor writes its maximum and
 * initial count once (CAS on MAX, so only the first constructor at a place does); attaching with
 * `from()` never writes. Permits have no owner: any thread may release permits another acquired.
 *
 * ## Lock-order verifier and observability
 * Permits have no owner, so the verifier gets no acquire/release hooks (they would report a
 * legitimate release by another thread as not-owner, and order edges through a semaphore are not
 * deadlocks in general). Only the blocking wait runs under `waitChecked` (main-thread-block
 * reports; a waits-for entry with owner 0, which ends a deadlock search). For stats and events,
 * each successful `acquire`/`tryAcquire`/`acquireAsync` call is one acquisition of the class
 * (whatever `n`), each `release` call one release; contended, timed-out and aborted waits count
 * like a lock's. Off, each call pays one `observing || channel.hasSubscribers` test.
 */
import { attach, describe, FROM_HANDLE, place, Primitive, readBoolean, type Handle, type PlacementOptions } from './core/layout.js';
import { checkTimeout, deadlineAfter, parseWaitOptions, type WaitOptions } from './core/futex.js';
import { abortReason, LockError } from './core/errors.js';
import { Guard } from './core/guard.js';
import { contendedAsync, contendedWait } from './core/acquire.js';
import { addHold, dropHold, heldBy } from './core/holders.js';
import { wasReaped } from './core/owner-death.js';
import { OWNER_ID } from './core/thread.js';
import { runHeld, runHeldAsync } from './exclusive.js';
import { noteAcquired, noteOwnerDied, noteReleased, observing } from './core/observe.js';
import { acquireChannel, releaseChannel } from './core/events.js';
import {
  acquireAsyncSlow,
  acquireSlow,
  COUNT,
  initialize,
  isGated,
  MAX_PERMITS,
  maxOf,
  release,
  SEMAPHORE_WORDS,
  SEM_SLOTS,
  HOLDERS,
  reapDeadPermits,
  TRACK,
  TRACK_OWNER_DIED,
  TRACK_OWNERS,
  tryTake,
} from './raw/semaphore.js';

const BYTES = 4 * (1 + SEMAPHORE_WORDS);

/** Options of `new Semaphore(permits, options)`. */
export interface SemaphoreOptions extends PlacementOptions {
  /**
   * Most permits the semaphore may ever hold (default 2³¹ − 1). A `release` that would raise the
   * count above it throws RangeError, and so does a request for more than `max` permits.
   */
  max?: number;
  /**
   * Record which thread holds how many permits, so that a dead thread's permits are given back
   * (default false). Permits then must be released by the object that acquired them.
   */
  trackOwners?: boolean;
}

/**
 * Proof of one acquisition of `permits` permits. `release()` (or leaving a `using` block) gives
 * exactly those back, once; later calls do nothing.
 */
export class PermitGuard extends Guard {
  readonly #sem: Semaphore;
  /** How many permits this guard stands for. */
  readonly permits: number;
  #held = true;
  constructor(sem: Semaphore, permits: number) {
    super();
    this.#sem = sem;
    this.permits = permits;
  }
  /** True until this guard released its permits. */
  get held(): boolean {
    return this.#held;
  }
  /** Releases this guard's permits (once; later calls do nothing). */
  release(): void {
    if (!this.#held) return;
    this.#held = false;
    this.#sem.release(this.permits);
  }
  /** @internal */
  protected _drop(): void {
    this.release();
  }
}

/** A counting semaphore for worker_threads: `permits` permits shared by every thread. */
export class Semaphore extends Primitive {
  /** Bytes one Semaphore occupies at a placement. */
  static readonly BYTE_LENGTH = BYTES;
  /** The largest count (and request) a Semaphore can hold: 2³¹ − 1. */
  static readonly MAX_PERMITS = MAX_PERMITS;

  readonly #a: Int32Array;
  readonly #i: number;
  /** Permits are recorded per thread (`trackOwners`, TRACK_OWNERS: fixed once initialized). */
  readonly #tracks: boolean;
  /** With TRACK: permits acquired through this object and not yet released. */
  #held = 0;
  /** Set once a reap by this object gave back a dead thread's permits. */
  readonly #onOwnerDied = (): void => {
    // The shared flag (TRACK_OWNER_DIED) is set by the raw reap before the permits come back.
    noteOwnerDied(this);
  };

  /**
   * Creates a semaphore holding `permits` permits (a non-negative integer ≤ `options.max`), or
   * attaches to the one already at `options.buffer`/`options.byteOffset` (then `permits` and
   * `max` are ignored: the count is only ever written once).
   */
  constructor(permits: number, options?: SemaphoreOptions);
  /** @internal */
  constructor(permits: typeof FROM_HANDLE, handle: unknown);
  constructor(permits: number | typeof FROM_HANDLE, options?: unknown) {
    // Attaching (from `from`) only reads; placing checks every argument before it claims the place.
    const init = permits === FROM_HANDLE ? undefined : readInit(permits, options);
    const p = init === undefined ? attach('Semaphore', options, () => BYTES) : place('Semaphore', BYTES, options);
    super('Semaphore', p);
    this.#a = p.i32;
    this.#i = p.base + 1;
    // The one constructor that initializes it decides tracking in the same CAS that claims it
    // (raw initialize); a losing constructor and every attachment come after that CAS.
    if (init !== undefined) initialize(this.#a, this.#i, init.permits, init.max, init.track);
    // Decided and never changed again (TRACK_OWNERS): read once, so the fast paths test a field.
    this.#tracks = (Atomics.load(this.#a, this.#i + TRACK) & TRACK_OWNERS) !== 0;
  }

  /** Attaches to the Semaphore a handle describes (from `sem.handle`, possibly another thread's). */
  static from(handle: Handle): Semaphore {
    return attachHandle(handle);
  }

  /** The declared maximum count (2³¹ − 1 unless `options.max` was given). */
  get max(): number {
    return maxOf(this.#a, this.#i);
  }

  /**
   * Blocks this thread until it can take `n` permits (default 1); returns a guard that releases
   * them. A request that has waited more than about a millisecond goes first: later acquirers
   * queue behind it until it is served.
   */
  acquire(n = 1): PermitGuard {
    this.#checkN(n);
    // Fast path: gate open and enough permits: one load, one CAS.
    if (!tryTake(this.#a, this.#i, n, 0)) this.#acquireContended(n, Infinity);
    else {
      this.#took(n); // recorded before any event subscriber runs
      if (observing || acquireChannel.hasSubscribers) noteAcquired(this); // observe: off = one test
    }
    return new PermitGuard(this, n);
  }

  /**
   * Without `timeoutMs`: takes `n` permits (default 1) if they are free and nobody is first in
   * line, never waits. With it: waits up to `timeoutMs` ms, blocking the thread. Returns whether
   * the permits were taken (release them with `release(n)`).
   */
  tryAcquire(n = 1, timeoutMs?: number): boolean {
    this.#checkN(n);
    if (timeoutMs !== undefined) checkTimeout(timeoutMs, 'timeoutMs');
    if (tryTake(this.#a, this.#i, n, 0)) {
      this.#took(n); // recorded before any event subscriber runs
      if (observing || acquireChannel.hasSubscribers) noteAcquired(this); // observe: off = one test
      return true;
    }
    if (timeoutMs === undefined) {
      // A plain try never waits, but dead holders' permits must come back: reap, retry once.
      if (reapDeadPermits(this.#a, this.#i, this.#onOwnerDied) === 0 || !tryTake(this.#a, this.#i, n, 0)) return false;
      this.#took(n); // recorded before any event subscriber runs
      if (observing || acquireChannel.hasSubscribers) noteAcquired(this); // observe: an acquisition like any other
      return true;
    }
    return this.#acquireContended(n, deadlineAfter(timeoutMs));
  }

  /**
   * Waits on the event loop for `n` permits (default 1); resolves to a guard that releases them.
   * Rejects with TimeoutError after `options.timeout` ms or with the signal's reason when
   * `options.signal` aborts; a rejected request holds no permits.
   */
  async acquireAsync(n = 1, options?: WaitOptions): Promise<PermitGuard> {
    this.#checkN(n);
    const wait = parseWaitOptions(options);
    if (wait.signal?.aborted) throw abortReason(wait.signal);
    if (!tryTake(this.#a, this.#i, n, 0)) {
      // The permits are recorded in the acquiring turn (core/park.ts `won`), not after the await.
      await contendedAsync(this, wait.signal, () => acquireAsyncSlow(this.#a, this.#i, n, wait, this.name, this.#onOwnerDied, () => this.#took(n)));
    } else {
      this.#took(n); // recorded before any event subscriber runs
      if (observing || acquireChannel.hasSubscribers) noteAcquired(this); // observe: off = one test
    }
    return new PermitGuard(this, n);
  }

  /**
   * Returns `n` permits (default 1) and wakes waiters they may satisfy. Throws RangeError if the
   * count would exceed `max`.
   */
  release(n = 1): void {
    this.#checkN(n);
    if (this.#tracks) {
      // A reaped thread's recorded permits were given back by its reaper: never twice.
      if (wasReaped()) {
        this.#held -= Math.min(n, this.#held);
        return;
      }
      this.#dropOwned(n);
    }
    if (!release(this.#a, this.#i, n)) {
      throw new RangeError(
        `${this.name}: release(n) with n = ${n} would raise the count ${this.available()} above max ${this.max}`,
      );
    }
    if (observing || releaseChannel.hasSubscribers) noteReleased(this); // observe: off = one test
  }

  /**
   * The blocking wait after the fast path failed, timed for stats and events. Under the verifier
   * it runs in watchdog-sized steps (`waitChecked`; owner unknown: 0).
   * CORRECTNESS: a step that times out gives up like a timed-out `tryAcquire(n, ms)` (it clears its
   * head claim, opening the gate for the others) and the next step starts a fresh request that
   * re-reads SEQ before it sleeps, so no release is lost; the waiter only loses its place in line.
   */
  #acquireContended(n: number, deadline: number): boolean {
    // Permits name no owner (0 for the verifier); they are recorded (`won`) right after the take,
    // before any event subscriber runs (core/acquire.ts).
    return contendedWait(
      { lock: this, slow: (d) => acquireSlow(this.#a, this.#i, n, d, this.#onOwnerDied), owner: () => 0, won: () => this.#took(n) },
      deadline,
    );
  }

  /** Runs `fn` holding `n` permits; releases them when it returns or throws; returns its value. */
  withPermits<T>(n: number, fn: () => T): T {
    return runHeld(this, () => this.acquire(n), () => this.release(n), fn);
  }

  /** Awaits `n` permits (see `acquireAsync`), runs `fn`, awaits its result, releases them. */
  withPermitsAsync<T>(n: number, fn: () => T | Promise<T>, options?: WaitOptions): Promise<T> {
    // Permits have no owner: no verifier scope (`shared` undefined).
    return runHeldAsync(this, (o) => this.acquireAsync(n, o), () => this.release(n), fn, options, undefined);
  }

  /** Snapshot of the free permits, for diagnostics only (it may change at once). */
  available(): number {
    return Atomics.load(this.#a, this.#i + COUNT);
  }

  /** Snapshot: is a starving request first in line (the gate closed, lease running)? For diagnostics only. */
  hasQueuedHead(): boolean {
    return isGated(this.#a, this.#i, 0);
  }

  /** True if created with `trackOwners` (permits are recorded per thread). */
  get tracksOwners(): boolean {
    return this.#tracks;
  }

  /** With `trackOwners`: true once a dead thread's permits were given back (never cleared). */
  get ownerDied(): boolean {
    return (Atomics.load(this.#a, this.#i + TRACK) & TRACK_OWNER_DIED) !== 0;
  }

  /** After taking n permits: record them if this semaphore tracks owners (raw invariant 6). */
  #took(n: number): void {
    if (!this.#tracks) return;
    this.#held += n;
    addHold(this.#a, this.#i + HOLDERS, SEM_SLOTS, OWNER_ID, n); // −1: untracked (slots full)
  }

  /** Before releasing n permits of a tracking semaphore: they must be ours; drop our record. */
  #dropOwned(n: number): void {
    if (n > this.#held) {
      throw new LockError(
        'ERR_LOCK_NOT_HELD',
        `${this.name}: release(${n}) by thread ${OWNER_ID - 1}, which holds ${this.#held} permits through this object (trackOwners)`,
        this.name,
      );
    }
    this.#held -= n;
    // Our slot may record fewer (some untracked): drop at most what it records.
    const recorded = Math.min(n, heldBy(this.#a, this.#i + HOLDERS, SEM_SLOTS, OWNER_ID));
    if (recorded > 0) dropHold(this.#a, this.#i + HOLDERS, SEM_SLOTS, OWNER_ID, recorded);
  }

  #checkN(n: unknown): asserts n is number {
    if (n === 1) return; // one permit is always a valid count (max ≥ 1): no load of MAX
    if (typeof n !== 'number') throw new TypeError(`n must be a number of permits, got ${describe(n)}`);
    const max = this.max;
    if (!Number.isSafeInteger(n) || n < 1 || n > max) {
      throw new RangeError(`n must be an integer from 1 to ${max} (the semaphore's max), got ${n}`);
    }
  }
}

/**
 * `Semaphore.from`, written outside the class body: a class that names itself in its own body is
 * bundled as `_Semaphore` (its name in stack traces; tsup.config.ts).
 */
function attachHandle(handle: Handle): Semaphore {
  return new Semaphore(FROM_HANDLE, handle);
}

/** The arguments of a `new Semaphore(permits, options)` that places: checked before anything is written. */
function readInit(permits: unknown, options: unknown): { permits: number; max: number; track: boolean } {
  if (typeof permits !== 'number') throw new TypeError(`permits must be a number, got ${describe(permits)}`);
  if (!Number.isInteger(permits) || permits < 0 || permits > MAX_PERMITS) {
    throw new RangeError(`permits must be an integer from 0 to ${MAX_PERMITS}, got ${permits}`);
  }
  return { permits, max: readMax(options, permits), track: readTrack(options) };
}

function readTrack(options: unknown): boolean {
  if (options === undefined || options === null || typeof options !== 'object') return false;
  return readBoolean((options as SemaphoreOptions).trackOwners, 'options.trackOwners', false);
}

function readMax(options: unknown, permits: number): number {
  if (options === undefined || options === null || typeof options !== 'object') return MAX_PERMITS;
  const { max } = options as SemaphoreOptions;
  if (max === undefined) return MAX_PERMITS;
  if (typeof max !== 'number') throw new TypeError(`options.max must be a number, got ${describe(max)}`);
  if (!Number.isInteger(max) || max < 1 || max > MAX_PERMITS) {
    throw new RangeError(`options.max must be an integer from 1 to ${MAX_PERMITS}, got ${max}`);
  }
  if (permits > max) throw new RangeError(`permits (${permits}) must not exceed options.max (${max})`);
  return max;
}
