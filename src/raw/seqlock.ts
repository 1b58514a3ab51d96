/**
 * Raw sequence lock: a sequence counter, a writer lock word and a data region, over
 * `(Int32Array, index of the sequence word)`. `SeqLock` is the API layer.
 *
 * Algorithm: Linux's seqlock (`include/linux/seqlock.h`): writers serialize on a lock and make the
 * sequence odd while they write; readers read the sequence, read the data, and read the sequence
 * again, retrying if it changed or was odd. Readers write no shared memory, so any number of
 * them cost a writer nothing. After `optimisticTries` failed tries a reader takes the writer lock
 * (`read_seqbegin_or_lock`), so a busy writer cannot starve it.
 *
 * ## Words (indices relative to the sequence word `i`)
 * | word | name | meaning |
 * |------|------|---------|
 * | i+0  | SEQ  | even: no write in progress; odd: a writer is inside. Wraps (compared with ===) |
 * | i+1  | LOCK | the writers' lock: a `raw/mutex.ts` word (owner id \| PARKED \| FAIR \| HANDOFF) |
 *
 * ## Invariants
 * 1. Only the LOCK holder changes SEQ, by exactly +1 on entering and +1 on leaving a write, so
 *    SEQ is odd exactly while some write section runs, and it differs after every write.
 * 2. A read run is accepted only if SEQ was even before it and equal after it: no write section
 *    started or ended in between, so no write overlapped the run and every byte it read is from
 *    the last completed write.
 * 3. A reader holding LOCK excludes writers and does not touch SEQ: its run is always accepted.
 *
 * ## Memory ordering
 * SEQ and LOCK are only accessed with Atomics (sequentially consistent). The data region is read
 * and written with plain (non-atomic) DataView accesses, which race between a writer and
 * optimistic readers. ECMAScript defines such races: there is no undefined behaviour, a racing
 * read returns, byte by byte, values some write stored (a multi-byte value may mix two writes:
 * torn). Torn runs are thrown away by invariant 2, which needs the run's data reads ordered
 * between the two SEQ loads and the writer's data writes between its two SEQ increments. Program
 * order puts them there; the formal ECMAScript model creates no synchronization from a plain read
 * of a plain write, so, as in C and C++ (Boehm, "Can seqlocks get along with programming language
 * memory models?", 2012), the last step rests on how engines compile Atomics: on x86-64 V8's
 * Atomics.load is a plain load and its RMWs are LOCK-prefixed (full barriers), and x86's ordering
 * (loads are not reordered with loads, stores not with stores) keeps the data accesses inside.
 * On weakly ordered CPUs (arm64) Atomics.load is a load-acquire, which does not keep an earlier
 * plain load from being satisfied after it; Linux puts `smp_rmb()`/`smp_wmb()` there, which JS
 * cannot express. Writes under the lock and reads under the lock (the fallback) are ordered by
 * the lock as usual and are sound everywhere.
 */
import { spinWhile, type SpinBudget } from '../core/spin.js';

export const SEQ = 0;
export const LOCK = 1;

export const isWriting = (seq: number): boolean => (seq & 1) !== 0;

/** Enters a write section; the caller holds LOCK. Returns the (odd) sequence. */
export function beginWrite(a: Int32Array, i: number): number {
  // SEQ becomes odd: optimistic readers that overlap this write will see it changed (invariant 1).
  return Atomics.add(a, i + SEQ, 1) + 1;
}

/** Leaves a write section; the caller holds LOCK. */
export function endWrite(a: Int32Array, i: number): void {
  // SEQ becomes even again: readers that start from now on see this write complete.
  Atomics.add(a, i + SEQ, 1);
}

/**
 * Begins an optimistic read: the sequence to validate against, waiting (bounded spin) for a
 * write in progress to finish. Returns an odd value if a writer was still inside after the spin.
 */
export function beginRead(a: Int32Array, i: number, budget: SpinBudget): number {
  const s = Atomics.load(a, i + SEQ);
  if (!isWriting(s)) return s;
  // A write is in progress: wait a little for it with loads only.
  return spinWhile(a, i + SEQ, isWriting, isEven, budget);
}

/** True if no write started or ended since `beginRead` returned `seq` (invariant 2). */
export function validateRead(a: Int32Array, i: number, seq: number): boolean {
  // Load-only re-check: readers never write shared memory.
  return Atomics.load(a, i + SEQ) === seq;
}

const isEven = (s: number): boolean => (s & 1) === 0;
