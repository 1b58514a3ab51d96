/**
 * Slots of the shared counters buffer that `stress.ts` creates and `stress-worker.mjs` fills.
 * One Int32 word each; this module is the single source of the layout for both sides (workers
 * cannot import TypeScript).
 *
 * | word | name       | written how | meaning |
 * |------|------------|-------------|---------|
 * | 0    | COUNTER    | plain read, work, plain write | the protected counter: a lock that fails loses updates |
 * | 1    | MIRROR     | plain write, always `-COUNTER` | torn/stale view check: on entry MIRROR must equal -COUNTER |
 * | 2    | INSIDE     | Atomics.add/sub | threads inside the critical section: must be 0 on entry |
 * | 3    | VIOLATIONS | Atomics.add | entries that found INSIDE != 0 (two threads inside at once) |
 * | 4    | TORN       | Atomics.add | entries that found MIRROR != -COUNTER (a write not yet visible) |
 * | 5    | READY      | Atomics.add | start barrier: workers that reached the loop |
 * | 6    | STOP       | Atomics.store | set to 1 to end workers that run until told (iterations: Infinity) |
 * | 16 + 8·w + k | per worker w | Atomics.store | k = OPS (completed acquisitions), TRY_FAILURES (timed-out tryLock(ms)), MAX_WAIT_US |
 */
export const COUNTER = 0;
export const MIRROR = 1;
export const INSIDE = 2;
export const VIOLATIONS = 3;
export const TORN = 4;
export const READY = 5;
export const STOP = 6;

export const HEADER_WORDS = 16;
export const PER_WORKER_WORDS = 8;
export const W_OPS = 0;
export const W_TRY_FAILURES = 1;
export const W_MAX_WAIT_US = 2;

/** Index of slot `k` of worker `w`. */
export function workerSlot(w, k) {
  return HEADER_WORDS + PER_WORKER_WORDS * w + k;
}

/** Bytes of a counters buffer for `workers` workers. */
export function countersByteLength(workers) {
  return 4 * (HEADER_WORDS + PER_WORKER_WORDS * workers);
}
