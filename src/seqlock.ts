/**
 * `SeqLock`: a sequence lock with its data region in the same buffer. Writers serialize on a lock
 * word and bump the sequence around their writes; readers run optimistically, write nothing, and
 * retry until a run validates, falling back to the writer lock after a few failed tries. The
 * algorithm and its memory-ordering argument are in `raw/seqlock.ts`.
 *
 * Layout (`SeqLock.byteLengthFor(dataByteLength)` = 16 + dataByteLength bytes):
 * | byte  | word | content |
 * |-------|------|---------|
 * | 0     | 0    | tag (kind id), written once by the constructor |
 * | 4     | 1    | SEQ: even = stable, odd = write in progress |
 * | 8     | 2    | LOCK: the writers' lock (a raw mutex word) |
 * | 12    | 3    | dataByteLength + 1, written once by the constructor (0 = never constructed) |
 * | 16…   |      | the data region, `dataByteLength` bytes |
 *
 * ## What a read callback may do
 * `read(fn)` calls `fn(view)` with a DataView over the shared data region. `fn` may run several
 * times; a run that overlapped a write is discarded, and in such a run `fn` may see any mix of old
 * and new bytes (torn values: NaN, lengths out of range, …). So `fn` must:
 * - only read through `view` (writing is a data race with the writer; use `write`),
 * - tolerate garbage: exceptions it throws in a discarded run are swallowed and the run retried,
 *   but it must not loop on a value read from the view (bound loops by `view.byteLength`),
 * - have no side effects that matter if the run is discarded, and not let `view` escape (return
 *   values copied out of it, not the view).
 * The value returned (or the exception thrown) is always that of a validated run.
 *
 * ## Invalid use
 * `write` inside `write` in the same thread throws `LockError` `ERR_LOCK_RECURSIVE`. `read` inside
 * `write` reads directly (the writer's own, possibly half-done, data).
 *
 * ## Owner death (docs/robustness.md)
 * A writer that dies inside `write` leaves SEQ odd and the writers' lock naming a dead thread.
 * Optimistic readers do not spin on it forever: after `optimisticTries` failed tries (each a
 * bounded spin) they fall back to the writers' lock, and the raw mutex hands that lock to one
 * waiter with OWNER_DIED set (raw/mutex.ts invariant 6). Whoever holds the writers' lock and finds
 * SEQ odd knows its writer died mid-write (every other write ends SEQ even in a `finally`): it
 * bumps SEQ to even before reading or writing, which publishes the data as the dead writer left it
 * (possibly half-updated: `ownerDied` says so until a writer calls `markConsistent()`). Without
 * that bump the next `beginWrite` would make SEQ even *during* its write, and readers would
 * validate torn runs.
 *
 * ## Lock-order verifier
 * Only the writers' lock is a lock for the verifier: `write`/`writeAsync` and a `read` that falls
 * back to the writers' lock acquire it exclusively (`onAcquire`, the checked stepped wait,
 * `onAcquired`, `onRelease`), each tested behind one `checking` branch. Optimistic reads take no
 * lock and call no hook: they never block a writer, so they order nothing.
 */
import { abortReason, LockError } from './core/errors.js';
import { parseWaitOptions, type WaitOptions } from './core/futex.js';
import {
  attach,
  describe,
  FROM_HANDLE,
  makeHandle,
  place,
  RankedPrimitive,
  type Handle,
  type Placement,
  type PlacementOptions,
} from './core/layout.js';
import { SpinBudget } from './core/spin.js';
import { assertOwnerIdFits, OWNER_ID } from './core/thread.js';
import { wasReaped } from './core/owner-death.js';
import { checkCallback } from './exclusive.js';
import { checking, onAcquire, onAcquired, onRelease } from './core/hooks.js';
import { contendedWait } from './core/acquire.js';
import { clearOwnerDied, lockAsyncSlow, lockSlow, OWNER_DIED, ownerOf, unlockWord, type ExclusivePolicy } from './raw/mutex.js';
import { beginRead, beginWrite, endWrite, isWriting, LOCK, validateRead } from './raw/seqlock.js';

const HEADER_BYTES = 16;
/** Word index (after the tag) holding dataByteLength + 1. */
const LENGTH = 2;

/** Writers' lock tuning: like Mutex (short spin, handoff after 1 ms parked). */
const WRITER_POLICY: ExclusivePolicy = { budget: new SpinBudget(4, 128), maxBackoff: 16, fairAfterMs: 1 };
/** Spin while a write is in progress before counting a failed try. */
const READ_BUDGET = new SpinBudget(8, 256);

/** Default number of optimistic tries before a reader takes the writer lock. */
export const DEFAULT_OPTIMISTIC_TRIES = 4;

/** Options of `new SeqLock(options)`. */
export interface SeqLockOptions extends PlacementOptions {
  /** Size of the data region in bytes (an integer ≥ 0). */
  dataByteLength: number;
  /**
   * Optimistic tries before `read` takes the writer lock (an integer ≥ 1; default 4). Per object,
   * not shared.
   */
  optimisticTries?: number;
}

/** The handle of a SeqLock also carries the size of its data region. */
export interface SeqLockHandle extends Handle {
  /** Size of the data region in bytes. */
  readonly dataByteLength: number;
}

function checkDataByteLength(n: unknown, what: string): number {
  if (typeof n !== 'number') throw new TypeError(`${what} must be a number of bytes, got ${describe(n)}`);
  if (!Number.isInteger(n) || n < 0 || n > 0x7fff_0000) {
    throw new RangeError(`${what} must be an integer from 0 to ${0x7fff_0000}, got ${n}`);
  }
  return n;
}

/**
 * A sequence lock over a data region in shared memory: readers never block writers and never
 * write shared memory; they get a consistent snapshot of what the last write left.
 */
export class SeqLock extends RankedPrimitive {
  /** Bytes a SeqLock with a `dataByteLength`-byte data region occupies at a placement. */
  static byteLengthFor(dataByteLength: number): number {
    return HEADER_BYTES + checkDataByteLength(dataByteLength, 'dataByteLength');
  }

  /** Byte offset of the data region in `buffer`. */
  readonly dataByteOffset: number;
  /** Size of the data region. */
  readonly dataByteLength: number;
  readonly #a: Int32Array;
  /** Index of SEQ. */
  readonly #i: number;
  readonly #view: DataView;
  readonly #tries: number;
  #retries = 0;
  #lockedReads = 0;

  constructor(options: SeqLockOptions);
  /** @internal */
  constructor(options: typeof FROM_HANDLE, handle: unknown, fromOptions: unknown);
  constructor(options: SeqLockOptions | typeof FROM_HANDLE, handle?: unknown, fromOptions?: unknown) {
    assertOwnerIdFits();
    const { p, dataByteLength, tries } = options === FROM_HANDLE ? openHandle(handle, fromOptions) : placeNew(options);
    super('SeqLock', p);
    this.#a = p.i32;
    this.#i = p.base + 1;
    this.dataByteLength = dataByteLength;
    this.dataByteOffset = p.byteOffset + HEADER_BYTES;
    this.#view = new DataView(p.buffer, this.dataByteOffset, dataByteLength);
    this.#tries = tries;
  }

  /**
   * Attaches to the SeqLock a handle describes (from `s.handle`, possibly another thread's).
   * `options.optimisticTries` tunes this object's readers.
   */
  static from(handle: SeqLockHandle, options?: { optimisticTries?: number }): SeqLock {
    return attachHandle(handle, options);
  }

  /** Plain structured-cloneable description; `SeqLock.from(handle)` attaches to the same lock. */
  override get handle(): SeqLockHandle {
    return makeHandle('SeqLock', this, { dataByteLength: this.dataByteLength });
  }

  /**
   * Runs `fn(view)` as the only writer, `view` a DataView over the data region, and returns its
   * value. Readers retry around it. If `fn` throws, what it wrote so far stays (as with any lock).
   */
  write<T>(fn: (view: DataView) => T): T {
    checkCallback(fn);
    // The verifier's only cost when off: this one branch (core/hooks.ts).
    if (checking) return this.#writeChecked(fn);
    const a = this.#a;
    const l = this.#i + LOCK;
    // Fast path: one CAS takes the free writers' lock.
    if (Atomics.compareExchange(a, l, 0, OWNER_ID) !== 0) this.#lockContended();
    return this.#writeLocked(fn);
  }

  /** `write` that waits for the writers' lock on the event loop (`fn` itself runs synchronously). */
  async writeAsync<T>(fn: (view: DataView) => T, options?: WaitOptions): Promise<T> {
    checkCallback(fn);
    const wait = parseWaitOptions(options);
    if (wait.signal?.aborted) throw abortReason(wait.signal);
    return this.#whenLocked(wait, () => this.#writeLocked(fn));
  }

  /**
   * Returns `fn(view)` from a run that no write overlapped: a consistent snapshot. `fn` may run
   * several times (see "What a read callback may do"); after `optimisticTries` failed runs the
   * reader takes the writer lock for one last, certain run.
   */
  read<T>(fn: (view: DataView) => T): T {
    checkCallback(fn);
    const r = this.#readOptimistic(fn);
    if (r !== RETRY) return r as T;
    // read_seqbegin_or_lock: stop racing the writers; exclude them for one run.
    const a = this.#a;
    const l = this.#i + LOCK;
    if (checking) onAcquire(this, false, false);
    if (Atomics.compareExchange(a, l, 0, OWNER_ID) !== 0) this.#lockContended();
    if (checking) onAcquired(this, false, false);
    return this.#readLocked(fn);
  }

  /** `read` whose fallback waits for the writers' lock on the event loop. */
  async readAsync<T>(fn: (view: DataView) => T, options?: WaitOptions): Promise<T> {
    checkCallback(fn);
    const wait = parseWaitOptions(options);
    if (wait.signal?.aborted) throw abortReason(wait.signal);
    const r = this.#readOptimistic(fn);
    if (r !== RETRY) return r as T;
    return this.#whenLocked(wait, () => this.#readLocked(fn));
  }

  /**
   * True when a writer died inside `write` (or holding the writers' lock) and no writer has called
   * `markConsistent()` since: the data may be half-updated.
   */
  get ownerDied(): boolean {
    return (Atomics.load(this.#a, this.#i + LOCK) & OWNER_DIED) !== 0;
  }

  /**
   * Declares the data repaired after a writer died (clears `ownerDied`). Call it inside this
   * thread's own `write` callback; otherwise throws `LockError` `ERR_LOCK_NOT_HELD`.
   */
  markConsistent(): void {
    if (ownerOf(Atomics.load(this.#a, this.#i + LOCK)) !== OWNER_ID) {
      throw new LockError('ERR_LOCK_NOT_HELD', `${this.name}: markConsistent() must be called inside this thread's write()`, this.name);
    }
    clearOwnerDied(this.#a, this.#i + LOCK);
  }

  /** Snapshot: is a write in progress? For diagnostics only. */
  isWriting(): boolean {
    return isWriting(Atomics.load(this.#a, this.#i));
  }

  /** Snapshot of the sequence number (even: stable; it changes by 2 per write). */
  sequence(): number {
    return Atomics.load(this.#a, this.#i);
  }

  /** Diagnostics, this object in this thread: optimistic runs thrown away because a write overlapped. */
  get readRetries(): number {
    return this.#retries;
  }

  /** Diagnostics, this object in this thread: reads that fell back to the writer lock. */
  get lockedReads(): number {
    return this.#lockedReads;
  }

  // ---- internals ----------------------------------------------------------------------------------

  #readOptimistic<T>(fn: (view: DataView) => T): T | typeof RETRY {
    const a = this.#a;
    const i = this.#i;
    const view = this.#view;
    // A read inside this thread's own write: the data is ours, read it directly.
    if (ownerOf(Atomics.load(a, i + LOCK)) === OWNER_ID) return fn(view);
    for (let t = 0; t < this.#tries; t++) {
      const seq = beginRead(a, i, READ_BUDGET);
      if (isWriting(seq)) continue; // the writer is still inside: count a failed try
      let value: T | undefined;
      let error: unknown;
      let threw = false;
      try {
        value = fn(view);
      } catch (e) {
        threw = true;
        error = e;
      }
      if (validateRead(a, i, seq)) {
        if (threw) throw error;
        return value as T;
      }
      // A write overlapped this run: whatever it returned or threw came from torn data.
      this.#retries++;
    }
    return RETRY;
  }

  /**
   * We hold the writers' lock: an odd SEQ now can only be a writer that died mid-write (see "Owner
   * death"). Make it even, so later optimistic reads validate again and our own write pairs up.
   */
  #repairSequence(): void {
    // Only the writers' lock holder writes SEQ, so this load-then-add does not race.
    if (isWriting(Atomics.load(this.#a, this.#i))) Atomics.add(this.#a, this.#i, 1);
  }

  #readLocked<T>(fn: (view: DataView) => T): T {
    this.#lockedReads++;
    this.#repairSequence();
    try {
      return fn(this.#view);
    } finally {
      this.#unlock();
    }
  }

  #writeLocked<T>(fn: (view: DataView) => T): T {
    this.#repairSequence();
    beginWrite(this.#a, this.#i);
    try {
      return fn(this.#view);
    } finally {
      // A reaped writer's lock was taken over and SEQ made even by the new holder, who may be
      // writing now: ending "our" write would make SEQ even in the middle of theirs. Never twice.
      if (ownerOf(Atomics.load(this.#a, this.#i + LOCK)) === OWNER_ID || !wasReaped()) {
        endWrite(this.#a, this.#i);
        this.#unlock();
      }
    }
  }

  /**
   * Takes the writers' lock on the event loop and runs `section` (which releases it) in the same
   * synchronous turn as the CAS that took it. The lock is never held across an `await`: held over
   * the promise chain's microtask hops, another task of this thread calling `write()` in between
   * would find it held by its own thread and get ERR_LOCK_RECURSIVE for a lock nobody visibly holds.
   */
  async #whenLocked<T>(wait: ReturnType<typeof parseWaitOptions>, section: () => T): Promise<T> {
    const a = this.#a;
    const l = this.#i + LOCK;
    if (checking) onAcquire(this, false, true);
    const run = (): T => {
      if (checking) onAcquired(this, false, true);
      return section();
    };
    // One CAS first: then the section runs right here, before this call returns its promise.
    if (Atomics.compareExchange(a, l, 0, OWNER_ID) === 0) return run();
    // Otherwise queue on the event loop; the section runs inside the acquiring turn.
    let out: { value: T } | { error: unknown } | undefined;
    const inTurn = (): void => {
      try {
        out = { value: run() };
      } catch (error) {
        out = { error };
      }
    };
    await lockAsyncSlow(a, l, OWNER_ID, wait, WRITER_POLICY, this.name, undefined, inTurn);
    if ('error' in out!) throw out.error;
    return out!.value;
  }

  #unlock(): void {
    const l = this.#i + LOCK;
    if (checking) onRelease(this, false, ownerOf(Atomics.load(this.#a, l)));
    unlockWord(this.#a, l, OWNER_ID);
  }

  /** Blocking wait for the writers' lock after the fast path failed (a write or a locked read). */
  #lockContended(): void {
    const a = this.#a;
    const l = this.#i + LOCK;
    if (ownerOf(Atomics.load(a, l)) === OWNER_ID) throw this.#recursive();
    // core/acquire.ts: in the verifier's watchdog steps while it is on. CORRECTNESS: a step that
    // times out leaves the word as a timed-out tryLock(ms) (at most a stale PARKED bit: one spare
    // notify later), and the next step re-reads the word before it sleeps, so a release between
    // steps is not lost. SeqLock records no stats or events (docs/observability.md).
    contendedWait(
      {
        lock: this,
        observed: false,
        slow: (until) => lockSlow(a, l, OWNER_ID, until, WRITER_POLICY),
        owner: () => ownerOf(Atomics.load(a, l)),
      },
      Infinity,
    );
  }

  /** `write` under the verifier: the writers' lock is an exclusive acquisition. */
  #writeChecked<T>(fn: (view: DataView) => T): T {
    onAcquire(this, false, false);
    if (Atomics.compareExchange(this.#a, this.#i + LOCK, 0, OWNER_ID) !== 0) this.#lockContended();
    onAcquired(this, false, false);
    return this.#writeLocked(fn);
  }

  #recursive(): LockError {
    return new LockError(
      'ERR_LOCK_RECURSIVE',
      `${this.name}: write() by thread ${OWNER_ID - 1} inside its own write(); it would deadlock`,
      this.name,
    );
  }
}

/**
 * `SeqLock.from`, written outside the class body: a class that names itself in its own body is
 * bundled as `_SeqLock` (its name in stack traces; tsup.config.ts).
 */
function attachHandle(handle: SeqLockHandle, options?: { optimisticTries?: number }): SeqLock {
  return new SeqLock(FROM_HANDLE, handle, options);
}

const RETRY: unique symbol = Symbol('retry');

interface Opened {
  p: Placement;
  dataByteLength: number;
  tries: number;
}

function readTries(options: unknown): number {
  if (options === undefined || options === null) return DEFAULT_OPTIMISTIC_TRIES;
  if (typeof options !== 'object') throw new TypeError(`options must be an object, got ${describe(options)}`);
  const n = (options as { optimisticTries?: unknown }).optimisticTries;
  if (n === undefined) return DEFAULT_OPTIMISTIC_TRIES;
  if (typeof n !== 'number') throw new TypeError(`options.optimisticTries must be a number, got ${describe(n)}`);
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`options.optimisticTries must be an integer >= 1, got ${n}`);
  return n;
}

function openHandle(handle: unknown, options: unknown): Opened {
  const tries = readTries(options);
  let len = 0;
  const p = attach('SeqLock', handle, (h) => HEADER_BYTES + (len = checkDataByteLength(h.dataByteLength, 'handle.dataByteLength')));
  // Attaching only reads: the size recorded by the constructor must match the handle's.
  const stored = Atomics.load(p.i32, p.base + 1 + LENGTH);
  if (stored !== len + 1) {
    throw new RangeError(`handle.dataByteLength ${len} does not match the SeqLock's ${stored - 1} bytes`);
  }
  return { p, dataByteLength: len, tries };
}

function placeNew(options: unknown): Opened {
  if (options === null || typeof options !== 'object') {
    throw new TypeError(`options must be an object with dataByteLength, got ${describe(options)}`);
  }
  const o = options as SeqLockOptions;
  const dataByteLength = checkDataByteLength(o.dataByteLength, 'options.dataByteLength');
  const tries = readTries(options);
  const p = place('SeqLock', HEADER_BYTES + dataByteLength, options);
  // Record the data size once (0 → length + 1), so handles and later constructions agree.
  const prev = Atomics.compareExchange(p.i32, p.base + 1 + LENGTH, 0, dataByteLength + 1);
  if (prev !== 0 && prev !== dataByteLength + 1) {
    throw new RangeError(
      `options.dataByteLength ${dataByteLength} does not match the SeqLock already at this place (${prev - 1} bytes)`,
    );
  }
  return { p, dataByteLength, tries };
}
