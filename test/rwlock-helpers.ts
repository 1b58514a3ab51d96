/**
 * Worker plumbing shared by the RWLock and SeqLock tests: spawn fixture workers (through
 * harness/workers.mjs), collect the one result each announces, bound everything in time, and
 * always terminate the workers.
 */
import { RpcWorker } from './harness/rpc.js';
import { Workers } from './harness/workers.mjs';

export const fixture = (name: string): URL => new URL(`./fixtures/${name}`, import.meta.url);

export interface Running<R> {
  /**
   * One promise per worker: the result it announces (`{ done: true, result }`), or its error, or
   * its exit before announcing. Unbounded here: the caller bounds what it awaits with `within`.
   */
  results: Promise<R>[];
  /** Terminates every worker of this run still running (call in `finally`). */
  terminateAll(): Promise<void>;
}

/** Starts one `file` worker per workerData; `env` is added to the workers' environment. */
export function spawn<R>(file: string, datas: unknown[], env?: Record<string, string>): Running<R> {
  const crew = new Workers();
  const workerOptions = env ? { env: { ...process.env, ...env } } : undefined;
  const started = datas.map((workerData, k) => crew.start(fixture(file), workerData, { what: `${file} worker ${k}`, workerOptions }));
  return { results: started.map((s) => s.done as Promise<R>), terminateAll: () => crew.terminateAll() };
}

/** Rejects after `ms` with a message naming what did not finish (a deadlock fails, never hangs). */
export { within } from './harness/bounds.mjs';

/** A worker that runs one RWLock command per message (fixtures/rw-rpc.mjs) and answers it. */
export class Rpc extends RpcWorker {
  constructor(workerData: unknown) {
    super(fixture('rw-rpc.mjs'), workerData);
  }
}
