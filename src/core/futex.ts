/**
 * Futex wait/wake with deadlines, for every primitive.
 *
 * - Blocking waits are `Atomics.wait`, which returns `'ok'` (notified), `'not-equal'` (the word had
 *   already changed: re-check) or `'timed-out'`. There are no spurious wakeups, but callers always
 *   re-check their condition anyway.
 * - Async waits are `Atomics.waitAsync`. A pending `waitAsync` does not keep Node's event loop
 *   alive (nodejs/node#61941), so a worker whose only pending work is a lock wait would exit
 *   mid-task. Every async wait here refs one shared keep-alive timer until it settles.
 * - Abort: a `waitAsync` cannot be withdrawn from the waiter list. An aborted wait rejects at once
 *   but stays queued; when it is later notified it would swallow a wakeup meant for a real waiter,
 *   so it calls the primitive's `onAbandonedWake` to pass the wakeup on. That forwarding runs on
 *   the aborted waiter's event loop, which may be blocked for good (its thread now sleeps in a
 *   blocking wait on the same word, or computes), and V8 keeps sync and async waiters of one word
 *   in one FIFO list, so the abandoned entry can be the one a `notify(1)` picks.
 * - Bounded sleeps. CORRECTNESS: so that no swallowed wakeup strands anyone, no wait here sleeps
 *   longer than `WAKE_SLICE_MS` at a time. When a slice runs out before the caller's deadline, the
 *   wait re-checks the word against the value the caller read: if it moved (a release or notify
 *   happened, whether or not its wakeup reached us), the wait returns `'not-equal'` and the caller
 *   re-checks its condition; if not, it sleeps another slice. `'timed-out'` is returned only at the
 *   caller's deadline. Every primitive sleeps on a word that each release or notify changes (a
 *   state word or a sequence counter), so a lost wakeup costs at most one slice of latency.
 *
 * Deadlines are absolute `performance.now()` milliseconds in this thread; `Infinity` means none.
 */
import { abortReason, TimeoutError } from './errors.js';
import { describe } from './layout.js';

export type WaitResult = 'ok' | 'not-equal' | 'timed-out';

export const now: () => number = performance.now.bind(performance);

/** Checks a user-supplied timeout in ms: a number ≥ 0 (Infinity allowed). */
export function checkTimeout(ms: unknown, name = 'timeout'): number {
  if (typeof ms !== 'number') throw new TypeError(`${name} must be a number of milliseconds, got ${describe(ms)}`);
  if (Number.isNaN(ms) || ms < 0) throw new RangeError(`${name} must be >= 0 milliseconds, got ${ms}`);
  return ms;
}

/** Absolute deadline for a timeout (undefined = none). */
export function deadlineAfter(ms: number | undefined): number {
  return ms === undefined || ms === Infinity ? Infinity : now() + ms;
}

/** Milliseconds left before `deadline` (≥ 0), or undefined for no deadline (what Atomics wants). */
export function msUntil(deadline: number): number | undefined {
  if (deadline === Infinity) return undefined;
  const left = deadline - now();
  return left > 0 ? left : 0;
}

/** Options of every async or timed acquisition. */
export interface WaitOptions {
  /** Give up after this many milliseconds (TimeoutError). */
  timeout?: number;
  /** Give up when this signal aborts (rejects with the signal's reason). */
  signal?: AbortSignal;
}

/** Validated `{ timeout, signal }`, as a deadline. */
export interface ParsedWait {
  /** Absolute `performance.now()` deadline (Infinity: none). */
  deadline: number;
  /** The timeout asked for, in ms. */
  timeout: number | undefined;
  /** The signal asked for. */
  signal: AbortSignal | undefined;
}

const NO_WAIT_OPTIONS: ParsedWait = Object.freeze({ deadline: Infinity, timeout: undefined, signal: undefined });

export function parseWaitOptions(options: unknown, name = 'options'): ParsedWait {
  if (options === undefined || options === null) return NO_WAIT_OPTIONS;
  if (typeof options !== 'object') throw new TypeError(`${name} must be an object, got ${describe(options)}`);
  const { timeout, signal } = options as WaitOptions;
  if (timeout !== undefined) checkTimeout(timeout, `${name}.timeout`);
  if (signal !== undefined && !isAbortSignal(signal)) {
    throw new TypeError(`${name}.signal must be an AbortSignal, got ${describe(signal)}`);
  }
  return { deadline: deadlineAfter(timeout), timeout, signal };
}

function isAbortSignal(x: unknown): x is AbortSignal {
  return (
    typeof x === 'object' &&
    x !== null &&
    typeof (x as AbortSignal).aborted === 'boolean' &&
    typeof (x as AbortSignal).addEventListener === 'function'
  );
}

/** True once `deadline` has passed (never for Infinity). */
export function passed(deadline: number): boolean {
  return deadline !== Infinity && now() >= deadline;
}

/** True if `wait` is over: its signal aborted or its deadline passed (what `throwIfOver` throws for). */
export function isOver(wait: ParsedWait): boolean {
  return wait.signal?.aborted === true || passed(wait.deadline);
}

/** Throws the right error if `wait` is already over: aborted signal or passed deadline. */
export function throwIfOver(wait: ParsedWait, lockName: string): void {
  if (wait.signal?.aborted) throw abortReason(wait.signal);
  if (passed(wait.deadline)) throw new TimeoutError(lockName, wait.timeout ?? 0);
}

/**
 * Longest single sleep of any wait (see "Bounded sleeps" above): the most a wakeup swallowed by an
 * abandoned async waiter can delay the waiter it was meant for.
 */
export const WAKE_SLICE_MS = 50;

/** The end of one sleep slice towards `deadline` (for a primitive that acts on each slice's end). */
export function sliceEnd(deadline: number): number {
  const end = now() + WAKE_SLICE_MS;
  return end < deadline ? end : deadline;
}

/**
 * Blocks this thread while `a[i] === expected`, at most until `deadline`. Returns `'ok'` when
 * notified, `'not-equal'` when the word differs from `expected` (at the start or at the end of a
 * slice: a wakeup may have been swallowed), `'timed-out'` only once `deadline` passed.
 */
export function waitUntil(a: Int32Array, i: number, expected: number, deadline: number): WaitResult {
  for (;;) {
    // Sleep in the kernel until a notify on a[i], unless a[i] already moved on from `expected`;
    // at most one slice, then look at the word again (a notify meant for us may have gone astray).
    const r = Atomics.wait(a, i, expected, msUntil(sliceEnd(deadline)));
    if (r !== 'timed-out' || now() >= deadline) return r;
  }
}

/** Wakes up to `count` threads waiting on a[i]; returns how many were woken. */
export function wake(a: Int32Array, i: number, count: number): number {
  return Atomics.notify(a, i, count);
}

// ---- keeping the event loop alive while async waits are pending ----------------------------------

let pendingAsyncWaits = 0;
let keepAlive: ReturnType<typeof setInterval> | undefined;

function holdEventLoop(): void {
  if (pendingAsyncWaits++ === 0) {
    // One long interval, ref'd only while some async wait is pending: waitAsync alone would let
    // the loop (and a worker) exit.
    keepAlive ??= setInterval(() => {}, 0x3fff_ffff);
    keepAlive.ref();
  }
}

function releaseEventLoop(): void {
  if (--pendingAsyncWaits === 0) keepAlive?.unref();
}

/** Number of async waits in flight in this thread (for tests and diagnostics). */
export function pendingWaits(): number {
  return pendingAsyncWaits;
}

/**
 * Waits on the event loop while `a[i] === expected`, at most until `deadline`, or until `signal`
 * aborts (rejects with its reason). Results as `waitUntil`, sleeping in slices the same way.
 * `onAbandonedWake` is called if a notify reaches this wait after it was aborted, to pass the
 * wakeup on.
 */
export function waitAsyncUntil(
  a: Int32Array,
  i: number,
  expected: number,
  deadline: number,
  signal: AbortSignal | undefined,
  onAbandonedWake: () => void,
): Promise<WaitResult> {
  if (signal?.aborted) return Promise.reject(abortReason(signal));
  // Queue on the futex list from the event loop; the promise settles on notify or slice end.
  const first = Atomics.waitAsync(a, i, expected, msUntil(sliceEnd(deadline)));
  if (!first.async) return Promise.resolve(first.value);
  holdEventLoop();
  return new Promise<WaitResult>((resolve, reject) => {
    let abandoned = false;
    const onAbort = (): void => {
      abandoned = true;
      releaseEventLoop();
      reject(abortReason(signal!));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    const settle = (v: WaitResult): void => {
      signal?.removeEventListener('abort', onAbort);
      releaseEventLoop();
      resolve(v);
    };
    const onSettled = (v: WaitResult): void => {
      if (abandoned) {
        // CORRECTNESS: this wait was given up but still consumed a notify; pass it on.
        if (v === 'ok') onAbandonedWake();
        return;
      }
      if (v !== 'timed-out' || now() >= deadline) return settle(v);
      // A slice ran out: queue again from the same expected value ('not-equal' if it moved).
      const next = Atomics.waitAsync(a, i, expected, msUntil(sliceEnd(deadline)));
      if (!next.async) return settle(next.value);
      void next.value.then(onSettled);
    };
    void first.value.then(onSettled);
  });
}
