/**
 * The shared stats table: one `SharedArrayBuffer` that every thread records into and any thread
 * reads, one slot per lock class (the `name` a lock was created with; the kind name by default).
 *
 * Slots are found by open addressing (linear probing) on a 32-bit FNV-1a hash of the class name;
 * the name's UTF-8 bytes (its first {@link MAX_NAME_BYTES}) are stored in the slot and compared,
 * so two classes whose hashes collide get two slots. A slot is claimed once and never freed. When
 * every slot is taken, further classes are counted together in one extra slot named
 * {@link OVERFLOW_NAME}: recording never throws on a lock path.
 *
 * ## Layout (Int32 words; the BigInt64 region follows, 8-byte aligned)
 * | words | name     | meaning |
 * |-------|----------|---------|
 * | 0     | MAGIC    | `TABLE_MAGIC`, written once at creation |
 * | 1     | CAPACITY | slots before the overflow slot |
 * | 2     | ENABLED  | 1 while recording is on (any thread may turn it off for all) |
 * | 3     | USED     | slots claimed (a hint for readers) |
 * | 8 + s·SLOT_WORDS … | slot s | see below; slot `CAPACITY` is the overflow slot |
 *
 * | slot word | name      | meaning |
 * |-----------|-----------|---------|
 * | 0         | STATE     | 0 empty, 1 being claimed, 2 ready (name readable) |
 * | 1         | HASH      | FNV-1a of the full name |
 * | 2         | NAME_LEN  | stored name bytes |
 * | 3–34      | NAME      | UTF-8 name bytes (128 at most) |
 * | 35–42     | COUNTERS  | acquisitions, contended, spinSuccesses, parks, handoffs, timeouts, aborts, ownerDeaths |
 * | 43–82     | WAIT_HIST | 40 log2 buckets of wait time in ns: bucket k counts [2^k, 2^(k+1)) ns (k = 0 also holds 0–1) |
 * | 83–122    | HOLD_HIST | the same for hold time |
 * The BigInt64 region holds per slot: waitSumNs, waitMaxNs, holdSumNs, holdMaxNs.
 *
 * ## Invariants
 * 1. A slot's STATE only goes 0 → 1 → 2. Only the thread whose CAS took it 0 → 1 writes HASH, NAME_LEN
 *    and NAME, and it does so before storing 2; readers use a slot only once they load STATE 2.
 * 2. Counters and buckets only grow (Atomics.add), except by `reset()`. They are 32-bit and wrap
 *    after 2^32 (read as unsigned); sums and maxima are 64-bit nanoseconds.
 * 3. A snapshot is not atomic across words: a reader racing recorders may see a counter that is
 *    one step ahead of a histogram. Each single word is exact.
 *
 * ## Memory ordering
 * All shared accesses are Atomics (sequentially consistent). The name bytes are written with plain
 * stores through a Uint8Array before the STATE store of 2, and read after a load of 2; the
 * Atomics.store/load pair orders them (a plain write before a seq-cst store is visible to a thread
 * whose seq-cst load reads that store).
 */

export const TABLE_MAGIC = 0x5ab1_57a7;
/** Slots a table has unless `enable({ capacity })` says otherwise. */
export const DEFAULT_CAPACITY = 256;
/** Class names are told apart by their first this many UTF-8 bytes (plus the hash of the whole). */
export const MAX_NAME_BYTES = 128;
/** Log2 buckets per histogram: 2^40 ns is about 18 minutes, the last bucket holds the rest. */
export const BUCKETS = 40;
/** Name of the slot that counts every class that found the table full. */
export const OVERFLOW_NAME = '(other)';

const MAGIC = 0;
const CAPACITY = 1;
export const ENABLED = 2;
const USED = 3;
const HEADER_WORDS = 8;

const STATE = 0;
const HASH = 1;
const NAME_LEN = 2;
const NAME = 3;
const COUNTERS = NAME + MAX_NAME_BYTES / 4;
const WAIT_HIST = COUNTERS + 8;
const HOLD_HIST = WAIT_HIST + BUCKETS;
const SLOT_WORDS = HOLD_HIST + BUCKETS + 1; // 124: keeps slots 8-byte aligned
const BIG_PER_SLOT = 4;

const EMPTY = 0;
const CLAIMING = 1;
const READY = 2;

/** Counter indexes inside a slot's COUNTERS block. */
export const C_ACQUISITIONS = 0;
export const C_CONTENDED = 1;
export const C_SPIN_SUCCESSES = 2;
export const C_PARKS = 3;
export const C_HANDOFFS = 4;
export const C_TIMEOUTS = 5;
export const C_ABORTS = 6;
export const C_OWNER_DEATHS = 7;

export const COUNTER_NAMES = [
  'acquisitions',
  'contended',
  'spinSuccesses',
  'parks',
  'handoffs',
  'timeouts',
  'aborts',
  'ownerDeaths',
] as const;

/** Which histogram: wait (index 0) or hold (index 1). */
export const WAIT = 0;
export const HOLD = 1;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Bytes of a table with `capacity` slots (plus the overflow slot). */
export function tableBytes(capacity: number): number {
  const words = HEADER_WORDS + (capacity + 1) * SLOT_WORDS;
  return words * 4 + (capacity + 1) * BIG_PER_SLOT * 8;
}

/** FNV-1a over the name's UTF-16 code units: stable across threads, no allocation. */
export function hashName(name: string): number {
  let h = 0x811c9dc5;
  for (let k = 0; k < name.length; k++) {
    h ^= name.charCodeAt(k);
    h = Math.imul(h, 0x01000193);
  }
  return h | 0;
}

/** A view over one shared stats table (each thread makes its own view of the same buffer). */
export class StatsTable {
  readonly buffer: SharedArrayBuffer;
  readonly capacity: number;
  readonly #i32: Int32Array;
  readonly #u8: Uint8Array;
  readonly #big: BigInt64Array;

  private constructor(buffer: SharedArrayBuffer, capacity: number) {
    this.buffer = buffer;
    this.capacity = capacity;
    this.#i32 = new Int32Array(buffer);
    this.#u8 = new Uint8Array(buffer);
    const bigByteOffset = (HEADER_WORDS + (capacity + 1) * SLOT_WORDS) * 4;
    this.#big = new BigInt64Array(buffer, bigByteOffset, (capacity + 1) * BIG_PER_SLOT);
  }

  /** A fresh, zeroed table with recording on. */
  static create(capacity: number): StatsTable {
    const t = new StatsTable(new SharedArrayBuffer(tableBytes(capacity)), capacity);
    Atomics.store(t.#i32, CAPACITY, capacity);
    Atomics.store(t.#i32, ENABLED, 1);
    // Published last: a buffer with the magic is a complete header.
    Atomics.store(t.#i32, MAGIC, TABLE_MAGIC);
    return t;
  }

  /** Attaches to a table made by `create` in any thread; TypeError if `buffer` is not one. */
  static attach(buffer: unknown, what = 'buffer'): StatsTable {
    if (Object.prototype.toString.call(buffer) !== '[object SharedArrayBuffer]') {
      throw new TypeError(`${what} must be a sablock stats table (a SharedArrayBuffer)`);
    }
    const sab = buffer as SharedArrayBuffer;
    if (sab.byteLength < HEADER_WORDS * 4) throw new TypeError(`${what} is too small to be a sablock stats table`);
    const head = new Int32Array(sab, 0, HEADER_WORDS);
    const capacity = Atomics.load(head, CAPACITY);
    if (Atomics.load(head, MAGIC) !== TABLE_MAGIC || capacity < 1 || tableBytes(capacity) !== sab.byteLength) {
      throw new TypeError(`${what} is not a sablock stats table`);
    }
    return new StatsTable(sab, capacity);
  }

  get enabled(): boolean {
    return Atomics.load(this.#i32, ENABLED) === 1;
  }

  set enabled(on: boolean) {
    // Seen by every thread's next recording hook.
    Atomics.store(this.#i32, ENABLED, on ? 1 : 0);
  }

  /** Slot index for a class name, claiming one if the name is new; the overflow slot if full. */
  slotOf(name: string): number {
    const a = this.#i32;
    const hash = hashName(name);
    const bytes = encoder.encode(name).subarray(0, MAX_NAME_BYTES);
    const cap = this.capacity;
    let s = (hash >>> 0) % cap;
    for (let probes = 0; probes < cap; probes++, s = s + 1 === cap ? 0 : s + 1) {
      const base = HEADER_WORDS + s * SLOT_WORDS;
      let state = Atomics.load(a, base + STATE);
      if (state === EMPTY) {
        // Claim the empty slot for this name (invariant 1); losing the race means re-reading it.
        state = Atomics.compareExchange(a, base + STATE, EMPTY, CLAIMING);
        if (state === EMPTY) {
          Atomics.store(a, base + HASH, hash);
          Atomics.store(a, base + NAME_LEN, bytes.length);
          this.#u8.set(bytes, (base + NAME) * 4);
          // Publish: readers that load READY see the name bytes (memory-ordering note above).
          Atomics.store(a, base + STATE, READY);
          // Wake threads that found it being claimed.
          Atomics.notify(a, base + STATE);
          // Count it for readers (a hint: snapshot scans every slot anyway).
          Atomics.add(a, USED, 1);
          return s;
        }
      }
      // Someone else is writing this slot's name: wait (briefly) until it is readable.
      while (state === CLAIMING) {
        Atomics.wait(a, base + STATE, CLAIMING, 1);
        state = Atomics.load(a, base + STATE);
      }
      if (Atomics.load(a, base + HASH) === hash && this.#nameEquals(base, bytes)) return s;
    }
    return cap; // the overflow slot
  }

  #nameEquals(base: number, bytes: Uint8Array): boolean {
    if (Atomics.load(this.#i32, base + NAME_LEN) !== bytes.length) return false;
    const at = (base + NAME) * 4;
    for (let k = 0; k < bytes.length; k++) if (this.#u8[at + k] !== bytes[k]) return false;
    return true;
  }

  /** Adds `n` to counter `c` of slot `s`. */
  count(s: number, c: number, n = 1): void {
    // Atomic add: many threads record into the same slot.
    Atomics.add(this.#i32, HEADER_WORDS + s * SLOT_WORDS + COUNTERS + c, n);
  }

  /** Records one duration (ns) into histogram `h` (WAIT or HOLD) of slot `s`. */
  record(s: number, h: number, ns: number): void {
    const v = ns > 0 ? Math.round(ns) : 0;
    const bucket = v < 2 ? 0 : Math.min(BUCKETS - 1, Math.floor(Math.log2(v)));
    // Atomic add: concurrent recorders in other threads.
    Atomics.add(this.#i32, HEADER_WORDS + s * SLOT_WORDS + (h === WAIT ? WAIT_HIST : HOLD_HIST) + bucket, 1);
    const big = this.#big;
    const at = s * BIG_PER_SLOT + h * 2;
    const b = BigInt(v);
    // 64-bit atomic add of the sum (32 bits of ns would wrap after 4 s).
    Atomics.add(big, at, b);
    // Raise the maximum with a CAS loop (there is no Atomics.max).
    for (let cur = Atomics.load(big, at + 1); cur < b; ) {
      const seen = Atomics.compareExchange(big, at + 1, cur, b);
      if (seen === cur) break;
      cur = seen;
    }
  }

  /** Zeroes every counter and histogram, keeping the class slots. */
  reset(): void {
    const a = this.#i32;
    for (let s = 0; s <= this.capacity; s++) {
      const base = HEADER_WORDS + s * SLOT_WORDS;
      // Word by word: concurrent recorders may interleave (a reset is not a snapshot point).
      for (let w = COUNTERS; w < SLOT_WORDS; w++) Atomics.store(a, base + w, 0);
    }
    // Same for the 64-bit sums and maxima.
    for (let k = 0; k < this.#big.length; k++) Atomics.store(this.#big, k, 0n);
  }

  /** Reads every used slot (name, counters, histograms); see invariant 3 about consistency. */
  read(): SlotReading[] {
    const a = this.#i32;
    const out: SlotReading[] = [];
    for (let s = 0; s <= this.capacity; s++) {
      const base = HEADER_WORDS + s * SLOT_WORDS;
      let name: string;
      if (s === this.capacity) name = OVERFLOW_NAME;
      else if (Atomics.load(a, base + STATE) === READY) {
        const len = Atomics.load(a, base + NAME_LEN);
        const at = (base + NAME) * 4;
        // Copy out of shared memory: TextDecoder does not take shared views.
        name = decoder.decode(this.#u8.slice(at, at + len));
      } else continue;
      const counters: number[] = [];
      for (let c = 0; c < 8; c++) counters.push(Atomics.load(a, base + COUNTERS + c) >>> 0);
      const wait = this.#hist(base + WAIT_HIST, s, WAIT);
      const hold = this.#hist(base + HOLD_HIST, s, HOLD);
      if (s === this.capacity && counters.every((c) => c === 0) && hold.count === 0) continue;
      out.push({ name, counters, wait, hold });
    }
    return out;
  }

  #hist(at: number, s: number, h: number): HistogramReading {
    const buckets: number[] = [];
    let count = 0;
    for (let k = 0; k < BUCKETS; k++) {
      const n = Atomics.load(this.#i32, at + k) >>> 0;
      buckets.push(n);
      count += n;
    }
    const b = s * BIG_PER_SLOT + h * 2;
    return { buckets, count, sumNs: Number(Atomics.load(this.#big, b)), maxNs: Number(Atomics.load(this.#big, b + 1)) };
  }
}

/** Raw contents of one slot. */
export interface SlotReading {
  name: string;
  counters: number[];
  wait: HistogramReading;
  hold: HistogramReading;
}

export interface HistogramReading {
  buckets: number[];
  count: number;
  sumNs: number;
  maxNs: number;
}
