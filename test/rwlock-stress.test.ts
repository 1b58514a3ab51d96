/**
 * RWLock under real contention: worker threads (fixtures/rw-stress.mjs) change a pair of fields
 * under the write lock (g0++, g1--); readers assert g0 === -g1 under the read lock. Negative
 * controls (readers that ignore the writer bit, a "downgrade" that unlocks and re-locks) must be
 * caught by the same checks.
 */
import { describe, expect, it } from 'vitest';
import { RWLock } from '../dist/index.js';
import { spawn, within } from './rwlock-helpers.js';

interface Result {
  role: string;
  id: number;
  writes: number;
  reads: number;
  upgrades: number;
  violations: number;
  maxInside: number;
}

interface Role {
  role: string;
  iterations?: number;
  hold?: number;
  gap?: number;
  api?: string;
  aborts?: boolean;
  /** Run until some worker saw a violation, at most this many ms (negative controls). */
  untilViolation?: number;
}

/**
 * Runs `roles` on one lock. Roles with `iterations` finish on their own; the others loop until
 * those are done (stop flag). Everything is bounded by `ms`.
 */
async function run(
  roles: Role[],
  ms = 20_000,
  env?: Record<string, string>,
): Promise<{ results: Result[]; g: Int32Array; elapsed: number }> {
  const rw = new RWLock({ name: 'stress' });
  const data = new SharedArrayBuffer(8);
  const ctl = new SharedArrayBuffer(24);
  const c = new Int32Array(ctl);
  c[5] = roles.length;
  const { results, terminateAll } = spawn<Result>(
    'rw-stress.mjs',
    roles.map((r, id) => ({ handle: rw.handle, data, ctl, id, ...r })),
    env,
  );
  const t0 = performance.now();
  try {
    const finite = results.filter((_, k) => roles[k]!.iterations || roles[k]!.untilViolation);
    await within(Promise.all(finite), ms, 'workers with a fixed number of iterations');
    const elapsed = performance.now() - t0;
    Atomics.store(c, 0, 1);
    const all = await within(Promise.all(results), ms, 'looping workers after stop');
    expect(rw.isLocked()).toBe(false);
    return { results: all, g: new Int32Array(data), elapsed };
  } finally {
    Atomics.store(c, 0, 1);
    await terminateAll();
  }
}

const sum = (rs: Result[], k: keyof Result): number => rs.reduce((s, r) => s + (r[k] as number), 0);

describe('RWLock stress (real workers)', () => {
  it('readers never see a half-done write; exact write count', async () => {
    const { results, g } = await run([
      { role: 'writer', iterations: 1500 },
      { role: 'writer', iterations: 1500 },
      { role: 'reader', hold: 2000 },
      { role: 'reader', hold: 2000 },
      { role: 'reader', hold: 2000 },
    ]);
    expect(sum(results, 'violations')).toBe(0);
    expect(g[0]).toBe(3000);
    expect(g[1]).toBe(-3000);
    expect(sum(results, 'reads')).toBeGreaterThan(0);
  });

  it('readers overlap: several inside at once', async () => {
    const { results, g } = await run([
      { role: 'reader', iterations: 100, hold: 200_000 },
      { role: 'reader', iterations: 100, hold: 200_000 },
      { role: 'reader', iterations: 100, hold: 200_000 },
      { role: 'writer', iterations: 20 },
    ]);
    expect(sum(results, 'violations')).toBe(0);
    expect(g[0]).toBe(20);
    expect(results[0]!.maxInside).toBeGreaterThan(1);
  });

  it('oversubscribed (8 workers on 2 cores), async and timed-try APIs mixed in', async () => {
    const { results, g } = await run([
      { role: 'writer', iterations: 100 },
      { role: 'writer', iterations: 100, api: 'async' },
      { role: 'writer', iterations: 100, api: 'try' },
      { role: 'upgrader', iterations: 60 },
      { role: 'reader' },
      { role: 'reader', api: 'async' },
      { role: 'reader', api: 'try' },
      { role: 'reader' },
    ]);
    expect(sum(results, 'violations')).toBe(0);
    expect(g[0]).toBe(360);
    expect(g[1]).toBe(-360);
    expect(sum(results, 'upgrades')).toBe(60);
  });

  it('writers make progress under a continuous reader flood (writer preference)', async () => {
    // Four readers re-acquire back to back, holding long enough that some reader is always
    // inside; without writer preference the writer would wait for a gap that never comes.
    const { results, g, elapsed } = await run(
      [
        { role: 'writer', iterations: 200 },
        { role: 'reader', hold: 20_000 },
        { role: 'reader', hold: 20_000 },
        { role: 'reader', hold: 20_000 },
        { role: 'reader', hold: 20_000 },
      ],
      15_000,
    );
    expect(g[0]).toBe(200);
    expect(sum(results, 'violations')).toBe(0);
    expect(elapsed).toBeLessThan(15_000);
  });

  it('upgradable readers: no writer between the upgradable read and the upgrade', async () => {
    const { results, g } = await run([
      { role: 'upgrader', iterations: 100 },
      { role: 'upgrader', iterations: 100, api: 'async' },
      { role: 'writer', iterations: 100 },
      { role: 'reader' },
      { role: 'reader' },
    ]);
    expect(sum(results, 'violations')).toBe(0);
    expect(g[0]).toBe(300);
    expect(sum(results, 'upgrades')).toBe(200);
  });

  it('downgrade is atomic: an evil writer cannot slip in', async () => {
    const { results } = await run([
      { role: 'downgrader', iterations: 200 },
      { role: 'downgrader', iterations: 200 },
      { role: 'writer' },
      { role: 'writer' },
      { role: 'reader' },
    ]);
    expect(sum(results, 'violations')).toBe(0);
    expect(sum(results.filter((r) => r.role === 'writer'), 'writes')).toBeGreaterThan(0);
  });

  it('every form at random with timeouts, the recheck rescue switched off: the wake protocol loses nothing', async () => {
    // No aborts here: an aborted async wait can swallow a wake that only its thread's event loop
    // passes on (see RECHECK_MS), which the next test covers with the rescue on.
    const chaos = { role: 'chaos', iterations: 300, aborts: false };
    const { results, g } = await run([chaos, chaos, chaos, chaos, chaos, chaos], 20_000, {
      SABLOCK_RW_RECHECK_MS: '1e9',
    });
    expect(sum(results, 'violations')).toBe(0);
    expect(g[0]).toBe(sum(results, 'writes'));
  });

  it('every acquisition form at random, with timeouts and aborts: no lost wakeup, no overlap', async () => {
    const { results, g } = await run([
      { role: 'chaos', iterations: 400 },
      { role: 'chaos', iterations: 400 },
      { role: 'chaos', iterations: 400 },
      { role: 'chaos', iterations: 400 },
      { role: 'chaos', iterations: 400 },
      { role: 'chaos', iterations: 400 },
    ]);
    expect(sum(results, 'violations')).toBe(0);
    expect(g[0]).toBe(sum(results, 'writes'));
    expect(g[1]).toBe(-g[0]!);
  });

  it('negative control: a non-atomic downgrade (unlock + readLock) is caught', async () => {
    const { results } = await run([
      { role: 'fakeDowngrader', untilViolation: 5000, gap: 20_000 },
      { role: 'writer', hold: 50 },
      { role: 'writer', hold: 50 },
    ]);
    expect(sum(results, 'violations')).toBeGreaterThan(0);
  });

  it('negative control: readers that ignore the writer bit are caught', async () => {
    const { results } = await run([
      // The writer polls (tryWriteLock(5)): broken readers never wake a sleeping writer.
      { role: 'writer', untilViolation: 5000, hold: 5000, api: 'try' },
      { role: 'brokenReader', hold: 2000, gap: 2000 },
      { role: 'brokenReader', hold: 2000, gap: 2000 },
    ]);
    expect(sum(results, 'violations')).toBeGreaterThan(0);
  });
});
