/**
 * The lock manager's options and handle: what `new LockManager(options)` and
 * `LockManager.from(handle)` accept, with their defaults and checks. The table's sizes (the shape)
 * decide the buffer layout and are stored in it; the settings (deadlock check delay, escalation
 * threshold, fast path) belong to each view and travel in the handle.
 */
import { describe, readBoolean, type Handle, type PlacementOptions } from '../core/layout.js';
import { checkTimeout, type WaitOptions } from '../core/futex.js';
import type { TableShape } from './table.js';

const DEFAULT_CAPACITY = 4096;
const DEFAULT_NAME_BYTES = 64;
const DEFAULT_DEADLOCK_TIMEOUT = 1000;
const DEFAULT_ESCALATION_THRESHOLD = 5000;
const MAX_CAPACITY = 1 << 24;

/** Sizes that decide the buffer layout (see `byteLengthFor`). */
export interface LockManagerShape {
  /** Most distinct resources held or waited on at once (table entries). Default 4096. */
  capacity?: number;
  /** Most (owner, resource) pairs held or waited on at once. Default `2 × capacity`. */
  holderCapacity?: number;
  /** UTF-8 bytes of each resource's path kept for messages and `query()`. Default 64; 0 = none. */
  nameBytes?: number;
  /**
   * Test-only: keep only this many bits of each 64-bit key (0–64, default 64), to force hash
   * collisions. Colliding paths share one entry: they serialize, never both conflict-free.
   */
  hashBits?: number;
  /**
   * Strict FIFO scheduling (default false). Off, the manager is eventually fair: a request may take
   * a resource ahead of waiters that have waited under about 1 ms (so a hot resource is not handed
   * to a sleeping waiter on every release), while a waiter that has waited longer is owed it: no
   * later request overtakes it, and a release hands the resource to it. On, no request overtakes
   * an earlier waiter for a conflicting mode, ever (what Web Locks needs). Fixed when the table is
   * made: every view of it agrees.
   */
  fifo?: boolean;
}

/** Options of `new LockManager(options)`. */
export interface LockManagerOptions extends LockManagerShape, PlacementOptions {
  /** How long a request waits before it checks for a deadlock, in ms. Default 1000. */
  deadlockTimeout?: number;
  /** Fine locks one owner holds under one parent before escalating to the parent. Default 5000; 0 = never. */
  escalationThreshold?: number;
  /**
   * Take IS/IX through the per-owner-group fast path when no strong lock (S, SIX, U, X) is
   * requested on that resource (default true). With false, this view takes every lock in the main
   * table; strong requests still move other views' fast-path holds there, so views with and
   * without it can share a table.
   */
  fastPath?: boolean;
  /**
   * Test-only, breaks exclusion: strong requests skip moving fast-path holds into the main table,
   * so a strong lock can be granted beside a conflicting IX/IS. For negative-control tests only.
   */
  unsafeSkipTransfer?: boolean;
}

/** Options of one request. */
export interface AcquireOptions extends WaitOptions {
  /** Owner (transaction) id, an integer in 1…2^31−1. Default: this thread. See `newOwner()`. */
  owner?: number;
  /** Overrides the manager's `deadlockTimeout` for this request (ms; Infinity = never check). */
  deadlockTimeout?: number;
}

/** The structured-cloneable handle of a LockManager. */
export interface LockManagerHandle extends Handle {
  /** Always `'LockManager'`. */
  readonly kind: 'LockManager';
  /** See {@link LockManagerShape.capacity}. */
  readonly capacity: number;
  /** See {@link LockManagerShape.holderCapacity}. */
  readonly holderCapacity: number;
  /** See {@link LockManagerShape.nameBytes}. */
  readonly nameBytes: number;
  /** See {@link LockManagerShape.hashBits}. */
  readonly hashBits: number;
  /** See {@link LockManagerShape.fifo}. */
  readonly fifo: boolean;
  /** The manager's default deadlock check delay, in ms. */
  readonly deadlockTimeout: number;
  /** The manager's escalation threshold (0 = never). */
  readonly escalationThreshold: number;
  /** See {@link LockManagerOptions.fastPath}. */
  readonly fastPath: boolean;
  /** See {@link LockManagerOptions.unsafeSkipTransfer} (test-only). */
  readonly unsafeSkipTransfer: boolean;
}


/** A view's settings, from options or a handle (`what` names it in errors). */
export interface ManagerSettings {
  deadlockTimeout: number;
  escalationThreshold: number;
  fastPath: boolean;
  unsafeSkipTransfer: boolean;
}

export function readSettings(o: LockManagerOptions | Record<string, unknown>, what: string): ManagerSettings {
  const s = o as LockManagerOptions;
  return {
    deadlockTimeout: readDeadlockTimeout(s.deadlockTimeout, `${what}.deadlockTimeout`),
    escalationThreshold: readThreshold(s.escalationThreshold, `${what}.escalationThreshold`),
    fastPath: readBoolean(s.fastPath, `${what}.fastPath`, true),
    unsafeSkipTransfer: readBoolean(s.unsafeSkipTransfer, `${what}.unsafeSkipTransfer`, false),
  };
}

export function readDeadlockTimeout(v: unknown, name: string): number {
  return v === undefined ? DEFAULT_DEADLOCK_TIMEOUT : checkTimeout(v, name);
}

function readThreshold(v: unknown, name: string): number {
  if (v === undefined) return DEFAULT_ESCALATION_THRESHOLD;
  if (typeof v !== 'number') throw new TypeError(`${name} must be a number, got ${describe(v)}`);
  if (!Number.isInteger(v) || v < 0) throw new RangeError(`${name} must be a non-negative integer, got ${v}`);
  return v;
}

export function readShape(o: LockManagerShape | Record<string, unknown>, what: string): TableShape {
  const s = o as LockManagerShape;
  const int = (v: unknown, name: string, dflt: number, min: number, max: number): number => {
    if (v === undefined) return dflt;
    if (typeof v !== 'number') throw new TypeError(`${what}.${name} must be a number, got ${describe(v)}`);
    if (!Number.isInteger(v) || v < min || v > max) {
      throw new RangeError(`${what}.${name} must be an integer in ${min}…${max}, got ${v}`);
    }
    return v;
  };
  const capacity = int(s.capacity, 'capacity', DEFAULT_CAPACITY, 1, MAX_CAPACITY);
  const holderCapacity = int(s.holderCapacity, 'holderCapacity', 2 * capacity, 1, 4 * MAX_CAPACITY);
  const nameBytes = int(s.nameBytes, 'nameBytes', DEFAULT_NAME_BYTES, 0, 1024);
  const hashBits = int(s.hashBits, 'hashBits', 64, 0, 64);
  const fifo = readBoolean(s.fifo, `${what}.fifo`, false);
  return { capacity, holderCapacity, nameBytes: (nameBytes + 3) & ~3, hashBits, fifo };
}
