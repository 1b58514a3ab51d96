/**
 * Web Locks under sablock's development and production tooling (issue 15, "beyond the spec"):
 * the lock-order verifier sees each name as a lock class `<instance>:<name>`, and the stats table
 * and `sablock:*` diagnostics-channel events count and describe requests like any other lock.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHANNELS, lockcheck, stats, TimeoutError, WebLocks } from '../../src/index.js';
import { listen } from '../observe/listen.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('Web Locks and the lock-order verifier', () => {
  beforeAll(() => lockcheck.enable({ onViolation: 'silent' }));
  afterAll(() => lockcheck.disable());

  it('reports an order inversion between two names, naming both classes', async () => {
    const wl = new WebLocks({ name: 'vo' });
    const before = lockcheck.reports().length;
    await wl.request('a', async () => {
      await wl.request('b', async () => {});
    });
    expect(lockcheck.reports().length).toBe(before); // one order alone is fine
    await wl.request('b', async () => {
      await wl.request('a', async () => {});
    });
    const found = lockcheck.reports().slice(before);
    expect(found.map((r) => r.kind)).toEqual(['lock-order']);
    expect(found[0]!.message).toContain('vo:a');
    expect(found[0]!.message).toContain('vo:b');
  });

  it('reports a request for the name its own callback holds as recursive (and it times out)', async () => {
    const wl = new WebLocks({ name: 'vr' });
    const before = lockcheck.reports().length;
    const inner = await wl.request('c', () => wl.request('c', { timeout: 100 }, () => 'inner').catch((e: unknown) => e));
    expect(inner).toBeInstanceOf(TimeoutError);
    const found = lockcheck.reports().slice(before);
    expect(found.map((r) => r.kind)).toEqual(['recursive']);
    expect(found[0]!.message).toContain('vr:c');
  });

  it('ifAvailable and steal cannot wait: they add no order edge', async () => {
    const wl = new WebLocks({ name: 'vt' });
    const before = lockcheck.reports().length;
    await wl.request('x', async () => {
      await wl.request('y', { ifAvailable: true }, () => {});
    });
    await wl.request('y', async () => {
      await wl.request('x', { steal: true }, () => {});
    });
    expect(lockcheck.reports().slice(before)).toEqual([]);
  });
});

describe('Web Locks stats and events', () => {
  beforeAll(() => stats.enable());

  it('acquire, contended, release, timeout and abort events carry the class name and kind', async () => {
    const wl = new WebLocks({ name: 'ev' });
    const acquired = listen(CHANNELS.acquire);
    const contended = listen(CHANNELS.contended);
    const released = listen(CHANNELS.release);
    const timedOut = listen(CHANNELS.timeout);
    const aborted = listen(CHANNELS.abort);
    let release!: () => void;
    const held = wl.request('n', () => new Promise<void>((r) => (release = r)));
    await sleep(5);
    const waiter = wl.request('n', () => 'second');
    const late = wl.request('n', { timeout: 30 }, () => 'never').catch((e: unknown) => e);
    const ac = new AbortController();
    const gone = wl.request('n', { signal: ac.signal }, () => 'never').catch((e: unknown) => e);
    ac.abort(new Error('stop'));
    expect(await late).toBeInstanceOf(TimeoutError);
    expect(((await gone) as Error).message).toBe('stop');
    release();
    await held;
    expect(await waiter).toBe('second');
    const mine = (xs: { name: string }[]): { name: string; kind: string; waitMs?: number; holdMs?: number }[] =>
      xs.filter((m) => m.name === 'ev:n') as never;
    expect(mine(acquired).length).toBe(2);
    expect(mine(acquired).every((m) => m.kind === 'WebLocks')).toBe(true);
    expect(mine(contended).length).toBe(1);
    expect(mine(contended)[0]!.waitMs).toBeGreaterThan(0);
    expect(mine(released).length).toBe(2);
    expect(mine(released)[0]!.holdMs).toBeGreaterThanOrEqual(4);
    expect(mine(timedOut).length).toBe(1);
    expect(mine(aborted).length).toBe(1);
    const s = stats()['ev:n']!;
    expect(s.acquisitions).toBe(2);
    expect(s.contended).toBe(1);
    expect(s.timeouts).toBe(1);
    expect(s.aborts).toBe(1);
  });
});
