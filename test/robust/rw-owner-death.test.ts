/**
 * RWLock dead-owner recovery with real workers: a thread is terminated holding the write lock,
 * the upgradable read lock, or a write lock it upgraded to; every waiter behind it (readers,
 * writers, upgradable readers; sync, async, timed try) gets its lock within a bounded time and is
 * told `ownerDied`; exclusion and the counts hold afterwards. Bounds are generous (noisy cores).
 */
import { describe, expect, it } from 'vitest';
import { RWLock, isThreadDead, LockError } from '../../dist/index.js';
import { withActors, sleep } from './helpers.js';

const RW_ACTOR = new URL('../fixtures/robust/rw-actor.mjs', import.meta.url);
/** Generous bound from the exit event to a waiter holding its lock (target: well under 200 ms). */
const BOUND_MS = 2_000;

type Got = { type: string; acquired: boolean; ownerDied: boolean; at: number };
const WAITERS = [
  { mode: 'read', how: 'sync' },
  { mode: 'read', how: 'async' },
  { mode: 'read', how: 'try' },
  { mode: 'write', how: 'sync' },
  { mode: 'write', how: 'async' },
  { mode: 'write', how: 'try' },
  { mode: 'upgradable', how: 'sync' },
  { mode: 'upgradable', how: 'async' },
] as const;

describe('RWLock: dead holder', () => {
  it.each(['write', 'upgradable', 'upgraded'] as const)(
    'a thread terminated holding the %s lock: every kind of waiter gets in and is told',
    async (held) => {
      const rw = new RWLock({ name: `robust-rw-${held}` });
      const counter = new SharedArrayBuffer(4);
      // An upgradable holder does not keep readers out: only writers and upgradables wait on it.
      const waiters = held === 'upgradable' ? WAITERS.filter((w) => w.mode !== 'read') : WAITERS;
      await withActors(async (spawn) => {
        const holder = spawn({ handle: rw.handle, role: 'holder', mode: held }, RW_ACTOR);
        expect((await holder.next()).type).toBe('locked');
        const ws = waiters.map((w) => spawn({ handle: rw.handle, role: 'waiter', ...w, counter }, RW_ACTOR));
        for (const w of ws) expect((await w.next()).type).toBe('ready');
        await sleep(150); // let them park behind the holder
        // Nobody got in while the holder lived.
        expect(Atomics.load(new Int32Array(counter), 0)).toBe(0);
        const holderId = holder.worker.threadId;
        const exitAt = await holder.kill();
        expect(isThreadDead(holderId)).toBe(true);
        for (const w of ws) {
          const got = await w.next<Got>();
          expect(got.acquired).toBe(true);
          expect(got.ownerDied).toBe(true);
          // The last of them may wait behind the others' critical sections, which are short.
          expect(got.at - exitAt).toBeLessThan(BOUND_MS);
        }
      });
      // Every writer incremented exactly once under exclusion; everything was released.
      expect(Atomics.load(new Int32Array(counter), 0)).toBe(waiters.filter((w) => w.mode === 'write').length);
      expect(rw.isLocked()).toBe(false);
      expect(rw.readerCount()).toBe(0);
      expect(rw.isUpgradableLocked()).toBe(false);
      // The flag persists until a write holder repairs the data.
      expect(rw.ownerDied).toBe(true);
      rw.readLock();
      expect(rw.ownerDied).toBe(true);
      expect(() => rw.markConsistent()).toThrow(LockError);
      rw.readUnlock();
      rw.writeLock();
      expect(rw.writer.ownerDied).toBe(true);
      rw.markConsistent();
      expect(rw.ownerDied).toBe(false);
      rw.writeUnlock();
      expect(rw.tryWriteLock()).toBe(true);
      rw.writeUnlock();
      expect(rw.ownerDied).toBe(false);
    },
    30_000,
  );

  it('plain try*() calls reap a dead writer at once once its death is published', async () => {
    const rw = new RWLock();
    await withActors(async (spawn) => {
      const holder = spawn({ handle: rw.handle, role: 'holder', mode: 'write' }, RW_ACTOR);
      await holder.next();
      expect(rw.tryReadLock()).toBe(false);
      expect(rw.tryWriteLock()).toBe(false);
      expect(rw.ownerDied).toBe(false);
      await holder.kill();
      expect(rw.tryReadLock()).toBe(true);
      expect(rw.ownerDied).toBe(true);
      rw.readUnlock();
      expect(rw.tryWriteLock()).toBe(true);
      rw.markConsistent();
      rw.writeUnlock();
      expect(rw.isLocked()).toBe(false);
    });
  }, 20_000);

  it('a dead upgradable holder leaves plain readers alone and frees the upgradable slot', async () => {
    const rw = new RWLock();
    await withActors(async (spawn) => {
      const holder = spawn({ handle: rw.handle, role: 'holder', mode: 'upgradable' }, RW_ACTOR);
      await holder.next();
      rw.readLock(); // readers coexist with it
      expect(rw.readerCount()).toBe(2);
      expect(rw.tryUpgradableReadLock()).toBe(false);
      await holder.kill();
      // Our read hold is untouched; only the dead thread's hold and the UPGRADABLE bit went.
      expect(rw.tryUpgradableReadLock()).toBe(true);
      expect(rw.readerCount()).toBe(2);
      expect(rw.ownerDied).toBe(true);
      rw.upgradableReadUnlock();
      rw.readUnlock();
      expect(rw.readerCount()).toBe(0);
    });
  }, 20_000);

  it('a live holder is never reaped (negative control)', async () => {
    const rw = new RWLock();
    await withActors(async (spawn) => {
      const holder = spawn({ handle: rw.handle, role: 'holder', mode: 'write' }, RW_ACTOR);
      await holder.next();
      // Waiting well past several recheck slices must not take the lock from a live holder.
      expect(rw.tryReadLock(300)).toBe(false);
      expect(rw.tryWriteLock(300)).toBe(false);
      expect(rw.isWriteLocked()).toBe(true);
      expect(rw.ownerDied).toBe(false);
    });
  }, 20_000);
});

describe('RWLock: dead readers', () => {
  it('a thread terminated holding read locks: sync and async writers get in, the count is exact', async () => {
    const rw = new RWLock({ name: 'robust-rw-readers' });
    const counter = new SharedArrayBuffer(4);
    const writers = [
      { mode: 'write', how: 'sync' },
      { mode: 'write', how: 'async' },
      { mode: 'write', how: 'try' },
    ] as const;
    await withActors(async (spawn) => {
      const live = spawn({ handle: rw.handle, role: 'holder', mode: 'read', holds: 1 }, RW_ACTOR);
      const dead = spawn({ handle: rw.handle, role: 'holder', mode: 'read', holds: 3 }, RW_ACTOR);
      await live.next();
      await dead.next();
      expect(rw.readerCount()).toBe(4);
      const ws = writers.map((w) => spawn({ handle: rw.handle, role: 'waiter', ...w, counter }, RW_ACTOR));
      for (const w of ws) expect((await w.next()).type).toBe('ready');
      await sleep(150);
      await dead.kill();
      // The dead reader's 3 holds are given back; the live reader's one still keeps writers out.
      const t0 = Date.now();
      while (rw.readerCount() !== 1 && Date.now() - t0 < BOUND_MS) await sleep(5);
      expect(rw.readerCount()).toBe(1);
      await sleep(100);
      expect(Atomics.load(new Int32Array(counter), 0)).toBe(0); // exclusion with the live reader
      const exitAt = await live.kill();
      for (const w of ws) {
        const got = await w.next<Got>();
        expect(got.acquired).toBe(true);
        expect(got.ownerDied).toBe(true);
        expect(got.at - exitAt).toBeLessThan(BOUND_MS);
      }
    });
    expect(Atomics.load(new Int32Array(counter), 0)).toBe(3);
    expect(rw.isLocked()).toBe(false);
    expect(rw.readerCount()).toBe(0);
    expect(rw.ownerDied).toBe(true);
  }, 30_000);

  it('an upgrade waiting for a dead reader completes', async () => {
    const rw = new RWLock();
    await withActors(async (spawn) => {
      const dead = spawn({ handle: rw.handle, role: 'holder', mode: 'read', holds: 2 }, RW_ACTOR);
      await dead.next();
      rw.upgradableReadLock();
      expect(rw.tryUpgrade(100)).toBe(false);
      await dead.kill();
      expect(rw.tryUpgrade(5_000)).toBe(true);
      expect(rw.ownerDied).toBe(true);
      rw.markConsistent();
      rw.writeUnlock();
    });
    expect(rw.isLocked()).toBe(false);
    expect(rw.ownerDied).toBe(false);
  }, 20_000);

  it('read holds of a live thread are never reaped, and its slot follows its holds', async () => {
    const rw = new RWLock();
    await withActors(async (spawn) => {
      const live = spawn({ handle: rw.handle, role: 'holder', mode: 'read', holds: 2 }, RW_ACTOR);
      await live.next();
      expect(rw.tryWriteLock(300)).toBe(false);
      expect(rw.readerCount()).toBe(2);
      expect(rw.ownerDied).toBe(false);
    });
    // withActors terminated the live holder: its holds are reaped by the next waiter.
    expect(rw.tryWriteLock(5_000)).toBe(true);
    expect(rw.ownerDied).toBe(true);
    rw.writeUnlock();
  }, 20_000);
});
