/**
 * Lock-order verifier: its fixed-size shared tables under load — many distinct reports (the
 * report-key hash table) and more edges than the edge table holds. This file has its own process
 * (vitest forks per file), so the shared state starts empty here.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { lockcheck } from '../../dist/index.js';
import { Workers } from '../harness/workers.mjs';

const DIST = new URL('../../dist/index.js', import.meta.url).href;

const crew = new Workers();
afterEach(() => crew.terminateAll());

/** Runs module source `src` in a worker; resolves with the `result` of its `{ done: true, result }` (bounded in time). */
function runEval(src: string, ms = 30_000): Promise<unknown> {
  return crew.start(src, undefined, { timeoutMs: ms, what: 'verifier worker', workerOptions: { eval: true } }).done;
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
        parentPort.postMessage({ done: true, result: 'done' });
      } catch (e) {
        parentPort.postMessage({ done: true, result: String(e?.stack ?? e) });
      }
    `;
    expect(await runEval(src)).toBe('done');
    const found = lockcheck.reports().slice(before).filter((r) => r.kind === 'lock-order');
    expect(lockcheck.dropped().reports).toBe(0);
    expect(found).toHaveLength(pairs);
    expect(new Set(found.map((r) => r.locks.join('>'))).size).toBe(pairs);
  });
});

describe('edge table', () => {
  it('edges past the edge-table limit are counted, drawn by toDot() and named in reports', async () => {
    // 128 × 129 = 16512 distinct edges "outer i -> inner j": past MAX_EDGES (16384) by 128. The
    // inner classes have no outgoing edges, so each new edge's cycle search is short.
    const outer = 128;
    const inner = 129;
    const arrowsOf = (dot: string): string[] => dot.split('\n').filter((l) => /^  c\d+ -> /.test(l));
    const before = arrowsOf(lockcheck.toDot()).length; // edges of the tests above, all recorded
    expect(lockcheck.dropped().edges).toBe(0);
    const src = `
      import { parentPort } from 'node:worker_threads';
      import { Mutex, lockcheck } from '${DIST}';
      try {
        const o = Array.from({ length: ${outer} }, (_, i) => new Mutex({ name: 'edge.o' + i }));
        const n = Array.from({ length: ${inner} }, (_, j) => new Mutex({ name: 'edge.n' + j }));
        for (const x of o) {
          x.lock();
          for (const y of n) { y.lock(); y.unlock(); }
          x.unlock();
        }
        // Close a cycle through the last edge, o127 -> n128, which got no record.
        const last = n[${inner - 1}], first = o[${outer - 1}];
        last.lock(); first.lock(); first.unlock(); last.unlock();
        parentPort.postMessage({ done: true, result: { dropped: lockcheck.dropped() } });
      } catch (e) {
        parentPort.postMessage({ done: true, result: { error: String(e?.stack ?? e) } });
      }
    `;
    const out = (await runEval(src, 60_000)) as { dropped?: { edges: number }; error?: string };
    expect(out.error).toBeUndefined();
    // Every edge without a record is counted once (the closing edge n128 -> o127 too).
    const overflow = before + outer * inner + 1 - 16384;
    expect(out.dropped!.edges).toBe(overflow);
    expect(lockcheck.dropped().edges).toBe(overflow);
    // The cycle is still found; its unrecorded edge says why it has no thread and no stack.
    const [r] = lockcheck.reports().filter((x) => x.kind === 'lock-order' && x.locks.includes('edge.o127'));
    expect(r).toBeDefined();
    expect(r!.edges!.map((e) => `${e.from}>${e.to}`)).toEqual(['edge.n128>edge.o127', 'edge.o127>edge.n128']);
    expect(r!.edges![1]!.thread).toBe(-1);
    expect(r!.edges![1]!.stack).toBe('');
    expect(r!.message).toMatch(/not recorded: the edge table is full/);
    // toDot() draws every edge, recorded or not, and says how many have no record.
    const dot = lockcheck.toDot();
    const id = (name: string): string => new RegExp(`  (c\\d+) \\[label="${name.replace('.', '\\.')}"`).exec(dot)![1]!;
    const arrows = arrowsOf(dot);
    expect(arrows).toHaveLength(before + outer * inner + 1);
    expect(arrows.filter((l) => l.includes('style=dashed'))).toHaveLength(overflow);
    expect(arrows.some((l) => l.startsWith(`  ${id('edge.o127')} -> ${id('edge.n128')}`))).toBe(true);
    expect(arrows.some((l) => l.startsWith(`  ${id('edge.n128')} -> ${id('edge.o127')}`))).toBe(true);
    expect(dot).toContain(`${overflow} edges have no record (edge table full)`);
    // declareOrder() sees unrecorded edges too: o127 -> n0 (no record) against "n0 before o127".
    lockcheck.declareOrder(['edge.n0', 'edge.o127']);
    const [rank] = lockcheck.reports().filter((x) => x.kind === 'rank' && x.locks.includes('edge.o127'));
    expect(rank?.locks).toEqual(['edge.o127', 'edge.n0']);
    expect(rank!.threads).toEqual([-1]);
    expect(rank!.message).toMatch(/not recorded: the edge table is full/);
  });
});
