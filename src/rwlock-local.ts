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

/**
 * What the two exclusive holds (write, upgradable read) differ in for their bookkeeping: one row
 * each (rwlock-paths.ts `WRITE_MODE`, `UPGRADABLE_MODE`, which add their acquisition paths).
 */
export interface Hold {
  /** The hold's mode, as in guards and events. */
  readonly mode: 'write' | 'upgradable';
  /** Its owner word (WRITER_OWNER, UPGRADABLE_OWNER): names the holder (invariant 9). */
  readonly ownerWord: number;
  /** Index of its guard in `RWLockLocal.guards`. */
  readonly guard: typeof WRITE_GUARD | typeof UPGRADABLE_GUARD;
}

/** `RWLockLocal.guards` indices. */
export const WRITE_GUARD = 0;
export const UPGRADABLE_GUARD = 1;

/** One RWLock object's state in this thread. */
export class RWLockLocal {
  /** The lock object, for hooks, guards and error messages. */
  readonly rw: RWLock;
  /** The lock's words: `a[i]` is STATE (raw/rwlock.ts). */
  readonly a: Int32Array;
  readonly i: number;
  /** The guards of the current write and upgradable holds taken through this object, if any (`Hold.guard`). */
  readonly guards: [RWLockGuard | null, RWLockGuard | null] = [null, null];
  /** Called by the raw layer when this thread reaped a dead holder (once per death). */
  readonly onOwnerDied: () => void;

  constructor(rw: RWLock, a: Int32Array, i: number) {
    this.rw = rw;
    this.a = a;
    this.i = i;
    this.onOwnerDied = (): void => noteOwnerDied(rw);
  }
}

/** After any acquisition of hold `h`: name this thread the owner; the new hold's guard. */
export function took(l: RWLockLocal, h: Hold): RWLockGuard {
  own(l, h);
  return guardFor(l, h);
}

/** Names us in `h`'s owner word, for ownership checks and dead-owner reaping (invariant 9). */
export function own(l: RWLockLocal, h: Hold): void {
  Atomics.store(l.a, l.i + h.ownerWord, OWNER_ID);
}

/** The guard of a new hold `h`. */
export function guardFor(l: RWLockLocal, h: Hold): RWLockGuard {
  const g = new RWLockGuard(l.rw, h.mode);
  l.guards[h.guard] = g;
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
  const g = releaseGuard(l, UPGRADABLE_GUARD) ?? new RWLockGuard(l.rw, 'write');
  g._setMode('write');
  l.guards[WRITE_GUARD] = g;
  return g;
}

/** The guard of a hold (`Hold.guard`), forgotten (null if it was not taken through this object). */
export function releaseGuard(l: RWLockLocal, guard: Hold['guard']): RWLockGuard | null {
  const g = l.guards[guard];
  l.guards[guard] = null;
  return g;
}
