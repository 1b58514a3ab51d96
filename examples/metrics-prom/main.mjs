// Run: node examples/metrics-prom/main.mjs
// Lock metrics for Prometheus from sablock's two observability sources:
// - events: every thread subscribes to the `sablock:contended` and `sablock:timeout`
//   diagnostics channels (events are published in the thread where they happen); workers forward
//   them to the main thread in batches, which feeds a wait-time histogram and counters.
// - stats(): the shared per-class table (`stats.enable()` before starting workers), read at scrape
//   time by `collect` callbacks: acquisitions, contended, parks, handoffs, timeouts, wait p99.
// Three workers hammer a Mutex ("orders") and a TicketLock ("ledger"); the main thread competes
// for "orders" with lockAsync({ timeout }). At the end it prints the text exposition a /metrics
// endpoint would serve, and checks that the event counts match the stats table exactly.
// Uses prom-client when it is installed (`npm install --prefix examples/metrics-prom/deps`), else
// the small formatter in ./text-registry.mjs, which writes the same text format.
import diagnosticsChannel from 'node:diagnostics_channel';
import { createRequire } from 'node:module';
import { Worker, isMainThread, workerData, parentPort } from 'node:worker_threads';
import { Mutex, TicketLock, stats, CHANNELS, TimeoutError } from 'sablock';

const WORKERS = 3;
const ITERATIONS = 20_000; // per worker, on "orders"; every 4th also takes "ledger"
const MAIN_TRIES = 300; // main-thread lockAsync attempts on "orders"
const BATCH = 512; // events per message from a worker
const GO = 0; // control word: workers wait for it, so they all run at the same time

/** Busy work inside a critical section, so locks are held long enough to contend. */
function work(n) {
  let x = 0;
  for (let k = 0; k < n; k++) x += Math.sqrt(k);
  return x;
}

/** Subscribes `onEvent(channel, name, waitMs)` to the contended and timeout channels of this thread. */
function subscribe(onEvent) {
  diagnosticsChannel.subscribe(CHANNELS.contended, (m) => onEvent('contended', m.name, m.waitMs));
  diagnosticsChannel.subscribe(CHANNELS.timeout, (m) => onEvent('timeout', m.name, m.waitMs));
}

if (isMainThread) {
  // prom-client is this example's own dependency, declared in deps/package.json (not beside this
  // file: a package.json here would hide the package self-reference that resolves 'sablock').
  const requireDep = createRequire(new URL('./deps/package.json', import.meta.url));
  let promClientPath = null;
  try {
    promClientPath = requireDep.resolve('prom-client');
  } catch {
    // not installed: fall back below
  }
  const client = promClientPath !== null ? requireDep(promClientPath) : await import('./text-registry.mjs');
  const backend =
    promClientPath !== null ? 'prom-client' : 'built-in text formatter (prom-client not installed: see README.md)';

  // Before any worker starts: workers started afterwards record into the same shared table.
  stats.enable();
  const orders = new Mutex({ name: 'orders' });
  const ledger = new TicketLock({ name: 'ledger' });

  const registry = new client.Registry();
  const registers = [registry];
  const labelNames = ['lock'];
  // From events (fed as they arrive):
  const waitSeconds = new client.Histogram({
    name: 'sablock_lock_wait_seconds',
    help: 'Time contended acquisitions waited for the lock (from sablock:contended events).',
    labelNames,
    buckets: [1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1],
    registers,
  });
  const contendedEvents = new client.Counter({
    name: 'sablock_lock_contended_events_total',
    help: 'Acquisitions that had to wait (sablock:contended events).',
    labelNames,
    registers,
  });
  const timeoutEvents = new client.Counter({
    name: 'sablock_lock_timeout_events_total',
    help: 'Timed acquisitions that gave up (sablock:timeout events).',
    labelNames,
    registers,
  });
  const onEvent = (channel, name, waitMs) => {
    if (channel === 'contended') {
      contendedEvents.inc({ lock: name });
      waitSeconds.observe({ lock: name }, waitMs / 1000);
    } else timeoutEvents.inc({ lock: name });
  };
  subscribe(onEvent); // this thread's own acquisitions

  // From the stats table (read at scrape time):
  const fromStats = (field, help) =>
    new client.Counter({
      name: `sablock_stats_${field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)}_total`,
      help,
      labelNames,
      registers,
      collect() {
        this.reset();
        for (const [lock, s] of Object.entries(stats())) this.inc({ lock }, s[field]);
      },
    });
  fromStats('acquisitions', 'Successful acquisitions (sablock stats table, all threads).');
  fromStats('contended', 'Acquisitions whose first attempt failed (stats table).');
  fromStats('parks', 'Futex sleeps of contended acquisitions (stats table).');
  fromStats('handoffs', 'Releases that handed the lock to a starving waiter (stats table).');
  fromStats('timeouts', 'Timed acquisitions that gave up (stats table).');
  new client.Gauge({
    name: 'sablock_stats_wait_p99_seconds',
    help: '99th percentile of contended wait, upper bound of its log2 bucket (stats table).',
    labelNames,
    registers,
    collect() {
      for (const [lock, s] of Object.entries(stats())) this.set({ lock }, s.wait.p99 / 1000);
    },
  });

  const control = new Int32Array(new SharedArrayBuffer(4));
  let ready = 0;
  let allReady;
  const started = new Promise((r) => (allReady = r));
  const workers = Array.from(
    { length: WORKERS },
    (_, id) =>
      new Promise((resolve, reject) => {
        const w = new Worker(new URL(import.meta.url), { workerData: { id, orders: orders.handle, ledger: ledger.handle, control } });
        w.on('message', (batch) => {
          if (batch === 'ready') return ++ready === WORKERS && allReady();
          for (const [channel, name, waitMs] of batch) onEvent(channel, name, waitMs);
        });
        w.on('error', reject);
        w.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`worker ${id} exited with ${code}`))));
      }),
  );

  await started;
  Atomics.store(control, GO, 1);
  Atomics.notify(control, GO); // wake every worker parked on GO

  // The main thread competes on the event loop, giving up after 1 ms.
  let mainAcquired = 0;
  let mainTimeouts = 0;
  for (let k = 0; k < MAIN_TRIES; k++) {
    try {
      const guard = await orders.lockAsync({ timeout: 1 });
      work(200);
      guard.unlock();
      mainAcquired++;
    } catch (e) {
      if (!(e instanceof TimeoutError)) throw e;
      mainTimeouts++;
    }
    await new Promise((r) => setImmediate(r));
  }
  await Promise.all(workers); // each worker's last batch arrives before its exit

  const exposition = await registry.metrics();
  console.log(`# backend: ${backend}`);
  console.log(exposition.trimEnd());

  // Checks: the stats table counted every acquisition exactly, and the events seen by the
  // diagnostics channels (in every thread) match the table's contended and timeout counters.
  const s = stats();
  const eventCount = async (metric, lock) =>
    (await metric.get()).values.filter((v) => v.labels.lock === lock).reduce((n, v) => n + v.value, 0);
  const problems = [];
  const expect = (what, got, want) => got !== want && problems.push(`${what}: ${got}, expected ${want}`);
  expect('orders acquisitions', s.orders?.acquisitions, WORKERS * ITERATIONS + mainAcquired);
  expect('ledger acquisitions', s.ledger?.acquisitions, WORKERS * (ITERATIONS / 4));
  expect('orders timeouts', s.orders?.timeouts, mainTimeouts);
  for (const lock of ['orders', 'ledger']) {
    expect(`${lock} contended events`, await eventCount(contendedEvents, lock), s[lock]?.contended ?? 0);
  }
  expect('orders timeout events', await eventCount(timeoutEvents, 'orders'), mainTimeouts);
  console.log(
    `\norders: ${s.orders.acquisitions} acquisitions, ${s.orders.contended} contended, main thread ${mainAcquired} acquired / ${mainTimeouts} timed out; ` +
      `ledger: ${s.ledger.acquisitions} acquisitions, ${s.ledger.contended} contended`,
  );
  console.log(problems.length === 0 ? 'events and stats agree' : `MISMATCH: ${problems.join('; ')}`);
  process.exitCode = problems.length === 0 ? 0 : 1;
} else {
  const orders = Mutex.from(workerData.orders);
  const ledger = TicketLock.from(workerData.ledger);
  let batch = [];
  subscribe((channel, name, waitMs) => {
    batch.push([channel, name, waitMs]);
    if (batch.length === BATCH) {
      parentPort.postMessage(batch);
      batch = [];
    }
  });
  parentPort.postMessage('ready');
  Atomics.wait(workerData.control, GO, 0); // returns at once if GO is already 1
  for (let k = 0; k < ITERATIONS; k++) {
    orders.withLock(() => work(50));
    if (k % 4 === 0) ledger.withLock(() => work(20));
  }
  parentPort.postMessage(batch);
}
