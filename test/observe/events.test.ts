// diagnostics_channel events: right fields, only when subscribed. Stats stay off in this file, so
// everything seen here comes from the channel checks alone.
import diagnosticsChannel from 'node:diagnostics_channel';
import { describe, expect, it } from 'vitest';
import { listen } from './listen.js';
import { CHANNELS, Mutex, SpinLock, TicketLock, stats } from '../../dist/index.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const KINDS = { Mutex, SpinLock, TicketLock } as const;
type KindName = keyof typeof KINDS;


describe('channel names', () => {
  it('are the documented ones', () => {
    expect(CHANNELS).toEqual({
      acquire: 'sablock:acquire',
      contended: 'sablock:contended',
      release: 'sablock:release',
      timeout: 'sablock:timeout',
      abort: 'sablock:abort',
      ownerDied: 'sablock:owner-died',
    });
    expect(Object.isFrozen(CHANNELS)).toBe(true);
  });
});

describe.each(Object.keys(KINDS) as KindName[])('%s events', (kind) => {
  it('publishes nothing while unsubscribed; a later subscriber sees only later events', () => {
    const lock = new KINDS[kind]({ name: `quiet-${kind}` });
    const channels = Object.values(CHANNELS).map((n) => diagnosticsChannel.channel(n));
    const calls: string[] = [];
    // Spy on publish itself: with no subscribers the locks must not even call it.
    channels.forEach((ch) => (ch.publish = (m: unknown) => void calls.push(ch.name as string, m as never)));
    try {
      for (let k = 0; k < 5; k++) {
        lock.lock();
        lock.unlock();
        if (lock.tryLock()) lock.unlock();
      }
    } finally {
      // Drop the own property: the prototype's publish (which changes on subscribe) shows again.
      channels.forEach((ch) => delete (ch as { publish?: unknown }).publish);
    }
    expect(calls).toEqual([]);
    const acquired = listen(CHANNELS.acquire);
    lock.lock();
    lock.unlock();
    expect(acquired).toHaveLength(1);
    expect(stats()).toEqual({});
  });

  it('acquire and release carry { lock, name, kind, waitMs / holdMs }', () => {
    const name = `fields-${kind}`;
    const lock = new KINDS[kind]({ name });
    const acquired = listen(CHANNELS.acquire);
    const released = listen(CHANNELS.release);
    lock.lock();
    lock.unlock();
    expect(lock.tryLock()).toBe(true);
    lock.unlock();
    expect(acquired).toHaveLength(2);
    expect(acquired[0]).toEqual({ lock, name, kind, waitMs: 0 });
    expect(acquired[0].lock).toBe(lock);
    expect(released).toHaveLength(2);
    expect(released[0]).toMatchObject({ lock, name, kind });
    expect(released[0].holdMs).toBeGreaterThanOrEqual(0);
    expect(released[0].holdMs).toBeLessThan(10_000);
  });

  it('a wait publishes contended (with waitMs) and then acquire', async () => {
    const name = `contended-${kind}`;
    const lock = new KINDS[kind]({ name });
    const order: string[] = [];
    const contended = listen(CHANNELS.contended);
    const acquired = listen(CHANNELS.acquire);
    listen(CHANNELS.contended).push = (m: unknown) => order.push('contended');
    listen(CHANNELS.acquire).push = (m: unknown) => order.push('acquire');
    lock.lock();
    const waiting = lock.lockAsync(); // this thread holds it: must wait
    await sleep(10);
    lock.unlock();
    (await waiting).unlock();
    expect(contended).toHaveLength(1);
    expect(contended[0]).toMatchObject({ lock, name, kind });
    expect(contended[0].waitMs).toBeGreaterThanOrEqual(8);
    expect(contended[0].parks).toBeGreaterThanOrEqual(1);
    expect(acquired).toHaveLength(2);
    expect(acquired[1].waitMs).toBe(contended[0].waitMs);
    expect(order).toEqual(['acquire', 'contended', 'acquire']);
  });

  it('timeout and abort are published with the time waited', async () => {
    const name = `giveup-${kind}`;
    const lock = new KINDS[kind]({ name });
    const timedOut = listen(CHANNELS.timeout);
    const aborted = listen(CHANNELS.abort);
    lock.lock();
    try {
      await expect(lock.lockAsync({ timeout: 10 })).rejects.toMatchObject({ code: 'ERR_LOCK_TIMEOUT' });
      const ac = new AbortController();
      const p = lock.lockAsync({ signal: ac.signal });
      await sleep(5);
      ac.abort(new Error('enough'));
      await expect(p).rejects.toThrow('enough');
    } finally {
      lock.unlock();
    }
    expect(timedOut).toHaveLength(1);
    expect(timedOut[0]).toMatchObject({ lock, name, kind });
    expect(timedOut[0].waitMs).toBeGreaterThanOrEqual(9);
    expect(aborted).toHaveLength(1);
    expect(aborted[0]).toMatchObject({ lock, name, kind });
    expect(aborted[0].waitMs).toBeGreaterThanOrEqual(4);
  });
});
