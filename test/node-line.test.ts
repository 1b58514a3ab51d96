/**
 * The Node.js line under test is the one running: `npm run test:node -- 24` (and CI's other lines)
 * set SABLOCK_NODE_LINE to the pinned binary's version, and vitest's forks, the workers they start
 * and the child processes tests spawn through process.execPath must all be that binary.
 */
import { spawnSync } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';

const wanted = process.env.SABLOCK_NODE_LINE ?? process.version;

describe('node line', () => {
  it(`the test process, a worker and a child process all run Node ${wanted}`, async () => {
    expect(process.version).toBe(wanted);
    const w = new Worker('require("node:worker_threads").parentPort.postMessage(process.version)', { eval: true });
    const inWorker = await new Promise((resolve, reject) => w.once('message', resolve).once('error', reject));
    await w.terminate();
    expect(inWorker).toBe(wanted);
    const child = spawnSync(process.execPath, ['-p', 'process.version'], { encoding: 'utf8', timeout: 30_000 });
    expect(child.stdout.trim()).toBe(wanted);
  });
});
