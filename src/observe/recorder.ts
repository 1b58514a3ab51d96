/**
 * The stats side of observability: what this thread counts into the shared stats table
 * (`observe/table.ts`) when a lock is acquired, released, times out, is aborted or reports a dead
 * owner. Installed into the core seam (`core/observe.ts`, which the primitives call and which
 * publishes the events) by `stats.enable()` in each thread that records.
 *
 * Per-thread state: this thread's view of the shared table and a class name → slot cache.
 */
import { installRecorder, type ObservedLock, type Recorder } from '../core/observe.js';
import { SLOW_PATH } from '../raw/mutex.js';
import {
  C_ABORTS,
  C_ACQUISITIONS,
  C_CONTENDED,
  C_HANDOFFS,
  C_OWNER_DEATHS,
  C_PARKS,
  C_SPIN_SUCCESSES,
  C_TIMEOUTS,
  HOLD,
  WAIT,
  type StatsTable,
} from './table.js';

let table: StatsTable | null = null;
let only: ReadonlySet<string> | null = null;
const slots = new Map<string, number>();

const recorder: Recorder = {
  /** Slot of this lock's class in the table, or -1 when not recorded (off, filtered out). */
  slotOf(lock: ObservedLock): number {
    if (table === null || !table.enabled) return -1;
    let s = slots.get(lock.name);
    if (s === undefined) {
      s = only !== null && !only.has(lock.name) ? -1 : table.slotOf(lock.name);
      slots.set(lock.name, s);
    }
    return s;
  },
  acquired(s, waitMs, parks) {
    const tb = table!;
    tb.count(s, C_ACQUISITIONS);
    if (waitMs >= 0) {
      tb.count(s, C_CONTENDED);
      if (parks === 0) tb.count(s, C_SPIN_SUCCESSES);
      else tb.count(s, C_PARKS, parks);
      tb.record(s, WAIT, waitMs * 1e6);
    }
  },
  released(s, holdMs) {
    // The raw release says whether it handed the lock to a parked waiter (sync, so it was this one).
    const handedOff = SLOW_PATH.handedOff;
    SLOW_PATH.handedOff = false;
    if (handedOff) table!.count(s, C_HANDOFFS);
    if (holdMs >= 0) table!.record(s, HOLD, holdMs * 1e6);
  },
  timedOut: (s) => table!.count(s, C_TIMEOUTS),
  aborted: (s) => table!.count(s, C_ABORTS),
  ownerDied: (s) => table!.count(s, C_OWNER_DEATHS),
};

/** @internal Points this thread's recording at `t` (null: stop recording here). */
export function setRecording(t: StatsTable | null, classes: ReadonlySet<string> | null): void {
  table = t;
  only = classes;
  slots.clear();
  SLOW_PATH.handedOff = false;
  installRecorder(t === null ? null : recorder);
}

/** @internal The table this thread records into, if any. */
export function recordingTable(): StatsTable | null {
  return table;
}
