/**
 * Time bounds, one way for the tests, the torture (`scripts/torture.mjs`) and the benchmark
 * (`native-bench/lib/harness.mjs`): every wait on another thread ends, and a wait that ends
 * without what it waited for fails naming `what` (or, where the caller counts it instead, says
 * so), so a deadlock fails its run instead of hanging it.
 *
 * - `until(pred, ms, what)`: poll a condition; reject after `ms`.
 * - `poll(pred, ms)`: the same, resolving to undefined after `ms` (for callers that count misses).
 * - `within(p, ms, what)`: a promise, or a rejection after `ms` (`what` may be a function, for a
 *   message built at the bound); `settlesWithin(p, ms)`: whether.
 */
import { setTimeout as sleep } from 'node:timers/promises';

export { sleep };

/**
 * Resolves with the first truthy value of `pred()` (awaited when it returns a promise), checked
 * at once and then every `everyMs` on the event loop; resolves to undefined once `timeoutMs` has
 * passed. A `pred` that throws ends the wait with its error.
 */
export async function poll(pred, timeoutMs, everyMs = 2) {
  const end = performance.now() + timeoutMs;
  for (;;) {
    let v = pred();
    // Only a promise is awaited: a plain predicate adds no turn to the caller's timing.
    if (typeof v?.then === 'function') v = await v;
    if (v) return v;
    if (performance.now() > end) return undefined;
    await sleep(everyMs);
  }
}

/** `poll`, rejecting after `timeoutMs` with an error naming `what` ("timed out … waiting for what"). */
export async function until(pred, timeoutMs, what, everyMs = 2) {
  const v = await poll(pred, timeoutMs, everyMs);
  if (!v) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
  return v;
}

/**
 * `p`, or a rejection naming `what` once `timeoutMs` passed without it settling. `what` may be a
 * function, called only then: for a message that says how far the awaited work got.
 */
export function within(p, timeoutMs, what) {
  return raceTimer(p, timeoutMs, () => {
    throw new Error(`${typeof what === 'function' ? what() : what}: not within ${timeoutMs} ms`);
  });
}

/** Whether `p` settles (either way) within `timeoutMs`. */
export function settlesWithin(p, timeoutMs) {
  return raceTimer(
    p.then(
      () => true,
      () => true,
    ),
    timeoutMs,
    () => false,
  );
}

/** `p`, or what `late()` returns (or throws) once `timeoutMs` passed; the timer never outlives the race. */
function raceTimer(p, timeoutMs, late) {
  let timer;
  const timeout = new Promise((resolve, reject) => {
    timer = setTimeout(() => {
      try {
        resolve(late());
      } catch (e) {
        reject(e);
      }
    }, timeoutMs);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
