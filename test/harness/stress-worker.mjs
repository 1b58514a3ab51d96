/**
 * Stress worker: attaches to a lock through an adapter, waits at a start barrier, then runs
 * `iterations` acquisitions (or as many as fit in `durationMs` after the barrier, or until STOP),
 * each followed by the checked critical section (see counters.mjs):
 *
 *   INSIDE += 1 (atomic) and it must have been 0    -> else VIOLATIONS += 1
 *   v = COUNTER; MIRROR must be -v                 -> else TORN += 1
 *   burn `work` iterations                         (widens the window a broken lock loses updates in)
 *   COUNTER = v + 1; MIRROR = -(v + 1)             (plain, non-atomic read-modify-write)
 *   INSIDE -= 1 (atomic)
 *
 * Modes: 'sync' (lock), 'try' (tryLock(tryTimeoutMs) until it succeeds), 'async' (await
 * lockAsync), 'asyncTimed' (lockAsync that gives up after tryTimeoutMs, by `timeout` and by an
 * AbortSignal on alternate attempts, retried until it succeeds: abandoned waits under real
 * contention), 'mixed' (per iteration, rotating sync → async → try → asyncTimed, offset by worker
 * index, so blocking, timed and event-loop waiters queue on the lock together).
 *
 * Two lives: one-shot (the run is `workerData`; the worker posts its report and ends; nothing but
 * the run keeps it alive, which the async keep-alive tests rely on) or pooled (`workerData.pooled`:
 * it runs every `{ type: 'run', run }` message it gets; the harness reuses it across runs).
 *
 * Posts { type: 'done', ops, tryFailures, maxWaitMs, ticks } after a run; the harness counts a
 * one-shot worker that exits without it as failed (e.g. its event loop drained while an async
 * wait was pending). `ticks` counts an unref'd 1 ms interval: it advances only if the event loop
 * runs while the worker waits asynchronously.
 */
import { parentPort, workerData } from 'node:worker_threads';
import * as lib from '../../dist/index.js';
import {
  COUNTER,
  INSIDE,
  MIRROR,
  READY,
  STOP,
  TORN,
  VIOLATIONS,
  W_MAX_WAIT_US,
  W_OPS,
  W_TRY_FAILURES,
  workerSlot,
} from './counters.mjs';

let sink = 0;
function burn(n) {
  let s = sink;
  for (let k = 0; k < n; k++) s = (s * 31 + k) | 0;
  sink = s;
}

const MODES = ['sync', 'async', 'try', 'asyncTimed'];

async function run({
  adapters: adaptersUrl,
  kind,
  handle,
  counters: countersBuffer,
  index,
  workers,
  mode,
  iterations,
  durationMs,
  work,
  outsideWork,
  tryTimeoutMs,
  measureWait,
  stopOthersWhenDone,
}) {
  const { adapters } = await import(adaptersUrl);
  const make = adapters[kind];
  if (typeof make !== 'function') throw new Error(`no adapter for lock kind ${JSON.stringify(kind)} in ${adaptersUrl}`);
  const lock = make(handle, lib);
  const c = new Int32Array(countersBuffer);

  function criticalSection() {
    // Entering: nobody else may be inside.
    if (Atomics.add(c, INSIDE, 1) !== 0) Atomics.add(c, VIOLATIONS, 1);
    const v = c[COUNTER];
    // The previous holder's two plain writes must both be visible to us (the lock orders them).
    if (c[MIRROR] !== -v) Atomics.add(c, TORN, 1);
    burn(work);
    c[COUNTER] = v + 1;
    c[MIRROR] = -(v + 1);
    // Leaving, before the release.
    Atomics.sub(c, INSIDE, 1);
  }

  let ticks = 0;
  const ticker = setInterval(() => ticks++, 1);
  // Must not keep the worker alive: only the lock wait itself may do that.
  ticker.unref();

  // Start barrier: every worker reaches the loop before any starts, so they really contend.
  if (Atomics.add(c, READY, 1) + 1 === workers) Atomics.notify(c, READY);
  for (;;) {
    const ready = Atomics.load(c, READY);
    if (ready >= workers) break;
    Atomics.wait(c, READY, ready, 100);
  }

  let tryFailures = 0;
  let maxWait = 0;
  let ops = 0;
  // Timed runs: every worker runs for the same wall-clock span after the barrier, so they overlap
  // (a fixed small iteration count can finish inside one time slice, with no contention at all).
  const endAt = durationMs === undefined ? Infinity : performance.now() + durationMs;
  for (let it = 0; it < iterations; it++) {
    if (Atomics.load(c, STOP) !== 0) break;
    // (Never before the first acquisition: every worker takes part, however late it was scheduled.)
    if ((it & 7) === 0 && it > 0 && endAt !== Infinity && performance.now() >= endAt) break;
    const m = mode === 'mixed' ? MODES[(it + index) % MODES.length] : mode;
    const t0 = measureWait ? performance.now() : 0;
    if (m === 'sync') {
      lock.lock();
    } else if (m === 'async') {
      await lock.lockAsync();
    } else if (m === 'try') {
      while (!lock.tryLock(tryTimeoutMs)) {
        tryFailures++;
        Atomics.store(c, workerSlot(index, W_TRY_FAILURES), tryFailures);
      }
    } else if (m === 'asyncTimed') {
      for (let attempt = 0; ; attempt++) {
        const ac = new AbortController();
        const byTimeout = (attempt & 1) === 0;
        const timer = byTimeout ? undefined : setTimeout(() => ac.abort(new Error('gave up')), tryTimeoutMs);
        try {
          await lock.lockAsync(byTimeout ? { timeout: tryTimeoutMs } : { signal: ac.signal });
          break;
        } catch (e) {
          if (byTimeout ? e?.code !== 'ERR_LOCK_TIMEOUT' : e?.message !== 'gave up') throw e;
          tryFailures++;
          Atomics.store(c, workerSlot(index, W_TRY_FAILURES), tryFailures);
        } finally {
          clearTimeout(timer);
        }
      }
    } else {
      throw new Error(`unknown mode ${JSON.stringify(m)}`);
    }
    if (measureWait) {
      const waited = performance.now() - t0;
      if (waited > maxWait) {
        maxWait = waited;
        Atomics.store(c, workerSlot(index, W_MAX_WAIT_US), Math.min(0x7fffffff, Math.round(waited * 1000)));
      }
    }
    criticalSection();
    lock.unlock();
    ops++;
    Atomics.store(c, workerSlot(index, W_OPS), ops);
    burn(outsideWork);
  }
  if (stopOthersWhenDone) Atomics.store(c, STOP, 1);
  clearInterval(ticker);
  return { type: 'done', ops, tryFailures, maxWaitMs: maxWait, ticks };
}

if (workerData?.pooled) {
  parentPort.on('message', async (m) => {
    if (m?.type === 'run') parentPort.postMessage(await run(m.run));
  });
} else {
  parentPort.postMessage(await run(workerData));
}
