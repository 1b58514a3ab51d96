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
import { rows, words } from './layout.mjs';

export const { COUNTER, MIRROR, INSIDE, VIOLATIONS, TORN, READY, STOP } = words({
  COUNTER: 'the protected counter',
  MIRROR: 'always -COUNTER',
  INSIDE: 'threads inside the critical section',
  VIOLATIONS: 'entries that found INSIDE != 0',
  TORN: 'entries that found MIRROR != -COUNTER',
  READY: 'workers past the start barrier',
  STOP: '1: workers that run until told stop',
});

export const HEADER_WORDS = 16;
export const PER_WORKER_WORDS = 8;
export const {
  OPS: W_OPS,
  TRY_FAILURES: W_TRY_FAILURES,
  MAX_WAIT_US: W_MAX_WAIT_US,
} = words({
  OPS: 'completed acquisitions',
  TRY_FAILURES: 'timed-out tryLock(ms) calls',
  MAX_WAIT_US: 'longest wait for the lock, µs',
});

/** Index of slot `k` of worker `w`. */
export const workerSlot = rows(HEADER_WORDS, PER_WORKER_WORDS);

/** What the header says (read by the main thread once the workers stopped, or while they run). */
export function readTotals(c) {
  const counter = Atomics.load(c, COUNTER);
  return {
    counter,
    violations: Atomics.load(c, VIOLATIONS),
    torn: Atomics.load(c, TORN),
    mirrorOk: Atomics.load(c, MIRROR) === -counter,
  };
}

/** What worker `w`'s row says so far. */
export function readWorker(c, w) {
  return {
    ops: Atomics.load(c, workerSlot(w, W_OPS)),
    tryFailures: Atomics.load(c, workerSlot(w, W_TRY_FAILURES)),
    maxWaitUs: Atomics.load(c, workerSlot(w, W_MAX_WAIT_US)),
  };
}

/** Bytes of a counters buffer for `workers` workers. */
export function countersByteLength(workers) {
  return 4 * workerSlot(workers);
}
