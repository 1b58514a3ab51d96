import type { Worker } from 'node:worker_threads';
import { within } from '../harness/bounds.mjs';
import { Workers } from '../harness/workers.mjs';

export const ACTOR = new URL('../fixtures/robust/actor.mjs', import.meta.url);
export const wall = (): number => performance.timeOrigin + performance.now();

/**
 * A worker plus a queue of the messages it posted, started through harness/workers.mjs by
 * `withActors`. Its exit is no failure (actors are killed, or exit holding a lock, on purpose);
 * its 'error' is kept in `error`, and named when a `next()` runs out of time.
 */
export class Actor {
  readonly worker: Worker;
  readonly #messages: unknown[] = [];
  readonly #waiting: ((m: unknown) => void)[] = [];
  exitedAt = 0;
  error: unknown;
  /** Settles at the worker's 'exit' (registered at start, so an exit before `kill()` is not missed). */
  readonly #exited: Promise<void>;
  constructor(crew: Workers, url: URL, workerData: unknown) {
    const { worker, exited } = crew.start(url, workerData, {
      what: `actor ${url.pathname.split('/').pop()}`,
      exitOk: true,
      onMessage: (m) => {
        const w = this.#waiting.shift();
        if (w) w(m);
        else this.#messages.push(m);
      },
      onFailure: (e) => {
        this.error = e;
      },
    });
    this.worker = worker;
    // Stamped in the 'exit' event itself, not a turn later: tests bound the time from it.
    worker.once('exit', () => (this.exitedAt = wall()));
    this.#exited = exited.then(() => {});
  }
  /** The next message (rejects after `ms`). */
  next<T = { type: string; [k: string]: unknown }>(ms = 15_000): Promise<T> {
    if (this.#messages.length > 0) return Promise.resolve(this.#messages.shift() as T);
    const got = new Promise<T>((resolve) => this.#waiting.push(resolve as (m: unknown) => void));
    return within(got, ms, 'the next message').catch((e: Error) => {
      throw new Error(`${e.message} (error: ${String(this.error)})`);
    });
  }
  /**
   * Terminates and resolves with the wall-clock time of the 'exit' event. A worker that already
   * finished on its own (a race test's doomed waiter can win its turn first) resolves at once.
   */
  async kill(): Promise<number> {
    await this.worker.terminate();
    await this.#exited;
    return this.exitedAt;
  }
}

/** Runs `fn` with a registry of actors that are all terminated afterwards, whatever happens. */
export async function withActors<T>(fn: (spawn: (data: unknown, url?: URL) => Actor) => Promise<T>): Promise<T> {
  const crew = new Workers();
  try {
    return await fn((data, url = ACTOR) => new Actor(crew, url, data));
  } finally {
    await crew.terminateAll();
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
