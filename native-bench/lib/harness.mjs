/**
 * The shared worker-throughput harness. One cell = one implementation × workload × thread count ×
 * scenario parameters: start `threads` fresh workers, wait until all are attached, then run
 * `rounds` measured rounds per phase after a warm-up (see below). A round releases every worker at
 * once (GO + notify), lets them run `durationMs`, sets STOP, waits for all to report, and records
 * total operations / elapsed seconds. Afterwards it checks the protected data.
 *
 * Workers are started, watched and terminated by the tests' harness (test/harness/workers.mjs:
 * an 'error' or an early exit fails the cell at its next wait; every wait is bounded, through
 * bounds.mjs's `until`, polled every 1 ms); the control words are declared in layout.mjs with the
 * same `words` helper as the tests' and the torture's.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Workers } from '../../test/harness/workers.mjs';
import { IMPLS } from './impls.mjs';
import * as L from './layout.mjs';
import { warmUp } from './stats.mjs';

const WORKER_URL = new URL('./worker.mjs', import.meta.url);
/** The waits' polling period (ms): the main thread's own wake-ups count in a round's sleeps/op. */
const POLL_MS = 1;

/**
 * Runs one cell in this process: the same workers run each of `phases` (scenario parameters) in
 * turn: warm-up round(s), then `rounds` measured rounds each. Returns { phases: [{ samples: ops/s per round, extra: second
 * counter/s per round (writes, for rw/seq), sleeps: voluntary context switches of this process per operation, per round
 * }], check: 'ok' or what went wrong }. Every futex sleep of a worker (Atomics.wait that blocks) is one voluntary switch;
 * the main thread's own timer sleeps add a few per round, noise against the operations counted.
 */
export async function runCell({ name, workload, threads, phases, rounds, durationMs, warmupMs = 1000, onPhase }) {
  const impl = IMPLS[name].workloads[workload];
  const shared = impl.create({ threads, phases });
  const ctlSab = new SharedArrayBuffer(L.controlBytes(threads));
  const dataSab = new SharedArrayBuffer(L.dataBytes(threads));
  const ctl = new Int32Array(ctlSab);
  const D = new Int32Array(dataSab);
  const crew = new Workers();
  const results = [];
  let totalOps = 0;
  let totalOps2 = 0;
  // Generous bound: an oversubscribed round may take much longer than durationMs to drain.
  const drainMs = Math.max(10_000, durationMs * 20);
  try {
    for (let i = 0; i < threads; i++) {
      crew.start(WORKER_URL, { name, workload, shared, ctlSab, dataSab, index: i, phases }, { what: `${name} worker ${i}` });
    }
    await crew.until(() => Atomics.load(ctl, L.READY) === threads, 30_000, 'workers to attach', POLL_MS);
    let go = 0;
    /** One round: release the workers, let them run durationMs, stop them; ops/s, second counter/s, sleeps/op. */
    const round = async () => {
      Atomics.store(ctl, L.STOP, 0);
      Atomics.store(ctl, L.DONE, 0);
      const v0 = process.resourceUsage().voluntaryContextSwitches;
      const t0 = performance.now();
      Atomics.store(ctl, L.GO, ++go);
      Atomics.notify(ctl, L.GO); // release every worker of this round
      await sleep(durationMs);
      Atomics.store(ctl, L.STOP, 1);
      const t1 = performance.now();
      await crew.until(() => Atomics.load(ctl, L.DONE) === threads, drainMs, 'the round to end', POLL_MS);
      let ops = 0;
      let ops2 = 0;
      for (let i = 0; i < threads; i++) {
        ops += ctl[L.slotOf(i) + L.S_OPS];
        ops2 += ctl[L.slotOf(i) + L.S_OPS2];
      }
      totalOps += ops;
      totalOps2 += ops2;
      const s = (t1 - t0) / 1000;
      const sleeps = process.resourceUsage().voluntaryContextSwitches - v0;
      return [ops / s, ops2 / s, ops > 0 ? sleeps / ops : 0];
    };
    for (let p = 0; p < phases.length; p++) {
      onPhase?.(p);
      Atomics.store(ctl, L.PHASE, p);
      // Warm-up (stats.mjs): one round, but on fresh workers (the first phase) until two rounds
      // agree or warmupMs runs out.
      const warmupRounds = await warmUp(async () => (await round())[0], p > 0 ? 0 : warmupMs);
      const samples = [];
      const extra = [];
      const sleeps = [];
      for (let r = 0; r < rounds; r++) {
        const [rate, rate2, perOp] = await round();
        samples.push(rate);
        extra.push(rate2);
        sleeps.push(perOp);
      }
      results.push({ samples, extra, sleeps, warmupRounds });
    }
    Atomics.store(ctl, L.GO, -1);
    Atomics.notify(ctl, L.GO);
    let torn = 0;
    let failed = 0;
    for (let i = 0; i < threads; i++) {
      torn += ctl[L.slotOf(i) + L.S_TORN];
      failed += ctl[L.slotOf(i) + L.S_ERR];
    }
    return { phases: results, check: checkData(workload, threads, D, totalOps, totalOps2, torn, failed) };
  } finally {
    await crew.terminateAll();
  }
}

function checkData(workload, threads, D, ops, writes, torn, failed) {
  if (failed) return `${failed} worker(s) threw`;
  if (workload === 'exclusive' && (D[L.DATA_A] !== (ops | 0) || torn)) {
    return `lost updates: counter ${D[L.DATA_A]}, operations ${ops}; overlapping critical sections ${torn}`;
  }
  if (workload === 'rw' && (D[L.DATA_A] !== (writes | 0) || torn)) {
    return `writes ${D[L.DATA_A]}/${writes}, torn reads ${torn}`;
  }
  if (workload === 'seq' && torn) return `torn reads ${torn}`;
  if (workload === 'semaphore' && (D[L.DATA_A] !== (ops | 0) || torn)) {
    const lost = D[L.DATA_A] !== (ops | 0) ? `lost updates: counter ${D[L.DATA_A]}, operations ${ops}; ` : '';
    return `${lost}more holders than permits ${torn} times`;
  }
  if (workload === 'manager' || workload === 'weblocks') {
    // Hot-row (one name) phases count in DATA_A, disjoint-row (own name) phases in each worker's row.
    let sum = D[L.DATA_A];
    for (let i = 0; i < threads; i++) sum += D[L.DATA_ROWS + (i + 1) * L.LINE];
    if (sum !== (ops | 0) || torn) return `lost updates: counters ${sum}, operations ${ops}; overlapping critical sections ${torn}`;
  }
  return 'ok';
}
