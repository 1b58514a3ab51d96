/**
 * Remote-control worker: attaches to a lock through an adapter (see adapters.mjs) and runs the
 * calls the test thread sends it, one message each: `{ id, op, args }` → `{ id, ok, value }` or
 * `{ id, ok: false, error: { name, code, message } }`. Async calls (lockAsync) run concurrently
 * with later messages, as on any event loop.
 *
 * Ops: any method of the adapted lock (lock, unlock, tryLock, lockAsync, isLocked, …), plus
 *   attach(kind, handle)  drive another lock from now on (reusing the thread)
 *   unlockAfter(ms)  release after ms (setTimeout), reply once released
 *   sleep(ms)        block this thread for ms (Atomics.wait), reply after
 *   barge(rounds, holdMs, flagBuffer)  hold, release and re-take at once, `rounds` times or
 *                    until Int32 flag[0] != 0; replies with the rounds done
 *   info()           { className, name, byteOffset, handleKind, instanceOf } of this thread's view
 *                    (of the adapter's `target`, the library object it drives, if it names one)
 *   holdFor(ms, slotsBuffer)  acquire (blocking), mark entry in the control slots
 *                    (slots.mjs), stay inside for ms or until the test sets RELEASE (blocked
 *                    in Atomics.wait: alive, but running nothing else), leave, release;
 *                    replies { ownerDied } as seen inside. An adapter
 *                    whose lock is scoped (SeqLock's write) supplies `hold(fn)` for the
 *                    acquire/release around it.
 *   ownerDied()      the lock's `ownerDied` (a getter, so not reachable as a method)
 */
import { parentPort, workerData } from 'node:worker_threads';
import * as lib from '../../dist/index.js';
import { enter, leave, RELEASE } from './slots.mjs';

const { adapters: adaptersUrl, kind, handle } = workerData;
const { adapters } = await import(adaptersUrl);
let lock = adapters[kind](handle, lib);
const sleeper = new Int32Array(new SharedArrayBuffer(4));

const special = {
  attach: (k, h) => {
    lock = adapters[k](h, lib);
  },
  unlockAfter: (ms) =>
    new Promise((resolve, reject) =>
      setTimeout(() => {
        try {
          lock.unlock();
          resolve(undefined);
        } catch (e) {
          reject(e);
        }
      }, ms),
    ),
  sleep: (ms) => {
    // Blocks this thread: nothing else runs here meanwhile.
    Atomics.wait(sleeper, 0, 0, ms);
  },
  barge: (rounds, holdMs, flagBuffer) => {
    // A thread that never lets go: hold for holdMs, release, re-take at once; `rounds` times, or
    // until flag[0] is set. Returns the rounds done. Only a lock that hands off to a waiter
    // parked long enough lets anyone in between (the re-take is a few ns after the release).
    const flag = new Int32Array(flagBuffer);
    lock.lock();
    let r = 0;
    try {
      for (; r < rounds && Atomics.load(flag, 0) === 0; r++) {
        Atomics.wait(sleeper, 0, 0, holdMs);
        lock.unlock();
        lock.lock();
      }
    } finally {
      lock.unlock();
    }
    return r;
  },
  holdFor: (ms, slotsBuffer) => {
    const slots = new Int32Array(slotsBuffer);
    const inside = () => {
      const ownerDied = lock.ownerDied === true;
      enter(slots, ownerDied);
      try {
        if (ms > 0) Atomics.wait(slots, RELEASE, 0, ms);
      } finally {
        leave(slots);
      }
      return { ownerDied };
    };
    if (typeof lock.hold === 'function') return lock.hold(inside);
    lock.lock();
    try {
      return inside();
    } finally {
      lock.unlock();
    }
  },
  ownerDied: () => lock.ownerDied === true,
  info: () => {
    const o = lock.target ?? lock;
    return {
      className: o.constructor?.name,
      name: o.name,
      byteOffset: o.byteOffset,
      handleKind: o.handle?.kind,
      // The library's exported classes this object is an instance of.
      instanceOf: Object.keys(lib).filter((k) => typeof lib[k] === 'function' && typeof lib[k].prototype === 'object' && o instanceof lib[k]),
    };
  },
};

function plain(v) {
  // Guards and other objects do not cross threads; say what they were.
  if (v === null || typeof v !== 'object') return v;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null ? v : `[${v.constructor?.name ?? 'object'}]`;
}

parentPort.on('message', async ({ id, op, args }) => {
  try {
    const fn = special[op] ?? (typeof lock[op] === 'function' ? lock[op].bind(lock) : undefined);
    if (fn === undefined) throw new TypeError(`remote worker: no op ${JSON.stringify(op)}`);
    const value = await fn(...args);
    parentPort.postMessage({ id, ok: true, value: plain(value) });
  } catch (e) {
    parentPort.postMessage({ id, ok: false, error: { name: e?.name, code: e?.code, message: e?.message ?? String(e) } });
  }
});
parentPort.postMessage({ ready: true });
