/**
 * RWLock behaviour with a second real thread (fixtures/rw-rpc.mjs runs lock operations on
 * request): exclusion rules, upgradable read, upgrade and downgrade, async forms with timeouts
 * and aborts (no lost wakeup), misuse errors, handles and placement.
 */
import { threadId } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { LockError, Mutex, RWLock, TimeoutError } from '../dist/index.js';
import { Rpc } from './rwlock-helpers.js';

let rpcs: Rpc[] = [];
function rpc(rw: RWLock, flags?: SharedArrayBuffer): Rpc {
  const r = new Rpc({ handle: rw.handle, flags });
  rpcs.push(r);
  return r;
}
afterEach(async () => {
  await Promise.all(rpcs.map((r) => r.terminate()));
  rpcs = [];
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function waitFor(cond: () => boolean, ms = 5000): Promise<void> {
  const t0 = performance.now();
  while (!cond()) {
    if (performance.now() - t0 > ms) throw new Error('condition not reached in time');
    await sleep(2);
  }
}

describe('RWLock in one thread', () => {
  it('starts unlocked; readers share, the writer excludes', () => {
    const rw = new RWLock();
    expect(rw.isLocked()).toBe(false);
    const g1 = rw.readLock();
    const g2 = rw.readLock();
    expect(rw.readerCount()).toBe(2);
    expect(rw.tryWriteLock()).toBe(false);
    g1.unlock();
    g1.unlock(); // a guard releases once
    g2.unlock();
    expect(rw.isLocked()).toBe(false);
    const w = rw.writeLock();
    expect(rw.isWriteLocked()).toBe(true);
    expect(rw.tryReadLock()).toBe(false);
    expect(w.mode).toBe('write');
    w.unlock();
    expect(w.held).toBe(false);
    expect(rw.isLocked()).toBe(false);
  });

  it('with-helpers return the value and release on throw', async () => {
    const rw = new RWLock();
    expect(rw.withReadLock(() => rw.readerCount())).toBe(1);
    expect(rw.withWriteLock(() => rw.isWriteLocked())).toBe(true);
    expect(() => rw.withWriteLock(() => { throw new Error('x'); })).toThrow('x');
    expect(rw.isLocked()).toBe(false);
    expect(await rw.withReadLockAsync(async () => 5)).toBe(5);
    await expect(rw.withWriteLockAsync(async () => { throw new Error('y'); })).rejects.toThrow('y');
    expect(rw.isLocked()).toBe(false);
    expect(() => rw.withReadLock(42 as never)).toThrow(TypeError);
  });

  it('guards work with Symbol.dispose / asyncDispose', async () => {
    const rw = new RWLock();
    const g = rw.readLock();
    g[Symbol.dispose]();
    expect(rw.isLocked()).toBe(false);
    const w = await rw.writeLockAsync();
    await w[Symbol.asyncDispose]();
    expect(rw.isLocked()).toBe(false);
  });

  it('downgrade converts the write guard in place; upgrade the upgradable guard', () => {
    const rw = new RWLock();
    const w = rw.writeLock();
    const r = rw.downgrade();
    expect(r).toBe(w);
    expect(w.mode).toBe('read');
    expect(rw.isWriteLocked()).toBe(false);
    expect(rw.readerCount()).toBe(1);
    w.unlock();
    expect(rw.isLocked()).toBe(false);

    const u = rw.upgradableReadLock();
    expect(rw.isUpgradableLocked()).toBe(true);
    expect(rw.tryReadLock()).toBe(true); // readers coexist with the upgradable holder
    rw.readUnlock();
    expect(u.upgrade()).toBe(u);
    expect(u.mode).toBe('write');
    expect(rw.isWriteLocked()).toBe(true);
    u.downgrade();
    expect(u.mode).toBe('read');
    u.unlock();
    expect(rw.isLocked()).toBe(false);
  });

  it('misuse throws LockError with stable codes', () => {
    const rw = new RWLock({ name: 'misuse' });
    const code = (f: () => unknown): string | undefined => {
      try {
        f();
      } catch (e) {
        expect(e).toBeInstanceOf(LockError);
        return (e as LockError).code;
      }
      return undefined;
    };
    expect(code(() => rw.readUnlock())).toBe('ERR_LOCK_NOT_HELD');
    expect(code(() => rw.writeUnlock())).toBe('ERR_LOCK_NOT_OWNER');
    expect(code(() => rw.downgrade())).toBe('ERR_LOCK_NOT_OWNER');
    expect(code(() => rw.upgrade())).toBe('ERR_LOCK_NOT_HELD');
    expect(code(() => rw.upgradableReadUnlock())).toBe('ERR_LOCK_NOT_HELD');
    rw.readLock();
    expect(code(() => rw.writeLock())).toBe('ERR_LOCK_RECURSIVE');
    const other = rw.upgradableReadLock(); // free: taken at once even while reading
    other.unlock();
    expect(code(() => rw.tryWriteLock(10))).toBe('ERR_LOCK_RECURSIVE');
    expect(rw.tryWriteLock()).toBe(false);
    rw.readUnlock();
    rw.writeLock();
    expect(code(() => rw.writeLock())).toBe('ERR_LOCK_RECURSIVE');
    expect(code(() => rw.readLock())).toBe('ERR_LOCK_RECURSIVE');
    expect(code(() => rw.upgradableReadLock())).toBe('ERR_LOCK_RECURSIVE');
    rw.writeUnlock();
    const u = rw.upgradableReadLock();
    expect(code(() => rw.upgradableReadLock())).toBe('ERR_LOCK_RECURSIVE');
    expect(code(() => rw.writeLock())).toBe('ERR_LOCK_RECURSIVE');
    expect(code(() => u.downgrade())).toBe('ERR_LOCK_NOT_HELD');
    u.unlock();
    expect(rw.isLocked()).toBe(false);
  });

  it('a thread holding a read lock may read-lock again even while a writer waits', async () => {
    const rw = new RWLock();
    const writer = rpc(rw);
    const probe = rpc(rw);
    rw.readLock();
    const writing = writer.call('writeLockTimed');
    // Wait until the writer waits: then new readers (the probe) are kept out.
    for (let k = 0; await probe.call('tryReadLock'); k++) {
      await probe.call('readUnlock');
      if (k > 500) throw new Error('the writer never started waiting');
      await sleep(10);
    }
    rw.readLock(); // recursive: must not wait behind the writer (it waits for us)
    expect(rw.readHolds).toBe(2);
    rw.readUnlock();
    rw.readUnlock();
    expect(await writing).toBeGreaterThan(0);
    expect(rw.isLocked()).toBe(false);
  });

  it('read-hold slots stay exact when two objects of one thread share a slot and one frees it', () => {
    // Layout (docs/rwlock.md): FLAGS at word 6, holder slots (owner id, holds) from word 7.
    const rw = new RWLock();
    const other = RWLock.from(rw.handle);
    const w = new Int32Array(rw.buffer, rw.byteOffset, RWLock.BYTE_LENGTH / 4);
    const FLAGS = 6;
    const SLOTS_WANTED = 2;
    const slot = (k: number): [number, number] => [w[7 + 2 * k]!, w[8 + 2 * k]!];
    const me = threadId + 1;
    rw.readLock();
    other.readLock();
    expect(slot(0)).toEqual([me, 2]); // one slot per thread, shared by its objects
    Atomics.or(w, FLAGS, SLOTS_WANTED); // from now on a slot is given back at a count of 0
    rw.readUnlock();
    other.readUnlock();
    expect(slot(0)).toEqual([0, 0]); // freed by `other`
    // Another (live, unknown) thread takes slot 0: `rw` must not count into it from a stale cache.
    w[7] = 1_000_000;
    w[8] = 5;
    rw.readLock();
    expect(slot(0)).toEqual([1_000_000, 5]);
    expect(slot(1)).toEqual([me, 1]);
    rw.readUnlock();
    expect(slot(1)).toEqual([0, 0]);
    expect(slot(0)).toEqual([1_000_000, 5]);
    expect(rw.readerCount()).toBe(0);
  });

  it('rejects bad arguments', async () => {
    const rw = new RWLock();
    expect(() => rw.tryReadLock(-1)).toThrow(RangeError);
    expect(() => rw.tryWriteLock('5' as never)).toThrow(TypeError);
    await expect(rw.readLockAsync({ timeout: -1 })).rejects.toThrow(RangeError);
    await expect(rw.writeLockAsync({ signal: {} as never })).rejects.toThrow(TypeError);
    await expect(rw.writeLockAsync(7 as never)).rejects.toThrow(TypeError);
  });
});

describe('RWLock handles and placement', () => {
  it('BYTE_LENGTH, BYTE_ALIGNMENT, handle round trip, name', () => {
    expect(RWLock.BYTE_LENGTH).toBe(92);
    expect(RWLock.BYTE_ALIGNMENT).toBe(4);
    const sab = new SharedArrayBuffer(256);
    const rw = new RWLock({ buffer: sab, byteOffset: 16, name: 'accounts' });
    const same = RWLock.from(rw.handle);
    expect(same.name).toBe('accounts');
    expect(same.byteOffset).toBe(16);
    rw.writeLock();
    expect(same.isWriteLocked()).toBe(true);
    rw.writeUnlock();
    // Zeroed memory is an unlocked lock; placing twice attaches.
    const again = new RWLock({ buffer: sab, byteOffset: 16 });
    expect(again.isLocked()).toBe(false);
  });

  it('rejects bad placements and handles', () => {
    const sab = new SharedArrayBuffer(256);
    expect(() => new RWLock({ buffer: new ArrayBuffer(256) as never })).toThrow(TypeError);
    expect(() => new RWLock({ buffer: sab, byteOffset: 2 })).toThrow(RangeError);
    expect(() => new RWLock({ buffer: sab, byteOffset: 200 })).toThrow(RangeError);
    expect(() => new RWLock({ byteOffset: 4 } as never)).toThrow(TypeError);
    const m = new Mutex({ buffer: sab, byteOffset: 0 });
    expect(() => new RWLock({ buffer: sab, byteOffset: 0 })).toThrow(TypeError);
    expect(() => RWLock.from(m.handle as never)).toThrow(TypeError);
    expect(() => RWLock.from({ ...m.handle, kind: 'RWLock' })).toThrow(TypeError); // tag says Mutex
    expect(() => RWLock.from(null as never)).toThrow(TypeError);
    expect(() => RWLock.from({ kind: 'RWLock', buffer: sab, byteOffset: 200, name: 'x' })).toThrow(RangeError);
  });
});

describe('RWLock with a second thread', () => {
  it('a writer in another thread excludes readers; write unlock by a non-owner throws', async () => {
    const rw = new RWLock();
    const other = rpc(rw);
    await other.call('writeLock');
    expect(rw.tryReadLock()).toBe(false);
    expect(rw.tryReadLock(20)).toBe(false);
    expect(rw.tryWriteLock(20)).toBe(false);
    expect(() => rw.writeUnlock()).toThrow(expect.objectContaining({ code: 'ERR_LOCK_NOT_OWNER' }));
    expect(() => rw.downgrade()).toThrow(expect.objectContaining({ code: 'ERR_LOCK_NOT_OWNER' }));
    await other.call('writeUnlock');
    expect(rw.tryReadLock(1000)).toBe(true);
    rw.readUnlock();
  });

  it('readers in two threads are inside at once', async () => {
    const rw = new RWLock();
    const other = rpc(rw);
    rw.readLock();
    expect(await other.call('tryReadLock')).toBe(true);
    expect(rw.readerCount()).toBe(2);
    await other.call('readUnlock');
    rw.readUnlock();
  });

  it('upgradable read coexists with readers and excludes another upgradable reader and writers', async () => {
    const rw = new RWLock();
    const other = rpc(rw);
    const u = rw.upgradableReadLock();
    expect(await other.call('tryWriteLock', 30)).toBe(false);
    expect(await other.call('tryReadLock')).toBe(true);
    expect(await other.call('tryUpgradableReadLock')).toBe(false);
    // Waiting for it while holding a read lock could deadlock with our upgrade: refused.
    await expect(other.call('tryUpgradableReadLock', 30)).rejects.toMatchObject({ code: 'ERR_LOCK_RECURSIVE' });
    await expect(other.call('upgrade')).rejects.toMatchObject({ code: 'ERR_LOCK_NOT_HELD' });
    await other.call('readUnlock');
    expect(await other.call('tryUpgradableReadLock', 30)).toBe(false); // times out: u is held
    u.unlock();
    expect(await other.call('tryUpgradableReadLock')).toBe(true);
    await other.call('upgradableReadUnlock');
  });

  it('upgrade waits for the readers present to leave and keeps new readers out meanwhile', async () => {
    const rw = new RWLock();
    const flags = new SharedArrayBuffer(8);
    const f = new Int32Array(flags);
    const reader = rpc(rw, flags);
    const prober = rpc(rw, flags);
    const u = rw.upgradableReadLock();
    await reader.call('readLock');
    void reader.call('readUnlockAfter', 300, 0, 1); // sets f[0] = 1 just before it releases, after the probe
    void prober.call('probeReadAfter', 100, 1); // tries a read lock while we upgrade
    const t0 = performance.now();
    u.upgrade(); // blocks this thread until the reader left
    const waited = performance.now() - t0;
    expect(Atomics.load(f, 0)).toBe(1);
    expect(waited).toBeGreaterThan(150);
    expect(rw.isWriteLocked()).toBe(true);
    u.unlock();
    await waitFor(() => Atomics.load(f, 1) !== 0);
    expect(Atomics.load(f, 1)).toBe(2); // the probe's tryReadLock() failed during the upgrade
  });

  it('tryUpgrade(ms) times out while a reader stays, and readers may join again afterwards', async () => {
    const rw = new RWLock();
    const other = rpc(rw);
    const u = rw.upgradableReadLock();
    await other.call('readLock');
    expect(rw.tryUpgrade()).toBe(false);
    expect(rw.tryUpgrade(50)).toBe(false);
    expect(u.mode).toBe('upgradable');
    expect(await other.call('tryReadLock')).toBe(true); // UPGRADING was cleared
    await other.call('readUnlock');
    await other.call('readUnlock');
    expect(rw.tryUpgrade()).toBe(true);
    rw.writeUnlock();
    expect(u.held).toBe(false);
  });

  it('downgrade lets waiting readers in at once, but not a writer', async () => {
    const rw = new RWLock();
    const other = rpc(rw);
    rw.writeLock();
    const read = other.call('tryReadLock', 5000);
    await sleep(50);
    rw.downgrade();
    expect(await read).toBe(true);
    expect(await other.call('tryWriteLock')).toBe(false);
    await other.call('readUnlock');
    rw.readUnlock();
  });

  it('async forms: timeout, abort, and success after release', async () => {
    const rw = new RWLock({ name: 'async' });
    const other = rpc(rw);
    await other.call('writeLock');
    await expect(rw.readLockAsync({ timeout: 30 })).rejects.toBeInstanceOf(TimeoutError);
    await expect(rw.writeLockAsync({ timeout: 30 })).rejects.toMatchObject({ code: 'ERR_LOCK_TIMEOUT', lock: 'async' });
    await expect(rw.upgradableReadLockAsync({ timeout: 30 })).rejects.toBeInstanceOf(TimeoutError);
    const ac = new AbortController();
    const p = rw.writeLockAsync({ signal: ac.signal });
    setTimeout(() => ac.abort(new Error('stop')), 20);
    await expect(p).rejects.toThrow('stop');
    const pre = new AbortController();
    pre.abort();
    await expect(rw.readLockAsync({ signal: pre.signal })).rejects.toMatchObject({ name: 'AbortError' });
    const reading = rw.readLockAsync({ timeout: 5000 });
    await sleep(20);
    await other.call('writeUnlock');
    const g = await reading;
    expect(g.mode).toBe('read');
    g.unlock();
    expect(rw.isLocked()).toBe(false);
    // The aborted writer's wait is still queued; the wake it swallows is passed on (or, with
    // nobody left, the lock is freed) when this thread's event loop runs: poll, do not block.
    await waitFor(() => rw.tryWriteLock());
    rw.writeUnlock();
  });

  it('an aborted async writer does not swallow the wakeup of the writer queued behind it', async () => {
    const rw = new RWLock();
    const other = rpc(rw);
    await other.call('writeLock');
    const ac = new AbortController();
    const first = rw.writeLockAsync({ signal: ac.signal }); // queued first on the writer futex
    await sleep(10);
    const second = rw.writeLockAsync({ timeout: 5000 }); // queued behind it
    await sleep(10);
    ac.abort();
    await expect(first).rejects.toMatchObject({ name: 'AbortError' });
    await other.call('writeUnlock'); // wakes one writer: the abandoned one, which passes it on
    const g = await second;
    expect(rw.isWriteLocked()).toBe(true);
    g.unlock();
  });

  it('an aborted async reader that was the only one woken still lets the waiting writer go', async () => {
    const rw = new RWLock();
    const holder = rpc(rw);
    const writer = rpc(rw);
    await holder.call('writeLock');
    const ac = new AbortController();
    const reading = rw.readLockAsync({ signal: ac.signal }); // sleeps on STATE
    await sleep(20);
    const writing = writer.call('writeLockTimed'); // blocks in the writer thread (WRITERS_WAITING)
    await sleep(50);
    ac.abort();
    await expect(reading).rejects.toMatchObject({ name: 'AbortError' });
    await holder.call('writeUnlock'); // prefers the readers: wakes only the abandoned reader
    expect(await writing).toBeGreaterThan(0); // …which passed the wake on to the writer
    expect(rw.isLocked()).toBe(false);
  });

  it('upgradeAsync waits on the event loop; abort keeps the upgradable lock', async () => {
    const rw = new RWLock();
    const other = rpc(rw);
    const u = await rw.upgradableReadLockAsync();
    await other.call('readLock');
    const ac = new AbortController();
    const up = rw.upgradeAsync({ signal: ac.signal });
    setTimeout(() => ac.abort(), 20);
    await expect(up).rejects.toMatchObject({ name: 'AbortError' });
    expect(u.mode).toBe('upgradable');
    const up2 = rw.upgradeAsync({ timeout: 5000 });
    await sleep(20);
    await other.call('readUnlock');
    expect(await up2).toBe(u);
    expect(u.mode).toBe('write');
    u.unlock();
    expect(rw.isLocked()).toBe(false);
  });

  it('the writer view is a Lockable for the write side', async () => {
    const rw = new RWLock({ name: 'view' });
    const w = rw.writer;
    expect(w.name).toBe('view');
    expect(w.tryLock()).toBe(true);
    expect(w.isLocked()).toBe(true);
    expect(rw.tryReadLock()).toBe(false);
    w.unlock();
    await w.lockAsync();
    w.unlock();
    const r = rw.reader;
    r.lock();
    r.lock();
    expect(rw.readerCount()).toBe(2);
    r.unlock();
    r.unlock();
    expect(rw.isLocked()).toBe(false);
  });
});
