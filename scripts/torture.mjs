#!/usr/bin/env node
// Lock torture (in the spirit of Linux's locktorture), run after `npm run build`:
//
//   npm run torture -- --minutes 10            # or --seconds 45
//   node scripts/torture.mjs --broken --seconds 5   # adds a deliberately broken lock: must fail
//
// Every primitive sablock exports (Mutex, SpinLock, TicketLock; RWLock, Semaphore, SeqLock when
// present) runs under 2 × cores workers of its own (--workers N to change), each doing a random mix
// of sync / try / timed / async / async-with-timeout / aborted / withLock operations with random
// hold and gap times, in stutter phases (run a few seconds, pause, run again). Each primitive's
// invariant is checked inside every critical section (an atomic "inside" counter and a pair of
// plainly written fields that must agree). For primitives that recover from owner death the main
// thread also terminates workers: holders inside their critical section ("holder kills", the
// worker is told to sleep there at its next acquisition) and, for the word locks, workers at any
// random moment ("blind kills"). Each kill is replaced by a fresh worker. The first owner after a
// death sees ownerDied, repairs the fields, calls markConsistent() and records the time, which
// gives the recovery latency from the 'exit' event. RWLock (a writer mid-write or a reader),
// Semaphore (created with trackOwners, a permit holder) and SeqLock (a writer mid-write) have
// their holders killed too: the recovery time is when a live thread reaped the dead holder's hold
// (the `sablock:owner-died` event) or, for SeqLock, first saw `ownerDied`; readers that see
// `ownerDied` skip the data checks (the dead writer's half-done update is published as it was),
// and a writer that sees it repairs the fields and calls markConsistent(). A watchdog reports a
// hang when a primitive makes no progress for 5 s while running.
//
// Prints per primitive: operations, violations, hangs, fairness (min / mean per-worker op rate),
// kills and recoveries with p50 / p99 / max latency. Exit code 1 on any violation, hang or
// unrecovered holder kill. --json FILE also writes the figures as JSON.
import { Worker, isMainThread, workerData, parentPort } from 'node:worker_threads';
import { parseArgs } from 'node:util';
import { availableParallelism } from 'node:os';
import { writeFileSync } from 'node:fs';
import diagnosticsChannel from 'node:diagnostics_channel';
import * as sablock from '../dist/index.js';

const wall = () => performance.timeOrigin + performance.now();
const rand = (n) => Math.floor(Math.random() * n);

// ---- shared layout --------------------------------------------------------------------------
// ctl (Int32): PHASE (1 run, 0 pause), STOP, then per worker slot KILL_REQ and DYING.
const PHASE = 0;
const STOP = 1;
const SLOT_BASE = 16;
const MAX_SLOTS = 4096;
const killReq = (slot) => SLOT_BASE + 2 * slot;
const dying = (slot) => SLOT_BASE + 2 * slot + 1;
// Per-primitive region (Int32): the invariant fields and counters.
const INSIDE = 0; // writers/holders inside (Atomics.add on entry must return 0)
const X = 1; // plain fields written X first, Y last: equal whenever nobody is inside
const Y = 2;
const HOLDER = 3; // slot of the last holder (plain write inside the critical section)
const VIOL = 4; // violations seen
const REPAIRS = 5; // owner-death repairs done
const READERS = 6; // readers inside (RWLock)
const DEAD = 7; // slot of the last holder asked to die (RWLock, Semaphore, SeqLock), for the recovery time
const REGION_WORDS = 16;

// ---- a deliberately broken lock (negative control) -----------------------------------------
// Test-then-set with a gap: two threads can both see it free and both enter.
class BrokenLock {
  constructor(buffer) {
    this.a = new Int32Array(buffer ?? new SharedArrayBuffer(4));
  }
  get handle() {
    return { buffer: this.a.buffer };
  }
  static from(h) {
    return new BrokenLock(h.buffer);
  }
  lock() {
    for (let n = 0; Atomics.load(this.a, 0) !== 0; n++) if (n > 64) Atomics.wait(this.a, 0, 1, 0.05);
    for (let k = 0; k < 200; k++); // the race window
    Atomics.store(this.a, 0, 1); // BROKEN: not a compare-and-swap
    return { ownerDied: false, unlock: () => this.unlock() };
  }
  unlock() {
    Atomics.store(this.a, 0, 0);
  }
  tryLock() {
    return Atomics.load(this.a, 0) === 0 ? (this.lock(), true) : false;
  }
  async lockAsync() {
    return this.lock();
  }
  withLock(fn) {
    this.lock();
    try {
      return fn();
    } finally {
      this.unlock();
    }
  }
  get ownerDied() {
    return false;
  }
  markConsistent() {}
}

// ---- adapters: how to create, attach and exercise each primitive ---------------------------
const EXCLUSIVE_OPS = ['lock', 'lock', 'try', 'tryMs', 'async', 'async', 'asyncTimeout', 'asyncAbort', 'with'];
const ADAPTERS = {
  Mutex: { available: () => typeof sablock.Mutex === 'function', robust: true, blindKill: true, exclusive: true },
  SpinLock: { available: () => typeof sablock.SpinLock === 'function', robust: true, blindKill: true, exclusive: true },
  // TicketLock: holder kills only; a thread killed while queued holding a ticket is a known gap.
  TicketLock: { available: () => typeof sablock.TicketLock === 'function', robust: true, blindKill: false, exclusive: true },
  BrokenLock: { available: () => true, robust: false, blindKill: false, exclusive: true, broken: true },
  // Holder kills only: a kill at a random moment could land between a take and its record (a
  // documented leak, docs/robustness.md), which the torture would then report as a hang.
  RWLock: { available: () => typeof sablock.RWLock === 'function', robust: true, blindKill: false },
  Semaphore: { available: () => typeof sablock.Semaphore === 'function', robust: true, blindKill: false },
  SeqLock: { available: () => typeof sablock.SeqLock === 'function', robust: true, blindKill: false },
};
const SEM_PERMITS = 2;

function createPrimitive(kind) {
  if (kind === 'BrokenLock') return new BrokenLock().handle;
  // trackOwners: permits are recorded per thread, so a dead holder's permit comes back.
  if (kind === 'Semaphore') return new sablock.Semaphore(SEM_PERMITS, { name: 'torture-Semaphore', trackOwners: true }).handle;
  if (kind === 'SeqLock') return new sablock.SeqLock({ dataByteLength: 16, name: 'torture-SeqLock' }).handle;
  return new sablock[kind]({ name: `torture-${kind}` }).handle;
}

function attachPrimitive(kind, handle) {
  if (kind === 'BrokenLock') return BrokenLock.from(handle);
  return sablock[kind].from(handle);
}

// ---- worker ---------------------------------------------------------------------------------
async function workerMain() {
  const { kind, slot, handle, region, ctlBuf, opsBuf, repairBuf, failBuf } = workerData;
  const lock = attachPrimitive(kind, handle);
  const R = new Int32Array(region);
  const ctl = new Int32Array(ctlBuf);
  const ops = new Int32Array(opsBuf);
  const fails = new Int32Array(failBuf);
  const repairAt = new Float64Array(repairBuf);
  const nap = new Int32Array(new SharedArrayBuffer(4));
  let reported = 0;
  const violation = (msg) => {
    Atomics.add(R, VIOL, 1);
    if (reported++ < 3) parentPort.postMessage({ type: 'violation', kind, msg });
  };
  const busy = (n) => {
    let s = 0;
    for (let k = 0; k < n; k++) s = (s + k) | 0;
    return s;
  };
  const hold = async () => {
    const r = Math.random();
    if (r < 0.6) return;
    if (r < 0.9) busy(rand(2000));
    else if (r < 0.97) Atomics.wait(nap, 0, 0, Math.random()); // sleep up to 1 ms holding it
    else await new Promise((res) => setImmediate(res)); // an event-loop turn holding it
  };
  // The previous owner died inside: repair its half-done update, then declare consistency.
  const repairAfterDeath = () => {
    Atomics.store(R, INSIDE, 0);
    R[Y] = R[X];
    repairAt[R[HOLDER]] = wall();
    Atomics.add(R, REPAIRS, 1);
    lock.markConsistent();
  };
  // Asked to die while holding (a kill request for this slot): undo what the data checks count for
  // this holder (`leave`, optional), say which slot died, announce it and sleep holding until
  // terminated.
  const dieIfAsked = (leave) => {
    if (Atomics.load(ctl, killReq(slot)) !== 1) return;
    leave?.();
    Atomics.store(R, DEAD, slot);
    Atomics.store(ctl, dying(slot), 1);
    Atomics.notify(ctl, dying(slot));
    for (;;) Atomics.wait(nap, 0, 0);
  };
  // RWLock and Semaphore: the thread that reaps a dead holder publishes sablock:owner-died (in its
  // own thread); that moment is the recovery.
  if (kind === 'RWLock' || kind === 'Semaphore') {
    diagnosticsChannel.subscribe(sablock.CHANNELS.ownerDied, (m) => {
      if (m.lock === lock) repairAt[Atomics.load(R, DEAD)] = wall();
    });
  }
  // The exclusive critical section and its invariant.
  const exclusive = async (died) => {
    if (died) repairAfterDeath();
    if (Atomics.add(R, INSIDE, 1) !== 0) violation('two holders inside at once');
    const x = R[X];
    if (R[Y] !== x) violation(`torn pair: X=${x} Y=${R[Y]}`);
    R[HOLDER] = slot;
    dieIfAsked(); // dies inside, before its update: the next owner repairs from HOLDER
    R[X] = x + 1;
    await hold();
    R[Y] = x + 1;
    Atomics.sub(R, INSIDE, 1);
  };
  const timeoutOrAbort = (e) => e?.name === 'TimeoutError' || e?.name === 'AbortError';
  const exclusiveOp = async () => {
    const op = EXCLUSIVE_OPS[rand(EXCLUSIVE_OPS.length)];
    switch (op) {
      case 'lock': {
        const g = lock.lock();
        await exclusive(g.ownerDied);
        g.unlock();
        return true;
      }
      case 'try':
      case 'tryMs': {
        if (!(op === 'try' ? lock.tryLock() : lock.tryLock(rand(5)))) return false;
        await exclusive(lock.ownerDied);
        lock.unlock();
        return true;
      }
      case 'async':
      case 'asyncTimeout':
      case 'asyncAbort': {
        let opts;
        let timer;
        if (op === 'asyncTimeout') opts = { timeout: rand(5) };
        if (op === 'asyncAbort') {
          const ac = new AbortController();
          timer = setTimeout(() => ac.abort(), rand(5));
          opts = { signal: ac.signal };
        }
        let g;
        try {
          g = await lock.lockAsync(opts);
        } catch (e) {
          if (timeoutOrAbort(e)) return false;
          throw e;
        } finally {
          clearTimeout(timer);
        }
        await exclusive(g.ownerDied);
        g.unlock();
        return true;
      }
      case 'with': {
        // Sync body: withLock does not await.
        lock.withLock(() => {
          const died = lock.ownerDied;
          if (died) repairAfterDeath();
          if (Atomics.add(R, INSIDE, 1) !== 0) violation('two holders inside at once (withLock)');
          const x = R[X];
          if (R[Y] !== x) violation(`torn pair: X=${x} Y=${R[Y]}`);
          R[HOLDER] = slot;
          R[X] = x + 1;
          busy(rand(500));
          R[Y] = x + 1;
          Atomics.sub(R, INSIDE, 1);
        });
        return true;
      }
    }
    return false;
  };
  const rwOp = async () => {
    const write = Math.random() < 0.3;
    if (write) {
      const r = Math.random();
      if (r < 0.5) lock.writeLock();
      else if (r < 0.8) await lock.writeLockAsync();
      else if (!lock.tryWriteLock(rand(5))) return false;
      if (lock.ownerDied) {
        // A writer died mid-write (or a reader died): undo its half-done update, then declare it.
        Atomics.store(R, INSIDE, 0);
        R[Y] = R[X];
        Atomics.add(R, REPAIRS, 1);
        lock.markConsistent();
      }
      if (Atomics.add(R, INSIDE, 1) !== 0) violation('two writers inside');
      if (Atomics.load(R, READERS) !== 0) violation('writer inside with readers');
      const x = R[X];
      R[X] = x + 1;
      dieIfAsked(); // dies with X written and Y not: a torn pair for the next writer to repair
      await hold();
      R[Y] = x + 1;
      Atomics.sub(R, INSIDE, 1);
      lock.writeUnlock();
    } else {
      const r = Math.random();
      if (r < 0.5) lock.readLock();
      else if (r < 0.8) await lock.readLockAsync();
      else if (!lock.tryReadLock(rand(5))) return false;
      Atomics.add(R, READERS, 1);
      // Until a writer repairs it, a dead writer's update may be half done (and INSIDE still 1).
      if (!lock.ownerDied) {
        if (Atomics.load(R, INSIDE) !== 0) violation('reader inside with a writer');
        if (R[X] !== R[Y]) violation(`reader saw a torn pair X=${R[X]} Y=${R[Y]}`);
      }
      // A dying reader leaves the data alone: out of READERS, but it keeps its read hold.
      dieIfAsked(() => Atomics.sub(R, READERS, 1));
      await hold();
      Atomics.sub(R, READERS, 1);
      lock.readUnlock();
    }
    return true;
  };
  const semOp = async () => {
    const r = Math.random();
    if (r < 0.5) lock.acquire();
    else if (r < 0.8) await lock.acquireAsync();
    else if (!lock.tryAcquire(1, rand(5))) return false;
    if (Atomics.add(R, INSIDE, 1) >= SEM_PERMITS) violation(`more than ${SEM_PERMITS} permits out`);
    // A dying holder is no longer counted inside; its permit must come back through trackOwners.
    dieIfAsked(() => Atomics.sub(R, INSIDE, 1));
    await hold();
    Atomics.sub(R, INSIDE, 1);
    lock.release();
    return true;
  };
  // The first thread to see a dead SeqLock writer's ownerDied records the recovery time.
  const seenDeath = () => {
    const d = Atomics.load(R, DEAD);
    if (repairAt[d] === 0) repairAt[d] = wall();
  };
  const seqOp = async () => {
    if (Math.random() < 0.2) {
      const v = rand(1 << 30);
      lock.write((view) => {
        if (lock.ownerDied) {
          // The previous writer died mid-write: make the record consistent, then declare it.
          seenDeath();
          view.setInt32(8, -view.getInt32(0));
          Atomics.add(R, REPAIRS, 1);
          lock.markConsistent();
        }
        view.setInt32(0, v);
        dieIfAsked(); // dies with half a record written
        busy(rand(500));
        view.setInt32(8, -v);
      });
    } else {
      // ownerDied is read inside the callback, after the sequence read, so a validated run that
      // saw it false cannot have read the dead writer's half record (it is published only after
      // the flag is set).
      const [died, a, b] = lock.read((view) => [lock.ownerDied, view.getInt32(0), view.getInt32(8)]);
      if (died) seenDeath();
      else if (a !== -b) violation(`torn seqlock read ${a} / ${b}`);
    }
    return true;
  };
  const run = ADAPTERS[kind].exclusive ? exclusiveOp : kind === 'RWLock' ? rwOp : kind === 'Semaphore' ? semOp : seqOp;
  while (Atomics.load(ctl, STOP) === 0) {
    // Stutter: sleep while the main thread has paused everyone.
    while (Atomics.load(ctl, PHASE) === 0 && Atomics.load(ctl, STOP) === 0) Atomics.wait(ctl, PHASE, 0, 100);
    try {
      if (await run()) Atomics.add(ops, slot, 1);
      else Atomics.add(fails, slot, 1);
    } catch (e) {
      violation(`unexpected ${e?.name}: ${e?.message}`);
    }
    // Gap between operations: mostly none, sometimes a little work or an event-loop turn.
    const g = Math.random();
    if (g < 0.3) busy(rand(3000));
    else if (g < 0.35) await new Promise((res) => setImmediate(res));
  }
  parentPort.postMessage({ type: 'done' });
}

// ---- main -----------------------------------------------------------------------------------
async function main() {
  const { values } = parseArgs({
    options: {
      minutes: { type: 'string' },
      seconds: { type: 'string' },
      workers: { type: 'string' },
      kinds: { type: 'string' },
      broken: { type: 'boolean', default: false },
      json: { type: 'string' },
      quiet: { type: 'boolean', default: false },
    },
  });
  const seconds = values.seconds ? Number(values.seconds) : Number(values.minutes ?? 1) * 60;
  const cores = availableParallelism();
  const perKind = values.workers ? Number(values.workers) : 2 * cores;
  let kinds = values.kinds
    ? values.kinds.split(',')
    : Object.keys(ADAPTERS).filter((k) => k !== 'BrokenLock' && ADAPTERS[k].available());
  if (values.broken && !kinds.includes('BrokenLock')) kinds.push('BrokenLock');
  const log = (...a) => values.quiet || console.log(...a);

  const ctlBuf = new SharedArrayBuffer((SLOT_BASE + 2 * MAX_SLOTS) * 4);
  const opsBuf = new SharedArrayBuffer(MAX_SLOTS * 4);
  const failBuf = new SharedArrayBuffer(MAX_SLOTS * 4);
  const repairBuf = new SharedArrayBuffer(MAX_SLOTS * 8);
  const ctl = new Int32Array(ctlBuf);
  const ops = new Int32Array(opsBuf);
  const fails = new Int32Array(failBuf);
  const repairAt = new Float64Array(repairBuf);
  Atomics.store(ctl, PHASE, 1);

  const prims = {};
  for (const kind of kinds) {
    if (!ADAPTERS[kind]?.available()) throw new RangeError(`--kinds: unknown or unavailable primitive ${kind}`);
    let handle;
    try {
      handle = createPrimitive(kind);
    } catch (e) {
      log(`${kind}: skipped (setup failed: ${e.message})`);
      continue;
    }
    prims[kind] = {
      kind,
      handle,
      region: new SharedArrayBuffer(REGION_WORDS * 4),
      workers: new Map(), // slot -> { w, born, died }
      retired: [], // { slot, born, died }
      messages: [],
      holderKills: 0,
      blindKills: 0,
      unrecovered: 0,
      latencies: [],
      hangs: 0,
      lastOps: 0,
      stalledSince: 0,
    };
  }
  kinds = Object.keys(prims);
  let nextSlot = 0;
  const spawn = (p) => {
    if (nextSlot >= MAX_SLOTS) return;
    const slot = nextSlot++;
    const w = new Worker(new URL(import.meta.url), {
      workerData: { kind: p.kind, slot, handle: p.handle, region: p.region, ctlBuf, opsBuf, repairBuf, failBuf },
    });
    const rec = { w, slot, born: performance.now(), died: 0, exitAt: 0, done: false };
    // Its op rate counts from when it started running (startup is slow on a loaded machine).
    w.once('online', () => (rec.born = performance.now()));
    w.once('exit', () => {
      rec.exitAt = wall();
      rec.died = performance.now();
    });
    w.on('message', (m) => {
      if (m.type === 'violation') {
        p.messages.push(m.msg);
        log(`  ! ${p.kind} (worker ${slot}): ${m.msg}`);
      }
      if (m.type === 'done') rec.done = true;
    });
    w.on('error', (e) => {
      p.messages.push(`worker crashed: ${e?.message}`);
      log(`  ! ${p.kind} (worker ${slot}) crashed: ${e?.stack ?? e}`);
      Atomics.add(new Int32Array(p.region), VIOL, 1);
    });
    p.workers.set(slot, rec);
  };
  for (const p of Object.values(prims)) for (let k = 0; k < perKind; k++) spawn(p);

  const sleep = (ms) => new Promise((res) => setTimeout(res, ms));
  const waitWord = async (a, i, pred, ms) => {
    const end = performance.now() + ms;
    for (;;) {
      const v = Atomics.load(a, i);
      if (pred(v)) return true;
      const left = end - performance.now();
      if (left <= 0) return false;
      // Sleep on the event loop until the word changes (or a short while).
      await Atomics.waitAsync(a, i, v, Math.min(left, 20)).value;
    }
  };
  const retire = (p, rec) => {
    p.workers.delete(rec.slot);
    p.retired.push(rec);
  };
  const opsOf = (p) => {
    let s = 0;
    for (const r of [...p.workers.values(), ...p.retired]) s += Atomics.load(ops, r.slot);
    return s;
  };

  // Killer: one kill at a time, alternating holder and blind kills, over the robust primitives.
  const start = performance.now();
  const end = start + seconds * 1000;
  let running = true;
  const killer = (async () => {
    const robust = Object.values(prims).filter((p) => ADAPTERS[p.kind].robust);
    if (robust.length === 0) return;
    let n = 0;
    while (running) {
      await sleep(300 + rand(700));
      if (!running || nextSlot >= MAX_SLOTS) break;
      const p = robust[n++ % robust.length];
      const victims = [...p.workers.values()];
      const rec = victims[rand(victims.length)];
      if (!rec) continue;
      // Alternate per primitive (a global parity would give some primitives only one kind of kill).
      const blind = ADAPTERS[p.kind].blindKill && (p.holderKills + p.blindKills) % 2 === 1;
      if (!blind) {
        // Ask it to die at its next acquisition and wait until it sits in its critical section.
        Atomics.store(ctl, killReq(rec.slot), 1);
        const inside = await waitWord(ctl, dying(rec.slot), (v) => v === 1, 3000);
        // Withdraw the request if it never got there (paused, or starved by timeouts).
        if (!inside && Atomics.compareExchange(ctl, killReq(rec.slot), 1, 0) === 1) continue;
        if (!inside) await waitWord(ctl, dying(rec.slot), (v) => v === 1, 10_000);
        rec.victim = true; // it sat in its critical section waiting to die: no fair op rate
      } else {
        await sleep(rand(50));
      }
      repairAt[rec.slot] = 0;
      const exited = new Promise((res) => rec.w.once('exit', res));
      await rec.w.terminate();
      await exited;
      retire(p, rec);
      spawn(p);
      if (blind) p.blindKills++;
      else p.holderKills++;
      // A holder kill must be repaired by the next owner; a blind kill only if it held the lock.
      const deadline = performance.now() + (blind ? 1000 : 5000);
      while (repairAt[rec.slot] === 0 && performance.now() < deadline) await sleep(2);
      if (repairAt[rec.slot] !== 0) p.latencies.push(repairAt[rec.slot] - rec.exitAt);
      else if (!blind) p.unrecovered++;
    }
  })();

  // Stutter and watchdog.
  let phaseEnd = performance.now() + 2000 + rand(2000);
  let nextReport = performance.now() + 10_000;
  while (performance.now() < end) {
    await sleep(250);
    const t = performance.now();
    if (t >= phaseEnd) {
      const run = Atomics.load(ctl, PHASE) === 0;
      // Flip run/pause and wake the paused workers.
      Atomics.store(ctl, PHASE, run ? 1 : 0);
      Atomics.notify(ctl, PHASE);
      phaseEnd = t + (run ? 2000 + rand(2000) : 300 + rand(700));
      for (const p of Object.values(prims)) p.stalledSince = 0;
    }
    if (Atomics.load(ctl, PHASE) === 1) {
      for (const p of Object.values(prims)) {
        const o = opsOf(p);
        if (o !== p.lastOps) {
          p.lastOps = o;
          p.stalledSince = 0;
        } else if (p.stalledSince === 0) {
          p.stalledSince = t;
        } else if (t - p.stalledSince > 5000) {
          p.hangs++;
          p.messages.push(`no progress for 5 s at ${((t - start) / 1000).toFixed(1)} s`);
          p.stalledSince = t;
        }
      }
    }
    if (t >= nextReport && !values.quiet) {
      nextReport = t + 10_000;
      log(
        `[${((t - start) / 1000).toFixed(0)} s] ` +
          Object.values(prims)
            .map((p) => `${p.kind} ${opsOf(p)} ops ${Atomics.load(new Int32Array(p.region), VIOL)} viol`)
            .join(', '),
      );
    }
  }
  running = false;
  await killer;
  // Stop: everyone leaves its loop; whoever does not exit within 10 s is hung.
  Atomics.store(ctl, PHASE, 1);
  Atomics.store(ctl, STOP, 1);
  Atomics.notify(ctl, PHASE);
  const stopAt = performance.now();
  await Promise.all(
    Object.values(prims).flatMap((p) =>
      [...p.workers.values()].map(async (rec) => {
        const ok = await Promise.race([
          new Promise((res) => rec.w.once('exit', () => res(true))),
          sleep(Math.max(0, 10_000 - (performance.now() - stopAt))).then(() => false),
        ]);
        if (!ok || !rec.done) {
          if (!ok) {
            p.hangs++;
            p.messages.push(`worker ${rec.slot} did not finish within 10 s of stop`);
          }
          await rec.w.terminate();
        }
        if (!rec.died) rec.died = performance.now();
      }),
    ),
  );

  // Report.
  const q = (xs, f) => (xs.length ? xs[Math.min(xs.length - 1, Math.floor(f * xs.length))] : NaN);
  const summary = {};
  log(`\nsablock torture: ${seconds} s, ${perKind} workers per primitive, ${cores} cores, node ${process.version}`);
  for (const p of Object.values(prims)) {
    const all = [...p.retired, ...p.workers.values()];
    // Fairness over workers that were not asked to die holding (they idle until terminated).
    const rates = all
      .filter((r) => !r.victim && r.died - r.born > 1000)
      .map((r) => Atomics.load(ops, r.slot) / ((r.died - r.born) / 1000));
    const mean = rates.reduce((a, b) => a + b, 0) / (rates.length || 1);
    const min = rates.length ? Math.min(...rates) : 0;
    const lat = [...p.latencies].sort((a, b) => a - b);
    const s = {
      operations: opsOf(p),
      violations: Atomics.load(new Int32Array(p.region), VIOL),
      hangs: p.hangs,
      fairness: { minOpsPerSec: min, meanOpsPerSec: mean, minOverMean: mean ? min / mean : 0 },
      holderKills: p.holderKills,
      blindKills: p.blindKills,
      recoveries: lat.length,
      unrecovered: p.unrecovered,
      repairs: Atomics.load(new Int32Array(p.region), REPAIRS),
      recoveryMs: { p50: q(lat, 0.5), p99: q(lat, 0.99), max: lat[lat.length - 1] ?? NaN },
      messages: p.messages.slice(0, 10),
      workers: all.map((r) => ({
        slot: r.slot,
        ops: Atomics.load(ops, r.slot),
        fails: Atomics.load(fails, r.slot),
        lifeMs: Math.round(r.died - r.born),
        killed: p.retired.includes(r),
        victim: r.victim === true,
      })),
    };
    summary[p.kind] = s;
    const f = (x) => (Number.isNaN(x) ? '-' : x.toFixed(1));
    log(
      `${p.kind.padEnd(11)} ops ${String(s.operations).padStart(9)}  violations ${s.violations}  hangs ${s.hangs}  ` +
        `fairness min/mean ${f(min)}/${f(mean)} ops/s (${(s.fairness.minOverMean * 100).toFixed(0)}%)  ` +
        `kills holder ${s.holderKills} blind ${s.blindKills}  recovered ${s.recoveries} (unrecovered ${s.unrecovered})  ` +
        `recovery p50 ${f(s.recoveryMs.p50)} p99 ${f(s.recoveryMs.p99)} max ${f(s.recoveryMs.max)} ms`,
    );
    for (const m of s.messages) log(`    ${p.kind}: ${m}`);
  }
  const failed = Object.values(summary).some((s) => s.violations > 0 || s.hangs > 0 || s.unrecovered > 0);
  log(failed ? 'FAIL' : 'PASS');
  if (values.json) writeFileSync(values.json, JSON.stringify({ seconds, perKind, cores, summary, failed }, null, 2));
  process.exit(failed ? 1 : 0);
}

if (isMainThread) await main();
else await workerMain();
