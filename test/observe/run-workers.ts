import { Worker } from 'node:worker_threads';

export const WORKER = new URL('../fixtures/observe/worker.mjs', import.meta.url);

export interface Report {
  outcome: Record<string, number>;
  stats: Record<string, any>;
  enabled: boolean;
  hasBuffer: boolean;
}

/**
 * Runs one worker per entry of `datas`, collects each one's report, and always terminates them
 * (a deadlock fails by timeout instead of hanging the file).
 */
export async function runWorkers(
  datas: Record<string, unknown>[],
  options: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<Report[]> {
  const workers = datas.map((workerData) => new Worker(WORKER, { workerData, env: options.env }));
  let timer: NodeJS.Timeout | undefined;
  try {
    const done = Promise.all(
      workers.map(
        (w) =>
          new Promise<Report>((resolve, reject) => {
            let report: Report | undefined;
            w.once('message', (m: Report) => (report = m));
            w.once('error', reject);
            w.once('exit', (code) => (report && code === 0 ? resolve(report) : reject(new Error(`worker exit ${code}`))));
          }),
      ),
    );
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('workers timed out')), options.timeoutMs ?? 20_000);
    });
    return await Promise.race([done, timeout]);
  } finally {
    clearTimeout(timer);
    await Promise.all(workers.map((w) => w.terminate()));
  }
}
