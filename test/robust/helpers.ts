import { Worker } from 'node:worker_threads';

export const ACTOR = new URL('../fixtures/robust/actor.mjs', import.meta.url);
export const wall = (): number => performance.timeOrigin + performance.now();

/** A worker plus a queue of the messages it posted. */
export class Actor {
  readonly worker: Worker;
  readonly #messages: unknown[] = [];
  readonly #waiting: ((m: unknown) => void)[] = [];
  exitedAt = 0;
  error: unknown;
  /** Settles at the worker's 'exit', registered at spawn so an exit before `kill()` is not missed. */
  readonly #exited: Promise<void>;
  constructor(url: URL, workerData: unknown) {
    this.worker = new Worker(url, { workerData });
    this.worker.on('message', (m) => {
      const w = this.#waiting.shift();
      if (w) w(m);
      else this.#messages.push(m);
    });
    this.worker.on('error', (e) => {
      this.error = e;
    });
    // Not events.once: it would reject on an 'error' event, unhandled when nobody kills this actor.
    this.#exited = new Promise((resolve) =>
      this.worker.once('exit', () => {
        this.exitedAt = wall();
        resolve();
      }),
    );
  }
  /** The next message (rejects after `ms`). */
  next<T = { type: string; [k: string]: unknown }>(ms = 15_000): Promise<T> {
    if (this.#messages.length > 0) return Promise.resolve(this.#messages.shift() as T);
    return new Promise<T>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no message within ${ms} ms (error: ${String(this.error)})`)), ms);
      this.#waiting.push((m) => {
        clearTimeout(t);
        resolve(m as T);
      });
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
  const all: Actor[] = [];
  try {
    return await fn((data, url = ACTOR) => {
      const a = new Actor(url, data);
      all.push(a);
      return a;
    });
  } finally {
    await Promise.all(all.map((a) => a.worker.terminate()));
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
