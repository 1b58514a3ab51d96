/** Drives `test/fixtures/manager/agent.mjs` workers from a test. */
import { until } from '../harness/bounds.mjs';
import { RpcWorker, type RpcError } from '../harness/rpc.js';
import type { LockManagerHandle } from '../../dist/index.js';

export const AGENT = new URL('../fixtures/manager/agent.mjs', import.meta.url);

/** What a failed agent call rejects with. */
export type AgentError = RpcError;

export class Agent extends RpcWorker {
  constructor(handle: LockManagerHandle) {
    super(AGENT, { handle });
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

/** Polls `cond` (every 5 ms) until true; fails once `ms` passed. */
export async function eventually(cond: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  await until(cond, ms, 'the condition', 5);
}
