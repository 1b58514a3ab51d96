/** Host side of the small RPC in rpc-serve.mjs: one command per message, answered by id. */
import type { Worker } from 'node:worker_threads';
import { Workers } from './workers.mjs';

/** What a failed call rejects with: the worker's error, as name, code and message. */
export interface RpcError {
  name: string;
  code?: string;
  message: string;
}

/**
 * A worker that serves `serve(ops)` (rpc-serve.mjs); `call(op, ...args)` runs one op there.
 * Started through workers.mjs; its 'error' rejects every pending call. Its exit is no failure
 * (RPC workers are ended on purpose: `terminate()`, or an op that ends the worker, such as the
 * Web Locks client's `die`), and calls are not bounded here: each caller bounds what it awaits.
 */
export class RpcWorker {
  readonly worker: Worker;
  readonly #crew = new Workers();
  /** Resolves with the exit code once the worker has exited. */
  readonly #exited: Promise<number>;
  #next = 0;
  #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void }>();

  constructor(url: URL, workerData: unknown) {
    const { worker, exited } = this.#crew.start(url, workerData, {
      what: `RPC worker ${url.pathname.split('/').pop()}`,
      exitOk: true,
      onMessage: (m: { id: number; ok: boolean; value?: unknown; error?: RpcError }) => {
        const p = this.#pending.get(m.id);
        if (!p) return;
        this.#pending.delete(m.id);
        if (m.ok) p.resolve(m.value);
        else p.reject(Object.assign(new Error(m.error!.message), m.error));
      },
      onFailure: (e) => {
        for (const p of this.#pending.values()) p.reject(e);
        this.#pending.clear();
      },
    });
    this.worker = worker;
    this.#exited = exited;
  }

  call<T = unknown>(op: string, ...args: unknown[]): Promise<T> {
    const id = this.#next++;
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.postMessage({ id, op, args });
    });
  }

  /** Terminates the worker (at once if it is still running); resolves with its exit code. */
  async terminate(): Promise<number> {
    await this.#crew.terminateAll();
    return this.#exited;
  }
}
