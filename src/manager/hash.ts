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

/** FNV-1a over UTF-16 code units. */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let k = 0; k < s.length; k++) {
    h ^= s.charCodeAt(k);
    h = Math.imul(h, 0x01000193);
  }
  return h | 0;
}

/** murmur3-style mix over UTF-16 code units, with its own seed. */
function murmurish(s: string): number {
  let h = 0x9747b28c;
  for (let k = 0; k < s.length; k++) {
    let c = Math.imul(s.charCodeAt(k), 0xcc9e2d51);
    c = (c << 15) | (c >>> 17);
    h ^= Math.imul(c, 0x1b873593);
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  h ^= s.length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h | 0;
}

/** The 64-bit key of a path's canonical text, as [lo, hi] int32s, truncated to `hashBits`. */
export function keyOf(text: string, hashBits: number): [number, number] {
  let lo = fnv1a(text);
  let hi = murmurish(text);
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

/** A key as 16 hex digits, for messages and query(). */
export function keyHex(lo: number, hi: number): string {
  return (hi >>> 0).toString(16).padStart(8, '0') + (lo >>> 0).toString(16).padStart(8, '0');
}
