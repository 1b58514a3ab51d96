// A worker terminated in the middle of one of the lock table's critical sections (a grant, a
// release that hands the resource over, a steal) must not put the table out of service: its next
// locker rolls the half-done update back from the partition's journal (manager/table.ts, "Undo
// journal") and goes on, and the dead owner's holds are then freed as any dead owner's are.
// Before the journal, such a partition refused every later request with ERR_LOCK_BROKEN for good
// (scripts/repro-weblocks-terminate.mjs broke a WebLocks in 3 runs of 4).
//
// Each case stops a worker deterministically at its k-th Atomics call inside one operation
// (the worker wraps its own Atomics functions and parks at that call), for k = 1, 2, … until the
// operation completes without reaching k, terminates it there, and then checks from the main
// thread that every name can still be taken and that nothing of the dead worker is left.
import { describe, expect, it } from 'vitest';
import { within } from '../harness/bounds.mjs';
import { testCrew } from '../harness/spawn.js';

const url = new URL('../../dist/index.js', import.meta.url).href;
const crew = testCrew();

// The victim: attaches, sets up its case, then on 'go' runs the operation with its Atomics
// calls counted, parking for good before call number `k` ('stopped'), or reporting 'done'.
const VICTIM = `
const { workerData, parentPort } = require('node:worker_threads');
import(workerData.url).then(async ({ LockManager, WebLocks }) => {
  const gate = new Int32Array(workerData.gate);
  const park = Atomics.wait;
  let armed = false;
  let n = 0;
  for (const f of ['store', 'add', 'sub', 'or', 'and', 'exchange', 'compareExchange', 'notify']) {
    const orig = Atomics[f];
    Atomics[f] = function (...args) {
      if (armed && args[0] !== gate && ++n === workerData.k) {
        armed = false;
        parentPort.postMessage('stopped');
        park.call(Atomics, gate, 0, 0); // until terminated
      }
      return orig.apply(Atomics, args);
    };
  }
  const go = () => new Promise((r) => parentPort.once('message', r));
  const { kind } = workerData;
  if (kind === 'take' || kind === 'handover') {
    const lm = LockManager.from(workerData.handle);
    const held = kind === 'handover' ? lm.acquire(['r'], 'X') : undefined;
    parentPort.postMessage('ready');
    await go();
    armed = true;
    if (held) held.release(); // hands 'r' over to the peer's queued request
    else lm.acquire(['r'], 'X').release();
  } else {
    const wl = WebLocks.from(workerData.handle);
    if (kind === 'web-release') {
      let release;
      const p = wl.request('a', () => new Promise((r) => (release = r)));
      while (release === undefined) await new Promise((r) => setTimeout(r, 1)); // granted, callback running
      parentPort.postMessage('ready');
      await go();
      armed = true;
      release();
      await p;
    } else if (kind === 'close') {
      parentPort.postMessage('ready');
      await go();
      armed = true;
      // The peer holds 'a' through its fast word: this request closes it (the peer's hold becomes
      // a record), finds 'a' held and gives up: every step of a close under the partition lock.
      await wl.request('a', { ifAvailable: true }, (l) => l);
    } else {
      parentPort.postMessage('ready');
      await go();
      armed = true;
      await wl.request('a', { steal: true }, () => {}); // robs the peer's hold
    }
  }
  armed = false;
  parentPort.postMessage('done');
});`;

// The peer, in a thread of its own (the victim's creator must not block on a partition lock the
// victim holds: it would never see the victim's exit, docs/robustness.md): waits for 'r' (queued
// behind the victim) or holds 'a' (to be stolen). Reports 'queued' or 'held', then 'granted'
// (LockManager, the lock released again), or the settled WebLocks request ('ok', 'AbortError').
const PEER = `
const { workerData, parentPort } = require('node:worker_threads');
import(workerData.url).then(async ({ LockManager, WebLocks }) => {
  const { kind } = workerData;
  const report = (m) => parentPort.postMessage(m);
  if (kind === 'handover') {
    const lm = LockManager.from(workerData.handle);
    const q = lm.acquireAsync(['r'], 'X', { timeout: 5000 });
    while (lm.query().resources.every((r) => r.waiters.length === 0)) await new Promise((r) => setTimeout(r, 1));
    report('queued');
    const l = await q.catch((e) => e);
    if (l instanceof Error) return report(l.code ?? l.message);
    l.release();
    report('granted');
  } else {
    const wl = WebLocks.from(workerData.handle);
    // 'close': once 'a' has an entry and nothing on it, this thread's next request takes its fast word.
    if (kind === 'close') await wl.request('a', () => {});
    let end;
    const q = wl.request('a', { timeout: 5000 }, () => new Promise((r) => (end = r)))
      .then(() => 'ok', (e) => (e.name === 'LockError' ? e.code : e.name)); // robbed: rejects before the callback ends
    const holds = kind === 'steal' || kind === 'close';
    const want = holds ? 'held' : 'pending';
    while ((await wl.query())[want].length === 0) await new Promise((r) => setTimeout(r, 1));
    report(holds ? 'held' : 'queued');
    while (end === undefined) await new Promise((r) => setTimeout(r, 1));
    if (!holds) report('granted');
    else await new Promise((r) => parentPort.once('message', r)); // held until the victim is gone
    end();
    report(await q);
  }
});`;

/** Messages of a worker, one at a time, each within a time bound. */
function inbox(w: { on(ev: 'message', fn: (m: string) => void): unknown }, what: string) {
  const messages: string[] = [];
  let wake: (() => void) | undefined;
  w.on('message', (m: string) => {
    messages.push(m);
    wake?.();
  });
  return (step: string) =>
    within(
      new Promise<string>((resolve) => {
        const look = (): void => {
          wake = undefined; // a spent waiter must not take the next message
          if (messages.length > 0) resolve(messages.shift()!);
          else wake = look;
        };
        look();
      }),
      10_000,
      `${what}: ${step}`,
    );
}

type Kind = 'take' | 'handover' | 'web-release' | 'steal' | 'close';

/**
 * Runs one case with the victim parked before its Atomics call k and then terminated. Returns
 * whether it was stopped there, and the peer's reports after that (none for 'take').
 */
async function runCase(kind: Kind, k: number, handle: unknown, whileHeld?: () => Promise<void>): Promise<{ stopped: boolean; peer: string[] }> {
  const gate = new SharedArrayBuffer(4);
  const v = crew.start(VICTIM, { url, kind, k, handle, gate }, { what: `${kind} victim (k=${k})`, exitOk: true, workerOptions: { eval: true } });
  const fromVictim = inbox(v.worker, `${kind} victim (k=${k})`);
  expect(await fromVictim('ready')).toBe('ready');
  let fromPeer: ((step: string) => Promise<string>) | undefined;
  let p: ReturnType<typeof crew.start> | undefined;
  if (kind !== 'take') {
    p = crew.start(PEER, { url, kind, handle }, { what: `${kind} peer (k=${k})`, exitOk: true, workerOptions: { eval: true } });
    fromPeer = inbox(p.worker, `${kind} peer (k=${k})`);
    expect(await fromPeer('queued or held')).toMatch(/queued|held/);
  }
  v.worker.postMessage('go');
  const how = await fromVictim('stopped or done');
  await v.worker.terminate();
  await v.exited; // its creator (this thread) publishes the death now
  const peer: string[] = [];
  if (fromPeer !== undefined) {
    if (whileHeld !== undefined) await whileHeld();
    if (kind === 'steal' || kind === 'close') p!.worker.postMessage('end');
    peer.push(await fromPeer('granted, or its request settled'));
    if (kind !== 'steal' && peer[0] === 'granted' && kind !== 'handover') peer.push(await fromPeer('its request settled'));
  }
  return { stopped: how === 'stopped', peer };
}

describe('a worker terminated inside a lock table critical section', () => {
  it('LockManager: a take and release stopped at every Atomics step leaves the table in service', async () => {
    const { LockManager } = await import('../../dist/index.js');
    let stops = 0;
    for (let k = 1; k < 80; k++) {
      const lm = new LockManager({ capacity: 8 });
      const { stopped } = await runCase('take', k, lm.handle);
      const l = await within(lm.acquireAsync(['r'], 'X', { timeout: 4000 }), 5000, `X on r after a stop at step ${k}`);
      l.release();
      for (let j = 0; j < 20; j++) lm.acquire([`o${j}`], 'X', { timeout: 4000 }).release();
      expect(lm.query().resources.filter((r) => r.holders.length + r.waiters.length > 0)).toEqual([]);
      if (!stopped) break;
      stops++;
    }
    expect(stops).toBeGreaterThan(5);
  });

  it('LockManager: a release that hands over to a queued request, stopped at every step: the request is granted', async () => {
    const { LockManager } = await import('../../dist/index.js');
    let stops = 0;
    for (let k = 1; k < 80; k++) {
      const lm = new LockManager({ capacity: 8 });
      const { stopped, peer } = await runCase('handover', k, lm.handle);
      expect(peer).toEqual(['granted']);
      lm.acquire(['r'], 'X', { timeout: 4000 }).release();
      expect(lm.query().resources.filter((r) => r.holders.length + r.waiters.length > 0)).toEqual([]);
      if (!stopped) break;
      stops++;
    }
    expect(stops).toBeGreaterThan(5);
  });

  it.each(['web-release', 'steal'] as const)('WebLocks %s, stopped at every step: the other request settles, the name is free', async (kind) => {
    const { WebLocks } = await import('../../dist/index.js');
    let stops = 0;
    for (let k = 1; k < 120; k++) {
      const wl = new WebLocks({ capacity: 8 });
      const { stopped, peer } = await runCase(kind, k, wl.handle);
      // The queued request is granted once the dead holder is freed and resolves; the held one is
      // robbed (the steal went through: AbortError) or not (undone, or never begun: ok).
      if (kind === 'steal') expect(['ok', 'AbortError']).toContain(peer[0]);
      else expect(peer).toEqual(['granted', 'ok']);
      await expect(within(wl.request('a', { timeout: 4000 }, () => 'free'), 5000, `${kind} (k=${k}): a new request of a`)).resolves.toBe('free');
      expect(await wl.query()).toEqual({ held: [], pending: [] });
      if (!stopped) break;
      stops++;
    }
    expect(stops).toBeGreaterThan(5);
  });
});

describe('a worker terminated inside a close of a Web Locks fast word', () => {
  it('stopped at every step of a request that moves a fast hold into the table: the holder keeps it, then frees it', async () => {
    const { WebLocks } = await import('../../dist/index.js');
    let stops = 0;
    for (let k = 1; k < 120; k++) {
      const wl = new WebLocks({ capacity: 8 });
      const { stopped, peer } = await runCase('close', k, wl.handle, async () => {
        // The holder is alive and holds 'a' (in its word, or as the record the close made): an
        // undo or a half-made record must not let anybody else in.
        await expect(within(wl.request('a', { ifAvailable: true }, (l) => l), 5000, `close (k=${k}): ifAvailable while held`)).resolves.toBe(null);
      });
      // Its release finds its hold wherever the close left it: not robbed, nothing left behind.
      expect(peer).toEqual(['ok']);
      await expect(within(wl.request('a', { timeout: 4000 }, () => 'free'), 5000, `close (k=${k}): a new request of a`)).resolves.toBe('free');
      expect(await wl.query()).toEqual({ held: [], pending: [] });
      if (!stopped) break;
      stops++;
    }
    expect(stops).toBeGreaterThan(5);
  });
});

// Two deaths a review found (2026-12-05) that the step-by-step cases above do not reach.
describe('a worker terminated inside a lock table critical section: the review cases', () => {
  /** Starts an eval worker and returns its first message (it parks after sending 'stopped'). */
  async function stopAt(src: string, workerData: unknown, what: string) {
    const s = crew.start(src, workerData, { what, exitOk: true, workerOptions: { eval: true } });
    const first = (await within(s.firstMessage, 10_000, `${what}: stopped`)) as string;
    return { first, kill: async () => (await s.worker.terminate(), await s.exited) };
  }

  it('a release dying after it lowered a strong counter: no weak request takes the fast path beside the X it undoes', async () => {
    const { LockManager } = await import('../../dist/index.js');
    const lm = new LockManager({ capacity: 8 });
    const TX = lm.newOwner(); // a transaction owner: never found dead, so its X stays until releaseAll
    const v = await stopAt(
      `const { workerData, parentPort } = require('node:worker_threads');
       import(workerData.url).then(({ LockManager }) => {
         const lm = LockManager.from(workerData.handle);
         const h = lm.acquire(['k'], 'X', { owner: workerData.TX });
         const sub = Atomics.sub;
         // The release's first Atomics.sub (a strong counter: fastpath.ts strongEnd), still under
         // the partition lock before the fix, at the unlock after it.
         Atomics.sub = function (...args) {
           const r = sub.apply(Atomics, args);
           parentPort.postMessage('stopped');
           Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0); // until terminated
           return r;
         };
         h.release();
         parentPort.postMessage('done');
       });`,
      { url, handle: lm.handle, TX },
      'strong release victim',
    );
    expect(v.first).toBe('stopped');
    const U = lm.newOwner();
    // In the window: IX must not be granted beside an X whose release may still be undone.
    const ix = lm.tryAcquire(['k'], 'IX', { owner: U });
    await v.kill();
    const holders = lm.query().resources.flatMap((r) => r.holders.map((h) => `${h.owner === TX ? 'TX' : h.owner === U ? 'U' : h.owner}:${h.mode}`));
    // Either the release went through (TX holds nothing) or it did not (then U could not get IX).
    expect(holders.includes('TX:X') && holders.includes('U:IX'), `holders ${holders.join(' ')}`).toBe(false);
    ix?.release();
    lm.releaseAll(TX);
  });

  it('a drain of the free lists dying after it cleared its mark: no record is handed out twice', async () => {
    const { LockManager } = await import('../../dist/index.js');
    const shape = { capacity: 8, holderCapacity: 2 };
    // Three names in three partitions (the partition is the low 4 bits of the key query() shows).
    const scratch = new LockManager(shape);
    const partitionOf = (n: string) => {
      const l = scratch.acquire([n], 'X');
      const key = scratch.query().resources.find((r) => r.resource.includes(n))!.key;
      l.release();
      return parseInt(key.slice(8), 16) & 15;
    };
    const names: { n: string; p: number }[] = [];
    for (let i = 0; names.length < 3; i++) {
      const p = partitionOf(`n${i}`);
      if (!names.some((x) => x.p === p)) names.push({ n: `n${i}`, p });
    }
    const [x, y, z] = names as [{ n: string; p: number }, { n: string; p: number }, { n: string; p: number }];
    const lm = new LockManager(shape);
    const M = lm.newOwner();
    const hx = lm.tryAcquire([x.n], 'X', { owner: M })!; // record 0 (the pool's bump)
    const hy = lm.tryAcquire([y.n], 'X', { owner: M })!; // record 1: the pool is used up
    hx.release(); // record 0 → x's partition free list
    // The victim's request finds no record: drainFreeLists moves x's list to the global one. It
    // stops right after clearing the drain mark (H_DRAIN, header word 13) for x's partition.
    const v = await stopAt(
      `const { workerData, parentPort } = require('node:worker_threads');
       import(workerData.url).then(({ LockManager }) => {
         const lm = LockManager.from(workerData.handle);
         const H_DRAIN = (workerData.handle.byteOffset >> 2) + 13;
         const store = Atomics.store;
         let cleared = 0;
         Atomics.store = function (a, i, v) {
           const r = store.call(Atomics, a, i, v);
           if (i === H_DRAIN && v === 0 && cleared++ === workerData.px) {
             parentPort.postMessage('stopped');
             Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0); // until terminated
           }
           return r;
         };
         lm.acquire([workerData.z], 'X');
         parentPort.postMessage('done');
       });`,
      { url, handle: lm.handle, px: x.p, z: z.n },
      'drain victim',
    );
    expect(v.first).toBe('stopped');
    await v.kill();
    const A = lm.newOwner();
    const B = lm.newOwner();
    const ax = lm.tryAcquire([x.n], 'X', { owner: A });
    expect(ax).not.toBeNull();
    // Only one record is free (record 0): a second new hold must be refused, not given it again.
    expect(() => lm.tryAcquire([z.n], 'X', { owner: B })).toThrow(/capacity|CapacityError|holderCapacity/i);
    ax!.release();
    hy.release();
    const C = lm.newOwner();
    const cx = lm.tryAcquire([x.n], 'X', { owner: C });
    expect(cx).not.toBeNull();
    cx!.release();
    expect(lm.query().resources.filter((r) => r.holders.length + r.waiters.length > 0)).toEqual([]);
  });
});

// The thread that terminates a worker sees its 'exit' only on its own event loop. If it then, before
// that, takes the partition lock the worker died holding, it blocks synchronously and the 'exit'
// never comes: scripts/repro-weblocks-terminate.mjs hung so in 3 of 14 runs. Now a blocked
// creator asks Node's handle of its own worker whether it has stopped (core/owner-death.ts
// `stoppedProbe`). The creator here is a middle worker, so that a hang fails this test in time
// instead of blocking the test thread.
describe('a worker terminated inside a lock table critical section: the thread that terminates it', () => {
  it('takes the same partition at once after terminate(), before its event loop saw the exit: no hang', async () => {
    const { WebLocks } = await import('../../dist/index.js');
    const wl = new WebLocks({ capacity: 8 });
    const creator = crew.start(
      `const { Worker, workerData, parentPort } = require('node:worker_threads');
       import(workerData.url).then(async ({ WebLocks }) => {
         const wl = WebLocks.from(workerData.handle);
         // The victim stops right after it took a partition lock (a CAS 0 → its id on a
         // partition word: table.ts H_STRIPES = 16 words in, 16 apart), inside its request of 'a'.
         const victim = new Worker(\`
           const { workerData, parentPort, threadId } = require('node:worker_threads');
           import(workerData.url).then(({ WebLocks }) => {
             const wl = WebLocks.from(workerData.handle);
             const m = workerData.base + 16;
             const cas = Atomics.compareExchange;
             Atomics.compareExchange = function (a, i, e, v) {
               const r = cas.call(Atomics, a, i, e, v);
               if (r === 0 && e === 0 && v === threadId + 1 && i >= m && i < m + 256 && (i - m) % 16 === 0) {
                 parentPort.postMessage('inside');
                 Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0); // until terminated
               }
               return r;
             };
             wl.request('a', () => {});
           });\`, { eval: true, workerData: { url: workerData.url, handle: workerData.handle, base: (workerData.handle.manager.byteOffset >> 2) } });
         await new Promise((r) => victim.once('message', r));
         victim.terminate(); // not awaited: the next line blocks this thread until the victim is known dead
         const t0 = performance.now();
         const v = await wl.request('a', { timeout: 3000 }, () => 'granted');
         parentPort.postMessage({ done: true, result: { v, ms: performance.now() - t0 } });
       });`,
      { url, handle: wl.handle },
      { what: 'creator of the victim', timeoutMs: 10_000, workerOptions: { eval: true } },
    );
    const { v, ms } = await within(creator.done, 10_000, 'the creator to get a after terminating the victim (before the fix it blocked for good)');
    expect(v).toBe('granted');
    expect(ms).toBeLessThan(2000); // the owner-death bound; one or two sleep slices in practice
    expect(await wl.query()).toEqual({ held: [], pending: [] });
  });
});

describe('a worker that has not started yet is not taken for dead', () => {
  it('an owner id reserved for a worker just created survives query(), and that worker later holds its own lock alone', async () => {
    const { LockManager, Mutex, isThreadDead } = await import('../../dist/index.js');
    const { Worker } = await import('node:worker_threads');
    const lm = new LockManager({ capacity: 16 });
    const m = new Mutex();
    const flag = new Int32Array(new SharedArrayBuffer(8));
    // Node's handle of a worker answers as a stopped one's until the worker's environment exists
    // (core/owner-death.ts stoppedProbe): a review found such a worker published dead.
    const w = new Worker(
      `const { workerData, parentPort } = require('node:worker_threads');
       import(workerData.url).then(({ Mutex }) => {
         const m = Mutex.from(workerData.h);
         const f = workerData.f;
         m.lock();
         Atomics.store(f, 0, 1); // inside
         Atomics.notify(f, 0);
         Atomics.wait(f, 1, 0, 1000); // hold for up to 1 s (the main thread ends it sooner)
         Atomics.store(f, 0, 0);
         m.unlock();
         parentPort.postMessage('released');
       });`,
      { eval: true, workerData: { url, h: m.handle, f: flag } },
    );
    try {
      await new Promise((r) => process.nextTick(r)); // the 'worker' event has come; the worker has not started
      const id = w.threadId + 1;
      const held = lm.acquire(['job'], 'X', { owner: id }); // reserved for it, by id
      expect(lm.query().resources.map((r) => r.holders.map((h) => h.owner))).toEqual([[id]]);
      expect(isThreadDead(w.threadId)).toBe(false);
      // Once it holds the mutex, a lock() here must wait for its unlock, not take it over.
      while (Atomics.load(flag, 0) === 0) await new Promise((r) => setTimeout(r, 1));
      expect(m.tryLock(200)).toBe(false);
      Atomics.store(flag, 1, 1);
      Atomics.notify(flag, 1);
      await within(new Promise((r) => w.once('message', r)), 5000, 'the worker to release');
      held.release();
    } finally {
      await w.terminate();
    }
  });
});
