/**
 * sablock: lock primitives for Node.js worker_threads, in SharedArrayBuffer, driven by Atomics.
 */
export { Mutex } from './mutex.js';
export { SpinLock } from './spinlock.js';
export { TicketLock } from './ticketlock.js';
export { LockGuard, type Lockable } from './exclusive.js';
export { Guard } from './core/guard.js';
export type {
  Handle,
  PlacementOptions,
  Kind,
  MutexOptions,
  SpinLockOptions,
  TicketLockOptions,
  RWLockOptions,
  ConditionOptions,
} from './core/layout.js';
export type { WaitOptions } from './core/futex.js';
export {
  SablockError,
  LockError,
  TimeoutError,
  OwnerDiedError,
  LockOrderError,
  CapacityError,
  type LockErrorCode,
} from './core/errors.js';
export { DeadlockError } from './manager/deadlock.js';

// Observability: per-class lock stats in shared memory, and diagnostics_channel events.
export {
  stats,
  topContended,
  STATS_ENV_KEY,
  type Stats,
  type LockStats,
  type HistogramStats,
  type StatsOptions,
} from './observe/stats.js';
export { CHANNELS, type LockEvent, type LockEventMode } from './core/events.js';
export { observeHooks, type ObservedLock } from './core/observe.js';
/** @internal The `{ timeout, signal }` parsing every acquisition shares (for `sablock/postgres`). */
export { parseWaitOptions as _parseWaitOptions, type ParsedWait as _ParsedWait } from './core/futex.js';
export { Semaphore, PermitGuard, type SemaphoreOptions } from './semaphore.js';
export { Condition, type ConditionLock } from './condition.js';
export {
  LockManager,
  ResourceLock,
  type LockMode,
  type PathPart,
  type ResourcePath,
  type LockManagerOptions,
  type LockManagerShape,
  type LockManagerHandle,
  type AcquireOptions,
  type LockManagerSnapshot,
  type LockResourceInfo,
  type LockHolderInfo,
  type LockWaiterInfo,
  type DeadlockEdge,
} from './manager/lock-manager.js';
export {
  lockcheck,
  lockcheckHooks,
  type CheckedLock,
  type LockCheckOptions,
  type LockOrderReport,
  type LockOrderKind,
  type LockOrderStack,
  type LockOrderEdge,
  type OnViolation,
} from './check/index.js';
export { RWLock, RWLockGuard, type RWLockMode } from './rwlock.js';
export { SeqLock, type SeqLockOptions, type SeqLockHandle } from './seqlock.js';

// Owner death (robust locks): the process-wide table of dead threads; see core/owner-death.ts.
export { isThreadDead, ROBUST_SLICE_MS } from './core/owner-death.js';

// Web Locks (W3C `navigator.locks`) across every worker, on the lock manager: docs/web-locks.md.
export { locks, WebLocks, WEB_LOCKS_ENV_KEY } from './web-locks.js';
export {
  WebLock,
  type WebLockMode,
  type WebLockRequestOptions,
  type WebLockInfo,
  type WebLocksSnapshot,
  type WebLocksShape,
  type WebLocksOptions,
  type WebLocksHandle,
  type WebLockCallback,
} from './web-locks-request.js';
/** @internal `request()`'s Web IDL argument conversions (for `sablock/postgres`). */
export { readRequestArgs as _readWebLockArgs } from './web-locks-request.js';
