/**
 * Worker plumbing shared by the RWLock and SeqLock tests: spawn fixture workers, collect the one
 * result each posts, bound everything in time, and always terminate the workers.
 */
import { Worker } from 'node:worker_threads';
import { RpcWorker } from './harness/rpc.js';

export const fixture = (name: string): URL => new URL(`./fixtures/${name}`, import.meta.url);

export interface Running<R> {
  workers: Worker[];
  /** One promise per worker: the first message it posts (its result), or its error/exit. */
  results: Promise<R>[];
}

export function spawn<R>(file: string, datas: unknown[], env?: Record<string, string>): Running<R> {
  const workers = datas.map(
    (workerData) => new Worker(fixture(file), { workerData, ...(env ? { env: { ...process.env, ...env } } : {}) }),
  );
  const results = workers.map(
    (w) =>
      new Promise<R>((resolve, reject) => {
        w.once('message', resolve);
        w.once('error', reject);
        w.once('exit', (code) => reject(new Error(`worker exited (${code}) before posting a result`)));
      }),
  );
  // Avoid unhandled rejections for workers we terminate early.
  for (const r of results) r.catch(() => {});
  return { workers, results };
}

/** Rejects after `ms` with a message naming what did not finish (a deadlock fails, never hangs). */
export { within } from './harness/bounds.mjs';

export async function terminateAll(workers: Worker[]): Promise<void> {
  await Promise.all(workers.map((w) => w.terminate()));
}

/** A worker that runs one RWLock command per message (fixtures/rw-rpc.mjs) and answers it. */
export class Rpc extends RpcWorker {
  constructor(workerData: unknown) {
    super(fixture('rw-rpc.mjs'), workerData);
  }
}
