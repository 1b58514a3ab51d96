/**
 * Every error sablock throws. Each class has a stable `code` that callers can match on; messages
 * name the lock (its class name) and the threads involved where that is known. `DeadlockError`, the
 * lock manager's, lives beside its cycle type in `manager/deadlock.ts` (core imports nothing above it).
 */

/** Codes carried by {@link LockError}. */
export type LockErrorCode =
  | 'ERR_LOCK_NOT_OWNER'
  | 'ERR_LOCK_RECURSIVE'
  | 'ERR_LOCK_NOT_HELD'
  | 'ERR_LOCK_THREAD_ID'
  | 'ERR_LOCK_STATE'
  /** An internal lock word's holder died in the middle of an update: the structure it guards (a
   * lock manager's partition, allocator or fast-path group) is out of service for good. */
  | 'ERR_LOCK_BROKEN'
  /** `sablock/postgres`: the lock manager was closed (`close()`) before or while this request ran. */
  | 'ERR_LOCK_CLOSED'
  /** `sablock/postgres`: two names hash to one advisory-lock key; the later one is refused. */
  | 'ERR_LOCK_KEY_COLLISION';

/**
 * The base class of every error sablock throws: a stable `code` to match on, the lock class
 * involved (`lock`, its class name, when known) and the thread ids involved (`threads`, when known).
 */
export class SablockError extends Error {
  /** What went wrong; stable, for matching. */
  readonly code: string;
  /** Class name of the lock involved (undefined if unknown). */
  readonly lock: string | undefined;
  /** Thread ids (`threadId`) involved, when known; empty otherwise. */
  readonly threads: readonly number[];
  constructor(code: string, message: string, lock?: string, threads: readonly number[] = []) {
    super(message);
    this.code = code;
    this.lock = lock;
    this.threads = threads;
  }
}

/** Misuse of a lock: unlocking what this thread does not hold, re-locking what it holds, … */
export class LockError extends SablockError {
  /** Always `'LockError'`. */
  override name = 'LockError';
  /** What went wrong; stable, for matching (see {@link LockErrorCode}). */
  declare readonly code: LockErrorCode;
  constructor(code: LockErrorCode, message: string, lock?: string, threads?: readonly number[]) {
    super(code, message, lock, threads);
  }
}

/** An acquisition did not succeed before its `timeout`. */
export class TimeoutError extends SablockError {
  /** Always `'TimeoutError'`. */
  override name = 'TimeoutError';
  /** Always `'ERR_LOCK_TIMEOUT'`. */
  declare readonly code: 'ERR_LOCK_TIMEOUT';
  /** The timeout that ran out, in ms. */
  readonly timeoutMs: number;
  constructor(lock: string | undefined, timeoutMs: number) {
    super('ERR_LOCK_TIMEOUT', `${lock ?? 'lock'}: not acquired within ${timeoutMs} ms`, lock);
    this.timeoutMs = timeoutMs;
  }
}

/**
 * @deprecated Never thrown: a dead owner is reported through `ownerDied` (API.md). Kept exported
 * so that code matching on it still compiles.
 */
export class OwnerDiedError extends SablockError {
  /** Always `'OwnerDiedError'`. */
  override name = 'OwnerDiedError';
  /** Always `'ERR_LOCK_OWNER_DIED'`. */
  declare readonly code: 'ERR_LOCK_OWNER_DIED';
  constructor(lock: string | undefined, message?: string) {
    super('ERR_LOCK_OWNER_DIED', message ?? `${lock ?? 'lock'}: previous owner died while holding it`, lock);
  }
}

/** The lock-order verifier found a violation and was told to throw. */
export class LockOrderError extends SablockError {
  /** Always `'LockOrderError'`. */
  override name = 'LockOrderError';
  /** Always `'ERR_LOCK_ORDER'`. */
  declare readonly code: 'ERR_LOCK_ORDER';
  /** The verifier's report of the violation (a `LockOrderReport`). */
  readonly report: unknown;
  constructor(message: string, report: unknown) {
    super('ERR_LOCK_ORDER', message);
    this.report = report;
  }
}

/** A fixed-capacity shared table (lock manager, verifier graph) is full. */
export class CapacityError extends SablockError {
  /** Always `'CapacityError'`. */
  override name = 'CapacityError';
  /** Always `'ERR_LOCK_CAPACITY'`. */
  declare readonly code: 'ERR_LOCK_CAPACITY';
  constructor(message: string) {
    super('ERR_LOCK_CAPACITY', message);
  }
}

/** The reason an aborted signal carries, or a DOMException-style AbortError when it has none. */
export function abortReason(signal: AbortSignal): unknown {
  if (signal.reason !== undefined) return signal.reason;
  const e = new Error('The operation was aborted');
  e.name = 'AbortError';
  return e;
}
