/**
 * Single-thread (uncontended) costs, measured with tinybench. Each task runs a batch of `batch`
 * operations per call so the timer and call overhead vanish next to what is measured; the
 * reported figure is nanoseconds per operation: each round's median sample, then the median and
 * spread of the rounds, as for the worker suites.
 */
import { Bench } from 'tinybench';
import { Mutex as AsyncMutex } from 'async-mutex';
import sablock from './sablock.mjs';
import { FutexLock, nodeLocks, NODE_LOCKS_MISSING } from './impls.mjs';
import { median, spread } from './stats.mjs';

const BATCH = 1000;

/** The no-hooks build of sablock (tsup's second config), or null when it was not built. */
const nohooks = await import('../build/nohooks/index.js').catch(() => null);
const ASYNC_BATCH = 100;

function exclusive(cls) {
  return {
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

/** A row that awaits `op(f)` ASYNC_BATCH times per call, `f` a callback that does nothing. */
function awaitEach(about, op, extra = {}) {
  return {
    about,
    batch: ASYNC_BATCH,
    ...extra,
    make() {
      const f = () => {};
      return async () => {
        for (let i = 0; i < ASYNC_BATCH; i++) await op(f);
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
  'Mutex.nohooks': {
    about: 'Mutex from the build without verifier/observe branches (native-bench/build/nohooks)',
    make() {
      if (!nohooks) throw new Error('native-bench/build/nohooks missing: run npm run build');
      const l = new nohooks.Mutex();
      return () => {
        for (let i = 0; i < BATCH; i++) {
          l.lock();
          l.unlock();
        }
      };
    },
  },
  SpinLock: exclusive('SpinLock'),
  TicketLock: exclusive('TicketLock'),
  'Mutex.withLock': {
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
  'node-locks': awaitEach(
    "Node's built-in Web Locks: await worker_threads.locks.request(name, fn) (Node ≥ 24.5)",
    (f) => nodeLocks.request('sablock-bench-micro', f),
    { missing: () => (nodeLocks ? null : NODE_LOCKS_MISSING) },
  ),
  'promise-callback': awaitEach(
    "what a request costs without any lock: await a promise that a queued microtask resolves with the callback's result",
    (f) => new Promise((resolve) => queueMicrotask(() => resolve(f()))),
  ),
  'LockManager.task': {
    about: "the same, holding X on [name] of a Web Locks-shaped LockManager (strict FIFO, no fast path) around the callback: the lock manager's part of a request",
    batch: ASYNC_BATCH,
    make() {
      const lm = new sablock.LockManager({ fifo: true, fastPath: false, deadlockTimeout: Infinity, escalationThreshold: 0 });
      const f = () => {};
      const path = ['sablock-bench-micro'];
      return async () => {
        for (let i = 0; i < ASYNC_BATCH; i++) {
          await new Promise((resolve) => {
            // The one-turn grant Web Locks uses for a request that need not wait.
            const l = lm._takeNow(path, 'X');
            queueMicrotask(() => {
              const r = f();
              l.release();
              resolve(r);
            });
          });
        }
      };
    },
  },
  'WebLocks.request': awaitEach("sablock's process-wide Web Locks: await locks.request(name, fn)", (f) =>
    sablock.locks.request('sablock-bench-micro', f),
  ),
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
  return t.missing?.() ?? null;
}

/**
 * Runs the named tasks in this process, interleaved: `rounds` rounds, each running every task for
 * `time` ms, so a burst of load from elsewhere hits all tasks of a table alike instead of one.
 * Returns one { name, median (ns/op, median of the rounds' p50), spread (half the range of the
 * rounds, % of the median), samples (each round's p50) } per task, or { name, error }.
 */
export async function runMicro(names, { time = 200, warmupTime = 150, rounds = 3 } = {}) {
  const fns = new Map();
  const samples = new Map(names.map((n) => [n, []]));
  const errors = new Map();
  for (let r = 0; r < rounds; r++) {
    for (const name of names) {
      if (errors.has(name)) continue;
      const t = MICRO[name];
      // The first round warms each task up; later rounds find it compiled.
      const bench = new Bench({ time, warmupTime: r === 0 ? warmupTime : 20 });
      try {
        if (!fns.has(name)) fns.set(name, t.make());
        bench.add(name, fns.get(name));
        await bench.run();
        const res = bench.tasks[0].result;
        if (res.state !== 'completed') throw res.error ?? new Error(`task ${res.state}`);
        samples.get(name).push((res.latency.p50 * 1e6) / (t.batch ?? BATCH));
      } catch (e) {
        errors.set(name, String(e?.stack ?? e));
      }
    }
  }
  return names.map((name) => {
    if (errors.has(name)) return { name, error: errors.get(name) };
    const xs = samples.get(name);
    return { name, median: median(xs), spread: spread(xs), samples: xs };
  });
}
