/**
 * Single-thread (uncontended) costs, measured with tinybench. Each task runs a batch of `batch`
 * operations per call so the timer and call overhead vanish next to what is measured; the
 * reported figure is nanoseconds per operation (median of the samples) and the spread (median
 * absolute deviation of the samples, in % of the median).
 */
import { Bench } from 'tinybench';
import { Mutex as AsyncMutex } from 'async-mutex';
import sablock, { has } from './sablock.mjs';
import { FutexLock } from './impls.mjs';

const BATCH = 1000;
const ASYNC_BATCH = 100;

function exclusive(cls) {
  return {
    requires: [cls],
    make() {
      const l = new sablock[cls]();
      return () => {
        for (let i = 0; i < BATCH; i++) {
          l.lock();
          l.unlock();
        }
      };
    },
  };
}

const PAD = 128;

export const MICRO = {
  floor: {
    about: 'Atomics.compareExchange + Atomics.store',
    make() {
      const a = new Int32Array(new SharedArrayBuffer(PAD * 2));
      return () => {
        for (let i = 0; i < BATCH; i++) {
          if (Atomics.compareExchange(a, 32, 0, 1) !== 0) throw new Error('floor: taken');
          Atomics.store(a, 32, 0);
        }
      };
    },
  },
  'js-futex': {
    about: 'hand-written futex mutex, lock()+unlock()',
    make() {
      const l = new FutexLock(new SharedArrayBuffer(384));
      return () => {
        for (let i = 0; i < BATCH; i++) {
          l.lock();
          l.unlock();
        }
      };
    },
  },
  Mutex: exclusive('Mutex'),
  SpinLock: exclusive('SpinLock'),
  TicketLock: exclusive('TicketLock'),
  'Mutex.withLock': {
    requires: ['Mutex'],
    make() {
      const l = new sablock.Mutex();
      let n = 0;
      const f = () => n++;
      return () => {
        for (let i = 0; i < BATCH; i++) l.withLock(f);
      };
    },
  },
  'Mutex.lockAsync': {
    requires: ['Mutex'],
    batch: ASYNC_BATCH,
    make() {
      const l = new sablock.Mutex();
      return async () => {
        for (let i = 0; i < ASYNC_BATCH; i++) {
          await l.lockAsync();
          l.unlock();
        }
      };
    },
  },
  'async-mutex': {
    about: 'async-mutex Mutex: await acquire() + release()',
    batch: ASYNC_BATCH,
    make() {
      const m = new AsyncMutex();
      return async () => {
        for (let i = 0; i < ASYNC_BATCH; i++) {
          const release = await m.acquire();
          release();
        }
      };
    },
  },
  'v8-mutex': {
    about: "V8's Atomics.Mutex.lock(m, fn) (--harmony-struct)",
    nodeFlags: ['--harmony-struct'],
    make() {
      const m = new Atomics.Mutex();
      let n = 0;
      const f = () => n++;
      return () => {
        for (let i = 0; i < BATCH; i++) Atomics.Mutex.lock(m, f);
      };
    },
  },
  'RWLock.read': {
    requires: ['RWLock'],
    make() {
      const l = new sablock.RWLock();
      return () => {
        for (let i = 0; i < BATCH; i++) {
          l.readLock();
          l.readUnlock();
        }
      };
    },
  },
  'RWLock.write': {
    requires: ['RWLock'],
    make() {
      const l = new sablock.RWLock();
      return () => {
        for (let i = 0; i < BATCH; i++) {
          l.writeLock();
          l.writeUnlock();
        }
      };
    },
  },
  'seq-floor': {
    about: 'two Atomics.load + plain DataView reads of a 64-byte record',
    make() {
      const sab = new SharedArrayBuffer(512);
      const seq = new Int32Array(sab);
      const view = new DataView(sab, 256, 64);
      let sink = 0;
      return () => {
        for (let i = 0; i < BATCH; i++) {
          const s1 = Atomics.load(seq, 32);
          let v = 0;
          for (let k = 0; k < 64; k += 8) v += view.getFloat64(k);
          if (Atomics.load(seq, 32) !== s1) throw new Error('seq-floor: moved');
          sink += v;
        }
        return sink;
      };
    },
  },
  'SeqLock.read': {
    about: 'read() of a 64-byte record (8 getFloat64)',
    requires: ['SeqLock'],
    make() {
      const l = new sablock.SeqLock({ dataByteLength: 64 });
      const read = (view) => {
        let v = 0;
        for (let k = 0; k < 64; k += 8) v += view.getFloat64(k);
        return v;
      };
      let sink = 0;
      return () => {
        for (let i = 0; i < BATCH; i++) sink += l.read(read);
        return sink;
      };
    },
  },
  'LockManager.X': {
    about: "acquire(['db','t',row],'X') + release(h)",
    requires: ['LockManager'],
    batch: ASYNC_BATCH,
    make() {
      const lm = new sablock.LockManager({ capacity: 4096 });
      const path = ['db', 't', 42];
      return () => {
        for (let i = 0; i < ASYNC_BATCH; i++) lm.release(lm.acquire(path, 'X'));
      };
    },
  },
};

/** Why micro task `name` cannot run here, or null. */
export function microUnavailable(name) {
  const t = MICRO[name];
  if (!t) return `unknown task ${name}`;
  const missing = (t.requires ?? []).filter((e) => !has(e));
  return missing.length ? `${missing.join(', ')} not exported by dist/ (not merged yet?)` : null;
}

/**
 * Runs the named tasks in this process, in order. Returns one
 * { name, median (ns/op), spread (MAD %), samplesCount } per task, or { name, error }.
 */
export async function runMicro(names, { time = 500, warmupTime = 150 } = {}) {
  const out = [];
  for (const name of names) {
    const t = MICRO[name];
    const bench = new Bench({ time, warmupTime });
    try {
      bench.add(name, t.make());
      await bench.run();
      const r = bench.tasks[0].result;
      if (r.state !== 'completed') throw r.error ?? new Error(`task ${r.state}`);
      const batch = t.batch ?? BATCH;
      out.push({
        name,
        median: (r.latency.p50 * 1e6) / batch,
        spread: (r.latency.mad / r.latency.p50) * 100,
        samplesCount: r.latency.samplesCount,
      });
    } catch (e) {
      out.push({ name, error: String(e?.stack ?? e) });
    }
  }
  return out;
}
