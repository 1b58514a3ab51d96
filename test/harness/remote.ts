/**
 * A second thread that holds, releases and probes a lock on command, for conformance tests that
 * need "another thread holds it": `await using t = await RemoteThread.start('Mutex', m.handle)`,
 * then `await t.call('lock')`. Every call is bounded in time, and the worker is terminated on
 * dispose/close, so a lost wakeup fails the test instead of hanging it.
 */
import { Worker } from 'node:worker_threads';
import { within } from './bounds.mjs';

const DEFAULT_ADAPTERS = new URL('./adapters.mjs', import.meta.url).href;
const WORKER = new URL('./remote-worker.mjs', import.meta.url);

/** An error thrown in the remote thread, with its name and code. */
export class RemoteError extends Error {
  readonly code: string | undefined;
  readonly remoteName: string | undefined;
  constructor(e: { name?: string; code?: string; message: string }) {
    super(e.message);
    this.remoteName = e.name;
    this.code = e.code;
  }
}

type Reply = { id: number; ok: boolean; value?: unknown; error?: { name?: string; code?: string; message: string } };

export class RemoteThread {
  readonly #worker: Worker;
  readonly #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void }>();
  #nextId = 1;
  #exited: Error | undefined;

  private constructor(worker: Worker) {
    this.#worker = worker;
    worker.on('message', (m: Reply) => {
      const p = this.#pending.get(m.id);
      if (p === undefined) return;
      this.#pending.delete(m.id);
      if (m.ok) p.resolve(m.value);
      else p.reject(new RemoteError(m.error!));
    });
    const fail = (e: Error): void => {
      this.#exited = e;
      for (const p of this.#pending.values()) p.reject(e);
      this.#pending.clear();
    };
    worker.on('error', (e) => fail(e instanceof Error ? e : new Error(String(e))));
    worker.on('exit', (code) => fail(new Error(`remote thread exited (code ${code})`)));
  }

  /** Starts a thread attached to the lock `handle` through adapter `kind`. */
  static async start(kind: string, handle: unknown, options: { adapters?: string | URL; timeoutMs?: number } = {}): Promise<RemoteThread> {
    const worker = new Worker(WORKER, {
      workerData: { adapters: String(options.adapters ?? DEFAULT_ADAPTERS), kind, handle },
    });
    const t = new RemoteThread(worker);
    try {
      await bounded(
        new Promise<void>((resolve, reject) => {
          worker.once('message', () => resolve());
          worker.once('error', reject);
          worker.once('exit', (code) => reject(new Error(`remote thread exited (code ${code}) while starting`)));
        }),
        options.timeoutMs ?? 10_000,
        'remote thread start',
      );
    } catch (e) {
      await worker.terminate();
      throw e;
    }
    return t;
  }

  /** Runs `op(...args)` in the remote thread; rejects with a RemoteError if it threw there. */
  call<T = unknown>(op: string, ...args: unknown[]): Promise<T> {
    return this.callWithin<T>(10_000, op, ...args);
  }

  /** `call` with an explicit bound in ms. */
  callWithin<T = unknown>(timeoutMs: number, op: string, ...args: unknown[]): Promise<T> {
    if (this.#exited) return Promise.reject(this.#exited);
    const id = this.#nextId++;
    const reply = new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
    });
    this.#worker.postMessage({ id, op, args });
    return bounded(reply, timeoutMs, `remote ${op}(${args.map((a) => JSON.stringify(a)).join(', ')})`);
  }

  /** Calls sent and not yet answered (e.g. a lock() still blocked there). */
  get pending(): number {
    return this.#pending.size;
  }

  /** False once the thread has exited or been terminated. */
  get alive(): boolean {
    return this.#exited === undefined;
  }

  /** Terminates the thread (whatever it is doing, e.g. blocked in lock()). */
  async close(): Promise<void> {
    await this.#worker.terminate();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** Rejects if `p` has not settled within `ms` (bounds.mjs's `within`, under the suites' name for it). */
export const bounded = within;

/** Resolves after `ms` on the event loop. */
export function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
