// diagnostics_channel events of RWLock and Semaphore: the right kind, name and mode, only when
// subscribed. Stats stay off in this file, so everything seen comes from the channel checks.
import diagnosticsChannel from 'node:diagnostics_channel';
import { describe, expect, it } from 'vitest';
import { listen } from './listen.js';
import { CHANNELS, RWLock, Semaphore, stats } from '../../dist/index.js';


describe('RWLock events', () => {
  it('publishes nothing while unsubscribed', () => {
    const rw = new RWLock({ name: 'rwev.quiet' });
    const channels = Object.values(CHANNELS).map((n) => diagnosticsChannel.channel(n));
    const calls: string[] = [];
    channels.forEach((ch) => (ch.publish = () => void calls.push(ch.name as string)));
    try {
      rw.withReadLock(() => rw.withReadLock(() => 0));
      rw.withWriteLock(() => 0);
      rw.upgradableReadLock().upgrade().downgrade().unlock();
      if (rw.tryReadLock(1)) rw.readUnlock();
      if (rw.tryWriteLock(1)) rw.writeUnlock();
    } finally {
      channels.forEach((ch) => delete (ch as { publish?: unknown }).publish);
    }
    expect(calls).toEqual([]);
  });

  it('acquire and release carry kind RWLock, the name and the mode', () => {
    const rw = new RWLock({ name: 'rwev.modes' });
    const acquired = listen(CHANNELS.acquire);
    const released = listen(CHANNELS.release);
    rw.readLock();
    rw.readUnlock();
    rw.writeLock();
    rw.writeUnlock();
    const g = rw.upgradableReadLock();
    g.upgrade(); // conversions publish nothing
    g.downgrade();
    g.unlock();
    expect(acquired.map((m) => [m.kind, m.name, m.mode, m.lock === rw, m.waitMs])).toEqual([
      ['RWLock', 'rwev.modes', 'read', true, 0],
      ['RWLock', 'rwev.modes', 'write', true, 0],
      ['RWLock', 'rwev.modes', 'upgradable', true, 0],
    ]);
    expect(released.map((m) => [m.kind, m.mode])).toEqual([
      ['RWLock', 'read'],
      ['RWLock', 'write'],
      ['RWLock', 'read'], // the upgradable hold, downgraded, is released as a read
    ]);
    for (const m of released) expect(m.holdMs).toBeGreaterThanOrEqual(0);
    expect(stats()).toEqual({});
  });

  it('contended, timeout and abort events carry the mode of the waiting acquisition', async () => {
    const rw = new RWLock({ name: 'rwev.wait' });
    const contended = listen(CHANNELS.contended);
    const timeouts = listen(CHANNELS.timeout);
    const aborts = listen(CHANNELS.abort);
    // A read hold of another thread (counted in STATE, word 1, untracked): our write attempt
    // waits. (A read through another object of this thread would make it throw instead.)
    const w = new Int32Array(rw.buffer, rw.byteOffset, 2);
    Atomics.add(w, 1, 1);
    expect(rw.tryWriteLock(5)).toBe(false);
    Atomics.sub(w, 1, 1);
    // Async acquisitions by the holding thread wait like any other.
    rw.writeLock();
    await expect(rw.readLockAsync({ timeout: 5 })).rejects.toMatchObject({ code: 'ERR_LOCK_TIMEOUT' });
    await expect(rw.upgradableReadLockAsync({ timeout: 5 })).rejects.toMatchObject({ code: 'ERR_LOCK_TIMEOUT' });
    const ac = new AbortController();
    const aborted = rw.writeLockAsync({ signal: ac.signal });
    setTimeout(() => ac.abort(new Error('stop')), 5);
    await expect(aborted).rejects.toThrow('stop');
    // An async read queued behind our own write lock gets it once we release.
    const reading = rw.readLockAsync();
    await new Promise((r) => setTimeout(r, 5));
    rw.writeUnlock();
    (await reading).unlock();
    expect(timeouts.map((m) => [m.kind, m.name, m.mode])).toEqual([
      ['RWLock', 'rwev.wait', 'write'],
      ['RWLock', 'rwev.wait', 'read'],
      ['RWLock', 'rwev.wait', 'upgradable'],
    ]);
    for (const m of timeouts) expect(m.waitMs).toBeGreaterThanOrEqual(4);
    expect(aborts.map((m) => [m.kind, m.mode])).toEqual([['RWLock', 'write']]);
    expect(contended.map((m) => [m.kind, m.name, m.mode])).toEqual([['RWLock', 'rwev.wait', 'read']]);
    expect(contended[0].waitMs).toBeGreaterThanOrEqual(4);
    expect(contended[0].parks).toBeGreaterThanOrEqual(1);
  });
});

describe('Semaphore events', () => {
  it('acquire, release, contended and timeout events with kind Semaphore', async () => {
    const sem = new Semaphore(1, { name: 'semev' });
    const acquired = listen(CHANNELS.acquire);
    const released = listen(CHANNELS.release);
    const contended = listen(CHANNELS.contended);
    const timeouts = listen(CHANNELS.timeout);
    const g = sem.acquire();
    expect(sem.tryAcquire(1)).toBe(false); // a failed plain try publishes nothing
    expect(sem.tryAcquire(1, 5)).toBe(false);
    const waiting = sem.acquireAsync();
    await new Promise((r) => setTimeout(r, 5));
    g.release();
    (await waiting).release();
    expect(acquired.map((m) => [m.kind, m.name, m.lock === sem, m.mode])).toEqual([
      ['Semaphore', 'semev', true, undefined],
      ['Semaphore', 'semev', true, undefined],
    ]);
    expect(released.map((m) => [m.kind, m.name])).toEqual([
      ['Semaphore', 'semev'],
      ['Semaphore', 'semev'],
    ]);
    expect(timeouts.map((m) => m.kind)).toEqual(['Semaphore']);
    expect(contended.map((m) => m.kind)).toEqual(['Semaphore']);
    expect(stats()).toEqual({});
  });
});
