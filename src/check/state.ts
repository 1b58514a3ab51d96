/**
 * The verifier's shared state: one `SharedArrayBuffer` that every thread of the process attaches
 * to, so the acquired-before graph, the reports and the waits-for entries are the same for all.
 *
 * Created once (by `lockcheck.enable()` or at import with `SABLOCK_CHECK=1` in the main thread)
 * and published with `worker_threads.setEnvironmentData`, so every worker started afterwards
 * attaches to it at import time. Everything is fixed-capacity: a full table is a `CapacityError`
 * (classes) or a dropped, counted item (stacks, reports), never unbounded growth.
 *
 * This file holds the operations on it; its memory layout (the regions, the named words of the
 * header, edge records and thread slots) is in `state-layout.ts`.
 *
 * ## Invariants
 * 1. Class ids, edges, stacks and reports are only ever added, under `H_TABLE_LOCK` (a raw mutex
 *    word); a count word is raised (Atomics.store) only after the item it covers is written, so a
 *    reader that loads the count sees complete items.
 * 2. Edge bits only go from 0 to 1. The lock fast path reads them with plain loads: a stale 0 only
 *    sends it to the slow path, which re-reads under the table lock.
 * 3. A thread slot is claimed by CAS on its id word (0 → owner id) and written only by its thread,
 *    except that the parent of an exited worker clears it.
 *
 * ## Memory ordering
 * Counts and slot words that other threads poll are Atomics; bulk bytes (names, stacks, report
 * JSON) are plain writes published by the Atomics.store of the count or length that follows them
 * (sequentially consistent stores order the plain writes before them, as a release would).
 * Held-class lists in thread slots are plain writes: they are diagnostics read by a watchdog, and
 * a value one operation stale is harmless there.
 */
import { CapacityError } from '../core/errors.js';
import { FAIR_AFTER_MS } from '../core/park.js';
import { lockSlow, unlockSlow, type ExclusivePolicy } from '../raw/mutex.js';
import { SpinBudget } from '../core/spin.js';
import { deadlineAfter } from '../core/futex.js';
import { OWNER_ID } from '../core/thread.js';
import {
  MAGIC, MAX_CLASSES, CLASS_HASH_SLOTS, MAX_EDGES, EDGE_HASH_SLOTS, REPORT_KEY_SLOTS, MAX_THREADS,
  SLOT_HELD, NAME_BYTES, STACK_BYTES, REPORT_BYTES, THREAD_STACK_BYTES, H_MAGIC, H_TABLE_LOCK,
  H_CLASSES, H_NAME_USED, H_EDGES, H_STACK_USED, H_REPORTS, H_REPORT_USED, H_REPORTS_DROPPED,
  H_STACKS_DROPPED, H_EDGES_DROPPED, E_FROM, E_TO, E_TYPES, E_FLAGS, E_THREAD, E_STACK, EDGE_WORDS,
  T_ID, T_STACK_LEN, T_STACK_SEQ, T_HELD_COUNT, T_HELD, THREAD_WORDS, BITMAP_WORDS, O_CLASSES,
  O_CLASS_HASH, O_BITMAPS, O_DECLARED, O_EDGES, O_EDGE_HASH, O_REPORT_KEYS, O_THREADS, B_NAMES,
  B_STACKS, B_REPORTS, B_THREAD_STACKS, TOTAL_BYTES,
} from './state-layout.js';

const TABLE_POLICY: ExclusivePolicy = {
  budget: new SpinBudget(4, 128),
  maxBackoff: 16,
  fairAfterMs: FAIR_AFTER_MS,
};

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * 32-bit FNV-1a of a string's UTF-16 units, with a seed so two independent hashes can be taken.
 * Unsigned (0 … 2^32 − 1), so `hash32(s) % n` is a valid slot; `| 0` or `| 1` makes it signed again.
 */
export function hash32(s: string, seed = 0x811c9dc5): number {
  let h = seed | 0;
  for (let k = 0; k < s.length; k++) {
    h ^= s.charCodeAt(k);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** One thread's view of the shared state. */
export class SharedState {
  readonly buffer: SharedArrayBuffer;
  readonly i32: Int32Array;
  readonly u8: Uint8Array;
  /** Class names by id, cached in this thread (names never change once assigned). */
  readonly #names: string[] = [];

  constructor(buffer?: SharedArrayBuffer) {
    this.buffer = buffer ?? new SharedArrayBuffer(TOTAL_BYTES);
    if (this.buffer.byteLength !== TOTAL_BYTES) {
      throw new TypeError(`lockcheck: shared state of ${this.buffer.byteLength} bytes, expected ${TOTAL_BYTES}`);
    }
    this.i32 = new Int32Array(this.buffer);
    this.u8 = new Uint8Array(this.buffer);
    // Claim a fresh buffer; an attached one must already carry the magic word.
    const prev = Atomics.compareExchange(this.i32, H_MAGIC, 0, MAGIC);
    if (prev !== 0 && prev !== MAGIC) throw new TypeError('lockcheck: the shared state buffer is not a lockcheck state');
  }

  // ---- settings -----------------------------------------------------------------------------------

  setting(word: number): number {
    return Atomics.load(this.i32, word);
  }
  setSetting(word: number, value: number): void {
    Atomics.store(this.i32, word, value);
  }

  // ---- the table lock (raw mutex word; never held while user code or hooks run) --------------------

  /** Takes the table lock; false if it could not be had within 2 s (a thread died holding it). */
  lock(): boolean {
    // Uncontended: one CAS from free to ours.
    if (Atomics.compareExchange(this.i32, H_TABLE_LOCK, 0, OWNER_ID) === 0) return true;
    return lockSlow(this.i32, H_TABLE_LOCK, OWNER_ID, deadlineAfter(2000), TABLE_POLICY);
  }
  unlock(): void {
    // Ours and nobody parked: one CAS back to free; else the raw slow path wakes a waiter.
    if (Atomics.compareExchange(this.i32, H_TABLE_LOCK, OWNER_ID, 0) !== OWNER_ID) {
      unlockSlow(this.i32, H_TABLE_LOCK, OWNER_ID);
    }
  }

  // ---- classes --------------------------------------------------------------------------------------

  classCount(): number {
    return Atomics.load(this.i32, H_CLASSES);
  }

  /** The id of class `name`, registering it if new. Throws CapacityError past MAX_CLASSES. */
  classId(name: string): number {
    const found = this.#findClass(name);
    if (found >= 0) return found;
    if (!this.lock()) throw new CapacityError('lockcheck: shared table lock unavailable (a thread died inside the verifier)');
    try {
      const again = this.#findClass(name);
      if (again >= 0) return again;
      const id = Atomics.load(this.i32, H_CLASSES);
      const bytes = encoder.encode(name.length > 1000 ? name.slice(0, 1000) : name);
      const used = Atomics.load(this.i32, H_NAME_USED);
      if (id >= MAX_CLASSES || used + bytes.length > NAME_BYTES) {
        throw new CapacityError(
          `lockcheck: the class table is full (${MAX_CLASSES} lock classes, ${NAME_BYTES} bytes of names); ` +
            `cannot add "${name}". Name locks (options.name) so instances share a class instead of one class per construction site.`,
        );
      }
      this.u8.set(bytes, B_NAMES + used);
      Atomics.store(this.i32, H_NAME_USED, used + bytes.length);
      Atomics.store(this.i32, O_CLASSES + id * 2, used);
      Atomics.store(this.i32, O_CLASSES + id * 2 + 1, bytes.length);
      // Publish the id in the hash only after its name is written (invariant 1).
      let slot = hash32(name) % CLASS_HASH_SLOTS;
      while (Atomics.load(this.i32, O_CLASS_HASH + slot) !== 0) slot = (slot + 1) % CLASS_HASH_SLOTS;
      Atomics.store(this.i32, O_CLASS_HASH + slot, id + 1);
      Atomics.store(this.i32, H_CLASSES, id + 1);
      return id;
    } finally {
      this.unlock();
    }
  }

  #findClass(name: string): number {
    let slot = hash32(name) % CLASS_HASH_SLOTS;
    for (let probes = 0; probes < CLASS_HASH_SLOTS; probes++) {
      const v = Atomics.load(this.i32, O_CLASS_HASH + slot);
      if (v === 0) return -1;
      if (this.className(v - 1) === name) return v - 1;
      slot = (slot + 1) % CLASS_HASH_SLOTS;
    }
    return -1;
  }

  className(id: number): string {
    let n = this.#names[id];
    if (n === undefined) {
      const off = Atomics.load(this.i32, O_CLASSES + id * 2);
      const len = Atomics.load(this.i32, O_CLASSES + id * 2 + 1);
      n = decoder.decode(this.u8.slice(B_NAMES + off, B_NAMES + off + len));
      this.#names[id] = n;
    }
    return n;
  }

  // ---- edges ----------------------------------------------------------------------------------------

  /** Plain read of edge bit (type, from, to): the fast path (invariant 2). */
  hasEdgeType(type: number, from: number, to: number): boolean {
    const bit = from * MAX_CLASSES + to;
    return (this.i32[O_BITMAPS + type * BITMAP_WORDS + (bit >>> 5)]! & (1 << (bit & 31))) !== 0;
  }

  /** Bit set (1 << type) of the edge types recorded from → to. */
  edgeTypes(from: number, to: number): number {
    let t = 0;
    for (let type = 0; type < 4; type++) if (this.hasEdgeType(type, from, to)) t |= 1 << type;
    return t;
  }

  /** Row of edge words for `from` in bitmap `type`: 32 words covering every `to`. */
  rowWord(type: number, from: number, w: number): number {
    return this.i32[O_BITMAPS + type * BITMAP_WORDS + ((from * MAX_CLASSES) >>> 5) + w]!;
  }

  edgeCount(): number {
    return Atomics.load(this.i32, H_EDGES);
  }

  edgeWord(edge: number, field: number): number {
    return Atomics.load(this.i32, O_EDGES + edge * EDGE_WORDS + field);
  }

  /** The edge id of from → to, or -1. */
  findEdge(from: number, to: number): number {
    const key = from * MAX_CLASSES + to;
    let slot = Math.imul(key, 0x9e3779b1) >>> 17;
    for (let probes = 0; probes < EDGE_HASH_SLOTS; probes++) {
      const v = Atomics.load(this.i32, O_EDGE_HASH + slot);
      if (v === 0) return -1;
      const e = v - 1;
      if (this.edgeWord(e, E_FROM) === from && this.edgeWord(e, E_TO) === to) return e;
      slot = (slot + 1) % EDGE_HASH_SLOTS;
    }
    return -1;
  }

  /**
   * Records edge type `type` of from → to, first seen by `thread` at `stack` (caller holds the
   * table lock). Returns the edge id, or -1 when the edge table is full: the bit is still set (so
   * cycles through it are still found), and a new (from, to) pair is counted in `dropped().edges`.
   */
  addEdgeLocked(from: number, to: number, type: number, thread: number, stack: string): number {
    let e = this.findEdge(from, to);
    if (e < 0) {
      const n = Atomics.load(this.i32, H_EDGES);
      if (n >= MAX_EDGES) {
        // Count each pair once: only when no type of from → to had been seen before.
        if (this.edgeTypes(from, to) === 0) Atomics.add(this.i32, H_EDGES_DROPPED, 1); // counted, reported by dropped()
      } else {
        e = n;
        const base = O_EDGES + e * EDGE_WORDS;
        Atomics.store(this.i32, base + E_FROM, from);
        Atomics.store(this.i32, base + E_TO, to);
        Atomics.store(this.i32, base + E_THREAD, thread);
        Atomics.store(this.i32, base + E_STACK, this.#appendStackLocked(stack));
        const key = from * MAX_CLASSES + to;
        let slot = Math.imul(key, 0x9e3779b1) >>> 17;
        while (Atomics.load(this.i32, O_EDGE_HASH + slot) !== 0) slot = (slot + 1) % EDGE_HASH_SLOTS;
        Atomics.store(this.i32, O_EDGE_HASH + slot, e + 1);
        Atomics.store(this.i32, H_EDGES, n + 1);
      }
    }
    if (e >= 0) Atomics.or(this.i32, O_EDGES + e * EDGE_WORDS + E_TYPES, 1 << type); // note the type seen
    // Set the bit last: once the fast path sees it, the record above is complete (invariant 1).
    const bit = from * MAX_CLASSES + to;
    Atomics.or(this.i32, O_BITMAPS + type * BITMAP_WORDS + (bit >>> 5), 1 << (bit & 31)); // bits only go 0 → 1
    return e;
  }

  /**
   * Every (from, to) whose bits are set but which has no edge record (seen after the table was
   * full), with its type bits. Empty unless `dropped().edges` is non-zero.
   */
  unrecordedEdges(): { from: number; to: number; types: number }[] {
    const out: { from: number; to: number; types: number }[] = [];
    if (Atomics.load(this.i32, H_EDGES_DROPPED) === 0) return out;
    const classes = this.classCount();
    for (let from = 0; from < classes; from++) {
      for (let w = 0; w < MAX_CLASSES >>> 5; w++) {
        let bits = this.rowWord(0, from, w) | this.rowWord(1, from, w) | this.rowWord(2, from, w) | this.rowWord(3, from, w);
        while (bits !== 0) {
          const to = (w << 5) + (31 - Math.clz32(bits & -bits));
          bits &= bits - 1;
          if (this.findEdge(from, to) < 0) out.push({ from, to, types: this.edgeTypes(from, to) });
        }
      }
    }
    return out;
  }

  /** Marks an edge as lying on a reported cycle (for toDot). */
  markCycleEdge(e: number): void {
    if (e >= 0) Atomics.or(this.i32, O_EDGES + e * EDGE_WORDS + E_FLAGS, 1); // a flag bit, set once
  }

  /** The stack stored for an edge ('' if it was not kept). */
  edgeStack(e: number): string {
    return this.#readStack(this.edgeWord(e, E_STACK));
  }

  #appendStackLocked(stack: string): number {
    const bytes = encoder.encode(stack.length > 4000 ? stack.slice(0, 4000) : stack);
    const used = Atomics.load(this.i32, H_STACK_USED);
    if (used + 4 + bytes.length > STACK_BYTES) {
      Atomics.add(this.i32, H_STACKS_DROPPED, 1); // counted, reported by reports()
      return -1;
    }
    new DataView(this.buffer, B_STACKS + used, 4).setUint32(0, bytes.length);
    this.u8.set(bytes, B_STACKS + used + 4);
    Atomics.store(this.i32, H_STACK_USED, used + 4 + bytes.length);
    return used;
  }

  #readStack(ref: number): string {
    if (ref < 0) return '';
    const len = new DataView(this.buffer, B_STACKS + ref, 4).getUint32(0);
    return decoder.decode(this.u8.slice(B_STACKS + ref + 4, B_STACKS + ref + 4 + len));
  }

  // ---- declared order ------------------------------------------------------------------------------

  declared(before: number, after: number): boolean {
    const bit = before * MAX_CLASSES + after;
    return (Atomics.load(this.i32, O_DECLARED + (bit >>> 5)) & (1 << (bit & 31))) !== 0;
  }
  declare(before: number, after: number): void {
    const bit = before * MAX_CLASSES + after;
    Atomics.or(this.i32, O_DECLARED + (bit >>> 5), 1 << (bit & 31)); // bits only go 0 → 1
  }

  // ---- reports -------------------------------------------------------------------------------------

  /**
   * Records a report under its dedup key. Returns false if a report with this key exists (the
   * violation was already recorded, by this thread or another).
   */
  addReport(key: string, json: string): boolean {
    if (!this.lock()) return false;
    try {
      // Stored as int32 words; h1 is never 0 (0 marks an empty slot). The slot comes from the
      // unsigned value: `h1 % n` of a negative int32 would index before the key table.
      const h1 = (hash32(key) | 1) >>> 0;
      const h2 = hash32(key, 0x01234567);
      let slot = h1 % REPORT_KEY_SLOTS;
      for (let probes = 0; ; probes++) {
        if (probes === REPORT_KEY_SLOTS) {
          Atomics.add(this.i32, H_REPORTS_DROPPED, 1); // key table full: counted
          return false;
        }
        const a = Atomics.load(this.i32, O_REPORT_KEYS + slot * 2);
        if (a === 0) break;
        if (a === (h1 | 0) && Atomics.load(this.i32, O_REPORT_KEYS + slot * 2 + 1) === (h2 | 0)) return false;
        slot = (slot + 1) % REPORT_KEY_SLOTS;
      }
      Atomics.store(this.i32, O_REPORT_KEYS + slot * 2 + 1, h2 | 0);
      Atomics.store(this.i32, O_REPORT_KEYS + slot * 2, h1 | 0);
      const bytes = encoder.encode(json);
      const used = Atomics.load(this.i32, H_REPORT_USED);
      if (used + 4 + bytes.length > REPORT_BYTES) {
        Atomics.add(this.i32, H_REPORTS_DROPPED, 1); // report area full: counted
        return true;
      }
      new DataView(this.buffer, B_REPORTS + used, 4).setUint32(0, bytes.length);
      this.u8.set(bytes, B_REPORTS + used + 4);
      Atomics.store(this.i32, H_REPORT_USED, used + 4 + bytes.length);
      Atomics.add(this.i32, H_REPORTS, 1); // published after the bytes (invariant 1)
      return true;
    } finally {
      this.unlock();
    }
  }

  /** Every stored report's JSON, oldest first, starting after `skip` reports. */
  reportJsons(skip: number): string[] {
    const out: string[] = [];
    const end = Atomics.load(this.i32, H_REPORT_USED);
    let at = 0;
    let k = 0;
    const dv = new DataView(this.buffer, B_REPORTS, REPORT_BYTES);
    while (at < end) {
      const len = dv.getUint32(at);
      if (k >= skip) out.push(decoder.decode(this.u8.slice(B_REPORTS + at + 4, B_REPORTS + at + 4 + len)));
      at += 4 + len;
      k++;
    }
    return out;
  }

  dropped(): { reports: number; stacks: number; edges: number } {
    return {
      reports: Atomics.load(this.i32, H_REPORTS_DROPPED),
      stacks: Atomics.load(this.i32, H_STACKS_DROPPED),
      edges: Atomics.load(this.i32, H_EDGES_DROPPED),
    };
  }

  // ---- thread slots --------------------------------------------------------------------------------

  /** Claims a slot for owner id `me`; returns its word index, or -1 if all are taken. */
  claimThreadSlot(me: number): number {
    for (let s = 0; s < MAX_THREADS; s++) {
      const base = O_THREADS + s * THREAD_WORDS;
      if (Atomics.load(this.i32, base + T_ID) === me) return base;
      // Claim a free slot: 0 → our id; the other words are ours from then on (invariant 3).
      if (Atomics.compareExchange(this.i32, base + T_ID, 0, me) === 0) {
        for (let w = 1; w < THREAD_WORDS; w++) Atomics.store(this.i32, base + w, 0);
        return base;
      }
    }
    return -1;
  }

  /** The slot word index of owner id `id`, or -1. */
  findThreadSlot(id: number): number {
    if (id === 0) return -1;
    for (let s = 0; s < MAX_THREADS; s++) {
      const base = O_THREADS + s * THREAD_WORDS;
      if (Atomics.load(this.i32, base + T_ID) === id) return base;
    }
    return -1;
  }

  releaseThreadSlot(base: number, id: number): void {
    // Free the slot only if it still names `id` (a later thread may have claimed it).
    Atomics.compareExchange(this.i32, base + T_ID, id, 0);
  }

  slotHeld(base: number): number[] {
    const n = Math.min(this.i32[base + T_HELD_COUNT]!, SLOT_HELD);
    const out: number[] = [];
    for (let k = 0; k < n; k++) out.push(this.i32[base + T_HELD + k]!);
    return out;
  }

  /** Stores this thread's wait stack for the current wait (slot owner only). */
  setSlotStack(base: number, seq: number, stack: string): void {
    const s = (base - O_THREADS) / THREAD_WORDS;
    const bytes = encoder.encode(stack).subarray(0, THREAD_STACK_BYTES);
    this.u8.set(bytes, B_THREAD_STACKS + s * THREAD_STACK_BYTES);
    Atomics.store(this.i32, base + T_STACK_LEN, bytes.length);
    Atomics.store(this.i32, base + T_STACK_SEQ, seq); // published after the bytes
  }

  slotStack(base: number): string {
    const s = (base - O_THREADS) / THREAD_WORDS;
    const len = Atomics.load(this.i32, base + T_STACK_LEN);
    const at = B_THREAD_STACKS + s * THREAD_STACK_BYTES;
    return decoder.decode(this.u8.slice(at, at + len));
  }
}
