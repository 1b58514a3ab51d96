/**
 * `sablock/postgres`: the same locks across processes and hosts, over PostgreSQL session-level
 * advisory locks, with fencing tokens and leases. docs/postgres.md has the semantics, the bounds
 * and the failure table. `pg` (node-postgres) is an optional peer dependency of sablock: install
 * it to use this entry point; the core (`sablock`) never loads it.
 *
 * Everything shared with the in-process locks (errors, guards, the verifier and observe hooks)
 * is imported from the core entry, never copied: the build keeps `../index.js` external, so both
 * entry points share one module instance (one `TimeoutError` class, one verifier, one stats table).
 */
import type { PgLocksSource } from './connections.js';
import { PgLocks } from './locks.js';
import { checkName } from './names.js';
import { PG_MAX_PERMITS, PgMutex, PgRWLock, PgSemaphore } from './primitives.js';
import type { PgLocksOptions } from './options.js';

/** What `createLocks()` returns: `PgLocks` plus the primitive factories. */
export class PgLockManager extends PgLocks {
  /** An exclusive lock named `name` (the same lock as `request(name)`). */
  mutex(name: string): PgMutex {
    return new PgMutex(this, checkName(name));
  }
  /** A read-write lock named `name` (`request(name, { mode: 'shared' })` is a read hold of it). */
  rwlock(name: string): PgRWLock {
    return new PgRWLock(this, checkName(name));
  }
  /** A counting semaphore named `name` with `permits` permits (every user of the name must use the same count). */
  semaphore(name: string, permits: number): PgSemaphore {
    checkName(name);
    if (typeof permits !== 'number' || !Number.isInteger(permits) || permits < 1 || permits > PG_MAX_PERMITS) {
      throw new RangeError(`permits must be an integer from 1 to ${PG_MAX_PERMITS}, got ${String(permits)}`);
    }
    return new PgSemaphore(this, name, permits);
  }
}

/**
 * Locks in the PostgreSQL database that `source` reaches: `{ connectionString }` (a pool is made,
 * and ended by `close()`) or `{ pool }` (your `pg.Pool`; its connections come back as they left).
 */
export function createLocks(source: PgLocksSource, options?: PgLocksOptions): PgLockManager {
  return new PgLockManager(source, options);
}

export { PgLocks } from './locks.js';
export { PgLock, type PgLockMode, type PgLockRequestOptions, type PgLockCallback } from './request.js';
export type { PgLocksSource } from './connections.js';
export type { PgLockInfo, PgLocksSnapshot } from './query.js';
export { PgGuard, PgMutex, PgRWLock, PgSemaphore, PG_MAX_PERMITS, type PgWaitOptions } from './primitives.js';
export type { PgLocksOptions } from './options.js';
export { LockConnectionError } from './errors.js';
export { keyOf } from './keys.js';
