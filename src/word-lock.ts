/**
 * The API layer over `raw/mutex.ts`, shared by `Mutex` and `SpinLock`: they are the same state
 * word and differ only in how long they spin and whether a starving waiter gets a handoff
 * (`POLICIES`, below); everything else, construction included, is written once here.
 *
 * Layout (8 bytes):
 * | word | content |
 * |------|---------|
 * | 0    | tag (kind id), written once by the constructor |
 * | 1    | state: owner id (bits 0–27) \| PARKED \| FAIR \| HANDOFF \| OWNER_DIED — see `raw/mutex.ts` |
 */
import { assertOwnerIdFits, OWNER_ID } from './core/thread.js';
import { contendedAsync, contendedWait } from './core/acquire.js';
import { wasReaped } from './core/owner-death.js';
import { checkTimeout, deadlineAfter, parseWaitOptions, type WaitOptions } from './core/futex.js';
import { abortReason, LockError } from './core/errors.js';
import { FROM_HANDLE, placeOrAttach, type Handle, type PlacementOptions } from './core/layout.js';
import { FAIR_AFTER_MS } from './core/park.js';
import { SpinBudget } from './core/spin.js';
import { ExclusiveLock, LockGuard } from './exclusive.js';
import { checking, onAcquire, onAcquired, onRelease, tryChecked } from './core/hooks.js';
import {
  clearOwnerDied,
  isFree,
  lockAsyncSlow,
  lockSlow,
  OWNER_DIED,
  ownerOf,
  tryLockSlow,
  unlockSlow,
  type ExclusivePolicy,
} from './raw/mutex.js';
import { noteAcquired, noteOwnerDied, noteReleased, observing } from './core/observe.js';
import { acquireChannel, releaseChannel } from './core/events.js';

export const WORD_LOCK_BYTES = 8;

/** The two locks on this state word. */
export type WordLockKind = 'Mutex' | 'SpinLock';

/** This thread's tuning for every lock of each kind: the one thing Mutex and SpinLock differ in. */
const POLICIES: Record<WordLockKind, ExclusivePolicy> = {
  // Short spins, handoff after 1 ms parked.
  Mutex: { budget: new SpinBudget(4, 128), maxBackoff: 16, fairAfterMs: FAIR_AFTER_MS },
  // Long backed-off spins, no handoff (throughput first).
  SpinLock: { budget: new SpinBudget(16, 1024), maxBackoff: 256, fairAfterMs: Infinity },
};

/** @internal Base of Mutex and SpinLock. */
export abstract class WordLock extends ExclusiveLock {
  /** Bytes one lock occupies at a placement. */
  static readonly BYTE_LENGTH = WORD_LOCK_BYTES;

  /**
   * Attaches to the lock a handle describes (from `lock.handle`, possibly another thread's):
   * `Mutex.from(handle)` is a `Mutex`, `SpinLock.from(handle)` a `SpinLock`. Throws if the handle
   * is of another kind. Written on `this`, not on a class name: a class that names itself in its
   * own body is bundled as `_Mutex` (its name in stack traces; tsup.config.ts).
   */
  static from(handle: Handle): WordLock {
    return new (this as unknown as new (options: typeof FROM_HANDLE, handle: unknown) => WordLock)(FROM_HANDLE, handle);
  }

  readonly #policy: ExclusivePolicy;
  /** Called by the raw layer when this thread took the lock over from a dead owner (once per death). */
  readonly #onOwnerDied = (): void => noteOwnerDied(this);

  /** @internal Which of the two a class is: what its constructor places and its `from` accepts. */
  protected static readonly kind: WordLockKind;

  /** Places a new lock: in a fresh SharedArrayBuffer, or at `options.buffer`/`byteOffset`. */
  constructor(options?: PlacementOptions);
  /** @internal */
  constructor(options: typeof FROM_HANDLE, handle: unknown);
  constructor(options?: PlacementOptions | typeof FROM_HANDLE, handle?: unknown) {
    assertOwnerIdFits();
    // The subclass's static `kind` (a user's subclass of Mutex inherits Mutex's).
    const kind = (new.target as unknown as { kind: WordLockKind }).kind;
    super(kind, placeOrAttach(kind, WORD_LOCK_BYTES, options, handle));
    this.#policy = POLICIES[kind];
  }

  /** Blocks until this thread holds the lock. Throws ERR_LOCK_RECURSIVE if it already does. */
  lock(): LockGuard {
    // The verifier's only cost when off: this one branch (core/hooks.ts).
    if (__SABLOCK_HOOKS__ && checking) return this.#lockChecked();
    // Fast path: one CAS from free to ours.
    if (Atomics.compareExchange(this._a, this._i, 0, OWNER_ID) !== 0) this.#lockContended(Infinity);
    else if (__SABLOCK_HOOKS__ && (observing || acquireChannel.hasSubscribers)) noteAcquired(this); // observe: off = one test
    return new LockGuard(this);
  }

  /** Releases the lock. Throws ERR_LOCK_NOT_OWNER unless this thread holds it. */
  unlock(): void {
    if (__SABLOCK_HOOKS__ && checking) onRelease(this, false, ownerOf(Atomics.load(this._a, this._i)));
    // Fast path: ours, nobody parked, no flags: one CAS back to free, no notify.
    if (Atomics.compareExchange(this._a, this._i, OWNER_ID, 0) !== OWNER_ID) {
      // Not ours: a misuse, unless this thread was reaped and the lock taken over (then ignore it).
      if (!unlockSlow(this._a, this._i, OWNER_ID) && !wasReaped()) throw this._notOwner(ownerOf(Atomics.load(this._a, this._i)));
    }
    if (__SABLOCK_HOOKS__ && (observing || releaseChannel.hasSubscribers)) noteReleased(this); // observe: off = one test
  }

  /**
   * Without `timeoutMs`: takes the lock if it is free, never waits. With it: waits up to
   * `timeoutMs` ms, blocking the thread. Returns whether this thread now holds the lock.
   */
  tryLock(timeoutMs?: number): boolean {
    // A bad timeout is an error whether or not the lock happens to be free.
    if (timeoutMs !== undefined) checkTimeout(timeoutMs, 'timeoutMs');
    if (checking) return tryChecked(this, false, timeoutMs !== undefined, () => this.#tryLock(timeoutMs));
    return this.#tryLock(timeoutMs);
  }

  #tryLock(timeoutMs: number | undefined): boolean {
    // One CAS attempt first, whatever the timeout.
    if (
      Atomics.compareExchange(this._a, this._i, 0, OWNER_ID) === 0 ||
      (timeoutMs === undefined && tryLockSlow(this._a, this._i, OWNER_ID, this.#onOwnerDied))
    ) {
      if (observing || acquireChannel.hasSubscribers) noteAcquired(this); // observe: off = one test
      return true;
    }
    if (timeoutMs === undefined) return false;
    return this.#lockContended(deadlineAfter(timeoutMs));
  }

  /**
   * Waits for the lock on the event loop. Rejects with TimeoutError after `options.timeout` ms or
   * with the signal's reason when `options.signal` aborts. A task of the holding thread waits like
   * any other (another task on the same thread may release it).
   */
  async lockAsync(options?: WaitOptions): Promise<LockGuard> {
    const wait = parseWaitOptions(options);
    if (wait.signal?.aborted) throw abortReason(wait.signal);
    if (checking) onAcquire(this, false, true);
    // Fast path first; otherwise queue on the event loop.
    if (Atomics.compareExchange(this._a, this._i, 0, OWNER_ID) !== 0 && !tryLockSlow(this._a, this._i, OWNER_ID, this.#onOwnerDied)) {
      // Queue on the event loop (core/acquire.ts: observed from its first step).
      await contendedAsync(this, wait.signal, () => lockAsyncSlow(this._a, this._i, OWNER_ID, wait, this.#policy, this.name, this.#onOwnerDied));
    } else if (observing || acquireChannel.hasSubscribers) noteAcquired(this); // observe: off = one test
    if (checking) onAcquired(this, false, true);
    return new LockGuard(this);
  }

  /** Snapshot: is anyone holding it? For diagnostics only (it may change at once). */
  isLocked(): boolean {
    return !isFree(Atomics.load(this._a, this._i));
  }

  /** True if this thread holds the lock (its owner id is in the word). */
  isHeldByCurrentThread(): boolean {
    return ownerOf(Atomics.load(this._a, this._i)) === OWNER_ID;
  }

  /** True when a holder died holding the lock and nobody has called `markConsistent()` since. */
  get ownerDied(): boolean {
    return (Atomics.load(this._a, this._i) & OWNER_DIED) !== 0;
  }

  /** Declares the protected data repaired after an owner death; this thread must hold the lock. */
  markConsistent(): void {
    if (ownerOf(Atomics.load(this._a, this._i)) !== OWNER_ID) {
      throw new LockError(
        'ERR_LOCK_NOT_HELD',
        `${this.name}: markConsistent() needs the lock held by this thread`,
        this.name,
      );
    }
    clearOwnerDied(this._a, this._i);
  }

  #lockContended(deadline: number): boolean {
    if (ownerOf(Atomics.load(this._a, this._i)) === OWNER_ID) throw this._recursive();
    // Built here, off the fast path (no per-lock allocation). The owner id is in the word: taking
    // it is its record (no `won`). Under the verifier the slow path runs in watchdog steps;
    // CORRECTNESS: a step that times out leaves the word as `tryLock(ms)` does (at most a stale
    // PARKED bit: one spare notify later), and the next step re-reads the word before it sleeps,
    // so a release between two steps is not lost.
    return contendedWait(
      {
        lock: this,
        slow: (d) => lockSlow(this._a, this._i, OWNER_ID, d, this.#policy, this.#onOwnerDied),
        owner: () => ownerOf(Atomics.load(this._a, this._i)),
      },
      deadline,
    );
  }

  // ---- the verifier's paths (only while core/hooks.ts `checking` is true) ---------------------------

  #lockChecked(): LockGuard {
    onAcquire(this, false, false);
    if (Atomics.compareExchange(this._a, this._i, 0, OWNER_ID) !== 0) this.#lockContended(Infinity);
    else if (observing || acquireChannel.hasSubscribers) noteAcquired(this); // observe
    onAcquired(this, false, false);
    return new LockGuard(this);
  }
}
