/**
 * Every error sablock throws. Each class has a stable `code` that callers can match on; messages
 * name the lock (its class name) and the threads involved where that is known.
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
  | 'ERR_LOCK_BROKEN';

/** Misuse of a lock: unlocking what this thread does not hold, re-locking what it holds, … */
export class LockError extends Error {
  /** Always `'LockError'`. */
  override name = 'LockError';
  /** What went wrong; stable, for matching (see {@link LockErrorCode}). */
  readonly code: LockErrorCode;
  /** Class name of the lock involved. */
  readonly lock: string | undefined;
  constructor(code: LockErrorCode, message: string, lock?: string) {
    super(message);
    this.code = code;
    this.lock = lock;
  }
}

/** An acquisition did not succeed before its `timeout`. */
export class TimeoutError extends Error {
  /** Always `'TimeoutError'`. */
  override name = 'TimeoutError';
  /** Always `'ERR_LOCK_TIMEOUT'`. */
  readonly code = 'ERR_LOCK_TIMEOUT';
  /** Class name of the lock that was not acquired (undefined if unknown). */
  readonly lock: string | undefined;
  /** The timeout that ran out, in ms. */
  readonly timeoutMs: number;
  constructor(lock: string | undefined, timeoutMs: number) {
    super(`${lock ?? 'lock'}: not acquired within ${timeoutMs} ms`);
    this.lock = lock;
    this.timeoutMs = timeoutMs;
  }
}

/** A lock-manager request was chosen as the victim of a waits-for cycle. */
export class DeadlockError extends Error {
  /** Always `'DeadlockError'`. */
  override name = 'DeadlockError';
  /** Always `'ERR_LOCK_DEADLOCK'`. */
  readonly code = 'ERR_LOCK_DEADLOCK';
  constructor(message: string) {
    super(message);
  }
}

/** The previous owner of a lock died while holding it (async paths that must signal it). */
export class OwnerDiedError extends Error {
  /** Always `'OwnerDiedError'`. */
  override name = 'OwnerDiedError';
  /** Always `'ERR_LOCK_OWNER_DIED'`. */
  readonly code = 'ERR_LOCK_OWNER_DIED';
  /** Class name of the lock whose owner died (undefined if unknown). */
  readonly lock: string | undefined;
  constructor(lock: string | undefined, message?: string) {
    super(message ?? `${lock ?? 'lock'}: previous owner died while holding it`);
    this.lock = lock;
  }
}

/** The lock-order verifier found a violation and was told to throw. */
export class LockOrderError extends Error {
  /** Always `'LockOrderError'`. */
  override name = 'LockOrderError';
  /** Always `'ERR_LOCK_ORDER'`. */
  readonly code = 'ERR_LOCK_ORDER';
  /** The verifier's report of the violation (a `LockOrderReport`). */
  readonly report: unknown;
  constructor(message: string, report: unknown) {
    super(message);
    this.report = report;
  }
}

/** A fixed-capacity shared table (lock manager, verifier graph) is full. */
export class CapacityError extends Error {
  /** Always `'CapacityError'`. */
  override name = 'CapacityError';
  /** Always `'ERR_LOCK_CAPACITY'`. */
  readonly code = 'ERR_LOCK_CAPACITY';
  constructor(message: string) {
    super(message);
  }
}

/** The reason an aborted signal carries, or a DOMException-style AbortError when it has none. */
export function abortReason(signal: AbortSignal): unknown {
  if (signal.reason !== undefined) return signal.reason;
  const e = new Error('The operation was aborted');
  e.name = 'AbortError';
  return e;
}
