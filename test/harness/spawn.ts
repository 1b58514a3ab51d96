// Workers that report once when done ({ done: true, result | error }), each bounded in time and
// terminated after every test, so a deadlocked worker fails its test instead of hanging the run.
// The mechanism is workers.mjs (shared with the torture and the benchmark); this adds vitest's
// per-test cleanup.
import { afterEach } from 'vitest';
import { Workers, type Spawned } from './workers.mjs';

export type { Spawned };

/** A `spawn(workerData, timeoutMs?)` for `fixture`; registers the per-test cleanup. */
export function spawner(fixture: URL, defaultTimeoutMs: number) {
  const workers = new Workers();
  // A deadlocked worker must not outlive its test.
  afterEach(() => workers.terminateAll());
  return function spawn(workerData: Record<string, unknown>, timeoutMs = defaultTimeoutMs): Spawned {
    const what = `worker ${workerData.mode ?? workerData.scenario ?? workerData.role ?? ''}`.trim();
    return workers.start(fixture, workerData, { timeoutMs, what });
  };
}

/**
 * A `Workers` crew whose workers end after every test; a failure one of them recorded (an
 * 'error', an exit before `{ done: true }` without `exitOk`) fails the test it ran in.
 */
export function testCrew(): Workers {
  const crew = new Workers();
  afterEach(async () => {
    const failures = crew.failures.splice(0);
    await crew.terminateAll();
    if (failures.length > 0) throw failures[0];
  });
  return crew;
}
