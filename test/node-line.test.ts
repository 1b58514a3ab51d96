/**
 * The Node.js line under test is the one running: `npm run test:node -- 24` (and CI's other lines)
 * set SABLOCK_NODE_LINE to the pinned binary's version, and vitest's forks, the workers they start
 * and the child processes tests spawn through process.execPath must all be that binary.
 */
import { spawnSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { Workers } from './harness/workers.mjs';

const wanted = process.env.SABLOCK_NODE_LINE ?? process.version;

const crew = new Workers();
afterEach(() => crew.terminateAll());

describe('node line', () => {
  it(`the test process, a worker and a child process all run Node ${wanted}`, async () => {
    expect(process.version).toBe(wanted);
    const src = 'require("node:worker_threads").parentPort.postMessage({ done: true, result: process.version })';
    const inWorker = await crew.start(src, undefined, { timeoutMs: 30_000, what: 'version worker', workerOptions: { eval: true } }).done;
    expect(inWorker).toBe(wanted);
    const child = spawnSync(process.execPath, ['-p', 'process.version'], { encoding: 'utf8', timeout: 30_000 });
    expect(child.stdout.trim()).toBe(wanted);
  });
});
