/**
 * Lock-order verifier: its fixed-size shared tables under load — many distinct reports (the
 * report-key hash table) and more edges than the edge table holds. This file has its own process
 * (vitest forks per file), so the shared state starts empty here.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Worker } from 'node:worker_threads';
import { lockcheck } from '../../dist/index.js';

const DIST = new URL('../../dist/index.js', import.meta.url).href;

/** Runs module source `src` in a worker; resolves with its first message (bounded in time). */
async function runEval(src: string, ms = 30_000): Promise<unknown> {
  const w = new Worker(src, { eval: true });
  try {
    return await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('worker timed out')), ms);
      w.once('message', (m) => (clearTimeout(timer), resolve(m)));
      w.once('error', (e) => (clearTimeout(timer), reject(e)));
    });
  } finally {
    await w.terminate();
  }
}

beforeAll(() => lockcheck.enable({ onViolation: 'silent' }));
afterAll(() => lockcheck.disable());

describe('report keys', () => {
  it('a worker records 300 distinct AB/BA inversions without the verifier throwing', async () => {
    const pairs = 300;
    const before = lockcheck.reports().length;
    // In a worker: short stacks, so every report fits the 2 MiB report area and none is dropped.
    const src = `
      import { parentPort } from 'node:worker_threads';
      import { Mutex } from '${DIST}';
      try {
        for (let k = 0; k < ${pairs}; k++) {
          const a = new Mutex({ name: 'inv' + k + '.a' });
          const b = new Mutex({ name: 'inv' + k + '.b' });
          a.lock(); b.lock(); b.unlock(); a.unlock();
          b.lock(); a.lock(); a.unlock(); b.unlock(); // closes the cycle: a new report key each time
        }
        parentPort.postMessage('done');
      } catch (e) {
        parentPort.postMessage(String(e?.stack ?? e));
      }
    `;
    expect(await runEval(src)).toBe('done');
    const found = lockcheck.reports().slice(before).filter((r) => r.kind === 'lock-order');
    expect(lockcheck.dropped().reports).toBe(0);
    expect(found).toHaveLength(pairs);
    expect(new Set(found.map((r) => r.locks.join('>'))).size).toBe(pairs);
  });
});
