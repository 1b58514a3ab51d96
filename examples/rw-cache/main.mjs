// Run: node examples/rw-cache/main.mjs
// An in-memory cache of 64 entries in one SharedArrayBuffer, guarded by one RWLock placed in the
// same buffer. Six reader workers look entries up under the read lock and verify each entry's
// checksum; one writer worker refreshes entries under the write lock. A torn entry (a reader
// overlapping a write) would fail the checksum, and a "generation" word that the writer makes odd
// for the length of each write must look even to every reader.
// `--unlocked`: readers skip the read lock (a negative control: expect bad reads and exit code 1).
import { Worker, isMainThread, workerData, parentPort } from 'node:worker_threads';
import { RWLock } from 'sablock';

const ENTRIES = 64;
const WORDS = 16; // payload words per entry, then one checksum word
const ENTRY_WORDS = WORDS + 1;
const READERS = 6;
const RUN_MS = 1000; // measured from the moment every worker is ready

// Buffer: [RWLock][control: GO, STOP, GENERATION, pad][entries]
const CONTROL = RWLock.BYTE_LENGTH;
const GO = 0;
const STOP = 1;
const GENERATION = 2;
const DATA = CONTROL + 16;

function checksum(words, base) {
  let h = 0x811c9dc5;
  for (let k = 0; k < WORDS; k++) h = Math.imul(h ^ words[base + k], 0x01000193);
  return h;
}

function fill(words, e, version) {
  const base = e * ENTRY_WORDS;
  for (let k = 0; k < WORDS; k++) words[base + k] = Math.imul(version + 1, 0x9e3779b1) ^ (e * 31 + k);
  words[base + WORDS] = checksum(words, base);
}

if (isMainThread) {
  const buffer = new SharedArrayBuffer(DATA + ENTRIES * ENTRY_WORDS * 4);
  const rw = new RWLock({ buffer, byteOffset: 0, name: 'cache' });
  const words = new Int32Array(buffer, DATA);
  for (let e = 0; e < ENTRIES; e++) fill(words, e, 0);
  const control = new Int32Array(buffer, CONTROL, 4);

  // Workers take a while to start on a loaded machine: each says 'ready', then waits for GO.
  let ready = 0;
  let t0 = 0;
  const go = () => {
    t0 = performance.now();
    Atomics.store(control, GO, 1);
    Atomics.notify(control, GO); // wake every worker parked on GO
    setTimeout(() => Atomics.store(control, STOP, 1), RUN_MS); // the workers poll STOP
  };
  const spawn = (role) =>
    new Promise((resolve, reject) => {
      const w = new Worker(new URL(import.meta.url), { workerData: { role, handle: rw.handle, unlocked: process.argv.includes('--unlocked') } });
      let result;
      w.on('message', (m) => (m === 'ready' ? ++ready === READERS + 1 && go() : (result = m)));
      w.on('error', reject);
      w.on('exit', (code) => (code === 0 && result ? resolve(result) : reject(new Error(`${role} exited with ${code}`))));
    });
  const running = [spawn('writer'), ...Array.from({ length: READERS }, () => spawn('reader'))];
  const [writer, ...readers] = await Promise.all(running);
  const seconds = (performance.now() - t0) / 1000;

  const reads = readers.reduce((n, r) => n + r.reads, 0);
  const bad = readers.reduce((n, r) => n + r.bad, 0);
  let intact = 0;
  for (let e = 0; e < ENTRIES; e++) if (words[e * ENTRY_WORDS + WORDS] === checksum(words, e * ENTRY_WORDS)) intact++;
  console.log(
    `${READERS} readers: ${reads} reads (${Math.round(reads / seconds)} reads/s), 1 writer: ${writer.writes} writes, ` +
      `bad reads: ${bad}, intact entries: ${intact}/${ENTRIES}`,
  );
  process.exitCode = bad === 0 && intact === ENTRIES && reads > 0 && writer.writes > 0 ? 0 : 1;
} else {
  const rw = RWLock.from(workerData.handle);
  const control = new Int32Array(rw.buffer, CONTROL, 4);
  const words = new Int32Array(rw.buffer, DATA);
  let seed = 12345 + (workerData.role === 'writer' ? 0 : Math.floor(Math.random() * 1e6));
  const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8) % ENTRIES;
  const nap = new Int32Array(new SharedArrayBuffer(4));
  parentPort.postMessage('ready');
  Atomics.wait(control, GO, 0); // returns at once if GO is already 1

  if (workerData.role === 'writer') {
    let writes = 0;
    while (Atomics.load(control, STOP) === 0) {
      rw.withWriteLock(() => {
        // Odd while the entry is half-written: no reader may ever see an odd generation.
        Atomics.add(control, GENERATION, 1);
        fill(words, rand(), ++writes);
        Atomics.add(control, GENERATION, 1);
      });
      if (writes % 16 === 0) Atomics.wait(nap, 0, 0, 0.01); // a refresher, not a hot loop: let the readers in
    }
    parentPort.postMessage({ writes });
  } else {
    const read = workerData.unlocked ? (fn) => fn() : (fn) => rw.withReadLock(fn);
    let reads = 0;
    let bad = 0;
    while (Atomics.load(control, STOP) === 0) {
      for (let k = 0; k < 64; k++) {
        const e = rand();
        const ok = read(() => {
          const base = e * ENTRY_WORDS;
          return (Atomics.load(control, GENERATION) & 1) === 0 && words[base + WORDS] === checksum(words, base);
        });
        reads++;
        if (!ok) bad++;
      }
    }
    parentPort.postMessage({ reads, bad });
  }
}
