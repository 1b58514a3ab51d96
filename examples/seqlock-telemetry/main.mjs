// Run: node examples/seqlock-telemetry/main.mjs
// A writer worker publishes a price record { seq, bid, ask, ts } into a SeqLock as fast as it can
// (thousands of times per ms); three reader workers take snapshots and check each one: bid < ask,
// bid and ask are the values the writer derives from seq (a torn record mixes two writes and fails
// this), and seq and ts never go backwards. Readers never write shared memory; a read that
// overlapped a write is retried, and the retries per read are printed.
// `--unlocked`: readers read the record without the SeqLock (a negative control: expect torn
// records and exit code 1).
import { Worker, isMainThread, workerData, parentPort } from 'node:worker_threads';
import { SeqLock } from 'sablock';

const READERS = 3;
const RUN_MS = 1000; // measured from the moment every worker is ready
const SEQ = 0, BID = 8, ASK = 16, TS = 24, RECORD_BYTES = 32; // prettier-ignore

// The writer's pricing rule: readers recompute it from seq to detect a torn record.
const bidFor = (seq) => 100 + (seq % 997) * 0.01;
const askFor = (seq) => bidFor(seq) + 0.01 * (1 + (seq % 5));

// Control words in their own buffer: GO, STOP.
const GO = 0;
const STOP = 1;

if (isMainThread) {
  const price = new SeqLock({ dataByteLength: RECORD_BYTES, name: 'price' });
  price.write((v) => {
    v.setFloat64(SEQ, 0);
    v.setFloat64(BID, bidFor(0));
    v.setFloat64(ASK, askFor(0));
    v.setFloat64(TS, performance.timeOrigin);
  });
  const control = new Int32Array(new SharedArrayBuffer(8));
  const unlocked = process.argv.includes('--unlocked');

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
      const w = new Worker(new URL(import.meta.url), { workerData: { role, handle: price.handle, control, unlocked } });
      let result;
      w.on('message', (m) => (m === 'ready' ? ++ready === READERS + 1 && go() : (result = m)));
      w.on('error', reject);
      w.on('exit', (code) => (code === 0 && result ? resolve(result) : reject(new Error(`${role} exited with ${code}`))));
    });
  const [writer, ...readers] = await Promise.all([spawn('writer'), ...Array.from({ length: READERS }, () => spawn('reader'))]);
  const ms = performance.now() - t0;

  const sum = (k) => readers.reduce((n, r) => n + r[k], 0);
  const reads = sum('reads');
  const bad = sum('bad');
  console.log(
    `writer: ${writer.writes} records (${(writer.writes / ms).toFixed(0)} per ms); ` +
      `${READERS} readers: ${reads} snapshots, ${(sum('retries') / Math.max(1, reads)).toFixed(4)} retries per read, ` +
      `${sum('lockedReads')} fell back to the lock, inconsistent: ${bad}`,
  );
  if (bad > 0) console.log(`first inconsistent snapshot: ${readers.find((r) => r.example)?.example}`);
  process.exitCode = bad === 0 && reads > 0 && writer.writes > 0 ? 0 : 1;
} else {
  const price = SeqLock.from(workerData.handle);
  const { control } = workerData;
  parentPort.postMessage('ready');
  Atomics.wait(control, GO, 0); // returns at once if GO is already 1

  if (workerData.role === 'writer') {
    let seq = 0;
    while (Atomics.load(control, STOP) === 0) {
      for (let k = 0; k < 256; k++) {
        seq++;
        const ts = performance.timeOrigin + performance.now();
        price.write((v) => {
          v.setFloat64(SEQ, seq);
          v.setFloat64(BID, bidFor(seq));
          v.setFloat64(ASK, askFor(seq));
          v.setFloat64(TS, ts);
        });
      }
    }
    parentPort.postMessage({ writes: seq });
  } else {
    // The callback may run on a record being written (that run is discarded): it only copies.
    const snapshot = (v) => [v.getFloat64(SEQ), v.getFloat64(BID), v.getFloat64(ASK), v.getFloat64(TS)];
    const direct = new DataView(price.buffer, price.dataByteOffset, price.dataByteLength);
    const read = workerData.unlocked ? () => snapshot(direct) : () => price.read(snapshot);
    let reads = 0;
    let bad = 0;
    let example;
    let lastSeq = -1;
    let lastTs = 0;
    while (Atomics.load(control, STOP) === 0) {
      const [seq, bid, ask, ts] = read();
      reads++;
      const ok = bid < ask && bid === bidFor(seq) && ask === askFor(seq) && seq >= lastSeq && ts >= lastTs;
      if (!ok) {
        bad++;
        example ??= JSON.stringify({ seq, bid, ask, ts, lastSeq });
      }
      lastSeq = seq;
      lastTs = ts;
    }
    parentPort.postMessage({ reads, bad, example, retries: price.readRetries, lockedReads: price.lockedReads });
  }
}
