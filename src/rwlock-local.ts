/**
 * What this thread holds through one `RWLock` object, and the bookkeeping of its write and
 * upgradable holds: the owner words (WRITER_OWNER, UPGRADABLE_OWNER) and the guard of each hold.
 *
 * `RWLockLocal` is what the module-level functions of the RWLock API layer (rwlock-misuse.ts,
 * rwlock-paths.ts, rwlock-async.ts, rwlock-checked.ts, rwlock-read-slots.ts) need of one
 * `RWLock` object, which keeps one reference to it. The read-hold count and holder-slot cache
 * stay private fields of `RWLock` (the read fast paths use them; `rw.readHolds` reads the
 * count). Nothing here is shared with other threads (each thread has its own `RWLock` objects).
 */
import { noteOwnerDied } from './core/observe.js';
import { OWNER_ID } from './core/thread.js';
import { UPGRADABLE_OWNER, WRITER_OWNER } from './raw/rwlock.js';
import { RWLockGuard } from './rwlock-guard.js';
import type { RWLock } from './rwlock.js';

/** One RWLock object's state in this thread. */
export class RWLockLocal {
  /** The lock object, for hooks, guards and error messages. */
  readonly rw: RWLock;
  /** The lock's words: `a[i]` is STATE (raw/rwlock.ts). */
  readonly a: Int32Array;
  readonly i: number;
  /** The guard of the current write / upgradable hold taken through this object, if any. */
  writeGuard: RWLockGuard | null = null;
  upgradableGuard: RWLockGuard | null = null;
  /** Called by the raw layer when this thread reaped a dead holder (once per death). */
  readonly onOwnerDied: () => void;

  constructor(rw: RWLock, a: Int32Array, i: number) {
    this.rw = rw;
    this.a = a;
    this.i = i;
    this.onOwnerDied = (): void => noteOwnerDied(rw);
  }
}

/** After any write acquisition: name this thread the owner; the new hold's guard. */
export function wrote(l: RWLockLocal): RWLockGuard {
  ownWrite(l);
  return writeGuardFor(l);
}

/** Names us in WRITER_OWNER, for ownership checks and dead-owner reaping (invariant 9). */
export function ownWrite(l: RWLockLocal): void {
  Atomics.store(l.a, l.i + WRITER_OWNER, OWNER_ID);
}

/** The guard of a new write hold. */
export function writeGuardFor(l: RWLockLocal): RWLockGuard {
  const g = new RWLockGuard(l.rw, 'write');
  l.writeGuard = g;
  return g;
}

/** After any upgradable acquisition: name this thread the owner; the new hold's guard. */
export function tookUpgradable(l: RWLockLocal): RWLockGuard {
  ownUpgradable(l);
  return upgradableGuardFor(l);
}

/** Names us in UPGRADABLE_OWNER, for ownership checks and dead-owner reaping (invariant 9). */
export function ownUpgradable(l: RWLockLocal): void {
  Atomics.store(l.a, l.i + UPGRADABLE_OWNER, OWNER_ID);
}

/** The guard of a new upgradable hold. */
export function upgradableGuardFor(l: RWLockLocal): RWLockGuard {
  const g = new RWLockGuard(l.rw, 'upgradable');
  l.upgradableGuard = g;
  return g;
}

/** After an upgrade: the upgradable hold is now the write hold, its guard converted. */
export function upgraded(l: RWLockLocal): RWLockGuard {
  ownUpgraded(l);
  return upgradedGuardFor(l);
}

/** After an upgrade: moves our owner id from UPGRADABLE_OWNER to WRITER_OWNER. */
export function ownUpgraded(l: RWLockLocal): void {
  // The write lock is ours now: move the owner id from one word to the other, clearing the old
  // one first so that no dead-owner reaper finds us named twice (raw/rwlock.ts invariant 9).
  Atomics.store(l.a, l.i + UPGRADABLE_OWNER, 0);
  // Named as the writer: from here a reaper releases the write lock on our behalf.
  Atomics.store(l.a, l.i + WRITER_OWNER, OWNER_ID);
}

/** The write guard after an upgrade: the upgradable guard, converted, or a new one. */
export function upgradedGuardFor(l: RWLockLocal): RWLockGuard {
  const g = releaseUpgradableGuard(l) ?? new RWLockGuard(l.rw, 'write');
  g._setMode('write');
  l.writeGuard = g;
  return g;
}

/** The guard of the write hold, forgotten (null if it was not taken through this object). */
export function releaseWriteGuard(l: RWLockLocal): RWLockGuard | null {
  const g = l.writeGuard;
  l.writeGuard = null;
  return g;
}

/** The guard of the upgradable hold, forgotten (null if it was not taken through this object). */
export function releaseUpgradableGuard(l: RWLockLocal): RWLockGuard | null {
  const g = l.upgradableGuard;
  l.upgradableGuard = null;
  return g;
}
