/**
 * One benchmark worker. It attaches the implementation, reports READY, then for each round waits
 * for GO, runs its workload loop until STOP, writes its op count to its slot and reports DONE.
 * Each cell runs in fresh workers, so the loops' type feedback belongs to one implementation; a
 * cell may run several phases (scenarios: work inside/outside, read ratio) one after the other.
 *
 * The loops check STOP every 8 operations with one Atomics.load, the same in every row, and count
 * whole operations. They also check the data they protect (exact counters, paired fields, equal
 * record words), so a row from a broken lock says so instead of looking fast.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { IMPLS } from './impls.mjs';
import { work } from './work.mjs';
import * as L from './layout.mjs';

const { name, workload, shared, ctlSab, dataSab, index, phases } = workerData;
const ctl = new Int32Array(ctlSab);
const D = new Int32Array(dataSab);
const slot = L.slotOf(index);
// The scenario of the current phase (main thread writes PHASE before each round's GO).
let params = phases[0];
let inside = 0;
let outside = 0;
/**
 * Ping-pong: the partner (worker 1) may leave only once worker 0 finished its last round trip
 * (STOP = PING_DONE), or a partner that timed out just as worker 0 started one more round trip
 * would leave it waiting forever.
 */
const PING_DONE = 2;
const pingDone = () => Atomics.load(ctl, L.STOP) === PING_DONE;

/*
 * Exclusive critical section: count in DATA_A (lost updates show as a short counter) and mark
 * DATA_B with this worker while inside (a second worker inside sees the mark: an overlap, even
 * when no increment happens to be lost). The checking reads are Atomics.load so the compiler
 * cannot answer them from the plain store just before; on x86 they are plain loads.
 */
function exclusiveLoop(lk, x) {
  const me = index + 1;
  let n = 0;
  let overlaps = 0;
  for (;;) {
    for (let k = 0; k < 8; k++) {
      lk.lock();
      if (Atomics.load(D, L.DATA_B) !== 0) overlaps++;
      D[L.DATA_B] = me;
      D[L.DATA_A]++;
      x = work(x, inside);
      if (Atomics.load(D, L.DATA_B) !== me) overlaps++;
      D[L.DATA_B] = 0;
      lk.unlock();
      x = work(x, outside);
    }
    n += 8;
    if (Atomics.load(ctl, L.STOP) !== 0) break;
  }
  ctl[slot + L.S_OPS] = n;
  ctl[slot + L.S_TORN] += overlaps;
  return x;
}

/*
 * Semaphore section: count in DATA_A (Atomics.add: with several permits, several threads are
 * inside at once) and track how many are inside in DATA_B: one more than `permits` inside is a
 * violation (counted as torn). The same atomics in every row of a table.
 */
function semaphoreLoop(lk, x) {
  const permits = params.permits;
  let n = 0;
  let over = 0;
  for (;;) {
    for (let k = 0; k < 8; k++) {
      lk.acquire();
      if (Atomics.add(D, L.DATA_B, 1) >= permits) over++;
      Atomics.add(D, L.DATA_A, 1);
      x = work(x, inside);
      Atomics.sub(D, L.DATA_B, 1);
      lk.release();
      x = work(x, outside);
    }
    n += 8;
    if (Atomics.load(ctl, L.STOP) !== 0) break;
  }
  ctl[slot + L.S_OPS] = n;
  ctl[slot + L.S_TORN] += over;
  return x;
}

function lockedLoop(lk, x) {
  const me = index + 1;
  let n = 0;
  let overlaps = 0;
  const cs = () => {
    if (Atomics.load(D, L.DATA_B) !== 0) overlaps++;
    D[L.DATA_B] = me;
    D[L.DATA_A]++;
    x = work(x, inside);
    if (Atomics.load(D, L.DATA_B) !== me) overlaps++;
    D[L.DATA_B] = 0;
  };
  for (;;) {
    for (let k = 0; k < 8; k++) {
      lk.locked(cs);
      x = work(x, outside);
    }
    n += 8;
    if (Atomics.load(ctl, L.STOP) !== 0) break;
  }
  ctl[slot + L.S_OPS] = n;
  ctl[slot + L.S_TORN] += overlaps;
  return x;
}

/**
 * lockedLoop for named locks that only have an async API (Web Locks: sablock's `locks`, Node's
 * built-in): awaits each grant of `request(name, cs)`. On one name (the cell's) the section is
 * lockedLoop's, with the same exclusion checks; with `params.disjoint` each worker locks a name of
 * its own and counts in its own row (manager workload's layout), so only the lock's cost is shared.
 */
async function namedAsyncLoop(lk, x) {
  const disjoint = params.disjoint === true;
  const lockName = disjoint ? `${shared.name}-${index}` : shared.name;
  const row = L.DATA_ROWS + (index + 1) * L.LINE;
  const me = index + 1;
  let n = 0;
  let overlaps = 0;
  // Node's built-in: a waiting request alone would let this worker exit mid-round (impls.mjs).
  const keepAlive = lk.keepAlive ? setInterval(() => {}, 1 << 30) : null;
  const cs = disjoint
    ? () => {
        D[row]++;
        x = work(x, inside);
      }
    : () => {
        if (Atomics.load(D, L.DATA_B) !== 0) overlaps++;
        D[L.DATA_B] = me;
        D[L.DATA_A]++;
        x = work(x, inside);
        if (Atomics.load(D, L.DATA_B) !== me) overlaps++;
        D[L.DATA_B] = 0;
      };
  for (;;) {
    for (let k = 0; k < 8; k++) {
      await lk.request(lockName, cs);
      x = work(x, outside);
    }
    n += 8;
    if (Atomics.load(ctl, L.STOP) !== 0) break;
  }
  if (keepAlive !== null) clearInterval(keepAlive);
  ctl[slot + L.S_OPS] = n;
  ctl[slot + L.S_TORN] += overlaps;
  return x;
}

/** Per-worker read/write pattern: `readPct` reads in every 100 operations, spread out. */
function rwPattern() {
  const p = new Uint8Array(100);
  for (let i = 0; i < 100; i++) p[i] = (i * 37 + index * 11) % 100 < params.readPct ? 1 : 0;
  return p;
}

function rwLoop(lk, x) {
  const pattern = rwPattern();
  let n = 0;
  let writes = 0;
  let torn = 0;
  let j = 0;
  for (;;) {
    for (let k = 0; k < 8; k++) {
      if (pattern[j] === 1) {
        lk.readLock();
        // A writer changes A and B together: a reader under the lock must see A === -B.
        if (D[L.DATA_A] !== -D[L.DATA_B]) torn++;
        x = work(x, inside);
        lk.readUnlock();
      } else {
        lk.writeLock();
        D[L.DATA_A]++;
        D[L.DATA_B]--;
        x = work(x, inside);
        lk.writeUnlock();
        writes++;
      }
      if (++j === 100) j = 0;
      x = work(x, outside);
    }
    n += 8;
    if (Atomics.load(ctl, L.STOP) !== 0) break;
  }
  ctl[slot + L.S_OPS] = n;
  ctl[slot + L.S_OPS2] = writes;
  ctl[slot + L.S_TORN] += torn;
  return x;
}

function seqLoop(lk, x) {
  const writer = index < (params.writers | 0);
  let n = 0;
  if (writer) {
    let v = 0;
    const write = (view) => {
      v++;
      for (let i = 0; i < 64; i += 8) view.setFloat64(i, v);
    };
    for (;;) {
      lk.write(write);
      x = work(x, outside);
      n++;
      if (Atomics.load(ctl, L.STOP) !== 0) break;
    }
    ctl[slot + L.S_OPS2] = n;
    ctl[slot + L.S_OPS] = 0;
    return x;
  }
  // A validated read must see eight equal words (the writer writes them all under one sequence).
  const read = (view) => {
    const v = view.getFloat64(0);
    for (let i = 8; i < 64; i += 8) if (view.getFloat64(i) !== v) return NaN;
    return v;
  };
  let torn = 0;
  for (;;) {
    for (let k = 0; k < 8; k++) {
      if (Number.isNaN(lk.read(read))) torn++;
      x = work(x, outside);
    }
    n += 8;
    if (Atomics.load(ctl, L.STOP) !== 0) break;
  }
  ctl[slot + L.S_OPS] = n;
  ctl[slot + L.S_TORN] += torn;
  return x;
}

function managerLoop(lk, x) {
  const hot = params.hot === true;
  const row = hot ? 0 : index + 1;
  const cell = hot ? L.DATA_A : L.DATA_ROWS + (index + 1) * L.LINE;
  let n = 0;
  for (;;) {
    for (let k = 0; k < 8; k++) {
      const h = lk.acquire(row);
      D[cell]++;
      x = work(x, inside);
      lk.release(h);
      x = work(x, outside);
    }
    n += 8;
    if (Atomics.load(ctl, L.STOP) !== 0) break;
  }
  ctl[slot + L.S_OPS] = n;
  return x;
}

function pingpongLoop(lk, x) {
  let n = 0;
  if (index === 0) {
    while (Atomics.load(ctl, L.STOP) === 0) {
      lk.ping();
      n++;
    }
    Atomics.store(ctl, L.STOP, PING_DONE); // the partner polls STOP on its wait timeouts
  } else {
    while (lk.pong(pingDone));
  }
  ctl[slot + L.S_OPS] = n;
  return x;
}

const impl = IMPLS[name].workloads[workload];
const lk = impl.attach(shared);
const loop =
  workload === 'exclusive'
    ? typeof lk.request === 'function'
      ? namedAsyncLoop
      : typeof lk.locked === 'function'
      ? lockedLoop
      : exclusiveLoop
    : { rw: rwLoop, seq: seqLoop, manager: managerLoop, semaphore: semaphoreLoop, weblocks: namedAsyncLoop, pingpong: pingpongLoop }[workload];

let x = index * 7919 + 1;
let round = 0;
Atomics.add(ctl, L.READY, 1); // the main thread polls READY
for (;;) {
  // Sleep until the main thread starts the next round (or ends the cell with a negative GO).
  while (Atomics.load(ctl, L.GO) === round) Atomics.wait(ctl, L.GO, round);
  round = Atomics.load(ctl, L.GO);
  if (round < 0) break;
  params = phases[Atomics.load(ctl, L.PHASE)];
  inside = params.inside | 0;
  outside = params.outside | 0;
  try {
    const r = loop(lk, x);
    // Only namedAsyncLoop returns a promise; the synchronous loops' rounds stay free of awaits.
    x = typeof r === 'number' ? r : await r;
  } catch (e) {
    ctl[slot + L.S_ERR] = 1;
    console.error(`[${name}] worker ${index}:`, e);
  }
  Atomics.add(ctl, L.DONE, 1); // the main thread polls DONE
}
ctl[slot + L.S_SINK] = x; // keep x observable
parentPort.postMessage({ done: true }); // the harness's end of a worker (test/harness/workers.mjs)
