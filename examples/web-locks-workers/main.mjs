// Web Locks across workers with no set-up: the main thread imports sablock, and every worker it
// starts afterwards shares the same `locks` (nothing passed in workerData for it).
//
// 4 workers each add 500 to one counter in shared memory, under `locks.request('counter')`, with an
// `await` between the read and the write (so without the lock, updates are lost). The main thread
// looks at everyone's locks with `locks.query()` meanwhile. Then a worker that holds 'report' is
// terminated: the main thread's waiting request for 'report' is granted shortly after.
// `--unlocked`: the workers skip the lock; the count comes out short.
import { Worker } from 'node:worker_threads';
import { locks } from 'sablock';

const unlocked = process.argv.includes('--unlocked');
const WORKERS = 4;
const ROUNDS = 500;
// [0] counter, [1] callbacks inside now, [2] most inside at once, [3] workers ready, [4] GO
const shared = new Int32Array(new SharedArrayBuffer(20));

const url = new URL('./worker.mjs', import.meta.url);
const workers = [];
for (let i = 0; i < WORKERS; i++) workers.push(new Worker(url, { workerData: { shared, rounds: ROUNDS, unlocked } }));
// Listen for the exits now: a worker may be done (and gone) before the looks below end.
const exited = workers.map((w) => new Promise((res) => w.once('exit', res)));

// A look at every thread's locks while they run (each worker's requests have its own clientId).
while (Atomics.load(shared, 3) < WORKERS) await new Promise((r) => setTimeout(r, 1));
Atomics.store(shared, 4, 1); // GO: all workers start together
Atomics.notify(shared, 4); // wake the workers waiting for GO
while (shared[0] < 50) await new Promise((r) => setTimeout(r, 1)); // they are running
// A few looks while they run: each shows the holder and the waiting requests of every thread (one
// look can land while the others are between two requests, so a single snapshot may show fewer).
const clients = new Set();
for (let k = 0; k < 20 && clients.size < WORKERS && shared[0] < WORKERS * ROUNDS - 100; k++) {
  const snap = await locks.query();
  for (const x of [...snap.held, ...snap.pending]) clients.add(x.clientId);
  await new Promise((r) => setTimeout(r, 1));
}
const exits = await Promise.all(exited);
const expected = WORKERS * ROUNDS;
console.log(`counter: ${shared[0]} (expected ${expected}), most callbacks inside at once: ${Atomics.load(shared, 2)}, threads seen by query(): ${clients.size}, worker exit codes: ${exits.join(',')}`);

// Owner death: a worker takes 'report' and is terminated while holding it.
const holder = new Worker(new URL('./holder.mjs', import.meta.url));
await new Promise((res) => holder.once('message', res)); // it holds 'report' now
const t0 = performance.now();
const waiting = locks.request('report', { timeout: 5000 }, () => performance.now() - t0);
await holder.terminate();
const ms = await waiting;
console.log(`'report' granted ${Math.round(ms)} ms after its holder was terminated`);
const ok = shared[0] === expected && Atomics.load(shared, 2) === 1 && exits.every((c) => c === 0);
console.log(ok ? 'ok' : 'FAILED: lost updates or overlapping holders');
process.exitCode = ok ? 0 : 1;
