/**
 * Randomized bank transfers across workers: the total balance must be exact, and every audit
 * (S on the whole table) must see it exact too.
 */
import { describe, expect, it } from 'vitest';
import { LockManager } from '../../dist/index.js';
import { spawner } from '../harness/spawn.js';

const BANK = new URL('../fixtures/manager/bank.mjs', import.meta.url);
// Each worker is bounded under the tests' 60 s and terminated after its test.
const spawn = spawner(BANK, 50_000);

interface Result {
  done: number;
  deadlocks: number;
  audits: number;
  badAudits: number;
}

async function runBank(opts: {
  workers: number;
  accounts: number;
  transfers: number;
  ordered?: boolean;
  broken?: boolean;
  asyncEvery?: number;
  hashBits?: number;
  deadlockTimeout?: number;
}): Promise<{ results: Result[]; total: number; expected: number }> {
  const lm = new LockManager({ capacity: 256, hashBits: opts.hashBits ?? 64, deadlockTimeout: opts.deadlockTimeout ?? 10 });
  const balances = new SharedArrayBuffer(4 * opts.accounts);
  const bal = new Int32Array(balances);
  bal.fill(1000);
  const expected = 1000 * opts.accounts;
  const start = new SharedArrayBuffer(4); // the workers' start barrier
  const results = (await Promise.all(
    Array.from(
      { length: opts.workers },
      (_, k) =>
        spawn({
          handle: lm.handle,
          balances,
          accounts: opts.accounts,
          transfers: opts.transfers,
          seed: 0x9e3779b9 ^ (k * 7919 + 1),
          ordered: opts.ordered ?? false,
          broken: opts.broken ?? false,
          useAsync: opts.asyncEvery !== undefined && k % opts.asyncEvery === 0,
          auditEvery: 25,
          total: expected,
          start,
          workers: opts.workers,
        }).done,
    ),
  )) as Result[];
  const total = bal.reduce((x, y) => x + y, 0);
  if (!opts.broken) expect(lm.query().resources).toEqual([]);
  return { results, total, expected };
}

describe('bank transfers over LockManager', () => {
  it('4 workers, rows locked in random order, deadlocks detected and retried: total exact', async () => {
    const { results, total, expected } = await runBank({ workers: 4, accounts: 6, transfers: 300 });
    expect(total).toBe(expected);
    for (const r of results) {
      expect(r.done).toBe(300);
      expect(r.badAudits).toBe(0);
      expect(r.audits).toBeGreaterThan(0);
    }
    // Informational: how many transfers were deadlock victims and retried.
    console.log('deadlock victims per worker:', results.map((r) => r.deadlocks).join(', '));
  }, 60_000);

  it('8 workers on 2 cores, half async, ordered locking, forced hash collisions: total exact', async () => {
    const { results, total, expected } = await runBank({
      workers: 8,
      accounts: 32,
      transfers: 120,
      ordered: true,
      asyncEvery: 2,
      hashBits: 3, // 8 distinct keys for 35 paths: many rows share entries
    });
    expect(total).toBe(expected);
    for (const r of results) {
      expect(r.done).toBe(120);
      expect(r.badAudits).toBe(0);
    }
  }, 60_000);

  it('negative control: the same workload without locks is caught', async () => {
    const { results, total, expected } = await runBank({ workers: 4, accounts: 6, transfers: 3000, broken: true });
    const bad = results.reduce((n, r) => n + r.badAudits, 0);
    expect(total !== expected || bad > 0).toBe(true);
  }, 60_000);
});
