/**
 * The errors only `sablock/postgres` throws. Everything else is the in-process classes
 * (`TimeoutError`, `DeadlockError`, `LockError`, …), imported from the core so that
 * `instanceof` and `code` work across both entry points.
 */
import { LockError, SablockError } from '../index.js';

/** The database could not be reached, or the session carrying a request ended before the grant. */
export class LockConnectionError extends SablockError {
  /** Always `'LockConnectionError'`. */
  override name = 'LockConnectionError';
  /** Always `'ERR_LOCK_CONNECTION'`. */
  declare readonly code: 'ERR_LOCK_CONNECTION';
  /** The driver's or server's error. */
  override readonly cause: unknown;
  constructor(lock: string, message: string, cause?: unknown) {
    super('ERR_LOCK_CONNECTION', `${lock}: ${message}${cause instanceof Error ? `: ${cause.message}` : ''}`, lock);
    this.cause = cause;
  }
}

export function closedError(lock: string): LockError {
  return new LockError('ERR_LOCK_CLOSED', `${lock}: the lock manager is closed`, lock);
}

export function collisionError(lock: string, key: bigint, other: string): LockError {
  return new LockError(
    'ERR_LOCK_KEY_COLLISION',
    `${lock}: its advisory-lock key ${key} is registered to another name (${JSON.stringify(other)}); use another name or options.namespace`,
    lock,
  );
}

/** The `AbortError` a lock's signal aborts with when the lock is lost. */
export function lostError(lock: string, why: string, cause?: unknown): DOMException {
  const e = new DOMException(`${lock}: lock lost: ${why}`, 'AbortError');
  if (cause !== undefined) Object.defineProperty(e, 'cause', { value: cause, configurable: true });
  return e;
}

export function notSupported(message: string): DOMException {
  return new DOMException(message, 'NotSupportedError');
}
