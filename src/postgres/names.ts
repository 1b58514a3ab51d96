/**
 * Lock names on their way to the database: what a name may be (`checkName`), the target of an
 * acquisition (the name's advisory-lock key; a semaphore's gate and slot keys, `keys.ts`), and
 * the fence-table registry that records each key's name once per manager, so that two names
 * sharing a key are an error (`collisionError`), never one lock.
 */
import { LockError, type LockEventMode } from '../index.js';
import { collisionError, notSupported } from './errors.js';
import type { Target } from './hold.js';
import { keyOf, semaphoreName, slotName } from './keys.js';
import type { Session } from './session.js';
import type { Statements } from './sql.js';

const REGISTERED_CACHE = 65536;

export function describe(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (v === null || (typeof v !== 'object' && typeof v !== 'function')) return String(v);
  return typeof v === 'function' ? 'a function' : 'an object';
}

/** Checks a lock name: a string, not reserved. */
export function checkName(name: unknown, what = 'name'): string {
  if (typeof name !== 'string') throw new TypeError(`${what} must be a string, got ${describe(name)}`);
  if (name.startsWith('-')) throw notSupported(`lock names starting with '-' are reserved, got '${name}'`);
  if (name.includes('\0')) throw new TypeError(`${what} must not contain NUL characters (PostgreSQL text cannot hold them)`);
  return name;
}

/** A target for a lock name. */
export function lockTarget(namespace: string, name: string, shared: boolean, kind: string, eventMode?: LockEventMode): Target {
  return { name, rowName: name, key: keyOf(namespace, name).toString(), shared, kind, eventMode };
}

/** A target for `n` permits of semaphore `name`. */
export function semTarget(namespace: string, name: string, permits: number, n: number): Target {
  const rowName = semaphoreName(name);
  const key = keyOf(namespace, rowName);
  const slotNames = Array.from({ length: permits }, (_, i) => slotName(name, i));
  const hex = BigInt.asUintN(64, key).toString(16).padStart(16, '0');
  return {
    name,
    rowName,
    key: key.toString(),
    shared: false,
    kind: 'PgSemaphore',
    sem: { permits, n, slotNames, slots: slotNames.map((s) => keyOf(namespace, s).toString()), channel: `sablock_${hex}` },
  };
}

/** The names this manager registered in the fence table (a bounded cache: forgetting one only costs a statement). */
export class NameRegistry {
  readonly #sql: Statements;
  readonly #registered = new Set<string>();
  constructor(sql: Statements) {
    this.#sql = sql;
  }

  /** Registers the names of `t`'s keys in the fence table (once per manager), checking for collisions. */
  register(s: Session, t: Target): Promise<void> | undefined {
    const id = t.sem === undefined ? t.rowName : `${t.rowName}\0${t.sem.permits}`;
    return this.#registered.has(id) ? undefined : this.#register(s, t, id);
  }

  async #register(s: Session, t: Target, id: string): Promise<void> {
    const keys = [t.key, ...(t.sem?.slots ?? [])];
    const names = [t.rowName, ...(t.sem?.slotNames ?? [])];
    for (let attempt = 0; ; attempt++) {
      const r = await s.query<{ key: string; name: string; permits: number | null }>(this.#sql.register, [keys, names, t.sem?.permits ?? null]);
      const byKey = new Map(r.rows.map((row) => [row.key, row]));
      if (keys.some((k) => !byKey.has(k))) {
        // Inserted concurrently by a transaction our snapshot did not see: look again.
        if (attempt < 3) continue;
        throw new LockError('ERR_LOCK_STATE', `${t.name}: cannot register the name in the fence table`, t.name);
      }
      keys.forEach((k, i) => {
        const row = byKey.get(k)!;
        if (row.name !== names[i]) throw collisionError(t.name, BigInt(k), row.name);
      });
      const stored = byKey.get(t.key)!.permits;
      if (t.sem !== undefined && stored !== t.sem.permits) {
        throw new RangeError(`semaphore ${JSON.stringify(t.name)} has ${stored} permits in the database; it cannot be used with ${t.sem.permits}`);
      }
      break;
    }
    if (this.#registered.size >= REGISTERED_CACHE) this.#registered.clear();
    this.#registered.add(id);
  }

  /** Forgets a registration (its key turned out to hold another name): the next acquisition checks again. */
  forget(rowName: string): void {
    this.#registered.delete(rowName);
  }
}
