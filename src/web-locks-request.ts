/**
 * Web Locks' request side (`web-locks.ts` is the lock manager side): the public types of
 * `request()` and `query()`, one request's state, and the argument checks in the order the W3C
 * spec's Web IDL makes them (all reported as rejections by `WebLocks.request`).
 */
import { describe } from './core/layout.js';
import { parseWaitOptions, type ParsedWait } from './core/futex.js';
import type { CheckedLock } from './core/hooks.js';
import type { Handle, PlacementOptions } from './core/layout.js';
import type { ResourceLock } from './manager/lock-manager.js';
import type { LockTable } from './manager/table.js';
import type { LockManagerHandle } from './manager/options.js';

/** `'exclusive'` (one holder) or `'shared'` (any number of shared holders, no exclusive one). */
export type WebLockMode = 'exclusive' | 'shared';

/** The lock a `request()` callback receives. */
export class WebLock {
  /** The name it was requested with. */
  readonly name: string;
  /** The mode it is held in. */
  readonly mode: WebLockMode;
  /** @internal */
  constructor(name: string, mode: WebLockMode) {
    this.name = name;
    this.mode = mode;
  }
  /** `'Lock'`, the W3C interface's name (`Object.prototype.toString` gives `[object Lock]`). */
  get [Symbol.toStringTag](): string {
    return 'Lock';
  }
}

/** Options of `request()`: the W3C ones, plus `timeout`. */
export interface WebLockRequestOptions {
  /** Default `'exclusive'`. */
  mode?: WebLockMode;
  /** Grant now or call the callback with `null` instead of waiting. */
  ifAvailable?: boolean;
  /** Take the lock from its holders (their `request()` rejects with an `AbortError`) and grant now. */
  steal?: boolean;
  /** Aborts the request while it waits (rejects with the signal's reason); no effect once granted. */
  signal?: AbortSignal;
  /** sablock extra: give up after this many ms of waiting (`TimeoutError`). */
  timeout?: number;
}

/** One lock or request in a `query()` snapshot. */
export interface WebLockInfo {
  /** The lock's name. */
  name: string;
  /** The mode held or requested. */
  mode: WebLockMode;
  /** The thread that asked: a stable string, distinct per thread (`WebLocks.clientId` there). */
  clientId: string;
}

/** `query()`'s result: held locks in the order granted, waiting requests in the order made. */
export interface WebLocksSnapshot {
  /** Locks held now, every thread's, in the order they were granted. */
  held: WebLockInfo[];
  /** Requests waiting now, every thread's, in the order they were made. */
  pending: WebLockInfo[];
}

/** Sizes of a `WebLocks` table. */
export interface WebLocksShape {
  /** Most distinct names held or waited on at once (`CapacityError` beyond). Default 1024. */
  capacity?: number;
  /** Most requests held or waiting at once. Default `4 × capacity`. */
  holderCapacity?: number;
  /** UTF-8 bytes of each name kept for `query()` (JSON-quoted); longer names show cut, ending in `…`. Default 256. */
  nameBytes?: number;
}

/** Options of `new WebLocks(options)`. */
export interface WebLocksOptions extends WebLocksShape, PlacementOptions {}

/** The structured-cloneable handle of a `WebLocks`. */
export interface WebLocksHandle extends Handle {
  readonly kind: 'WebLocks';
  /** The lock manager inside it (at `byteOffset + 64` of the same buffer). */
  readonly manager: LockManagerHandle;
}

/** A request() callback. */
export type WebLockCallback<T> = (lock: WebLock | null) => T | PromiseLike<T>;


const DEFAULT_CAPACITY = 1024;
const DEFAULT_NAME_BYTES = 256;

/** What the verifier and the observers see of one name. */
export interface NamedLock extends CheckedLock {
  readonly name: string;
  readonly lockClass: string;
  readonly handle: { readonly kind: 'WebLocks' };
}

/** One request, from request() to its settling. */
export class LockRequest {
  resolve!: (v: unknown) => void;
  reject!: (e: unknown) => void;
  readonly path: [string];
  /** STEAL when the request began (see `#granted`). */
  epoch = 0;
  /** The verifier's / observers' object for the name, when they look. */
  named: NamedLock | undefined = undefined;
  /** `now()` when it started waiting, if observed; else -1. */
  waitStart = -1;
  /** The hold, once granted: the manager's, or one taken through the name's fast word. */
  lock: ResourceLock | FastHold | undefined = undefined;
  /** Robbed by a steal: request() already rejected. */
  stolen = false;
  /** Deferred grant: runs once this view's waiting requests up to this number have ended (web-locks.ts #start). */
  after = 0;
  constructor(
    readonly name: string,
    readonly shared: boolean,
    readonly ifAvailable: boolean,
    readonly steal: boolean,
    readonly wait: ParsedWait,
    readonly callback: WebLockCallback<unknown>,
  ) {
    this.path = [name];
  }
}

/**
 * An exclusive hold taken through its entry's fast word (manager/table.ts "Fast words"): one CAS
 * to take, one to give back, while nothing else happens on the name. Anything else there moves
 * it into the table as a record of this thread, and then it is released (or found stolen) there.
 */
export class FastHold {
  #t: LockTable | undefined;
  constructor(
    t: LockTable,
    readonly e: number,
    readonly lo: number,
    readonly hi: number,
  ) {
    this.#t = t;
  }
  release(): void {
    this._release();
  }
  /** `release()`, telling whether the hold was still there (false: a steal took it). Released before: true. */
  _release(): boolean {
    const t = this.#t;
    if (t === undefined) return true;
    this.#t = undefined;
    return t.fastRelease(this.e, this.lo, this.hi);
  }
  /** Not released, and not taken by a steal. */
  stillHolds(): boolean {
    return this.#t !== undefined && this.#t.fastHolds(this.e, this.lo, this.hi);
  }
}

/** A name's key and entry as this thread last found them, for fast takes (`WebLocks`' cache). */
export interface FastName {
  readonly lo: number;
  readonly hi: number;
  /** The entry index, or -1 until one is found. */
  e: number;
}

function notSupported(message: string): DOMException {
  return new DOMException(message, 'NotSupportedError');
}

/** `request()`'s arguments after the Web IDL conversions (`readRequestArgs`). */
export interface WebLockArgs {
  name: string;
  shared: boolean;
  ifAvailable: boolean;
  steal: boolean;
  wait: ParsedWait;
  callback: WebLockCallback<unknown>;
}

/**
 * `request(name, [options,] callback)`'s Web IDL conversions, in order (name, the options
 * dictionary's members in name order, then sablock's `timeout`, then the callback): a
 * `TypeError` naming the argument for what cannot be converted. Shared with `sablock/postgres`,
 * which applies its own rules after it.
 */
export function readRequestArgs(argc: number, name: unknown, options: unknown, callback: unknown): WebLockArgs {
  if (argc < 3) {
    callback = options;
    options = undefined;
  }
  if (typeof name === 'symbol') throw new TypeError('name must be a string, got a symbol');
  const n = String(name);
  // Web IDL reads any object as a dictionary, a function object included.
  if (options !== undefined && options !== null && typeof options !== 'object' && typeof options !== 'function') {
    throw new TypeError(`options must be an object, got ${describe(options)}`);
  }
  const o = (options ?? {}) as Record<string, unknown>;
  // Web IDL reads a dictionary's members once each, in name order (then sablock's `timeout`).
  const ifAvailable = Boolean(o.ifAvailable);
  const m = o.mode;
  const mode = m === undefined ? 'exclusive' : String(m);
  if (mode !== 'exclusive' && mode !== 'shared') {
    throw new TypeError(`options.mode must be 'exclusive' or 'shared', got ${describe(m)}`);
  }
  const signal = o.signal;
  const steal = Boolean(o.steal);
  const wait = parseWaitOptions({ signal, timeout: o.timeout }, 'options');
  if (typeof callback !== 'function') throw new TypeError(`callback must be a function, got ${describe(callback)}`);
  return { name: n, shared: mode === 'shared', ifAvailable, steal, wait, callback: callback as WebLockCallback<unknown> };
}

/** `request()`'s arguments, checked in the spec's order (Web IDL conversions first). */
export function parseRequest(argc: number, name: unknown, options: unknown, callback: unknown): LockRequest {
  const { name: n, shared, ifAvailable, steal, wait, callback: cb } = readRequestArgs(argc, name, options, callback);
  if (n.startsWith('-')) throw notSupported(`lock names starting with '-' are reserved, got '${n}'`);
  if (steal && ifAvailable) throw notSupported('options.steal and options.ifAvailable cannot both be true');
  if (steal && shared) throw notSupported("options.steal requires mode 'exclusive'");
  if (wait.signal !== undefined && (steal || ifAvailable)) {
    throw notSupported('options.signal cannot be used with options.steal or options.ifAvailable');
  }
  if (wait.timeout !== undefined && (steal || ifAvailable)) {
    throw notSupported('options.timeout cannot be used with options.steal or options.ifAvailable');
  }
  if (wait.signal?.aborted) throw wait.signal.reason;
  return new LockRequest(n, shared, ifAvailable, steal, wait, cb);
}

/** The manager's shape for a WebLocks shape (its defaults). */
export function managerShape(o: WebLocksShape, what: string): { capacity: number; holderCapacity: number; nameBytes: number } {
  const capacity = o.capacity ?? DEFAULT_CAPACITY;
  if (typeof capacity !== 'number' || !Number.isInteger(capacity) || capacity < 1) {
    throw new RangeError(`${what}.capacity must be a positive integer, got ${describe(capacity)}`);
  }
  const holderCapacity = o.holderCapacity ?? 4 * capacity;
  const nameBytes = o.nameBytes ?? DEFAULT_NAME_BYTES;
  // The manager checks the rest (upper bounds, integers) with the same option names.
  return { capacity, holderCapacity, nameBytes };
}

export function modeOf(m: string): WebLockMode {
  return m === 'S' ? 'shared' : 'exclusive';
}

export function clientIdOf(thread: number | undefined): string {
  return `thread-${thread ?? 'unknown'}`;
}

/** A lock name back from the manager's resource text (the JSON of `[name]`, maybe cut with `…`). */
export function nameOfResource(text: string): string {
  try {
    const v = JSON.parse(text) as unknown;
    if (Array.isArray(v) && typeof v[0] === 'string') return v[0];
  } catch {
    // Cut to nameBytes: decode what is left of the string literal.
  }
  let body = text.startsWith('["') ? text.slice(2) : text;
  if (body.endsWith('…')) body = body.slice(0, -1);
  for (let cut = 0; cut <= 6 && cut <= body.length; cut++) {
    try {
      return `${JSON.parse(`"${body.slice(0, body.length - cut)}"`) as string}…`;
    } catch {
      // an escape sequence was cut in the middle: drop one more character
    }
  }
  return text;
}

