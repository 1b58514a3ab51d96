/**
 * Lock names are DOMStrings compared exactly: empty, NUL, unpaired surrogates and non-characters
 * round-trip unchanged and are not merged with their "repaired" forms; a leading '-' is reserved
 * (web-platform-tests web-locks/resource-names). Beyond the WPT: names longer than `nameBytes`
 * (the bytes kept for query()) stay distinct locks, also between threads.
 */
import { describe, expect, it } from 'vitest';
import { WebLocks } from '../../src/index.js';
import { expectDOMException, rejects, unique, unreached, within, withClients } from './helpers.js';

const codePoints = (s: string): string => [...s].map((c) => `0x${c.charCodeAt(0).toString(16).toUpperCase()}`).join(' ') || '(empty)';

describe('resource names', () => {
  it.each(['', 'abc\x00def', '\uD800', '\uDC00', '\uDC00\uD800', '\uFFFF'])('the lock of %j is named exactly that', async (name) => {
    const locks = new WebLocks();
    const seen = await within(
      locks.request(name, (lock) => lock!.name),
      2_000,
      `request ${codePoints(name)}`,
    );
    expect(seen).toBe(name);
  });

  it('names that are not valid UTF-16 are not mangled: \\uD800 and \\uFFFD are two locks', async () => {
    const locks = new WebLocks();
    await within(
      locks.request('\uD800', async (lock) => {
        expect(lock!.name).toBe('\uD800');
        // Would wait for ever if the two names were one lock.
        await locks.request('\uFFFD', (lock2) => expect(lock2!.name).toBe('\uFFFD'));
      }),
      2_000,
      'the two requests',
    );
  });

  it('a name starting with "-" is refused with NotSupportedError; an inner "-" is fine', async () => {
    const locks = new WebLocks();
    for (const name of ['-', '-foo']) {
      expectDOMException(await rejects(() => locks.request(name, unreached())), 'NotSupportedError');
    }
    expect(await locks.request('x-anything', () => 'got it')).toBe('got it');
    expect(await locks.query()).toEqual({ held: [], pending: [] });
  });

  it('query() reports short names as they were given', async () => {
    const locks = new WebLocks();
    const names = ['', 'abc\x00def', 'naïve ☃ 🔒', unique()];
    await within(
      (async () => {
        const holds = names.map((n) => locks.request(n, { mode: 'shared' }, () => new Promise((r) => setTimeout(r, 50))));
        const q = await locks.query();
        expect(q.held.map((l) => l.name).sort()).toEqual([...names].sort());
        await Promise.all(holds);
      })(),
      2_000,
      'holds',
    );
  });

  it('query() reports a short name with unpaired surrogates unmangled', async () => {
    const locks = new WebLocks();
    const names = ['\uD800', '\uDC00x', '\uFFFD'];
    const holds = names.map((n) => locks.request(n, () => new Promise((r) => setTimeout(r, 50))));
    const q = await locks.query();
    expect(q.held.map((l) => l.name).sort()).toEqual([...names].sort());
    await within(Promise.all(holds), 2_000, 'holds');
  });

  it('names longer than nameBytes that share their first bytes are still distinct locks', async () => {
    const locks = new WebLocks({ nameBytes: 16 });
    const prefix = 'p'.repeat(200);
    await within(
      locks.request(`${prefix}-a`, async () => {
        let other: unknown = 'not called';
        await locks.request(`${prefix}-b`, { ifAvailable: true }, (lock) => void (other = lock));
        expect(other).toMatchObject({ name: `${prefix}-b` });
        // ...and the same long name is still the same lock.
        let same: unknown = 'not called';
        await locks.request(`${prefix}-a`, { ifAvailable: true }, (lock) => void (same = lock));
        expect(same).toBeNull();
      }),
      2_000,
      'long names',
    );
  });

  it('a long name held in a worker: another long name with the same prefix is free here, the same one is not', async () => {
    const locks = new WebLocks({ nameBytes: 16 });
    const prefix = 'q'.repeat(300);
    await withClients(async (start) => {
      const w = start(locks.handle);
      await w.granted(await w.request(`${prefix}-a`));
      const probe = (name: string) => locks.request(name, { ifAvailable: true }, (lock) => lock !== null);
      expect(await probe(`${prefix}-b`)).toBe(true);
      expect(await probe(`${prefix}-a`)).toBe(false);
      // query() shows the worker's hold with the kept part of its name, marked cut with '…'.
      const q = await locks.query();
      expect(q.held).toHaveLength(1);
      const shown = q.held[0]!.name;
      expect(shown.endsWith('…')).toBe(true);
      expect(shown.length).toBeGreaterThan(1);
      expect(`${prefix}-a`.startsWith(shown.slice(0, -1))).toBe(true);
    });
  });
});
