#!/usr/bin/env node
// Terminations benchmark for owner-death recovery (run after `npm run build`):
//   node scripts/terminations.mjs [--count 1000] [--kinds Mutex,SpinLock,TicketLock]
// Each round: a fresh worker takes the lock and sleeps inside its critical section; a waiter
// worker (sync lock() or async lockAsync(), alternating) queues behind it; the main thread calls
// worker.terminate() on the holder. Latency = waiter acquisition time − the holder's 'exit' event
// (wall clock, sub-ms). A round is recovered when the waiter gets the lock with ownerDied === true.
// Prints p50/p99/max per kind and overall; exits 1 if any round was not recovered.
import { Worker, isMainThread, workerData, parentPort } from 'node:worker_threads';
import { parseArgs } from 'node:util';
import * as sablock from '../dist/index.js';

const wall = () => performance.timeOrigin + performance.now();

// Shared control words (Int32): per-actor go/ack flags. Float64 slots carry times.
const GO = 0; // main → holder: take the lock
const LOCKED = 1; // holder → main: holding
const ROUND = 2; // main → waiter: round number to acquire in (0 = stop)
const DONE = 3; // waiter → main: last round finished
const DIED = 4; // waiter → main: ownerDied seen in the last round (1/0)
const PARKING = 5; // waiter → main: about to block in the last round

if (!isMainThread) {
  const { role, kind, handle, ctl, times } = workerData;
  const c = new Int32Array(ctl);
  const t = new Float64Array(times);
  const lock = sablock[kind].from(handle);
  if (role === 'holder') {
    const mine = new Int32Array(workerData.go);
    // Sleep until main says go (holders are spawned ahead of time).
    while (Atomics.load(mine, 0) === 0) Atomics.wait(mine, 0, 0);
    lock.lock();
    // Tell main we hold it.
    Atomics.store(c, LOCKED, 1);
    Atomics.notify(c, LOCKED);
    // Sleep inside the critical section until terminated.
    for (;;) Atomics.wait(mine, 0, 1);
  } else {
    let round = 0;
    for (;;) {
      // Wait for the next round.
      while (Atomics.load(c, ROUND) === round) Atomics.wait(c, ROUND, round);
      round = Atomics.load(c, ROUND);
      if (round < 0) break;
      Atomics.store(c, PARKING, round);
      if (round % 2 === 0) lock.lock();
      else await lock.lockAsync();
      t[0] = wall();
      const died = lock.ownerDied;
      if (died) lock.markConsistent();
      lock.unlock();
      Atomics.store(c, DIED, died ? 1 : 0);
      // Round done.
      Atomics.store(c, DONE, round);
      Atomics.notify(c, DONE);
    }
    parentPort.postMessage('bye');
  }
} else {
  const { values } = parseArgs({
    options: { count: { type: 'string', default: '1000' }, kinds: { type: 'string', default: 'Mutex,SpinLock,TicketLock' } },
  });
  const count = Number(values.count);
  const kinds = values.kinds.split(',');
  const results = {};
  const waitFor = async (a, i, pred, ms = 10_000) => {
    const end = performance.now() + ms;
    for (;;) {
      const v = Atomics.load(a, i);
      if (pred(v)) return v;
      if (performance.now() > end) throw new Error(`timeout waiting on control word ${i}`);
      // Sleep on the event loop until the word changes (or 20 ms).
      await Atomics.waitAsync(a, i, v, 20).value;
    }
  };
  for (const [ki, kind] of kinds.entries()) {
    const n = Math.floor(count / kinds.length) + (ki < count % kinds.length ? 1 : 0);
    const lock = new sablock[kind]({ name: `terminations-${kind}` });
    const ctl = new SharedArrayBuffer(64);
    const times = new SharedArrayBuffer(8);
    const c = new Int32Array(ctl);
    const t = new Float64Array(times);
    const base = { kind, handle: lock.handle, ctl, times };
    const spawnHolder = () => {
      const go = new SharedArrayBuffer(4);
      const w = new Worker(new URL(import.meta.url), { workerData: { ...base, role: 'holder', go } });
      const h = { w, go: new Int32Array(go), exitAt: 0 };
      // Registered before sablock's own 'exit' listener (added on the 'worker' event, a tick later).
      w.once('exit', () => (h.exitAt = wall()));
      return h;
    };
    const waiter = new Worker(new URL(import.meta.url), { workerData: { ...base, role: 'waiter' } });
    const lat = [];
    let lost = 0;
    let spare = [spawnHolder(), spawnHolder()];
    for (let r = 1; r <= n; r++) {
      const h = spare.shift();
      spare.push(spawnHolder());
      Atomics.store(c, LOCKED, 0);
      // Go: the holder takes the lock.
      Atomics.store(h.go, 0, 1);
      Atomics.notify(h.go, 0);
      await waitFor(c, LOCKED, (v) => v === 1);
      // Start the waiter's round and give it a moment to block behind the holder.
      Atomics.store(c, ROUND, r);
      Atomics.notify(c, ROUND);
      await waitFor(c, PARKING, (v) => v === r);
      await new Promise((res) => setTimeout(res, 2 + Math.random() * 8));
      const exited = new Promise((res) => h.w.once('exit', res));
      await h.w.terminate();
      await exited;
      try {
        await waitFor(c, DONE, (v) => v === r, 10_000);
      } catch {
        lost++;
        console.error(`${kind}: round ${r} not recovered within 10 s`);
        break;
      }
      if (Atomics.load(c, DIED) !== 1) lost++;
      lat.push(t[0] - h.exitAt);
    }
    Atomics.store(c, ROUND, -1);
    Atomics.notify(c, ROUND);
    await Promise.all([...spare.map((h) => h.w.terminate()), new Promise((res) => waiter.once('exit', res))]);
    results[kind] = { lat, lost, n };
  }
  const q = (xs, p) => xs[Math.min(xs.length - 1, Math.floor(p * xs.length))];
  const row = (name, xs, lost, n) => {
    const s = [...xs].sort((a, b) => a - b);
    console.log(
      `${name.padEnd(11)} terminations ${String(n).padStart(5)}  recovered ${String(n - lost).padStart(5)}  ` +
        `p50 ${q(s, 0.5).toFixed(1)} ms  p99 ${q(s, 0.99).toFixed(1)} ms  max ${s[s.length - 1].toFixed(1)} ms`,
    );
  };
  console.log(`node ${process.version}, ${(await import('node:os')).availableParallelism()} cores`);
  let all = [], lostAll = 0, nAll = 0;
  for (const [k, r] of Object.entries(results)) {
    row(k, r.lat, r.lost, r.n);
    all = all.concat(r.lat);
    lostAll += r.lost;
    nAll += r.n;
  }
  row('all', all, lostAll, nAll);
  process.exit(lostAll === 0 ? 0 : 1);
}
