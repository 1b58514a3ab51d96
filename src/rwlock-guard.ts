/**
 * What an `RWLock` hands out besides itself: `RWLockGuard`, the proof of one hold that
 * `readLock()`, `writeLock()`, `upgradableReadLock()` and their async forms return (it releases
 * whatever it holds now, and converts in place on `upgrade()` / `downgrade()`), and the lock's
 * write and read sides as `Lockable`s (`rw.writer`, `rw.reader`).
 */
import { LockError } from './core/errors.js';
import { Guard } from './core/guard.js';
import type { WaitOptions } from './core/futex.js';
import type { Lockable } from './exclusive.js';
import type { RWLock } from './rwlock.js';

/** What an {@link RWLockGuard} holds now. */
export type RWLockMode = 'read' | 'upgradable' | 'write' | 'released';

/**
 * Proof of one RWLock hold. `unlock()` (or leaving a `using` block) releases whatever it holds
 * now; `upgrade()` and `downgrade()` convert it in place. Release either through the guard or
 * through the lock's methods, not both.
 */
export class RWLockGuard extends Guard {
  readonly #rw: RWLock;
  #mode: RWLockMode;
  /** @internal */
  constructor(rw: RWLock, mode: RWLockMode) {
    super();
    this.#rw = rw;
    this.#mode = mode;
  }
  /** What this guard holds now. */
  get mode(): RWLockMode {
    return this.#mode;
  }
  /** True until this guard released its lock. */
  get held(): boolean {
    return this.#mode !== 'released';
  }
  /** @internal */
  _setMode(mode: RWLockMode): void {
    this.#mode = mode;
  }
  /** Releases the hold (once; later calls do nothing). */
  unlock(): void {
    const mode = this.#mode;
    this.#mode = 'released';
    if (mode === 'read') this.#rw.readUnlock();
    else if (mode === 'write') this.#rw.writeUnlock();
    else if (mode === 'upgradable') this.#rw.upgradableReadUnlock();
  }
  /** Upgradable → write (see `RWLock.upgrade`); returns this guard. */
  upgrade(): this {
    if (this.#mode !== 'upgradable') throw this.#wrongMode('upgrade', 'upgradable');
    this.#rw.upgrade();
    this.#mode = 'write';
    return this;
  }
  /** Write → read, atomically (see `RWLock.downgrade`); returns this guard. */
  downgrade(): this {
    if (this.#mode !== 'write') throw this.#wrongMode('downgrade', 'write');
    this.#rw.downgrade();
    this.#mode = 'read';
    return this;
  }
  /** @internal */
  protected _drop(): void {
    this.unlock();
  }
  #wrongMode(op: string, want: string): LockError {
    return new LockError(
      'ERR_LOCK_NOT_HELD',
      `${this.#rw.name}: ${op}() on a guard holding ${this.#mode}, not ${want}`,
      this.#rw.name,
    );
  }
}

/** The methods each side of an RWLock is made of, named by what they are as a `Lockable`. */
const SIDES = {
  write: { lock: 'writeLock', unlock: 'writeUnlock', tryLock: 'tryWriteLock', lockAsync: 'writeLockAsync', isLocked: 'isWriteLocked' },
  read: { lock: 'readLock', unlock: 'readUnlock', tryLock: 'tryReadLock', lockAsync: 'readLockAsync', isLocked: 'isLocked' },
} as const;

/**
 * One side of `rw` as a `Lockable` (`rw.writer`, `rw.reader`): each call goes to that side's
 * method. The write side also reports `ownerDied` (write and upgradable holds have owners).
 */
export function sideView(rw: RWLock, side: keyof typeof SIDES): Lockable {
  const m = SIDES[side];
  const view: Lockable = {
    name: rw.name,
    lock: () => rw[m.lock](),
    unlock: () => rw[m.unlock](),
    tryLock: (ms?: number) => rw[m.tryLock](ms),
    lockAsync: (o?: WaitOptions) => rw[m.lockAsync](o),
    isLocked: () => rw[m.isLocked](),
  };
  if (side === 'write') Object.defineProperty(view, 'ownerDied', { get: () => rw.ownerDied, enumerable: true, configurable: true });
  return view;
}
