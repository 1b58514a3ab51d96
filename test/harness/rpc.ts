/** Host side of the small RPC in rpc-serve.mjs: one command per message, answered by id. */
import { Worker } from 'node:worker_threads';

/** What a failed call rejects with: the worker's error, as name, code and message. */
export interface RpcError {
  name: string;
  code?: string;
  message: string;
}

/** A worker that serves `serve(ops)` (rpc-serve.mjs); `call(op, ...args)` runs one op there. */
export class RpcWorker {
  readonly worker: Worker;
  #next = 0;
  #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void }>();

  constructor(url: URL, workerData: unknown) {
    this.worker = new Worker(url, { workerData });
    this.worker.on('message', (m: { id: number; ok: boolean; value?: unknown; error?: RpcError }) => {
      const p = this.#pending.get(m.id);
      if (!p) return;
      this.#pending.delete(m.id);
      if (m.ok) p.resolve(m.value);
      else p.reject(Object.assign(new Error(m.error!.message), m.error));
    });
    this.worker.on('error', (e) => {
      for (const p of this.#pending.values()) p.reject(e);
      this.#pending.clear();
    });
  }

  call<T = unknown>(op: string, ...args: unknown[]): Promise<T> {
    const id = this.#next++;
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.postMessage({ id, op, args });
    });
  }

  terminate(): Promise<number> {
    return this.worker.terminate();
  }
}
