/**
 * The lock-order verifier's hooks: the seam between the primitives and `src/check/`. It lives in
 * core, below both: primitives (and `core/layout.ts`) call it, and `check/` installs its
 * implementation into it (`install()`), so no arrow runs from core or a primitive up into `check/`.
 *
 * Design (parking_lot's `deadlock` feature, Linux lockdep's `lock_acquire`/`lock_release`): every
 * primitive keeps its fast path untouched and tests ONE module-level boolean, `checking`, once per
 * `lock()`/`unlock()`. When it is false (the default) nothing else runs; when the verifier is
 * enabled (`lockcheck.enable()` or `SABLOCK_CHECK=1`) the primitive takes its checked path, which
 * calls the functions below around the same raw operations.
 *
 * ## Calling protocol (for every lock primitive)
 * | call | when | may throw `LockOrderError` |
 * |------|------|----------------------------|
 * | `onAcquire(lock, shared, async)` | before a blocking (`lock()`, `tryLock(ms)`) or async (`lockAsync`) attempt, before anything is taken | yes (order, rank, recursion) |
 * | `waitChecked(lock, shared, deadline, abandonable, attempt, owner)` | instead of the blocking slow path, once the fast path failed | yes (main-thread block, deadlock when `abandonable`) |
 * | `onWait(lock, shared, owner)` / `onWaitEnd()` | around a blocking wait a primitive runs itself (what `waitChecked` does for you) | `onWait` yes |
 * | `onAcquired(lock, shared, async)` | after the lock is taken, by every path (plain `tryLock()` included) | no |
 * | `onRelease(lock, shared, owner)` | before the release; `owner` is the owner id in the lock word (0 = free or unknown) | yes (not-owner) |
 * | `runHolding(lock, shared, fn)` | `withLockAsync`-style helpers: runs `fn` in an async scope that holds `lock`, after it was taken | no |
 *
 * Locks taken with `lockAsync` are held by a task, not by the thread: they order later acquisitions
 * only inside a `runHolding` scope (which `withLockAsync` opens), where the verifier knows which
 * task holds them.
 *
 * `shared` is true for read (shared-mode) acquisitions and releases. A plain non-blocking
 * `tryLock()` calls only `onAcquired`: it cannot wait, so it adds no order edge of its own (as in
 * lockdep), but once held it orders what is taken after it.
 *
 * The verifier installs its implementation with `install()`; nothing here allocates or captures a
 * stack while `checking` is false.
 */

/** What the verifier needs to know about a lock object (every sablock lock has these). */
export interface CheckedLock {
  /** Lock name (the class, unless `lockClass` says otherwise). */
  readonly name: string;
  /** Lock class: the name, or the construction site of an unnamed lock. */
  readonly lockClass?: string;
  /** Declared rank: a lock may only be acquired while every held lock has a lower rank. */
  readonly rank?: number | undefined;
  /**
   * Shared acquisitions of this lock never wait behind a queued writer (a reader-preferring RW
   * lock). Such reads are lockdep's "recursive reads": readers that cannot block each other make
   * no cycle. Default false: a read may wait behind a writer (writer-preferring), so it orders
   * like an exclusive acquisition.
   */
  readonly readerPreferring?: boolean;
  /** Where the lock lives; with `byteOffset`, identifies the lock if a thread has two views of it. */
  readonly buffer?: SharedArrayBuffer;
  /** Byte offset of the lock in `buffer`. */
  readonly byteOffset?: number;
}

/**
 * Runs a blocking slow path under the verifier: announces the wait (main-thread-block check,
 * waits-for entry), then calls `attempt(stepDeadline)` with deadlines no further apart than the
 * watchdog period, so this thread looks for a waits-for cycle while it waits. `attempt` must
 * return true once the lock is taken and false when its deadline passed with the lock not taken,
 * and must be callable again after that. `owner()` reads the current owner id (0 if unknown).
 * With `abandonable` false (a ticket already taken) a detected deadlock is reported, never thrown.
 * Returns whether the lock was taken before `deadline`.
 */
export type WaitChecked = (
  lock: CheckedLock,
  shared: boolean,
  deadline: number,
  abandonable: boolean,
  attempt: (deadline: number) => boolean,
  owner: () => number,
) => boolean;

/** The verifier's implementation of the hooks (see the table above). */
export interface CheckHooks {
  onAcquire(lock: CheckedLock, shared: boolean, async: boolean): void;
  onAcquired(lock: CheckedLock, shared: boolean, async: boolean): void;
  onRelease(lock: CheckedLock, shared: boolean, owner: number): void;
  onWait(lock: CheckedLock, shared: boolean, owner: number): void;
  onWaitEnd(): void;
  readonly waitChecked: WaitChecked;
  constructionSite(kind: string): string;
  runHolding<T>(lock: CheckedLock, shared: boolean, fn: () => T): T;
}

/** True while the verifier is enabled in this thread. Primitives test it once per operation. */
export let checking = false;

let impl: CheckHooks | undefined;

/** @internal Called by the verifier when it enables itself in this thread. */
export function install(hooks: CheckHooks | undefined): void {
  impl = hooks;
  checking = hooks !== undefined;
}

/** Before a blocking or async acquisition attempt. */
export function onAcquire(lock: CheckedLock, shared: boolean, async: boolean): void {
  impl?.onAcquire(lock, shared, async);
}

/** After any successful acquisition. */
export function onAcquired(lock: CheckedLock, shared: boolean, async: boolean): void {
  impl?.onAcquired(lock, shared, async);
}

/**
 * A `tryLock(timeoutMs)`-style attempt under the verifier: `attempt` does the same work as the
 * unchecked path; a `timed` attempt can wait, so it orders like a blocking one (`onAcquire` first),
 * a plain try cannot (lockdep's rule); a success is recorded (`onAcquired`). Returns `attempt()`'s.
 */
export function tryChecked(lock: CheckedLock, shared: boolean, timed: boolean, attempt: () => boolean): boolean {
  if (timed) onAcquire(lock, shared, false);
  const taken = attempt();
  if (taken) onAcquired(lock, shared, false);
  return taken;
}

/** Before a release; `owner` is the owner id the lock word names (0 when none or unknown). */
export function onRelease(lock: CheckedLock, shared: boolean, owner: number): void {
  impl?.onRelease(lock, shared, owner);
}

/** Before this thread blocks waiting for `lock` (owner id `owner`, 0 if unknown). */
export function onWait(lock: CheckedLock, shared: boolean, owner: number): void {
  impl?.onWait(lock, shared, owner);
}

/** After the blocking wait announced by `onWait` ended (taken, timed out or thrown). */
export function onWaitEnd(): void {
  impl?.onWaitEnd();
}

/** A blocking slow path run under the verifier (see `WaitChecked`); without it, `attempt(deadline)`. */
export const waitChecked: WaitChecked = (lock, shared, deadline, abandonable, attempt, owner) =>
  impl === undefined ? attempt(deadline) : impl.waitChecked(lock, shared, deadline, abandonable, attempt, owner);

/**
 * Runs `fn` in an async scope (AsyncLocalStorage) that holds `lock`: acquisitions made by `fn` and
 * whatever it awaits are ordered after `lock`. Call it after the lock was taken (onAcquired), and
 * release the lock once its result settled: the scope's hold ends there, so timers and promises
 * created inside that run later (they inherit the scope) see the lock as not held.
 */
export function runHolding<T>(lock: CheckedLock, shared: boolean, fn: () => T): T {
  return impl === undefined ? fn() : impl.runHolding(lock, shared, fn);
}

/** The construction site of a lock being created now, as a class name (only when checking). */
export function constructionSite(kind: string): string {
  return impl === undefined ? kind : impl.constructionSite(kind);
}
