/**
 * Every implementation a suite can put in a row, by name. An implementation lists the workloads it
 * can run; each workload has `create(ctx)` (main thread: make the lock, return a
 * structured-cloneable description) and `attach(shared)` (in each worker: the operations the
 * workload loop in `worker.mjs` calls).
 *
 *   exclusive: { lock(), unlock() } or { locked(fn) } or weblocks' { request } (on the cell's one name)
 *   rw: { readLock, readUnlock, writeLock, writeUnlock }  seq: { read(fn), write(fn) }
 *   manager: { acquire(row), release(h) }
 *   semaphore: { acquire(), release() } — one permit each; `params.permits` permits in all
 *   weblocks: { request(name, fn) → promise, keepAlive? } — named async locks (`shared.name` is the
 *             cell's name); keepAlive: the loop holds a ref'd timer (see worker.mjs namedAsyncLoop)
 *   pingpong: { ping(), pong(done) } — one round trip each; pong waits with a timeout and returns
 *             false once done() (worker 0 has finished its round trips)
 *
 * `nodeFlags` moves a row into its own child process.
 * `c` names the implementation in native-bench/c/locks.c instead (run by cbench.mjs).
 * Locks sit at byte 128 of their own 384-byte buffer: padded against false sharing with anything.
 */
import * as workerThreads from 'node:worker_threads';
import sablock from './sablock.mjs';

/**
 * Node's built-in Web Locks (worker_threads.locks from Node 24.5, also navigator.locks): one
 * process-wide lock manager shared by the main thread and every worker. Undefined on older lines.
 */
export const nodeLocks = workerThreads.locks ?? globalThis.navigator?.locks;
export const NODE_LOCKS_MISSING = `worker_threads.locks not in Node ${process.version} (Node ≥ 24.5)`;

const PAD_BYTES = 384;
const AT = 128;

/** A fresh padded placement for one sablock primitive. */
function padded(extra = 0) {
  return { buffer: new SharedArrayBuffer(PAD_BYTES + extra), byteOffset: AT };
}

/** A bare word on its own line. */
function word() {
  return { sab: new SharedArrayBuffer(PAD_BYTES) };
}
const WORD_I = AT / 4;

/**
 * The JS floor: the least a lock can cost in JS. Acquire is one Atomics.compareExchange (spinning
 * on a load while taken), release one Atomics.store. No parking, no ownership, no checks.
 */
export class FloorLock {
  constructor(sab) {
    this.a = new Int32Array(sab);
  }
  lock() {
    const a = this.a;
    // 0 → 1 takes it; while taken, spin on a plain load (test-and-test-and-set).
    while (Atomics.compareExchange(a, WORD_I, 0, 1) !== 0) while (Atomics.load(a, WORD_I) !== 0);
  }
  unlock() {
    Atomics.store(this.a, WORD_I, 0);
  }
}

/**
 * A minimal hand-written futex mutex (Drepper's mutex3: 0 free, 1 locked, 2 locked with
 * waiters) — what a user writing their own lock would have: no spin, no fairness, no ownership
 * checks, no hooks. Also "the lock without hooks" of the lock-order checker's cost target.
 */
export class FutexLock {
  constructor(sab) {
    this.a = new Int32Array(sab);
  }
  lock() {
    const a = this.a;
    // Uncontended: 0 → 1.
    let c = Atomics.compareExchange(a, WORD_I, 0, 1);
    if (c !== 0) {
      // Contended: mark 2 (waiters) and sleep while it stays 2.
      if (c !== 2) c = Atomics.exchange(a, WORD_I, 2);
      while (c !== 0) {
        Atomics.wait(a, WORD_I, 2);
        c = Atomics.exchange(a, WORD_I, 2);
      }
    }
  }
  unlock() {
    // 1 → 0 needs no wake; 2 → 1 means waiters: clear and wake one.
    if (Atomics.sub(this.a, WORD_I, 1) !== 1) {
      Atomics.store(this.a, WORD_I, 0);
      Atomics.notify(this.a, WORD_I, 1);
    }
  }
}

/**
 * A minimal hand-written futex counting semaphore: what a user writing their own would have. Word
 * 0 counts free permits, word 1 the threads that announced a sleep. No spinning, no fairness, no
 * owner tracking.
 */
export class FutexSemaphore {
  constructor(sab) {
    this.a = new Int32Array(sab);
  }
  acquire() {
    const a = this.a;
    for (;;) {
      const c = Atomics.load(a, WORD_I);
      // A free permit: take it with one CAS (retry if another thread took one first).
      if (c > 0) {
        if (Atomics.compareExchange(a, WORD_I, c, c - 1) === c) return;
        continue;
      }
      // None: announce the sleep before sleeping, so a release that adds a permit after our
      // load sees us and notifies (or our wait sees its permit and returns at once).
      Atomics.add(a, WORD_I + 1, 1);
      Atomics.wait(a, WORD_I, 0); // sleep while no permit is free
      Atomics.sub(a, WORD_I + 1, 1);
    }
  }
  release() {
    Atomics.add(this.a, WORD_I, 1); // give the permit back, then wake one announced sleeper
    if (Atomics.load(this.a, WORD_I + 1) > 0) Atomics.notify(this.a, WORD_I, 1);
  }
}

/** Exclusive adapter for a sablock class with lock()/unlock(). */
function sablockExclusive(cls) {
  return {
    create: () => ({ handle: new sablock[cls](padded()).handle }),
    attach: (s) => sablock[cls].from(s.handle),
  };
}

/** RW workload on an exclusive lock: reads take it exclusively too. */
function exclusiveAsRw(ex) {
  return {
    create: ex.create,
    attach(s) {
      const l = ex.attach(s);
      return {
        readLock: () => l.lock(),
        readUnlock: () => l.unlock(),
        writeLock: () => l.lock(),
        writeUnlock: () => l.unlock(),
      };
    },
  };
}

const mutexExclusive = sablockExclusive('Mutex');
/** Semaphore workload on an exclusive lock: one permit, whatever `permits` says (the reference). */
const exclusiveAsSemaphore = (ex) => ({
  create: ex.create,
  attach(s) {
    const l = ex.attach(s);
    return { acquire: () => l.lock(), release: () => l.unlock() };
  },
});
const floorExclusive = { create: word, attach: (s) => new FloorLock(s.sab) };
const futexExclusive = { create: word, attach: (s) => new FutexLock(s.sab) };

/** Ping-pong over two semaphores (sablock's wake-up path); skipped without Semaphore. */
const semaphorePingpong = {
  create: () => ({
    a: new sablock.Semaphore(0, padded()).handle,
    b: new sablock.Semaphore(0, padded()).handle,
  }),
  attach(s) {
    const a = sablock.Semaphore.from(s.a);
    const b = sablock.Semaphore.from(s.b);
    return {
      ping() {
        a.release();
        b.acquire();
      },
      pong(done) {
        // Wait with a timeout so the partner can leave when the round ends.
        while (!a.tryAcquire(1, 50)) if (done()) return false;
        b.release();
        return true;
      },
    };
  },
};

/**
 * Ping-pong over a Mutex + Condition and a turn word (the textbook condvar hand-off). Each side
 * changes the turn under the lock and notifies either while still holding it, or (`unlockFirst`)
 * right after unlocking: notifying while holding it wakes a waiter that may then find the lock
 * still held and sleep again on it; the sleeps/op column shows the difference (docs/condition.md).
 */
function conditionPingpongWith(unlockFirst) {
  return {
    create: () => ({
      m: new sablock.Mutex(padded()).handle,
      cv: new sablock.Condition(padded()).handle,
      turn: word(),
    }),
    attach(s) {
      const m = sablock.Mutex.from(s.m);
      const cv = sablock.Condition.from(s.cv);
      const turn = new Int32Array(s.turn.sab);
      // Hand the turn over: notify inside the critical section, or after leaving it.
      const handOver = () => {
        if (unlockFirst) {
          m.unlock();
          cv.notify();
          m.lock();
        } else cv.notify();
      };
      return {
        ping() {
          m.lock();
          turn[WORD_I] = 1; // plain: only written and read under m
          handOver();
          while (turn[WORD_I] === 1) cv.wait(m);
          m.unlock();
        },
        pong(done) {
          m.lock();
          while (turn[WORD_I] === 0) {
            // Timed wait so the partner can leave when the round ends.
            if (!cv.wait(m, 50) && done()) {
              m.unlock();
              return false;
            }
          }
          turn[WORD_I] = 0;
          handOver();
          m.unlock();
          return true;
        },
      };
    },
  };
}
const conditionPingpong = conditionPingpongWith(false);
const conditionUnlockFirstPingpong = conditionPingpongWith(true);

/** Raw Atomics.wait/notify ping-pong: the JS futex round trip. */
const futexPingpong = {
  create: word,
  attach(s) {
    const w = new Int32Array(s.sab);
    return {
      ping() {
        // Hand the turn over (0 → 1) and wake the partner, then sleep until it hands it back.
        Atomics.store(w, WORD_I, 1);
        Atomics.notify(w, WORD_I, 1);
        while (Atomics.load(w, WORD_I) === 1) Atomics.wait(w, WORD_I, 1);
      },
      pong(done) {
        while (Atomics.load(w, WORD_I) === 0) {
          if (Atomics.wait(w, WORD_I, 0, 50) === 'timed-out' && done()) return false;
        }
        Atomics.store(w, WORD_I, 0);
        Atomics.notify(w, WORD_I, 1);
        return true;
      },
    };
  },
};

/** Web Locks are named, not placed in memory: a fresh name per cell (workers on disjoint names add `-index`). */
const freshName = () => ({ name: `sablock-bench-${Math.random().toString(36).slice(2)}` });

/** sablock's process-wide `locks`: the workers share it because the main thread imported sablock first. */
const sablockNamed = { create: freshName, attach: () => ({ request: (name, fn) => sablock.locks.request(name, fn) }) };

/**
 * Node's built-in Web Locks. A request that waits does not keep a worker's event loop alive
 * (24.22.3, 26.12.1: the worker exits with code 13, 'unsettled top-level await'), so its loop
 * holds a ref'd timer (keepAlive) while it runs; sablock's waits keep the loop alive themselves.
 */
const nodeLocksNamed = { create: freshName, attach: () => ({ request: (name, fn) => nodeLocks.request(name, fn), keepAlive: true }) };

export const IMPLS = {
  // ---- sablock ----
  Mutex: {
    family: 'sablock',
    workloads: { exclusive: mutexExclusive, rw: exclusiveAsRw(mutexExclusive), semaphore: exclusiveAsSemaphore(mutexExclusive) },
  },
  SpinLock: { family: 'sablock', workloads: { exclusive: sablockExclusive('SpinLock') } },
  TicketLock: { family: 'sablock', workloads: { exclusive: sablockExclusive('TicketLock') } },
  RWLock: {
    family: 'sablock',
    workloads: {
      rw: {
        create: () => ({ handle: new sablock.RWLock(padded()).handle }),
        attach(s) {
          const l = sablock.RWLock.from(s.handle);
          return {
            readLock: () => l.readLock(),
            readUnlock: () => l.readUnlock(),
            writeLock: () => l.writeLock(),
            writeUnlock: () => l.writeUnlock(),
          };
        },
      },
    },
  },
  SeqLock: {
    family: 'sablock',
    workloads: {
      seq: {
        create() {
          const bytes = sablock.SeqLock.byteLengthFor(64);
          return { handle: new sablock.SeqLock({ dataByteLength: 64, ...padded(bytes) }).handle };
        },
        attach(s) {
          const l = sablock.SeqLock.from(s.handle);
          return { read: (fn) => l.read(fn), write: (fn) => l.write(fn) };
        },
      },
    },
  },
  LockManager: {
    family: 'sablock',
    workloads: {
      manager: {
        create: () => ({ handle: new sablock.LockManager({ capacity: 4096 }).handle }),
        attach(s) {
          const lm = sablock.LockManager.from(s.handle);
          return { acquire: (row) => lm.acquire(['db', 't', row], 'X'), release: (h) => lm.release(h) };
        },
      },
    },
  },
  WebLocks: {
    family: 'sablock',
    about: "sablock's process-wide Web Locks: await locks.request(name, fn)",
    workloads: { weblocks: sablockNamed },
  },
  Semaphore: {
    family: 'sablock',
    workloads: {
      pingpong: semaphorePingpong,
      semaphore: {
        create: ({ phases }) => ({ handle: new sablock.Semaphore(phases[0].permits, padded()).handle }),
        attach(s) {
          const sem = sablock.Semaphore.from(s.handle);
          return { acquire: () => sem.acquire(), release: () => sem.release() };
        },
      },
    },
  },
  Condition: { family: 'sablock', workloads: { pingpong: conditionPingpong } },
  'Condition.unlockFirst': {
    family: 'sablock',
    about: 'Mutex + Condition, notify() after unlock() instead of while holding the Mutex',
    workloads: { pingpong: conditionUnlockFirstPingpong },
  },

  // ---- JS references ----
  'js-floor': {
    family: 'js-ref',
    about: 'Atomics.compareExchange acquire + Atomics.store release, spin while taken',
    workloads: { exclusive: floorExclusive },
  },
  'js-futex': {
    family: 'js-ref',
    about: "hand-written futex mutex (Drepper's mutex3); raw Atomics.wait/notify for ping-pong",
    workloads: { exclusive: futexExclusive, rw: exclusiveAsRw(futexExclusive), pingpong: futexPingpong },
  },
  'js-sem': {
    family: 'js-ref',
    about: 'hand-written futex counting semaphore (CAS on a permit count, Atomics.wait when none)',
    workloads: {
      semaphore: {
        create({ phases }) {
          const w = word();
          new Int32Array(w.sab)[WORD_I] = phases[0].permits;
          return w;
        },
        attach: (s) => new FutexSemaphore(s.sab),
      },
    },
  },
  'v8-mutex': {
    family: 'js-ref',
    about: "V8's Atomics.Mutex (node --harmony-struct), in its own process",
    nodeFlags: ['--harmony-struct'],
    workloads: {
      exclusive: {
        create: () => ({ m: new Atomics.Mutex() }),
        attach: (s) => ({ locked: (fn) => Atomics.Mutex.lock(s.m, fn) }),
      },
    },
  },

  'node-locks': {
    family: 'js-ref',
    about: "Node's built-in Web Locks: await worker_threads.locks.request(name, fn) (Node ≥ 24.5)",
    missing: () => (nodeLocks ? null : NODE_LOCKS_MISSING),
    workloads: { exclusive: nodeLocksNamed, weblocks: nodeLocksNamed },
  },

  // ---- negative control (suite `selftest`): no exclusion at all; the data check must catch it ----
  'js-broken': {
    family: 'test',
    about: 'no lock at all (negative control: its data check must fail)',
    workloads: {
      exclusive: { create: word, attach: () => ({ lock() {}, unlock() {} }) },
      rw: { create: word, attach: () => ({ readLock() {}, readUnlock() {}, writeLock() {}, writeUnlock() {} }) },
      semaphore: { create: word, attach: () => ({ acquire() {}, release() {} }) },
    },
  },

  // ---- C references (native-bench/c/locks.c) ----
  'c-pthread': { family: 'c', c: { exclusive: 'pthread', rw: 'pthread' }, about: 'pthread_mutex_t (glibc)' },
  'c-futex': { family: 'c', c: { exclusive: 'futex', pingpong: 'futex' }, about: 'futex mutex (mutex3), raw futex round trip' },
  'c-ttas': { family: 'c', c: { exclusive: 'ttas' }, about: 'test-and-test-and-set spinlock with PAUSE' },
  'c-rwlock': { family: 'c', c: { rw: 'rwlock' }, about: 'pthread_rwlock_t (glibc)' },
  'c-seqlock': { family: 'c', c: { seq: 'seqlock' }, about: 'seqcount + writer spinlock' },
};

/** Why `name` cannot run here, or null when it can. */
export function unavailable(name) {
  const impl = IMPLS[name];
  if (!impl) return `unknown implementation ${name}`;
  const absent = impl.missing?.();
  if (absent) return absent;
  return null;
}
