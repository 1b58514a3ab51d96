/**
 * sablock: lock primitives for Node.js worker_threads, in SharedArrayBuffer, driven by Atomics.
 */
export { Mutex, type MutexOptions } from './mutex.js';
export { SpinLock, type SpinLockOptions } from './spinlock.js';
export { TicketLock, type TicketLockOptions } from './ticketlock.js';
export { LockGuard, type Lockable } from './exclusive.js';
export type { Handle, PlacementOptions, Kind } from './core/layout.js';
export type { WaitOptions } from './core/futex.js';
export {
  LockError,
  TimeoutError,
  DeadlockError,
  OwnerDiedError,
  LockOrderError,
  CapacityError,
  type LockErrorCode,
} from './core/errors.js';
export { RWLock, RWLockGuard, type RWLockOptions, type RWLockMode } from './rwlock.js';
export { SeqLock, type SeqLockOptions, type SeqLockHandle } from './seqlock.js';
