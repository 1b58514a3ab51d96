// Reproduces the RWLock hang found by the torture (issue 12, "torture that mixes"; run after
// `npm run build`: node scripts/repro-rwlock-aborted-writer.mjs). An async writer waits behind a
// reader, and a reader of another thread waits behind the writer (writer preference). The last
// read release wakes the writer; its thread aborts it before its continuation ran (no event-loop
// turn in between) and then blocks in a read of its own. Expected: both readers get in at once
// (no lost wake-up for aborted waiters, issue 12 bug 3's rule). Seen on the torture branch: the
// state word is left at READERS_WAITING (0x10000000) with nobody holding and no writer waiting;
// the same thread's tryReadLock(3000) returns false after 3000 ms, and the other thread's reader
// gets in only after that, when this thread's event loop runs the aborted wait's forwarding.
// With a blocking readLock() instead, every reader of every thread waits for ever.
import { Worker, isMainThread, workerData } from 'node:worker_threads';
import * as s from '../dist/index.js';
const st = (rw) => '0x' + (new Int32Array(rw.handle.buffer)[1] >>> 0).toString(16);
if (isMainThread) {
  const rw = new s.RWLock({ name: 'rw' });
  const flag = new Int32Array(new SharedArrayBuffer(16));
  const start = (role) => new Worker(new URL(import.meta.url), { workerData: { h: rw.handle, f: flag.buffer, role } }).on('message', (m) => console.log(m));
  const w1 = start('holder');
  while (Atomics.load(flag, 0) !== 1) Atomics.wait(flag, 0, 0, 10); // W1 holds a read
  const ac = new AbortController();
  const p = rw.writeLockAsync({ signal: ac.signal }).then(() => 'got it', (e) => e.name);
  // From here on no event-loop turn in this thread until the blocking read below.
  const w3 = start('reader'); // queues behind the writer: READERS_WAITING
  const stateWord = new Int32Array(rw.handle.buffer);
  while ((Atomics.load(stateWord, 1) & 0x10000000) === 0) Atomics.wait(flag, 3, 0, 1);
  console.log('a read held, async writer and a reader waiting: state', st(rw));
  Atomics.store(flag, 1, 1); Atomics.notify(flag, 1); // W1: release the read now
  while (Atomics.load(flag, 0) !== 2) Atomics.wait(flag, 0, 1, 10);
  console.log('after the last read release: state', st(rw));
  ac.abort(); // the woken async writer gives up before its continuation ran
  const t0 = performance.now();
  const ok = rw.tryReadLock(3000); // this thread blocks in a read
  console.log(`same thread tryReadLock(3000) -> ${ok} after ${(performance.now() - t0).toFixed(0)} ms, state ${st(rw)}`);
  if (ok) rw.readUnlock();
  console.log('writeLockAsync:', await p);
  await new Promise((r) => setTimeout(r, 300));
  console.log('after an event-loop turn: state', st(rw));
  await w1.terminate(); await w3.terminate();
} else {
  const rw = s.RWLock.from(workerData.h);
  const flag = new Int32Array(workerData.f);
  const { parentPort } = await import('node:worker_threads');
  if (workerData.role === 'holder') {
    const g = rw.readLock();
    Atomics.store(flag, 0, 1); Atomics.notify(flag, 0);
    while (Atomics.load(flag, 1) !== 1) Atomics.wait(flag, 1, 0, 10);
    g.unlock();
    Atomics.store(flag, 0, 2); Atomics.notify(flag, 0);
  } else {
    const t0 = performance.now();
    const ok = rw.tryReadLock(5000);
    parentPort.postMessage(`other thread's reader: tryReadLock(5000) -> ${ok} after ${(performance.now() - t0).toFixed(0)} ms`);
    if (ok) rw.readUnlock();
  }
  setInterval(() => {}, 1000);
}
