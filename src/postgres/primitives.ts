/**
 * `mutex(name)`, `rwlock(name)`, `semaphore(name, permits)` of a `PgLocks`: the async method
 * names, options (`timeout`, `signal`), guards (`await using`) and errors of the in-process
 * `Mutex`, `RWLock` and `Semaphore`, over the same acquisitions as `request()` (`locks.ts`). A
 * mutex and `request(name)` are the same lock; an rwlock's read side is `mode: 'shared'`.
 *
 * Ownership: a hold belongs to its guard (and its session), not to a thread. `unlock()` on the
 * lock object releases the latest hold taken through that object; prefer the guard's.
 */
import { Guard, LockError, TimeoutError } from '../index.js';
import type { Hold, Target } from './hold.js';
import type { PgLocks } from './locks.js';

/** Options of the async acquisitions: as the in-process `WaitOptions`. */
export interface PgWaitOptions {
  /** Give up after this many ms (`TimeoutError`). */
  timeout?: number;
  /** Give up when this signal aborts (rejects with its reason). */
  signal?: AbortSignal;
}

/**
 * Proof of one hold: `token` (the fencing token of this grant), `signal` (aborts if the hold is
 * lost). `unlock()`/`release()` or leaving an `await using` block releases it, once.
 */
export class PgGuard extends Guard {
  readonly #locks: PgLocks;
  readonly #hold: Hold;
  readonly #forget: (g: PgGuard) => void;
  /** The lock's name. */
  readonly name: string;
  /** What this guard holds: `'exclusive'`, `'shared'` (rwlock read), or `'permits'`. */
  readonly mode: 'exclusive' | 'shared' | 'permits';
  /** @internal */
  constructor(locks: PgLocks, hold: Hold, forget: (g: PgGuard) => void) {
    super();
    this.#locks = locks;
    this.#hold = hold;
    this.#forget = forget;
    this.name = hold.target.name;
    this.mode = hold.target.sem !== undefined ? 'permits' : hold.target.shared ? 'shared' : 'exclusive';
  }
  /** Fencing token of this grant: larger with every grant of this name. */
  get token(): bigint {
    return this.#hold.token;
  }
  /** Aborts when the hold is lost (session ended, lease ran out, manager closed). */
  get signal(): AbortSignal {
    return this.#hold.signal;
  }
  /** True until released (a lost hold stays `held` until released: check `signal.aborted`). */
  get held(): boolean {
    return !this.#hold.released;
  }
  /** Semaphores: permits this guard still holds. */
  get permits(): number {
    return this.#hold.target.sem === undefined ? 0 : this.#hold.released ? 0 : this.#hold.slots.length;
  }
  /** Releases the hold (once; later calls do nothing). Resolves once the server let go. */
  unlock(): Promise<void> {
    this.#forget(this);
    return this.#locks._release(this.#hold);
  }
  /** The same as `unlock()` (the semaphore's name for it). */
  release(): Promise<void> {
    return this.unlock();
  }
  /** @internal */
  _releasePermits(n: number): Promise<void> {
    if (n >= this.permits) return this.unlock();
    return this.#locks._releasePermits(this.#hold, n);
  }
  /** @internal Runs `fn` in this hold's scope (nested acquisitions share its session). */
  _inScope<T>(fn: () => T): T {
    return this.#locks._inScope(this.#hold, fn);
  }
  /** @internal A plain `using` block cannot wait: the release is started, not awaited (use `await using`). */
  protected _drop(): void {
    void this.unlock().catch(() => {});
  }
  /** Releases the hold and waits for the server (for `await using`). */
  override async [Symbol.asyncDispose](): Promise<void> {
    await this.unlock();
  }
}

/** What the three primitives share: guards taken through this object, try-with-timeout, with-helpers. */
abstract class PgPrimitive {
  /** The lock's name. */
  readonly name: string;
  /** @internal */
  protected readonly _locks: PgLocks;
  /** @internal Holds taken through this object, oldest first. */
  protected readonly _guards: PgGuard[] = [];
  /** @internal */
  protected constructor(locks: PgLocks, name: string) {
    this._locks = locks;
    this.name = name;
  }
  /** @internal */
  protected async _take(t: Target, options: unknown, what = 'options'): Promise<PgGuard> {
    const wait = this._locks._parseWait(options, what);
    const hold = (await this._locks._acquire(t, wait, 'wait'))!;
    return this.#guard(hold);
  }
  /** @internal `timeoutMs` undefined or 0: only if free now; else wait up to it. Null if not taken. */
  protected async _try(t: Target, timeoutMs: unknown): Promise<PgGuard | null> {
    if (timeoutMs === undefined || timeoutMs === 0) {
      const hold = await this._locks._acquire(t, this._locks._parseWait(undefined), 'try');
      return hold === null ? null : this.#guard(hold);
    }
    const wait = this._locks._parseWait({ timeout: timeoutMs }, 'timeoutMs');
    try {
      return this.#guard((await this._locks._acquire(t, wait, 'wait'))!);
    } catch (e) {
      if (e instanceof TimeoutError) return null;
      throw e;
    }
  }
  /**
   * @internal Every `with*` method (as the in-process locks' `runHeldAsync`, which cannot serve:
   * it calls `fn()` without the guard, outside a hold's scope, and does not await the release):
   * checks `fn` before taking anything, awaits `take()`, runs `fn(guard)` in the hold's scope
   * (nested acquisitions share its session), and releases however `fn` ends, awaiting the server.
   */
  protected async _with<T>(fn: (guard: PgGuard) => T | Promise<T>, take: () => Promise<PgGuard>): Promise<T> {
    checkFn(fn);
    const g = await take();
    try {
      return await g._inScope(() => fn(g));
    } finally {
      await g.unlock();
    }
  }
  /** @internal The latest guard of this object matching `mode`, or ERR_LOCK_NOT_OWNER. */
  protected _latest(mode: PgGuard['mode'], op: string): PgGuard {
    for (let i = this._guards.length - 1; i >= 0; i--) if (this._guards[i]!.mode === mode) return this._guards[i]!;
    throw new LockError('ERR_LOCK_NOT_OWNER', `${this.name}: ${op}() without a ${mode} hold taken through this object`, this.name);
  }
  #guard(hold: Hold): PgGuard {
    const g = new PgGuard(this._locks, hold, (x) => {
      const i = this._guards.indexOf(x);
      if (i >= 0) this._guards.splice(i, 1);
    });
    this._guards.push(g);
    return g;
  }
}

function checkFn(fn: unknown): void {
  if (typeof fn !== 'function') throw new TypeError(`fn must be a function, got ${typeof fn}`);
}

/** An exclusive lock in the database (`locks.mutex(name)`): the same lock as `request(name)`. */
export class PgMutex extends PgPrimitive {
  readonly #t: Target;
  /** @internal */
  constructor(locks: PgLocks, name: string) {
    super(locks, name);
    this.#t = locks._lockTarget(name, false, 'PgMutex');
  }
  /** Resolves with a guard once held; rejects with `TimeoutError` / the signal's reason / `DeadlockError`. */
  lockAsync(options?: PgWaitOptions): Promise<PgGuard> {
    return this._take(this.#t, options);
  }
  /** A guard if taken now (or within `timeoutMs`), else null. */
  tryLockAsync(timeoutMs?: number): Promise<PgGuard | null> {
    return this._try(this.#t, timeoutMs);
  }
  /** The same as `tryLockAsync` (resolves to a guard, truthy, or null). */
  tryLock(timeoutMs?: number): Promise<PgGuard | null> {
    return this.tryLockAsync(timeoutMs);
  }
  /** Releases the latest hold taken through this object (`LockError` ERR_LOCK_NOT_OWNER if none). */
  async unlock(): Promise<void> {
    return this._latest('exclusive', 'unlock').unlock();
  }
  /** Takes the lock, runs `fn(guard)` (nested acquisitions share its session), releases it. */
  withLockAsync<T>(fn: (guard: PgGuard) => T | Promise<T>, options?: PgWaitOptions): Promise<T> {
    return this._with(fn, () => this.lockAsync(options));
  }
}

/** A read-write lock in the database (`locks.rwlock(name)`): reads are `'shared'`, writes `'exclusive'`. */
export class PgRWLock extends PgPrimitive {
  readonly #read: Target;
  readonly #write: Target;
  /** @internal */
  constructor(locks: PgLocks, name: string) {
    super(locks, name);
    this.#read = locks._lockTarget(name, true, 'PgRWLock', 'read');
    this.#write = locks._lockTarget(name, false, 'PgRWLock', 'write');
  }
  /** A shared hold. */
  readLockAsync(options?: PgWaitOptions): Promise<PgGuard> {
    return this._take(this.#read, options);
  }
  /** An exclusive hold. */
  writeLockAsync(options?: PgWaitOptions): Promise<PgGuard> {
    return this._take(this.#write, options);
  }
  /** A shared hold if free now (or within `timeoutMs`), else null. */
  tryReadLock(timeoutMs?: number): Promise<PgGuard | null> {
    return this._try(this.#read, timeoutMs);
  }
  /** An exclusive hold if free now (or within `timeoutMs`), else null. */
  tryWriteLock(timeoutMs?: number): Promise<PgGuard | null> {
    return this._try(this.#write, timeoutMs);
  }
  /** Releases the latest read hold taken through this object. */
  async readUnlock(): Promise<void> {
    return this._latest('shared', 'readUnlock').unlock();
  }
  /** Releases the latest write hold taken through this object. */
  async writeUnlock(): Promise<void> {
    return this._latest('exclusive', 'writeUnlock').unlock();
  }
  /** Runs `fn(guard)` holding a read lock. */
  withReadLockAsync<T>(fn: (guard: PgGuard) => T | Promise<T>, options?: PgWaitOptions): Promise<T> {
    return this._with(fn, () => this.readLockAsync(options));
  }
  /** Runs `fn(guard)` holding the write lock. */
  withWriteLockAsync<T>(fn: (guard: PgGuard) => T | Promise<T>, options?: PgWaitOptions): Promise<T> {
    return this._with(fn, () => this.writeLockAsync(options));
  }
}

/** Most permits a database semaphore may have (each permit is one advisory lock in the server's table). */
export const PG_MAX_PERMITS = 1024;

/** A counting semaphore in the database (`locks.semaphore(name, permits)`). */
export class PgSemaphore extends PgPrimitive {
  /** Its number of permits (every user of the name must agree; the database records it). */
  readonly max: number;
  /** @internal */
  constructor(locks: PgLocks, name: string, permits: number) {
    super(locks, name);
    this.max = permits;
  }
  /** `n` permits (FIFO among waiters: a large request is not overtaken by smaller ones). */
  acquireAsync(n = 1, options?: PgWaitOptions): Promise<PgGuard> {
    return Promise.resolve().then(() => this._take(this.#target(n), options));
  }
  /** `n` permits if available now (or within `timeoutMs`), else null. */
  tryAcquire(n = 1, timeoutMs?: number): Promise<PgGuard | null> {
    return Promise.resolve().then(() => this._try(this.#target(n), timeoutMs));
  }
  /** Gives back `n` permits taken through this object (latest guards first). */
  async release(n = 1): Promise<void> {
    this.#checkN(n);
    let left = n;
    const mine = this._guards.reduce((a, g) => a + g.permits, 0);
    if (mine < n) throw new LockError('ERR_LOCK_NOT_OWNER', `${this.name}: release(${n}) but only ${mine} permits were taken through this object`, this.name);
    while (left > 0) {
      const g = this._guards[this._guards.length - 1]!;
      const k = Math.min(left, g.permits);
      await g._releasePermits(k);
      left -= k;
    }
  }
  /** Runs `fn(guard)` holding `n` permits. */
  withPermitsAsync<T>(n: number, fn: (guard: PgGuard) => T | Promise<T>, options?: PgWaitOptions): Promise<T> {
    return this._with(fn, () => this.acquireAsync(n, options));
  }
  #checkN(n: unknown): asserts n is number {
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) throw new RangeError(`n must be a positive integer, got ${String(n)}`);
    if (n > this.max) throw new RangeError(`n must be at most the semaphore's ${this.max} permits, got ${n}`);
  }
  #target(n: unknown): Target {
    this.#checkN(n);
    return this._locks._semTarget(this.name, this.max, n);
  }
}
