/**
 * Placement and handles: where a primitive's words live and how another thread finds them.
 *
 * Every primitive occupies `BYTE_LENGTH` bytes at a 4-byte aligned `byteOffset` of a
 * `SharedArrayBuffer`. Its first word is a **tag word** naming the kind
 * (`TAG_MAGIC | kindId`); the state words follow. The constructor claims the tag word with one
 * compareExchange (0 → tag) and never touches the state words, so zeroed memory is an unlocked
 * lock and constructing twice at one place attaches to the same lock. `from(handle)` only reads:
 * it checks the handle's fields and the tag word, so a forged or stale handle is a TypeError
 * before anything is written.
 *
 * | word | meaning |
 * |---|---|
 * | 0 | tag: `0x5AB1_0000 \| kindId`, written once by the constructor |
 * | 1… | the primitive's state words (all zero = initial state) |
 */

import { checking, constructionSite } from './hooks.js';

export const TAG_MAGIC = 0x5ab1_0000;

/** Kind ids stored in tag words. Never renumber: tags live in users' buffers. */
export const KIND_IDS = {
  Mutex: 1,
  SpinLock: 2,
  TicketLock: 3,
  RWLock: 4,
  SeqLock: 5,
  Semaphore: 6,
  Condition: 7,
  LockManager: 8,
  WebLocks: 9,
} as const;

/** Name of a primitive kind (`'Mutex'`, `'RWLock'`, …), as stored in handles and tag words. */
export type Kind = keyof typeof KIND_IDS;

/**
 * Bytes a primitive of each fixed-size kind occupies (tag word included), used only to refuse a
 * placement that would overlap an existing primitive. Kinds whose size depends on options
 * (SeqLock, LockManager) or that are not listed are still protected by the forward scan (a new
 * primitive's region may not contain another primitive's tag word).
 */
// Fixed sizes (tag word included), for the overlap check; test/layout.test.ts checks each against BYTE_LENGTH.
export const KIND_BYTES: Partial<Record<Kind, number>> = {
  Mutex: 8,
  SpinLock: 8,
  TicketLock: 136,
  RWLock: 92,
  Semaphore: 104,
  Condition: 12,
};
/** Longest fixed-size kind, in words: how far back the overlap check looks for a neighbour's tag. */
const MAX_KIND_WORDS = Math.max(...Object.values(KIND_BYTES)) >> 2;

/** Options every primitive accepts for its place and class name. */
export interface PlacementOptions {
  /** Lock class for the verifier and stats. Defaults to the kind name. */
  name?: string;
  /** Place the primitive inside this buffer instead of a fresh one. */
  buffer?: SharedArrayBuffer;
  /** Byte offset inside `buffer`; a multiple of 4. Defaults to 0. */
  byteOffset?: number;
  /**
   * Rank for the lock-order verifier: while holding a lock of rank r, only locks of rank > r may
   * be acquired. Carried in the handle. Ignored while the verifier is off.
   */
  rank?: number;
}

// The options of the locks that have none of their own: placement, class name and verifier rank
// (one name each, so that a lock's own options can be added without changing a signature).
/** Options of `new Mutex()`: placement, class name and verifier rank. */
export type MutexOptions = PlacementOptions;
/** Options of `new SpinLock()`: placement, class name and verifier rank. */
export type SpinLockOptions = PlacementOptions;
/** Options of `new TicketLock()`: placement, class name and verifier rank. */
export type TicketLockOptions = PlacementOptions;
/** Options of `new RWLock()`: placement, class name and verifier rank. */
export type RWLockOptions = PlacementOptions;
/** Options of `new Condition()`: placement, class name and verifier rank. */
export type ConditionOptions = PlacementOptions;

/** The plain, structured-cloneable object that carries a primitive to another thread. */
export interface Handle {
  /** Which primitive this is; `from(handle)` refuses a handle of another kind. */
  readonly kind: Kind;
  /** The shared buffer the primitive lives in. */
  readonly buffer: SharedArrayBuffer;
  /** Byte offset of the primitive (its tag word) in `buffer`; a multiple of 4. */
  readonly byteOffset: number;
  /** Lock class name, shared by every thread's view of this primitive. */
  readonly name: string;
  /** Verifier class when it differs from `name` (an unnamed lock's construction site). */
  readonly lockClass?: string;
  /** Verifier rank (see `PlacementOptions.rank`). */
  readonly rank?: number;
}

/** Where a primitive lives: a whole-buffer Int32 view and the index of its tag word. */
export interface Placement {
  readonly buffer: SharedArrayBuffer;
  readonly byteOffset: number;
  readonly i32: Int32Array;
  /** Index of the tag word; state words start at `base + 1`. */
  readonly base: number;
  readonly name: string;
  /** Verifier class: `name`, or the construction site of an unnamed lock built while checking. */
  readonly lockClass: string;
  readonly rank: number | undefined;
}

export function tagOf(kind: Kind): number {
  return TAG_MAGIC | KIND_IDS[kind];
}

function kindOfTag(tag: number): string {
  if ((tag & 0xffff_0000) !== TAG_MAGIC) return tag === 0 ? 'nothing (zero)' : `foreign data (0x${(tag >>> 0).toString(16)})`;
  const id = tag & 0xffff;
  for (const [k, v] of Object.entries(KIND_IDS)) if (v === id) return `a ${k}`;
  return `an unknown sablock kind (${id})`;
}

export function isSharedArrayBuffer(x: unknown): x is SharedArrayBuffer {
  return Object.prototype.toString.call(x) === '[object SharedArrayBuffer]';
}

/** Validates a (buffer, byteOffset) pair for `byteLength` bytes; `what` prefixes messages. */
function checkRegion(buffer: unknown, byteOffset: unknown, byteLength: number, what: string): void {
  if (!isSharedArrayBuffer(buffer)) {
    throw new TypeError(`${what}.buffer must be a SharedArrayBuffer, got ${describe(buffer)}`);
  }
  if (typeof byteOffset !== 'number') {
    throw new TypeError(`${what}.byteOffset must be a number, got ${describe(byteOffset)}`);
  }
  if (!Number.isInteger(byteOffset) || byteOffset < 0) {
    throw new RangeError(`${what}.byteOffset must be a non-negative integer, got ${byteOffset}`);
  }
  if (byteOffset % 4 !== 0) {
    throw new RangeError(`${what}.byteOffset must be a multiple of 4, got ${byteOffset}`);
  }
  if (byteOffset + byteLength > buffer.byteLength) {
    throw new RangeError(
      `${what}.byteOffset ${byteOffset} + ${byteLength} bytes exceeds the buffer's ${buffer.byteLength} bytes`,
    );
  }
}

/** An optional boolean option: `dflt` when absent, else a boolean or a TypeError naming `name`. */
export function readBoolean(v: unknown, name: string, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  if (typeof v !== 'boolean') throw new TypeError(`${name} must be a boolean, got ${describe(v)}`);
  return v;
}

export function describe(x: unknown): string {
  if (x === null) return 'null';
  if (typeof x === 'object' || typeof x === 'function') {
    const tag = Object.prototype.toString.call(x).slice(8, -1);
    return tag === 'Object' ? 'an object' : `a ${tag}`;
  }
  if (typeof x === 'string') return `the string ${JSON.stringify(x.length > 40 ? x.slice(0, 40) + '…' : x)}`;
  return `${typeof x} ${String(x)}`;
}

/** Reads and checks the common placement options (`name`, `buffer`, `byteOffset`). */
export function readPlacementOptions(
  options: unknown,
  kind: Kind,
): {
  name: string;
  lockClass: string;
  rank: number | undefined;
  buffer: SharedArrayBuffer | undefined;
  byteOffset: number;
} {
  if (options === undefined || options === null) {
    return { name: kind, lockClass: defaultClass(kind), rank: undefined, buffer: undefined, byteOffset: 0 };
  }
  if (typeof options !== 'object') throw new TypeError(`options must be an object, got ${describe(options)}`);
  const o = options as PlacementOptions;
  const { name, buffer, byteOffset, rank } = o;
  if (name !== undefined && (typeof name !== 'string' || name.length === 0)) {
    throw new TypeError(`options.name must be a non-empty string, got ${describe(name)}`);
  }
  if (buffer === undefined && byteOffset !== undefined) {
    throw new TypeError('options.byteOffset needs options.buffer');
  }
  checkRank(rank, 'options.rank');
  return { name: name ?? kind, lockClass: name ?? defaultClass(kind), rank, buffer, byteOffset: byteOffset ?? 0 };
}

/** An unnamed lock's class: its construction site while the verifier is on, else its kind. */
function defaultClass(kind: Kind): string {
  // One branch when the verifier is off; the stack is captured only when it is on.
  return checking ? constructionSite(kind) : kind;
}

function checkRank(rank: unknown, what: string): asserts rank is number | undefined {
  if (rank === undefined) return;
  if (typeof rank !== 'number') throw new TypeError(`${what} must be a number, got ${describe(rank)}`);
  if (!Number.isFinite(rank)) throw new RangeError(`${what} must be a finite number, got ${rank}`);
}

/**
 * @internal An option key for a primitive placed inside another's region (the lock manager inside
 * a `WebLocks`): the outer placement already checked the whole region for overlaps.
 */
export const REGION_CHECKED: unique symbol = Symbol('sablock.regionChecked');

/**
 * Places a new primitive of `kind` (`byteLength` bytes, tag word included): in a fresh buffer, or
 * at `options.buffer`/`options.byteOffset`, claiming the tag word there.
 */
export function place(kind: Kind, byteLength: number, options: unknown): Placement {
  const { name, lockClass, rank, buffer: given, byteOffset } = readPlacementOptions(options, kind);
  let buffer: SharedArrayBuffer;
  if (given === undefined) {
    buffer = new SharedArrayBuffer(byteLength);
  } else {
    checkRegion(given, byteOffset, byteLength, 'options');
    buffer = given;
  }
  const i32 = new Int32Array(buffer, 0, buffer.byteLength >> 2); // whole words only: any byteLength is allowed
  const base = byteOffset >> 2;
  const tag = tagOf(kind);
  // Claim the tag word: 0 → tag marks the region as ours; an equal tag means we attach to an
  // existing primitive of this kind; anything else belongs to someone else and stays untouched.
  // Robustness: a zero word may be a neighbour's unlocked state word; refuse to claim it. A fresh
  // buffer, or a region its composite owner already checked, has no neighbour to scan for.
  const checked = given === undefined || (options as Record<symbol, unknown>)[REGION_CHECKED] === true;
  if (!checked && Atomics.load(i32, base) === 0) checkNoOverlap(i32, base, byteLength, kind);
  const prev = Atomics.compareExchange(i32, base, 0, tag);
  if (prev !== 0 && prev !== tag) {
    throw new TypeError(`options.byteOffset ${byteOffset} already holds ${kindOfTag(prev)}, not a ${kind}`);
  }
  return { buffer, byteOffset, i32, base, name, lockClass, rank };
}

function kindIdOf(tag: number): Kind | undefined {
  if ((tag & 0xffff_0000) !== TAG_MAGIC) return undefined;
  const id = tag & 0xffff;
  for (const [k, v] of Object.entries(KIND_IDS)) if (v === id) return k as Kind;
  return undefined;
}

/**
 * Throws a RangeError if `byteLength` bytes at word `base` would overlap another primitive: a tag
 * word inside the new region, or a fixed-size primitive (KIND_BYTES) starting before `base` and
 * reaching into it. Zeroed memory is a valid unlocked lock, so without this a placement at a
 * neighbour's state word would silently turn it into a tag (a lock nobody can take).
 */
function checkNoOverlap(i32: Int32Array, base: number, byteLength: number, kind: Kind): void {
  const end = base + (byteLength >> 2);
  for (let j = base + 1; j < end && j < i32.length; j++) {
    const k = kindIdOf(Atomics.load(i32, j));
    if (k !== undefined) {
      throw new RangeError(
        `options.byteOffset ${base * 4}: a ${kind} there (${byteLength} bytes) would overlap the ${k} at byteOffset ${j * 4}`,
      );
    }
  }
  for (let j = base - 1; j >= 0 && j >= base - MAX_KIND_WORDS; j--) {
    const k = kindIdOf(Atomics.load(i32, j));
    const bytes = k === undefined ? undefined : KIND_BYTES[k];
    if (bytes !== undefined && j * 4 + bytes > base * 4) {
      throw new RangeError(
        `options.byteOffset ${base * 4} lies inside the ${k} at byteOffset ${j * 4} (${bytes} bytes)`,
      );
    }
  }
}

/** The fields every handle has (`Handle`), in the order `attach` reads them. */
const HANDLE_FIELDS = ['kind', 'name', 'buffer', 'byteOffset', 'lockClass', 'rank'] as const;

/** Re-attaches to a primitive from its handle; reads only. */
export function attach(kind: Kind, handle: unknown, byteLengthOf: (h: Record<string, unknown>) => number): Placement {
  if (handle === null || typeof handle !== 'object') {
    throw new TypeError(`handle must be a ${kind} handle object, got ${describe(handle)}`);
  }
  // Read each field once: a getter or Proxy could answer differently on a second read (TOCTOU).
  // The copy keeps the kind's own fields (read by `byteLengthOf`), with the first reads on top.
  const firstReads: Record<string, unknown> = {};
  for (const f of HANDLE_FIELDS) firstReads[f] = (handle as Record<string, unknown>)[f];
  const h: Record<string, unknown> = { ...(handle as Record<string, unknown>), ...firstReads };
  if (h.kind !== kind) {
    throw new TypeError(`handle.kind must be "${kind}", got ${describe(h.kind)}`);
  }
  if (h.name !== undefined && (typeof h.name !== 'string' || h.name.length === 0)) {
    throw new TypeError(`handle.name must be a non-empty string, got ${describe(h.name)}`);
  }
  if (h.lockClass !== undefined && (typeof h.lockClass !== 'string' || h.lockClass.length === 0)) {
    throw new TypeError(`handle.lockClass must be a non-empty string, got ${describe(h.lockClass)}`);
  }
  checkRank(h.rank, 'handle.rank');
  const byteLength = byteLengthOf(h);
  checkRegion(h.buffer, h.byteOffset, byteLength, 'handle');
  const buffer = h.buffer as SharedArrayBuffer;
  const byteOffset = h.byteOffset as number;
  const i32 = new Int32Array(buffer, 0, buffer.byteLength >> 2); // whole words only: any byteLength is allowed
  const base = byteOffset >> 2;
  // A plain load is enough: the tag was written before the handle could be posted to us.
  const tag = Atomics.load(i32, base);
  if (tag !== tagOf(kind)) {
    throw new TypeError(`handle: byteOffset ${byteOffset} holds ${kindOfTag(tag)}, not a ${kind}`);
  }
  const name = (h.name as string | undefined) ?? kind;
  return {
    buffer,
    byteOffset,
    i32,
    base,
    name,
    lockClass: (h.lockClass as string | undefined) ?? name,
    rank: h.rank as number | undefined,
  };
}

/** What a primitive knows about itself that goes into its handle. */
export interface HandleSource {
  readonly buffer: SharedArrayBuffer;
  readonly byteOffset: number;
  readonly name: string;
  readonly lockClass?: string;
  readonly rank?: number | undefined;
}

/**
 * Builds the plain handle of a primitive: kind, place, name, plus `lockClass` and `rank` only
 * when they differ from the defaults (so common handles stay small), plus kind-specific `extra`.
 */
export function makeHandle<E extends object>(kind: Kind, src: HandleSource, extra?: E): Handle & E {
  const h: Record<string, unknown> = { kind, buffer: src.buffer, byteOffset: src.byteOffset, name: src.name };
  if (src.lockClass !== undefined && src.lockClass !== src.name) h.lockClass = src.lockClass;
  if (src.rank !== undefined) h.rank = src.rank;
  if (extra !== undefined) Object.assign(h, extra);
  return h as Handle & E;
}

/**
 * The first argument of the internal constructor overload `new X(FROM_HANDLE, handle)` that
 * `X.from(handle)` calls: attach to the primitive the handle names instead of placing a new one.
 */
export const FROM_HANDLE: unique symbol = Symbol('fromHandle');

/** What every constructor does first: `new X(options)` places, `new X(FROM_HANDLE, handle)` attaches. */
export function placeOrAttach(kind: Kind, byteLength: number, options: unknown, handle: unknown): Placement {
  return options === FROM_HANDLE ? attach(kind, handle, () => byteLength) : place(kind, byteLength, options);
}

/**
 * @internal Base of every primitive: what it keeps of its placement, and its handle. The view of
 * its state words stays in each subclass, as fields its own fast paths read.
 */
export abstract class Primitive {
  /** Required alignment of `byteOffset` (every primitive is made of Int32 words). */
  static readonly BYTE_ALIGNMENT = 4;

  /** Class name (for the verifier and stats); shared through the handle. */
  readonly name: string;
  /** The buffer this primitive lives in. */
  readonly buffer: SharedArrayBuffer;
  /** Byte offset of this primitive (its tag word) in `buffer`. */
  readonly byteOffset: number;
  readonly #kind: Kind;

  protected constructor(kind: Kind, p: Placement) {
    this.#kind = kind;
    this.name = p.name;
    this.buffer = p.buffer;
    this.byteOffset = p.byteOffset;
  }

  /** Plain structured-cloneable description; `X.from(handle)` attaches to the same primitive. */
  get handle(): Handle {
    return makeHandle(this.#kind, this);
  }

  /** @internal The kind (`'Mutex'`, …), for error messages. */
  protected get _kind(): Kind {
    return this.#kind;
  }
}

/**
 * @internal Base of the locks the verifier orders by class and rank (both carried in the
 * handle); `Condition`, `Semaphore` and `LockManager` are known by name only.
 */
export abstract class RankedPrimitive extends Primitive {
  /** Lock-order verifier class: `name`, or the construction site of an unnamed lock. */
  readonly lockClass: string;
  /** Verifier rank from the options or the handle (undefined: none). */
  readonly rank: number | undefined;

  protected constructor(kind: Kind, p: Placement) {
    super(kind, p);
    this.lockClass = p.lockClass;
    this.rank = p.rank;
  }
}
