/**
 * What every Web Locks test file shares: a promise with its resolve/reject outside, a bounded
 * wait, "this call must reject, never throw", the DOMException check, and `Client`, a worker that
 * makes Web Locks requests on command (test/fixtures/web-locks/client.mjs).
 */
import { expect } from 'vitest';
import { until, within } from '../harness/bounds.mjs';
import { RpcWorker } from '../harness/rpc.js';
import type { WebLocks } from '../../src/index.js';

// Not ../harness/expect.js: it imports dist/index.js, a second copy of sablock in this thread,
// and which copy publishes the global `locks` first is part of what global.test.ts checks.

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
/** Wall-clock ms, comparable between threads (the workers stamp events with the same clock). */
export const wall = (): number => performance.timeOrigin + performance.now();

export interface Deferred<T = void> {
  promise: Promise<T>;
  resolve: (v: T) => void;
  reject: (e: unknown) => void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

/** `p`, or a rejection naming `what` once `ms` passed: a lost grant fails its test, never hangs it. */
export { within };

/** Resolves to 'pending' if `p` has not settled by the next macrotask (the harness's). */
export { state } from '../harness/expect.js';

/** Resolves once `cond()` holds (polled every 2 ms); rejects after `ms` naming `what`. */
export { until };

let serial = 0;
/** A lock name no other test uses (the WPT's uniqueName). */
export const unique = (what = 'res'): string => `${what}-${process.pid}-${++serial}`;

/**
 * What `call()` rejected with. Fails if it threw synchronously (the Web Locks API reports every
 * error as a rejection), returned something other than a Promise, or fulfilled.
 */
export async function rejects(call: () => unknown): Promise<any> {
  let p: unknown;
  try {
    p = call();
  } catch (e) {
    throw new Error(`threw synchronously instead of rejecting: ${String(e)}`);
  }
  expect(p).toBeInstanceOf(Promise);
  // A request still pending after the bound fails here, not as a "rejection" with the bound's error.
  const settled = await within(
    (p as Promise<unknown>).then(
      () => ({ ok: true as const, e: undefined }),
      (e: unknown) => ({ ok: false as const, e }),
    ),
    3_000,
    'the rejection',
  );
  if (settled.ok) throw new Error('expected a rejection, the promise fulfilled');
  return settled.e;
}

/** `e` is a DOMException named `name` (AbortError, NotSupportedError, …). */
export function expectDOMException(e: unknown, name: string): void {
  expect(e).toBeInstanceOf(DOMException);
  expect((e as DOMException).name).toBe(name);
}

/** A callback that fails the request if it is ever called. */
export const unreached = (what = 'callback'): (() => never) => () => {
  throw new Error(`${what} should not run`);
};

/** A query() entry. */
export interface LockInfo {
  name: string;
  mode: 'exclusive' | 'shared';
  clientId: string;
}

/** The modes of the entries in `list` for `name`, in order. */
export const modesOf = (list: LockInfo[], name: string): string[] => list.filter((l) => l.name === name).map((l) => l.mode);
/** The clientIds of the entries in `list` for `name`, in order. */
export const clientsOf = (list: LockInfo[], name: string): string[] => list.filter((l) => l.name === name).map((l) => l.clientId);

/** How a request made in a worker ended (client.mjs). */
export interface Outcome {
  status: 'fulfilled' | 'rejected';
  value?: unknown;
  name?: string;
  code?: string;
  message?: string;
  /** Wall-clock ms when it settled. */
  at: number;
}

/** The grant a worker's callback got (client.mjs): the lock (null for an ifAvailable miss) and when. */
export interface Grant {
  lock: { name: string; mode: string } | null;
  at: number;
}

export const CLIENT = new URL('../fixtures/web-locks/client.mjs', import.meta.url);

/**
 * A worker making Web Locks requests on command. `handle` selects the instance (a WebLocks
 * handle); without one it uses the global `locks` it inherited. Every call is bounded.
 */
export class Client extends RpcWorker {
  readonly exited: Promise<number>;
  exitedAt = 0;
  error: unknown;
  constructor(handle?: unknown, extra: Record<string, unknown> = {}) {
    super(CLIENT, { handle, ...extra });
    this.worker.on('error', (e) => (this.error = e));
    this.exited = new Promise((resolve) =>
      this.worker.once('exit', (code) => {
        this.exitedAt = wall();
        resolve(code);
      }),
    );
  }

  /** `op` in the worker, failing after `ms`. */
  do<T = unknown>(op: string, ...args: unknown[]): Promise<T> {
    return within(this.call<T>(op, ...args), 10_000, `worker ${op}(${args.map((a) => JSON.stringify(a)).join(', ')})`);
  }

  /** Starts a request there (held until `release(id)` when it is granted); its id. */
  request(name: string, options: Record<string, unknown> = {}): Promise<number> {
    return this.do<number>('request', name, options);
  }

  /** The grant of request `id`, waiting up to `ms`. */
  granted(id: number, ms = 5_000): Promise<Grant> {
    return this.do<Grant>('granted', id, ms);
  }

  /** Whether request `id`'s callback has run. */
  isGranted(id: number): Promise<boolean> {
    return this.do<boolean>('isGranted', id);
  }

  /** Request `id`'s outcome, waiting up to `ms`. */
  outcome(id: number, ms = 5_000): Promise<Outcome> {
    return this.do<Outcome>('outcome', id, ms);
  }

  /** Ends request `id`'s callback (its returned promise resolves with `value`). */
  release(id: number, value: unknown = 'released'): Promise<boolean> {
    return this.do<boolean>('release', id, value);
  }

  query(): Promise<{ held: LockInfo[]; pending: LockInfo[] }> {
    return this.do('query');
  }

  /** This worker's clientId, as query() reports it (read from a probe lock it holds). */
  clientId(): Promise<string> {
    return this.do<string>('clientId');
  }

  /** Waits until a pending entry for `name` from this worker shows in its own query(). */
  async queued(name: string, clientId: string): Promise<void> {
    const pending = async (): Promise<boolean> => (await this.query()).pending.some((l) => l.name === name && l.clientId === clientId);
    await until(pending, 5_000, `the request for ${name} to show as pending`, 5);
  }

  /**
   * Ends the worker from inside: 'exit' (process.exit) or 'throw' (an uncaught error); resolves
   * once it has exited. The exit, not the reply, is awaited: the death races the reply to the
   * 'die' call (its 'error' rejects every pending call, and one run on Node 26 saw exactly that).
   */
  async die(how: 'exit' | 'throw'): Promise<void> {
    this.call('die', how).catch(() => {}); // either outcome: the reply or the death's own error
    await within(this.exited, 10_000, `worker die(${how})`);
  }
}

/** Runs `fn` with clients that are all terminated afterwards, whatever happens. */
export async function withClients<T>(fn: (start: (handle?: unknown, extra?: Record<string, unknown>) => Client) => Promise<T>): Promise<T> {
  const all: Client[] = [];
  try {
    return await fn((handle, extra) => {
      const c = new Client(handle, extra);
      all.push(c);
      return c;
    });
  } finally {
    await Promise.all(all.map((c) => c.terminate()));
  }
}

/** Takes `name` in this thread and holds it until the returned function is called. */
export async function holdUntilReleased(locks: WebLocks, name: string): Promise<() => void> {
  const granted = deferred();
  const hold = deferred();
  void locks.request(name, () => (granted.resolve(), hold.promise));
  await within(granted.promise, 2_000, `hold of ${name}`);
  return () => hold.resolve();
}
