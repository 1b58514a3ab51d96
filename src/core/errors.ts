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
  | 'ERR_LOCK_STATE';

/** Misuse of a lock: unlocking what this thread does not hold, re-locking what it holds, … */
export class LockError extends Error {
  override name = 'LockError';
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
  override name = 'TimeoutError';
  readonly code = 'ERR_LOCK_TIMEOUT';
  readonly lock: string | undefined;
  readonly timeoutMs: number;
  constructor(lock: string | undefined, timeoutMs: number) {
    super(`${lock ?? 'lock'}: not acquired within ${timeoutMs} ms`);
    this.lock = lock;
    this.timeoutMs = timeoutMs;
  }
}

/** A lock-manager request was chosen as the victim of a waits-for cycle. */
export class DeadlockError extends Error {
  override name = 'DeadlockError';
  readonly code = 'ERR_LOCK_DEADLOCK';
  constructor(message: string) {
    super(message);
  }
}

/** The previous owner of a lock died while holding it (async paths that must signal it). */
export class OwnerDiedError extends Error {
  override name = 'OwnerDiedError';
  readonly code = 'ERR_LOCK_OWNER_DIED';
  readonly lock: string | undefined;
  constructor(lock: string | undefined, message?: string) {
    super(message ?? `${lock ?? 'lock'}: previous owner died while holding it`);
    this.lock = lock;
  }
}

/** The lock-order verifier found a violation and was told to throw. */
export class LockOrderError extends Error {
  override name = 'LockOrderError';
  readonly code = 'ERR_LOCK_ORDER';
  readonly report: unknown;
  constructor(message: string, report: unknown) {
    super(message);
    this.report = report;
  }
}

/** A fixed-capacity shared table (lock manager, verifier graph) is full. */
export class CapacityError extends Error {
  override name = 'CapacityError';
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
