/** Drives `test/fixtures/manager/agent.mjs` workers from a test. */
import { Worker } from 'node:worker_threads';
import type { LockManagerHandle } from '../../dist/index.js';

export const AGENT = new URL('../fixtures/manager/agent.mjs', import.meta.url);

export interface AgentError {
  name: string;
  code?: string;
  message: string;
}

export class Agent {
  readonly worker: Worker;
  #next = 1;
  #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void }>();

  constructor(handle: LockManagerHandle) {
    this.worker = new Worker(AGENT, { workerData: { handle } });
    this.worker.on('message', ({ id, ok, value, error }) => {
      const p = this.#pending.get(id)!;
      this.#pending.delete(id);
      if (ok) p.resolve(value);
      else p.reject(Object.assign(new Error(error.message), error));
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

  /** Resolves to the error a call rejects with (fails if it resolves). */
  async fails(op: string, ...args: unknown[]): Promise<AgentError> {
    try {
      const v = await this.call(op, ...args);
      throw new Error(`expected ${op} to fail, got ${JSON.stringify(v)}`);
    } catch (e) {
      return e as AgentError;
    }
  }

  terminate(): Promise<number> {
    return this.worker.terminate();
  }
}

/** Starts `n` agents and runs `fn`; every worker is terminated afterwards, whatever happens. */
export async function withAgents<T>(handle: LockManagerHandle, n: number, fn: (agents: Agent[]) => Promise<T>): Promise<T> {
  const agents = Array.from({ length: n }, () => new Agent(handle));
  try {
    return await fn(agents);
  } finally {
    await Promise.all(agents.map((a) => a.terminate()));
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `cond` until true or `ms` passed. */
export async function eventually(cond: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not reached in time');
    await sleep(5);
  }
}
