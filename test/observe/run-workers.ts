import { within } from '../harness/bounds.mjs';
import { Workers } from '../harness/workers.mjs';

export const WORKER = new URL('../fixtures/observe/worker.mjs', import.meta.url);
/** The RWLock / Semaphore workloads (`rw-stats.test.ts`). */
export const RW_WORKER = new URL('../fixtures/observe/rw-worker.mjs', import.meta.url);

export interface Report {
  outcome: Record<string, number>;
  stats: Record<string, any>;
  enabled: boolean;
  hasBuffer: boolean;
}

/**
 * Runs one worker of `fixture` (default `WORKER`) per entry of `datas` through harness/workers.mjs,
 * collects each one's report (`{ done: true, result }`), requires each to exit with code 0, and
 * always terminates them (a deadlock fails by the `timeoutMs` bound on the whole run instead of
 * hanging the file).
 */
export async function runWorkers<T = Report>(
  datas: Record<string, unknown>[],
  options: { timeoutMs?: number; env?: NodeJS.ProcessEnv; fixture?: URL } = {},
): Promise<T[]> {
  const crew = new Workers();
  try {
    const runs = datas.map((workerData, k) =>
      crew.start(options.fixture ?? WORKER, workerData, { what: `observe worker ${k} (${workerData.op})`, workerOptions: { env: options.env } }),
    );
    const reports = Promise.all(
      runs.map(async ({ done, exited }) => {
        const report = (await done) as T;
        const code = await exited;
        if (code !== 0) throw new Error(`worker exit ${code}`);
        return report;
      }),
    );
    return await within(reports, options.timeoutMs ?? 20_000, 'workers');
  } finally {
    await crew.terminateAll();
  }
}
