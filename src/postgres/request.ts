/**
 * `request()`'s side of `PgLocks`: its public types (`PgLock`, its options and callback), its
 * arguments (the in-process Web Locks conversions, then this backend's rules), and running the
 * callback while the lock is held.
 */
import {
  WebLock,
  _readWebLockArgs as readWebLockArgs,
  type WebLockRequestOptions,
} from '../index.js';
import { notSupported } from './errors.js';
import type { Hold } from './hold.js';
import type { PgLocks } from './locks.js';
import { checkName } from './names.js';
import { abortReason } from './waits.js';

/** `'exclusive'` (one holder) or `'shared'` (any number of shared holders, no exclusive one). */
export type PgLockMode = 'exclusive' | 'shared';

/** The lock a `request()` callback receives: the in-process `WebLock` (`name`, `mode`), plus its token and loss signal. */
export class PgLock extends WebLock {
  /** Fencing token: larger with every grant of this name (any mode), from the database. */
  readonly token: bigint;
  readonly #hold: Hold;
  /** @internal */
  constructor(name: string, mode: PgLockMode, hold: Hold) {
    super(name, mode);
    this.token = hold.token;
    this.#hold = hold;
  }
  /** Aborts when the lock is lost (its session ended, its lease ran out, the manager closed). */
  get signal(): AbortSignal {
    return this.#hold.signal;
  }
}

/**
 * Options of `request()`: the in-process Web Locks ones (`mode`, `ifAvailable`, `signal` — which
 * aborts a waiting request; once granted, watch `lock.signal` — and `timeout`), but `steal`.
 */
export interface PgLockRequestOptions extends Omit<WebLockRequestOptions, 'steal'> {
  /** Not supported: always a `NotSupportedError` (docs/postgres.md says why). */
  steal?: boolean;
}

/** A request() callback. */
export type PgLockCallback<T> = (lock: PgLock | null) => T | PromiseLike<T>;

function isThenable(x: unknown): x is PromiseLike<unknown> {
  return ((typeof x === 'object' && x !== null) || typeof x === 'function') && typeof (x as { then?: unknown }).then === 'function';
}

/** `request()`'s arguments, checked (the manager being open is the caller's check). */
export function readRequest(argc: number, name: unknown, options: unknown, callback: unknown) {
  // The in-process Web Locks conversions, then this backend's own rules.
  const { name: n, shared, ifAvailable, steal, wait, callback: cb } = readWebLockArgs(argc, name, options, callback);
  checkName(n);
  if (steal) {
    throw notSupported(
      'options.steal is not supported by sablock/postgres: an advisory lock can only be taken from its holder by ending the ' +
        "holder's whole session (every lock it holds), and requests queued ahead would be granted first",
    );
  }
  if (wait.signal !== undefined && ifAvailable) throw notSupported('options.signal cannot be used with options.ifAvailable');
  if (wait.timeout !== undefined && ifAvailable) throw notSupported('options.timeout cannot be used with options.ifAvailable');
  if (wait.signal?.aborted) throw abortReason(wait.signal);
  return { name: n, shared, wait, ifAvailable, callback: cb as PgLockCallback<unknown> };
}

/** Calls `cb(lock)` (in `hold`'s scope), releases `hold` once it settles, then settles `request()`. */
export function runCallback(
  locks: PgLocks,
  cb: PgLockCallback<unknown>,
  lock: PgLock | null,
  hold: Hold | undefined,
  resolve: (v: unknown) => void,
  reject: (e: unknown) => void,
): void {
  let done = false;
  const settle = (ok: boolean, v: unknown): void => {
    const finish = (): void => {
      if (done) return;
      done = true;
      if (ok) resolve(v);
      else reject(v);
    };
    if (hold === undefined) return finish();
    locks._release(hold).then(finish, finish);
  };
  if (hold !== undefined) {
    hold.onLost = (e) => {
      // Rejected at the moment of the loss, as a robbed Web Locks request is.
      if (done) return;
      done = true;
      reject(e);
    };
  }
  let result: unknown;
  try {
    result = hold === undefined ? cb(lock) : locks._inScope(hold, () => cb(lock));
  } catch (e) {
    settle(false, e);
    return;
  }
  if (isThenable(result)) {
    Promise.resolve(result).then(
      (v) => settle(true, v),
      (e: unknown) => settle(false, e),
    );
  } else {
    settle(true, result);
  }
}
