/**
 * Resource paths and their 64-bit keys.
 *
 * A path is a non-empty array of strings and safe integers (`['db', 'accounts', 42]`). Its
 * canonical text is `JSON.stringify(path)`, so `42` and `'42'` are different resources. The key is
 * two independent 32-bit hashes of that text (FNV-1a and a murmur3-style mix with another seed),
 * kept as two int32 words. The lock table stores only keys, never paths: two paths with the same
 * key share one table entry and so serialize against each other (safe, only slower). `hashBits`
 * (test-only) keeps just the low bits of the key to force such collisions on purpose.
 */
import { describe } from '../core/layout.js';

/** One component of a resource path. */
export type PathPart = string | number;
/** A resource path, root first: `['db', 'accounts', 42]`. */
export type ResourcePath = readonly PathPart[];

/** Validates a path; TypeError/RangeError naming `name`. */
export function checkPath(path: unknown, name = 'path'): asserts path is ResourcePath {
  if (!Array.isArray(path)) throw new TypeError(`${name} must be an array of strings and integers, got ${describe(path)}`);
  if (path.length === 0) throw new RangeError(`${name} must have at least one component`);
  for (let k = 0; k < path.length; k++) {
    const p = path[k] as unknown;
    if (typeof p === 'string') continue;
    if (typeof p === 'number' && Number.isSafeInteger(p)) continue;
    throw new TypeError(`${name}[${k}] must be a string or a safe integer, got ${describe(p)}`);
  }
}

/** Canonical text of a path (also the local map key). */
export function pathText(path: ResourcePath, length = path.length): string {
  return JSON.stringify(length === path.length ? path : path.slice(0, length));
}

/**
 * The 64-bit key of a path's canonical text, as [lo, hi] int32s, truncated to `hashBits`: the
 * reference definition. The lock manager computes the same bits incrementally (`hashPart`,
 * `keyOfState`, below) without building the text; `test/manager/hash.test.ts` checks they agree.
 */
export function keyOf(text: string, hashBits: number): [number, number] {
  let f = 0x811c9dc5;
  let m = 0x9747b28c;
  for (let k = 0; k < text.length; k++) {
    const c = text.charCodeAt(k);
    f = fnvStep(f, c);
    m = murStep(m, c);
  }
  return truncateKey(f | 0, murFinal(m, text.length), hashBits);
}

/** A key as 16 hex digits, for messages and query(). */
export function keyHex(lo: number, hi: number): string {
  return (hi >>> 0).toString(16).padStart(8, '0') + (lo >>> 0).toString(16).padStart(8, '0');
}

// ---- incremental keys ----------------------------------------------------------------------------
// The key of a path prefix, computed from its parent's running hash state plus one component,
// without building the canonical text: the same bits as `keyOf(pathText(prefix))` (FNV-1a and a
// murmur3-style mix with its own seed, both over UTF-16 code units).

/** Running hash state after the text `[p0,p1,…,pk` (no closing bracket). */
export interface HashState {
  readonly fnv: number;
  readonly mur: number;
  /** Code units fed so far. */
  readonly len: number;
}

/** State after `[`. */
export const ROOT_HASH: HashState = { fnv: fnvStep(0x811c9dc5, 0x5b), mur: murStep(0x9747b28c, 0x5b), len: 1 };

/** One FNV-1a step. */
function fnvStep(h: number, code: number): number {
  return Math.imul(h ^ code, 0x01000193);
}

/** One murmur3-style step. */
function murStep(h: number, code: number): number {
  let c = Math.imul(code, 0xcc9e2d51);
  c = (c << 15) | (c >>> 17);
  h ^= Math.imul(c, 0x1b873593);
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

/** True if JSON.stringify(s) is `"` + s + `"` (no escapes). */
function plainJsonString(s: string): boolean {
  for (let k = 0; k < s.length; k++) {
    const c = s.charCodeAt(k);
    if (c < 0x20 || c === 0x22 || c === 0x5c || (c >= 0xd800 && c <= 0xdfff)) return false;
  }
  return true;
}

/** Canonical text of one component (as inside `JSON.stringify(path)`). */
export function partText(part: PathPart): string {
  return typeof part === 'number' ? String(part) : JSON.stringify(part);
}

/** State after appending component `part` (preceded by `,` unless `parent` is ROOT_HASH). */
export function hashPart(parent: HashState, part: PathPart): HashState {
  let f = parent.fnv;
  let m = parent.mur;
  let len = parent.len;
  if (parent !== ROOT_HASH) {
    f = fnvStep(f, 0x2c);
    m = murStep(m, 0x2c);
    len++;
  }
  if (typeof part === 'string' && plainJsonString(part)) {
    // Common case: feed `"`, the code units, `"` directly (no string built).
    f = fnvStep(f, 0x22);
    m = murStep(m, 0x22);
    for (let k = 0; k < part.length; k++) {
      const c = part.charCodeAt(k);
      f = fnvStep(f, c);
      m = murStep(m, c);
    }
    f = fnvStep(f, 0x22);
    m = murStep(m, 0x22);
    len += part.length + 2;
  } else {
    const s = partText(part);
    for (let k = 0; k < s.length; k++) {
      const c = s.charCodeAt(k);
      f = fnvStep(f, c);
      m = murStep(m, c);
    }
    len += s.length;
  }
  return { fnv: f | 0, mur: m, len };
}

/** Key [lo, hi] of the prefix whose state is `s` (closes the bracket), truncated to `hashBits`. */
export function keyOfState(s: HashState, hashBits: number): [number, number] {
  return truncateKey(fnvStep(s.fnv, 0x5d) | 0, murFinal(murStep(s.mur, 0x5d), s.len + 1), hashBits);
}

/** The murmur3 finalizer over `len` code units. */
function murFinal(h: number, len: number): number {
  h ^= len;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h | 0;
}

function truncateKey(lo: number, hi: number, hashBits: number): [number, number] {
  if (hashBits < 64) {
    if (hashBits <= 32) {
      lo = hashBits === 32 ? lo : lo & ((1 << hashBits) - 1);
      hi = 0;
    } else {
      hi = hashBits - 32 === 32 ? hi : hi & ((1 << (hashBits - 32)) - 1);
    }
  }
  return [lo, hi];
}
