/**
 * Lock names → 64-bit advisory-lock keys: the first 8 bytes of SHA-256(namespace, NUL, name), as a
 * signed bigint (PostgreSQL's `bigint`). Two names may share a key (odds 2⁻⁶⁴ per pair); the fence
 * table stores the name of each key, and every registration and grant compares it (`sql.ts`), so a
 * shared key is an error, never two names silently sharing one lock.
 *
 * Names starting with `-` are reserved (as in the Web Locks spec): the semaphores' internal locks
 * use them.
 */
import { createHash } from 'node:crypto';

/** Keys computed lately (namespace NUL name → key): a hash per request is measurable beside a round trip. */
const recent = new Map<string, bigint>();
const RECENT_MAX = 4096;

/** The advisory-lock key of `name` under `namespace` (what `pg_locks` shows as classid << 32 | objid). */
export function keyOf(namespace: string, name: string): bigint {
  const id = `${namespace}\0${name}`;
  let key = recent.get(id);
  if (key === undefined) {
    key = createHash('sha256').update(namespace).update('\0').update(name).digest().readBigInt64BE(0);
    if (recent.size >= RECENT_MAX) recent.clear(); // bounded: forgetting costs one hash
    recent.set(id, key);
  }
  return key;
}

/** The reserved name of a semaphore's gate and token row. */
export function semaphoreName(name: string): string {
  return `-sem:${name}`;
}

/** The reserved name of a semaphore's permit slot `i`. */
export function slotName(name: string, i: number): string {
  return `-sem:${name}#${i}`;
}
