/**
 * RWLock against readers and writers in other threads, with more reader threads than holder
 * slots (8: a dead reader's holds are recovered through its slot): exclusion and exact counts,
 * writers that fail (try, timeout, abort) leaving nothing behind, a blocked writer that gets in
 * once the readers leave, self-deadlock through two objects of one thread reported instead of
 * hung, upgrade against readers, dead readers and dead waiting writers, recursive reads behind a
 * waiting writer, and readerCount().
 *
 * The main thread only makes calls that cannot block (plain try, unlock, async forms, snapshots):
 * every call that may wait runs in a worker (fixtures/rw-threads-rpc.mjs) and is bounded with
 * `within`, and every worker is terminated after each test, so a deadlock fails the test with a
 * message naming the step instead of hanging the run. Time bounds are generous (2 shared cores).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { RWLock, TimeoutError } from '../dist/index.js';
import { until } from './harness/bounds.mjs';
import { RpcWorker } from './harness/rpc.js';
import { withActors } from './robust/helpers.js';
import { fixture, spawn, within } from './rwlock-helpers.js';

/** Holder slots per lock (the read holds of this many reader threads are tracked at once). */
const SLOTS = 8;
/** Bound for one worker call that must not wait long (a hang fails here, with the step named). */
const STEP_MS = 4_000;
/** Bound from a release (or a death) to the waiter holding the lock. */
const BOUND_MS = 2_000;

class ThreadRpc extends RpcWorker {
  constructor(workerData: unknown) {
    super(fixture('rw-threads-rpc.mjs'), workerData);
  }
}

let rpcs: ThreadRpc[] = [];
function rpc(rw: RWLock, flags?: SharedArrayBuffer, env?: Record<string, string>): ThreadRpc {
  const r = new ThreadRpc({ handle: rw.handle, flags, env });
  rpcs.push(r);
  return r;
}
afterEach(async () => {
  const all = rpcs;
  rpcs = [];
  await Promise.all(all.map((r) => r.terminate()));
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const wall = (): number => performance.timeOrigin + performance.now();

/** `method(...args)` on the worker's RWLock object `obj`, bounded by STEP_MS. */
function on<T = unknown>(r: ThreadRpc, obj: string, method: string, ...args: unknown[]): Promise<T> {
  return within(r.call<T>('on', obj, method, ...args), STEP_MS, `${obj}.${method}(${args.join(', ')}) in worker ${r.worker.threadId}`);
}

interface Timed<T = unknown> {
  value?: T;
  error?: { name: string; code?: string; message: string };
  ms: number;
  at: number;
}
interface Acquired {
  at: number;
  ms: number;
  ownerDied: boolean;
}

/** Polls until a writer waits: then a new reader (the probe's tryReadLock) is kept out. */
async function untilWriterWaits(probe: ThreadRpc): Promise<void> {
  for (let k = 0; await on<boolean>(probe, 'rw', 'tryReadLock'); k++) {
    await on(probe, 'rw', 'readUnlock');
    if (k > 400) throw new Error('the writer never started waiting');
    await sleep(5);
  }
}

/**
 * `reader` releases the last read hold; the waiter whose result `entered` is must get in after
 * that release (never before), and within BOUND_MS of it.
 */
async function lastReleaseLetsIn(reader: ThreadRpc, entered: Promise<{ at: number }>): Promise<void> {
  const rel = await within(reader.call<{ at: number }>('later', 0, 'rw', 'readUnlock'), STEP_MS, 'last release');
  const got = await entered;
  expect(got.at).toBeGreaterThanOrEqual(rel.at - 5); // not before the last reader left
  expect(got.at - rel.at).toBeLessThan(BOUND_MS);
}

// ---- 1. exclusion under contention ---------------------------------------------------------------

interface StressResult {
  role: string;
  id: number;
  writes: number;
  reads: number;
  violations: number;
}

/**
 * Runs `roles` (fixtures/rw-threads-stress.mjs) on one new lock: the first `finite` roles (writers,
 * upgrader, lawless) run for their fixed time, the readers until those are done. Returns the
 * workers' results, the data pair and the control words (c[2]: most readers inside at once,
 * c[3]: violations).
 */
async function stress(
  roles: Record<string, unknown>[],
  finite: number,
): Promise<{ results: StressResult[]; g: Int32Array; c: Int32Array; rw: RWLock }> {
  const rw = new RWLock({ name: 'threads-stress' });
  const data = new SharedArrayBuffer(8);
  const ctl = new SharedArrayBuffer(32);
  const c = new Int32Array(ctl);
  c[5] = roles.length;
  const { results, terminateAll } = spawn<StressResult>(
    'rw-threads-stress.mjs',
    roles.map((r, id) => ({ handle: rw.handle, data, ctl, id, ...r })),
  );
  try {
    // The first `finite` roles run for a fixed time; the readers loop until told to stop.
    await within(Promise.all(results.slice(0, finite)), 20_000, 'writers (fixed duration)');
    Atomics.store(c, 0, 1);
    const all = await within(Promise.all(results), 10_000, 'readers after the stop flag');
    return { results: all, g: new Int32Array(data), c, rw };
  } finally {
    Atomics.store(c, 0, 1);
    await terminateAll();
  }
}

describe('RWLock across threads: exclusion with many readers', () => {
  it.each([
    [4, false],
    [SLOTS, false],
    [12, false],
    [12, true],
  ])(
    '%i readers and 2 writers (and an upgrader: %s): no torn read, no writer among readers, exact writes, readers overlap',
    async (readers, upgrader) => {
      const roles = [
        { role: 'writer', api: 'sync', ms: 1_200 },
        { role: 'writer', api: 'async', ms: 1_200 },
        ...(upgrader ? [{ role: 'upgrader', ms: 1_200 }] : []),
        ...Array.from({ length: readers }, () => ({ role: 'reader', hold: 4_000 })),
      ];
      const { results, g, c, rw } = await stress(roles, upgrader ? 3 : 2);
      const writers = results.filter((r) => r.role === 'writer' || r.role === 'upgrader');
      const readerResults = results.filter((r) => r.role === 'reader');
      expect(Atomics.load(c, 3)).toBe(0); // violations seen by anyone
      expect(results.reduce((s, r) => s + r.violations, 0)).toBe(0);
      const writes = writers.reduce((s, r) => s + r.writes, 0);
      for (const w of writers) expect(w.writes).toBeGreaterThan(0);
      expect(g[0]).toBe(writes); // exact: no write lost to a writer overlapping another
      expect(g[1]).toBe(-writes);
      for (const r of readerResults) expect(r.reads).toBeGreaterThan(0);
      expect(Atomics.load(c, 2)).toBeGreaterThan(1); // readers were inside together
      expect(rw.isLocked()).toBe(false);
      expect(rw.readerCount()).toBe(0);
      expect(rw.tryWriteLock()).toBe(true); // nothing left behind
      rw.writeUnlock();
    },
    25_000,
  );

  // Negative control: the same checks must catch a writer that takes no lock.
  it.each(['lawless'])('negative control: a %s writer is caught by the same checks', async (role) => {
    const roles = [
      { role, ms: 5_000, hold: 4_000 },
      ...Array.from({ length: 4 }, () => ({ role: 'reader', hold: 4_000 })),
    ];
    const { c } = await stress(roles, 1);
    expect(Atomics.load(c, 3)).toBeGreaterThan(0);
  }, 20_000);
});

// ---- 2–4. writers against a reader in another thread ---------------------------------------------

describe('RWLock across threads: a writer against a reader in another thread', () => {
  it('tryWriteLock() fails while a worker reads, leaves the lock usable, succeeds once it left', async () => {
    const rw = new RWLock();
    const reader = rpc(rw);
    const probe = rpc(rw);
    await on(reader, 'rw', 'readLock');
    expect(rw.isLocked()).toBe(true);
    expect(rw.isWriteLocked()).toBe(false);
    expect(rw.readerCount()).toBeGreaterThanOrEqual(1);
    for (let k = 0; k < 50; k++) expect(rw.tryWriteLock()).toBe(false);
    // The failed tries left nothing that keeps readers out.
    expect(await on(probe, 'rw', 'tryReadLock')).toBe(true);
    expect(await on(reader, 'rw', 'tryReadLock')).toBe(true); // a second hold of the reader
    expect(rw.readerCount()).toBeGreaterThanOrEqual(3);
    expect(rw.tryWriteLock()).toBe(false);
    await on(probe, 'rw', 'readUnlock');
    await on(reader, 'rw', 'readUnlock');
    expect(rw.tryWriteLock()).toBe(false); // one hold is left
    await on(reader, 'rw', 'readUnlock');
    expect(rw.readerCount()).toBe(0);
    expect(rw.tryWriteLock()).toBe(true);
    expect(rw.isWriteLocked()).toBe(true);
    expect(await on(probe, 'rw', 'tryReadLock')).toBe(false); // the writer keeps readers out
    rw.writeUnlock();
    // The reader's slot works again after a write.
    await on(reader, 'rw', 'readLock');
    expect(rw.tryWriteLock()).toBe(false);
    await on(reader, 'rw', 'readUnlock');
    expect(rw.tryWriteLock()).toBe(true);
    rw.writeUnlock();
    expect(rw.isLocked()).toBe(false);
  }, 15_000);

  it('a worker tryWriteLock() fails while this thread reads, and succeeds once it left', async () => {
    const rw = new RWLock();
    const writer = rpc(rw);
    rw.readLock();
    expect(await on(writer, 'rw', 'tryWriteLock')).toBe(false);
    expect(rw.tryReadLock()).toBe(true);
    rw.readUnlock();
    rw.readUnlock();
    expect(await on(writer, 'rw', 'tryWriteLock')).toBe(true);
    expect(rw.tryReadLock()).toBe(false);
    await on(writer, 'rw', 'writeUnlock');
    expect(rw.tryReadLock()).toBe(true);
    rw.readUnlock();
    expect(rw.isLocked()).toBe(false);
  }, 15_000);

  // Two readers hold; a writer waits and gives up (timed try in a worker, async timeout, abort).
  // During its wait one reader releases (its unlock must not block), a new reader is kept out
  // (writer preference), and afterwards new readers and a writer get in at once.
  it.each(['tryWriteLock(1000) in a worker', 'writeLockAsync({ timeout: 1000 })', 'writeLockAsync({ signal }) aborted'])(
    '%s gives up while a worker reads and leaves nothing behind',
    async (how) => {
      const rw = new RWLock({ name: 'threads-giveup' });
      const r1 = rpc(rw);
      const r2 = rpc(rw);
      const probe = rpc(rw);
      const writer = rpc(rw);
      await on(r1, 'rw', 'readLock');
      await on(r2, 'rw', 'readLock');
      const reason = new Error('threads-abort');
      let waiting: Promise<unknown>;
      const t0 = performance.now();
      // The writer gives up after GIVE_UP_MS: time enough, even on a loaded machine, for the steps
      // below to happen while it waits.
      const GIVE_UP_MS = 1_000;
      if (how.startsWith('tryWriteLock')) {
        waiting = within(writer.call<Timed<boolean>>('timed', 'rw', 'tryWriteLock', GIVE_UP_MS), STEP_MS, 'tryWriteLock(1000)');
      } else if (how.includes('timeout')) {
        waiting = rw.writeLockAsync({ timeout: GIVE_UP_MS });
      } else {
        const ac = new AbortController();
        setTimeout(() => ac.abort(reason), GIVE_UP_MS);
        waiting = rw.writeLockAsync({ signal: ac.signal });
      }
      waiting.catch(() => {});
      // Once the writer waits (WRITERS_WAITING, bit 29 of the state word, word 1): a new reader is
      // kept out, and r1 leaves (its unlock must not block).
      const state = new Int32Array(rw.buffer, rw.byteOffset, 2);
      await until(() => (Atomics.load(state, 1) & (1 << 29)) !== 0, BOUND_MS, 'the writer to wait');
      const probed = await within(probe.call<{ value: boolean; at: number }>('later', 0, 'rw', 'tryReadLock'), STEP_MS, 'probe');
      const released = await within(r1.call<{ at: number }>('later', 0, 'rw', 'readUnlock'), STEP_MS, 'r1 release');
      let endedAt: number;
      if (how.startsWith('tryWriteLock')) {
        const t = (await waiting) as Timed<boolean>;
        expect(t.value).toBe(false);
        expect(t.ms).toBeGreaterThanOrEqual(GIVE_UP_MS - 10);
        expect(t.ms).toBeLessThan(GIVE_UP_MS + BOUND_MS);
        endedAt = t.at;
      } else {
        if (how.includes('timeout')) await expect(waiting).rejects.toBeInstanceOf(TimeoutError);
        else await expect(waiting).rejects.toBe(reason);
        endedAt = wall();
        expect(performance.now() - t0).toBeGreaterThanOrEqual(GIVE_UP_MS - 10);
      }
      if (probed.value) await on(probe, 'rw', 'readUnlock');
      expect(probed.value).toBe(false); // writer preference: kept out while the writer waited
      expect(released.at).toBeLessThan(endedAt); // r1 left during the writer's wait
      // Nothing left behind: a new reader gets in at once, and r2 still holds.
      expect(await on(probe, 'rw', 'tryReadLock')).toBe(true);
      expect(rw.readerCount()).toBe(2);
      expect(rw.isWriteLocked()).toBe(false);
      await on(probe, 'rw', 'readUnlock');
      expect(await on(writer, 'rw', 'tryWriteLock')).toBe(false);
      await on(r2, 'rw', 'readUnlock');
      // A writer gets in (a blocking one, in a worker, bounded), then readers again.
      const w = await within(writer.call<Timed>('timed', 'rw', 'writeLock'), STEP_MS, 'writeLock after the failed writer');
      expect(w.error).toBeUndefined();
      expect(w.ms).toBeLessThan(BOUND_MS);
      expect(rw.isWriteLocked()).toBe(true);
      await on(writer, 'rw', 'writeUnlock');
      expect(await on(r1, 'rw', 'tryReadLock')).toBe(true);
      expect(await on(r2, 'rw', 'tryReadLock')).toBe(true);
      await on(r1, 'rw', 'readUnlock');
      await on(r2, 'rw', 'readUnlock');
      // An aborted async wait may still sit in the futex queue; this thread's loop passes a wake on.
      await until(() => rw.tryWriteLock(), BOUND_MS, 'tryWriteLock in this thread after the failed writer');
      rw.writeUnlock();
      expect(rw.isLocked()).toBe(false);
    },
    15_000,
  );

  // With the re-check rescue off in the workers, a wakeup the last reader's release fails to
  // deliver hangs the writer (caught by the bound) instead of costing it one 10 ms re-check.
  it.each([
    ['write', 'on'],
    ['writeAsync', 'on'],
    ['write', 'off'],
    ['writeAsync', 'off'],
  ] as const)(
    'a writer blocked (%s, re-check rescue %s) while workers read gets in within a bound after the last reader leaves, never before',
    async (mode, rescue) => {
      const rw = new RWLock();
      const flags = new SharedArrayBuffer(4);
      const f = new Int32Array(flags);
      const env = rescue === 'off' ? { SABLOCK_RW_RECHECK_MS: '1e9' } : undefined;
      const readers = [rpc(rw, undefined, env), rpc(rw, undefined, env), rpc(rw, undefined, env)];
      const writer = rpc(rw, flags, env);
      const probe = rpc(rw, undefined, env);
      for (let round = 0; round < 6; round++) {
        Atomics.store(f, 0, 0);
        for (const r of readers) await on(r, 'rw', 'readLock');
        const writing = within(writer.call<Acquired>('acquireRelease', mode, 0), STEP_MS + BOUND_MS, `round ${round}: the writer`);
        writing.catch(() => {});
        await untilWriterWaits(probe);
        // Leave one by one, with varying gaps; the writer must stay out until the last is gone.
        for (let k = 0; k < readers.length - 1; k++) {
          await on(readers[k]!, 'rw', 'readUnlock');
          await sleep((round * 7 + k * 3) % 15);
        }
        await sleep(30);
        expect(Atomics.load(f, 0)).toBe(0);
        await lastReleaseLetsIn(readers.at(-1)!, writing);
      }
      expect(rw.isLocked()).toBe(false);
    },
    30_000,
  );
});

// ---- 5. self-deadlock through two objects ----------------------------------------------------------

describe('RWLock across threads: a thread waiting for its own read hold (two objects) is refused', () => {
  it('writeLock() through another object while this thread reads throws ERR_LOCK_RECURSIVE', async () => {
    const rw = new RWLock();
    const t = rpc(rw); // the thread with the two objects 'a' and 'b'
    const probe = rpc(rw);
    await on(t, 'a', 'readLock');
    await expect(on(t, 'b', 'writeLock')).rejects.toMatchObject({ code: 'ERR_LOCK_RECURSIVE' });
    expect(await on(t, 'b', 'tryWriteLock')).toBe(false);
    // A timed try may time out or refuse, but must not hang nor succeed.
    const timedTry = await within(t.call<Timed<boolean>>('timed', 'b', 'tryWriteLock', 50), STEP_MS, 'b.tryWriteLock(50)');
    if (timedTry.error) expect(timedTry.error.code).toBe('ERR_LOCK_RECURSIVE');
    else expect(timedTry.value).toBe(false);
    // The refused writer left nothing behind: others may still read; 'a' still reads.
    expect(rw.isWriteLocked()).toBe(false);
    expect(await on(probe, 'rw', 'tryReadLock')).toBe(true);
    await on(probe, 'rw', 'readUnlock');
    expect(await on(t, 'a', 'readHolds')).toBe(1);
    await on(t, 'a', 'readUnlock');
    expect(await on(t, 'b', 'writeLock')).toEqual({ mode: 'write' });
    expect(rw.isWriteLocked()).toBe(true);
    await on(t, 'b', 'writeUnlock');
    expect(rw.isLocked()).toBe(false);
  }, 5_000);

  it('upgrade() while the same thread reads through another object throws ERR_LOCK_RECURSIVE', async () => {
    const rw = new RWLock();
    const t = rpc(rw);
    const probe = rpc(rw);
    await on(t, 'a', 'readLock');
    await on(t, 'b', 'upgradableReadLock');
    await expect(on(t, 'b', 'upgrade')).rejects.toMatchObject({ code: 'ERR_LOCK_RECURSIVE' });
    expect(await on(t, 'b', 'tryUpgrade')).toBe(false);
    expect(await on(t, 'b', 'isUpgradableLocked')).toBe(true);
    expect(rw.isUpgradableLocked()).toBe(true);
    expect(rw.isWriteLocked()).toBe(false);
    // Readers are not kept out by the refused upgrade.
    expect(await on(probe, 'rw', 'tryReadLock')).toBe(true);
    await on(probe, 'rw', 'readUnlock');
    await on(t, 'a', 'readUnlock');
    expect(await on(t, 'b', 'upgrade')).toEqual({ mode: 'write' });
    expect(rw.isWriteLocked()).toBe(true);
    await on(t, 'b', 'writeUnlock');
    expect(rw.isLocked()).toBe(false);
  }, 5_000);

  // The async forms are documented to wait like any other (src/rwlock.ts header, "Async
  // acquisitions by the holding thread wait like any other: another task of the same thread may
  // release it").
  it('writeLockAsync() through another object waits on the event loop until the same thread releases', async () => {
    const rw = new RWLock();
    const t = rpc(rw);
    const r = await within(
      t.call<{ mode: string; waited: number; afterRelease: boolean }>('asyncAfterOwnRead', 'write', 100),
      STEP_MS,
      'async write after own read',
    );
    expect(r.mode).toBe('write');
    expect(r.afterRelease).toBe(true);
    expect(r.waited).toBeGreaterThanOrEqual(90);
    expect(rw.isLocked()).toBe(false);
  }, 5_000);

  it('upgradeAsync() through another object waits on the event loop until the same thread releases', async () => {
    const rw = new RWLock();
    const t = rpc(rw);
    const r = await within(
      t.call<{ mode: string; same: boolean; waited: number; afterRelease: boolean }>('asyncAfterOwnRead', 'upgrade', 100),
      STEP_MS,
      'async upgrade after own read',
    );
    expect(r.mode).toBe('write');
    expect(r.same).toBe(true);
    expect(r.afterRelease).toBe(true);
    expect(r.waited).toBeGreaterThanOrEqual(90);
    expect(rw.isLocked()).toBe(false);
  }, 5_000);
});

// ---- 6. upgrade against readers ----------------------------------------------------------------------

describe('RWLock across threads: upgrade against readers', () => {
  it.each(['on', 'off'])('tryUpgrade fails while a worker reads (keeping the upgradable lock), upgrade() completes after it left (re-check rescue %s)', async (rescue) => {
    const rw = new RWLock();
    const env = rescue === 'off' ? { SABLOCK_RW_RECHECK_MS: '1e9' } : undefined;
    const reader = rpc(rw, undefined, env);
    const upgrader = rpc(rw, undefined, env);
    const probe = rpc(rw, undefined, env);
    await on(reader, 'rw', 'readLock');
    await on(upgrader, 'rw', 'upgradableReadLock');
    expect(await on(upgrader, 'rw', 'tryUpgrade')).toBe(false);
    expect(await on(upgrader, 'rw', 'isUpgradableLocked')).toBe(true);
    // Readers still get in while we only hold the upgradable lock.
    expect(await on(probe, 'rw', 'tryReadLock')).toBe(true);
    await on(probe, 'rw', 'readUnlock');
    // A timed upgrade keeps new readers out while it waits, then gives up.
    const timed = within(upgrader.call<Timed<boolean>>('timed', 'rw', 'tryUpgrade', 1_000), STEP_MS, 'tryUpgrade(1000)');
    // Once it waits (UPGRADING, bit 26 of the state word, word 1), a new reader is kept out.
    const state = new Int32Array(rw.buffer, rw.byteOffset, 2);
    await until(() => (Atomics.load(state, 1) & (1 << 26)) !== 0, BOUND_MS, 'the upgrader to wait');
    const during = await on<boolean>(probe, 'rw', 'tryReadLock');
    const t = await timed;
    if (during) await on(probe, 'rw', 'readUnlock');
    expect(t.value).toBe(false);
    expect(t.ms).toBeGreaterThanOrEqual(990);
    expect(t.ms).toBeLessThan(1_000 + BOUND_MS);
    expect(during).toBe(false);
    expect(await on(upgrader, 'rw', 'isUpgradableLocked')).toBe(true);
    expect(rw.isWriteLocked()).toBe(false);
    // Other readers get in again after the failed upgrade.
    expect(await on(probe, 'rw', 'tryReadLock')).toBe(true);
    expect(rw.readerCount()).toBe(3); // reader, probe, and the upgradable hold
    await on(probe, 'rw', 'readUnlock');
    // The reader leaves after 100 ms; the blocking upgrade must complete within the bound.
    const release = within(reader.call<{ at: number }>('later', 100, 'rw', 'readUnlock'), STEP_MS, 'reader release');
    const up = await within(upgrader.call<Timed>('timed', 'rw', 'upgrade'), STEP_MS, 'upgrade()');
    const rel = await release;
    expect(up.error).toBeUndefined();
    expect(up.value).toEqual({ mode: 'write' });
    expect(up.at).toBeGreaterThanOrEqual(rel.at - 5);
    expect(up.at - rel.at).toBeLessThan(BOUND_MS);
    expect(rw.isWriteLocked()).toBe(true);
    expect(await on(probe, 'rw', 'tryReadLock')).toBe(false);
    await on(upgrader, 'rw', 'writeUnlock');
    expect(await on(probe, 'rw', 'tryReadLock')).toBe(true);
    await on(probe, 'rw', 'readUnlock');
    expect(rw.isLocked()).toBe(false);
  }, 15_000);
});

// ---- 7. owner death ------------------------------------------------------------------------------------

const RW_ACTOR = new URL('./fixtures/robust/rw-actor.mjs', import.meta.url);
type Got = { type: string; acquired: boolean; ownerDied: boolean; at: number };

describe('RWLock across threads: owner death', () => {
  it.each([
    ['sync', 'waiting'],
    ['async', 'waiting'],
    ['try', 'waiting'],
    ['sync', 'arriving after'],
    ['async', 'arriving after'],
  ] as const)(
    'a reader terminated holding a read lock: a %s writer %s the death gets in, told ownerDied',
    async (how, when) => {
      const rw = new RWLock({ name: 'threads-dead-reader' });
      const counter = new SharedArrayBuffer(4);
      await withActors(async (spawn) => {
        const holder = spawn({ handle: rw.handle, role: 'holder', mode: 'read', holds: 2 }, RW_ACTOR);
        expect((await holder.next()).type).toBe('locked');
        expect(rw.readerCount()).toBe(2);
        let writer = undefined as ReturnType<typeof spawn> | undefined;
        if (when === 'waiting') {
          writer = spawn({ handle: rw.handle, role: 'waiter', mode: 'write', how, counter }, RW_ACTOR);
          expect((await writer.next()).type).toBe('ready');
          await sleep(150);
          expect(Atomics.load(new Int32Array(counter), 0)).toBe(0); // not in while the reader lived
        }
        const exitAt = await holder.kill();
        writer ??= spawn({ handle: rw.handle, role: 'waiter', mode: 'write', how, counter }, RW_ACTOR);
        const got = await writer.next<Got>();
        if (got.type === 'ready') {
          const g2 = await writer.next<Got>();
          Object.assign(got, g2);
        }
        expect(got.acquired).toBe(true);
        expect(got.ownerDied).toBe(true);
        expect(got.at - exitAt).toBeLessThan(3_000);
      });
      expect(Atomics.load(new Int32Array(counter), 0)).toBe(1);
      expect(rw.readerCount()).toBe(0);
      expect(rw.isLocked()).toBe(false);
      expect(rw.tryWriteLock()).toBe(true);
      expect(rw.ownerDied).toBe(true);
      rw.markConsistent();
      rw.writeUnlock();
    },
    15_000,
  );

  it('a plain tryWriteLock() in this thread reaps a reader that died holding a read lock', async () => {
    const rw = new RWLock();
    await withActors(async (spawn) => {
      const holder = spawn({ handle: rw.handle, role: 'holder', mode: 'read' }, RW_ACTOR);
      await holder.next();
      expect(rw.tryWriteLock()).toBe(false);
      await holder.kill();
      expect(rw.tryWriteLock()).toBe(true);
      expect(rw.ownerDied).toBe(true);
      rw.markConsistent();
      rw.writeUnlock();
    });
    expect(rw.isLocked()).toBe(false);
  }, 15_000);

  it('a writer terminated while it waits for a reader: after the reader leaves, readers and writers get in', async () => {
    const rw = new RWLock({ name: 'threads-dead-writer' });
    const flags = new SharedArrayBuffer(8);
    const f = new Int32Array(flags);
    const reader = rpc(rw);
    const victim = rpc(rw);
    const probe = rpc(rw);
    const writer2 = rpc(rw, flags);
    const reader2 = rpc(rw, flags);
    await on(reader, 'rw', 'readLock');
    const doomed = victim.call('on', 'rw', 'writeLock');
    doomed.catch(() => {});
    await untilWriterWaits(probe);
    // Two more waiters behind it: a writer and a reader, both blocking.
    const w2 = within(writer2.call<Acquired>('acquireRelease', 'write', 0), 3 * STEP_MS, 'second writer');
    const r2 = within(reader2.call<Acquired>('acquireRelease', 'read', 1), 3 * STEP_MS, 'second reader');
    w2.catch(() => {});
    r2.catch(() => {});
    await sleep(100);
    // The writer is out while the reader holds. (The blocked reader may join the live one once it
    // has slept: a reader that waited ignores the waiting-writer bit, raw/rwlock.ts invariant 2.)
    expect(Atomics.load(f, 0)).toBe(0);
    await victim.terminate();
    await sleep(100);
    expect(Atomics.load(f, 0)).toBe(0); // the live reader still keeps writers out
    const rel = await within(reader.call<{ at: number }>('later', 0, 'rw', 'readUnlock'), STEP_MS, 'reader release');
    const gw = await w2;
    const gr = await r2;
    expect(gw.at - rel.at).toBeLessThan(BOUND_MS);
    expect(gr.at - rel.at).toBeLessThan(BOUND_MS);
    // Newcomers get in too.
    const nr = await within(probe.call<Timed<boolean>>('timed', 'rw', 'tryReadLock', BOUND_MS), STEP_MS, 'new reader');
    expect(nr.value).toBe(true);
    await on(probe, 'rw', 'readUnlock');
    const nw = await within(writer2.call<Timed>('timed', 'rw', 'writeLock'), STEP_MS, 'new writer');
    expect(nw.error).toBeUndefined();
    expect(nw.ms).toBeLessThan(BOUND_MS);
    await on(writer2, 'rw', 'writeUnlock');
    await until(() => rw.tryWriteLock(), BOUND_MS, 'tryWriteLock in this thread');
    rw.writeUnlock();
    expect(rw.isLocked()).toBe(false);
  }, 20_000);
});

// ---- 8. recursive reads behind a waiting writer -------------------------------------------------------

describe('RWLock across threads: recursion', () => {
  it.each([
    ['with its own reader slot', 0, 'on'],
    ['with its own reader slot', 0, 'off'],
    ['on the shared word (every slot taken by earlier reader threads)', SLOTS, 'on'],
  ] as const)(
    'a thread reading again %s (%i earlier reader threads; re-check rescue %s) while a writer waits does not deadlock; the writer gets in after both unlocks',
    async (_what, fillers, rescue) => {
      const rw = new RWLock();
      const env = rescue === 'off' ? { SABLOCK_RW_RECHECK_MS: '1e9' } : undefined;
      // Earlier reader threads take the slots (they stay alive, so the slots stay theirs).
      const early = Array.from({ length: fillers }, () => rpc(rw));
      for (const e of early) {
        await on(e, 'rw', 'readLock');
        await on(e, 'rw', 'readUnlock');
      }
      const flags = new SharedArrayBuffer(4);
      const f = new Int32Array(flags);
      const reader = rpc(rw, undefined, env);
      const writer = rpc(rw, flags, env);
      const probe = rpc(rw, undefined, env);
      await on(reader, 'rw', 'readLock');
      const writing = within(writer.call<Acquired>('acquireRelease', 'write', 0), 3 * STEP_MS, 'the writer');
      writing.catch(() => {});
      await untilWriterWaits(probe);
      const again = await within(reader.call<Timed>('timed', 'rw', 'readLock'), 2_000, 'the recursive readLock');
      expect(again.error).toBeUndefined();
      expect(again.ms).toBeLessThan(1_000);
      expect(await on(reader, 'rw', 'readHolds')).toBe(2);
      expect(rw.readerCount()).toBe(2);
      await on(reader, 'rw', 'readUnlock');
      await sleep(50);
      expect(Atomics.load(f, 0)).toBe(0); // one hold left: still out
      await lastReleaseLetsIn(reader, writing);
      expect(rw.isLocked()).toBe(false);
    },
    20_000,
  );
});

// ---- 9. readerCount over both paths ----------------------------------------------------------------

describe('RWLock across threads: readerCount()', () => {
  it('counts the read holds of worker readers', async () => {
    const rw = new RWLock();
    const rs = [rpc(rw), rpc(rw), rpc(rw)];
    for (const r of rs) await on(r, 'rw', 'readLock');
    expect(rw.readerCount()).toBe(3);
    expect(rw.isLocked()).toBe(true);
    await on(rs[0]!, 'rw', 'readLock'); // holds, not threads
    expect(rw.readerCount()).toBe(4);
    await on(rs[0]!, 'rw', 'readUnlock');
    await on(rs[1]!, 'rw', 'readUnlock');
    expect(rw.readerCount()).toBe(2);
    await on(rs[0]!, 'rw', 'readUnlock');
    await on(rs[2]!, 'rw', 'readUnlock');
    expect(rw.readerCount()).toBe(0);
    expect(rw.isLocked()).toBe(false);
  }, 15_000);

  it('counts readers on both paths when there are more reader threads than slots', async () => {
    const rw = new RWLock();
    const rs = Array.from({ length: SLOTS + 2 }, () => rpc(rw));
    for (const r of rs) await on(r, 'rw', 'readLock');
    expect(rw.readerCount()).toBe(SLOTS + 2);
    rw.readLock(); // this thread too, on whichever path is left
    expect(rw.readerCount()).toBe(SLOTS + 3);
    expect(rw.tryWriteLock()).toBe(false);
    for (const r of rs) await on(r, 'rw', 'readUnlock');
    expect(rw.readerCount()).toBe(1);
    expect(rw.tryWriteLock()).toBe(false);
    rw.readUnlock();
    expect(rw.readerCount()).toBe(0);
    expect(rw.tryWriteLock()).toBe(true);
    rw.writeUnlock();
  }, 15_000);
});
