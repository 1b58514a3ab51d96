/**
 * What one thread holds, for the verifier: the lock classes (`ClassInfo`, cached on each lock
 * object), and the thread's stack of held locks (`HeldSet`), mirrored into its thread slot in the
 * shared state so watchdogs and a parent can read it.
 *
 * The stack is parallel arrays, so an acquisition allocates nothing. Its mirror (`T_HELD`,
 * `T_HELD_COUNT`) is written plainly: it is diagnostics, and a value one operation stale is
 * harmless there (state.ts, memory ordering).
 */
import type { CheckedLock } from '../core/hooks.js';
import type { HeldLock } from './report.js';
import { MAX_CLASSES, SLOT_HELD, T_HELD, T_HELD_COUNT } from './state-layout.js';
import type { SharedState } from './state.js';

/** Mode bits of a hold: taken shared (a read); taken by an async acquisition (held by a task). */
export const SHARED = 1;
export const ASYNC = 2;

/** A lock's class as the verifier sees it. */
export interface ClassInfo {
  readonly cls: number;
  readonly name: string;
  readonly rank: number | undefined;
  readonly recursiveRead: boolean;
}

const INFO = Symbol('sablock.lockcheck');

/** The class of `lock`, registered in `state` the first time the lock is seen. */
export function classInfo(state: SharedState, lock: CheckedLock): ClassInfo {
  const cached = (lock as unknown as Record<symbol, ClassInfo | undefined>)[INFO];
  if (cached !== undefined && cached.cls < MAX_CLASSES) return cached;
  const name = lock.lockClass ?? lock.name;
  const info: ClassInfo = {
    cls: state.classId(name),
    name,
    rank: lock.rank,
    recursiveRead: lock.readerPreferring === true,
  };
  // Cached on the lock object (non-enumerable): later acquisitions skip the class lookup.
  Object.defineProperty(lock, INFO, { value: info, configurable: true });
  return info;
}

/** One lock, whether through the same object or two objects over the same placement. */
export function sameLock(a: CheckedLock, b: CheckedLock): boolean {
  return a === b || (a.buffer !== undefined && a.buffer === b.buffer && a.byteOffset === b.byteOffset);
}

/** The locks this thread holds, innermost last, mirrored into its thread slot (`slot` < 0: none). */
export class HeldSet {
  readonly lock: CheckedLock[] = [];
  readonly cls: number[] = [];
  /** SHARED | ASYNC bits. */
  readonly mode: number[] = [];
  readonly rank: (number | undefined)[] = [];
  /** The turn of the microtask queue it was taken in (Infinity: async, or already reported). */
  readonly turn: number[] = [];
  /** Acquisition stack (option `holdStacks`), else undefined. */
  readonly site: (string | undefined)[] = [];
  readonly #state: SharedState;
  readonly #slot: number;

  constructor(state: SharedState, slot: number) {
    this.#state = state;
    this.#slot = slot;
  }

  get length(): number {
    return this.lock.length;
  }

  push(lock: CheckedLock, info: ClassInfo, mode: number, turn: number, site: string | undefined): void {
    const n = this.lock.length;
    this.lock.push(lock);
    this.cls.push(info.cls);
    this.mode.push(mode);
    this.rank.push(info.rank);
    this.turn.push(turn);
    this.site.push(site);
    if (this.#slot >= 0) {
      // Plain writes: diagnostics for watchdogs and parents (state memory-ordering notes).
      const a = this.#state.i32;
      if (n < SLOT_HELD) a[this.#slot + T_HELD + n] = info.cls;
      a[this.#slot + T_HELD_COUNT] = n + 1;
    }
  }

  /** The innermost hold of `lock` in this mode, or -1. */
  find(lock: CheckedLock, shared: boolean): number {
    for (let k = this.lock.length - 1; k >= 0; k--) {
      if (sameLock(this.lock[k]!, lock) && ((this.mode[k]! & SHARED) !== 0) === shared) return k;
    }
    return -1;
  }

  remove(k: number): void {
    const n = this.lock.length - 1;
    if (k === n) {
      // The usual case, releases in reverse order: pop, no copying.
      this.lock.pop();
      this.cls.pop();
      this.mode.pop();
      this.rank.pop();
      this.turn.pop();
      this.site.pop();
    } else {
      this.lock.splice(k, 1);
      this.cls.splice(k, 1);
      this.mode.splice(k, 1);
      this.rank.splice(k, 1);
      this.turn.splice(k, 1);
      this.site.splice(k, 1);
    }
    if (this.#slot >= 0) {
      const a = this.#state.i32;
      for (let j = k; j < n && j < SLOT_HELD; j++) a[this.#slot + T_HELD + j] = this.cls[j]!;
      a[this.#slot + T_HELD_COUNT] = n;
    }
  }

  /** The held locks, for reports and tests. */
  list(): HeldLock[] {
    return this.lock.map((_, k) => ({
      cls: this.#state.className(this.cls[k]!),
      shared: (this.mode[k]! & SHARED) !== 0,
      async: (this.mode[k]! & ASYNC) !== 0,
      site: this.site[k],
    }));
  }
}
