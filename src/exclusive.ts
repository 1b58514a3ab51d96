/**
 * What `Mutex`, `SpinLock` and `TicketLock` share: guards, `withLock`, errors, argument checks;
 * and what every lock's `with*` helpers share (`runHeld`, `runHeldAsync`). Each subclass keeps its
 * own `lock()`/`unlock()` fast paths inline; everything here is off the fast path.
 */
import { LockError } from './core/errors.js';
import { Guard } from './core/guard.js';
import { describe, RankedPrimitive, type Kind, type Placement } from './core/layout.js';
import type { WaitOptions } from './core/futex.js';
import { OWNER_ID } from './core/thread.js';
import { checking, runHolding, type CheckedLock } from './core/hooks.js';

/**
 * Proof of one acquisition. `unlock()` (or leaving a `using` block) releases it once; releasing
 * a guard again does nothing.
 */
export class LockGuard extends Guard {
  readonly #lock: Lockable;
  #held = true;
  constructor(lock: Lockable) {
    super();
    this.#lock = lock;
  }
  /**
   * True if a previous holder died holding the lock and nobody has called `markConsistent()`
   * since (read from the lock word when asked, so the fast path pays nothing for it).
   */
  get ownerDied(): boolean {
    return this.#lock.ownerDied === true;
  }
  /** True until this guard released its lock. */
  get held(): boolean {
    return this.#held;
  }
  /** Releases the lock this guard stands for (once; later calls do nothing). */
  unlock(): void {
    if (!this.#held) return;
    this.#held = false;
    this.#lock.unlock();
  }
  /** @internal */
  protected _drop(): void {
    this.unlock();
  }
}

/**
 * The protocol every exclusive lock implements; `Condition` and other helpers accept any
 * `Lockable`.
 */
export interface Lockable {
  /** Blocks this thread until it holds the lock (sablock's locks return a {@link LockGuard}). */
  lock(): unknown;
  /** Releases the lock this thread holds (sablock's locks throw a `LockError` otherwise). */
  unlock(): void;
  /**
   * Takes the lock if it is free; with `timeoutMs`, waits up to that many ms (blocking). Returns
   * whether this thread now holds it.
   */
  tryLock(timeoutMs?: number): boolean;
  /** Resolves once this thread holds the lock, without blocking the event loop (rejects on `timeout`/`signal`). */
  lockAsync(options?: WaitOptions): Promise<unknown>;
  /** Whether some thread holds the lock right now (a snapshot, for diagnostics). */
  isLocked(): boolean;
  /** Lock class name, used in error messages, the verifier and stats. */
  readonly name: string;
  /** Set by locks that track owner death. */
  readonly ownerDied?: boolean;
  /**
   * True if this thread holds the lock, for locks that know their owner (`Condition.wait` uses it
   * to reject waiting without the lock). Optional: locks without owners leave it out.
   */
  isHeldByCurrentThread?(): boolean;
}

export function checkCallback(fn: unknown, name = 'fn'): asserts fn is (...args: never[]) => unknown {
  if (typeof fn !== 'function') throw new TypeError(`${name} must be a function, got ${describe(fn)}`);
}

/**
 * Every `with*` helper (`withLock`, `withReadLock`, `withWriteLock`, `withPermits`): checks `fn`
 * before taking anything, calls `take` on `lock`, runs `fn`, and calls `give` on `lock` however
 * `fn` ends; returns `fn`'s value. `take` and `give` are the lock's own methods (no closure).
 */
export function runHeld<L, T>(lock: L, take: (this: L) => unknown, give: (this: L) => void, fn: () => T): T {
  checkCallback(fn);
  take.call(lock);
  try {
    return fn();
  } finally {
    give.call(lock);
  }
}

/**
 * The async forms (`withLockAsync`, …): awaits `take(options)`, runs `fn`, awaits its result, and
 * calls `give` however it ends. `shared`: how the verifier sees the hold (read: true), undefined
 * for permits, which the verifier does not order.
 */
export async function runHeldAsync<L extends CheckedLock, T>(
  lock: L,
  take: (this: L, options?: WaitOptions) => Promise<unknown>,
  give: (this: L) => void,
  fn: () => T | Promise<T>,
  options: WaitOptions | undefined,
  shared: boolean | undefined,
): Promise<T> {
  checkCallback(fn);
  await take.call(lock, options);
  try {
    // Under the verifier, `fn` and everything it awaits run in a scope that holds this lock, so
    // locks taken inside are ordered after it (async holds have no thread-wide order).
    return await (checking && shared !== undefined ? runHolding(lock, shared, fn) : fn());
  } finally {
    give.call(lock);
  }
}

/** Base of the exclusive locks: the state word's view, with-helpers, errors. */
export abstract class ExclusiveLock extends RankedPrimitive implements Lockable {
  /** @internal whole-buffer view */
  protected readonly _a: Int32Array;
  /** @internal index of the first state word */
  protected readonly _i: number;

  protected constructor(kind: Kind, p: Placement) {
    super(kind, p);
    this._a = p.i32;
    this._i = p.base + 1;
  }

  abstract lock(): LockGuard;
  abstract unlock(): void;
  abstract tryLock(timeoutMs?: number): boolean;
  abstract lockAsync(options?: WaitOptions): Promise<LockGuard>;
  abstract isLocked(): boolean;

  /** Runs `fn` holding the lock; unlocks when it returns or throws; returns its value. */
  withLock<T>(fn: () => T): T {
    return runHeld(this, this.lock, this.unlock, fn);
  }

  /** Awaits the lock (see `lockAsync`), runs `fn`, awaits its result, unlocks. */
  withLockAsync<T>(fn: () => T | Promise<T>, options?: WaitOptions): Promise<T> {
    return runHeldAsync(this, this.lockAsync, this.unlock, fn, options, false);
  }

  /** @internal The ERR_LOCK_NOT_OWNER error for an `unlock()` by a non-owner (`owner`: the lock word's owner id, 0 = free). */
  protected _notOwner(owner: number): LockError {
    return new LockError(
      'ERR_LOCK_NOT_OWNER',
      owner === 0
        ? `${this.name}: unlock() of a ${this._kind} that is not locked`
        : `${this.name}: unlock() by thread ${currentThreadId()} of a ${this._kind} held by thread ${owner - 1}`,
      this.name,
    );
  }

  /** @internal The ERR_LOCK_RECURSIVE error for re-locking a lock this thread already holds. */
  protected _recursive(): LockError {
    return new LockError(
      'ERR_LOCK_RECURSIVE',
      `${this.name}: thread ${currentThreadId()} already holds this ${this._kind}; locking it again would deadlock`,
      this.name,
    );
  }
}

function currentThreadId(): number {
  return OWNER_ID - 1;
}
