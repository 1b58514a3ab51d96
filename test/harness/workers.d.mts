import type { Worker, WorkerOptions } from 'node:worker_threads';

export interface Spawned {
  worker: Worker;
  /** The worker's announced result (rejects on its error, an exit before it, or the time bound). */
  done: Promise<any>;
  /** Resolves on the worker's first message other than the final one. */
  firstMessage: Promise<any>;
  /** Resolves with the exit code once the worker has exited; never rejects. */
  exited: Promise<number>;
}

export interface StartOptions {
  timeoutMs?: number;
  what?: string;
  exitOk?: boolean;
  onMessage?: (m: any) => void;
  onFailure?: (e: unknown) => void;
  /** The `Worker` constructor's other options (`env`, `stderr`, …); `workerData` is start's own argument. */
  workerOptions?: Omit<WorkerOptions, 'workerData'>;
}

export declare class Workers {
  readonly failures: unknown[];
  start(url: URL | string, workerData: unknown, options?: StartOptions): Spawned;
  check(): void;
  until(pred: () => unknown, timeoutMs: number, what: string, everyMs?: number): Promise<void>;
  terminateAll(): Promise<void>;
}
