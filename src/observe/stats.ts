/**
 * Lock statistics, per lock class, in shared memory (see `table.ts` for the layout).
 *
 * Off by default: no table exists and the lock fast paths test one module flag (plus one
 * `hasSubscribers` getter for events) and go on. `stats.enable()` (or `SABLOCK_STATS=1` in the
 * environment) creates the table and publishes it with `worker_threads.setEnvironmentData`, so every
 * worker started afterwards (and their workers) records into the same table as soon as it loads
 * sablock. Any thread reads it with `stats()`.
 *
 * What is counted, per class (the `name` option of a lock, the kind name by default):
 * | field          | counted when |
 * |----------------|--------------|
 * | acquisitions   | a lock/tryLock/lockAsync acquired the lock |
 * | contended      | an acquisition whose first attempt failed (it spun, slept or queued) |
 * | spinSuccesses  | a contended acquisition that got the lock without sleeping |
 * | parks          | sleeps (`Atomics.wait`/`waitAsync`) of contended acquisitions that succeeded |
 * | handoffs       | releases that handed the lock straight to a starving parked waiter (Mutex) |
 * | timeouts       | `tryLock(ms)` returning false, `lockAsync({ timeout })` rejecting |
 * | aborts         | `lockAsync({ signal })` rejected because the signal aborted |
 * | ownerDeaths    | acquisitions that learned the previous owner died (reported by the owner-death code) |
 * | wait           | histogram of the wait of contended acquisitions (uncontended ones wait 0 and are not recorded) |
 * | hold           | histogram of the time from acquisition to release, when both happened while recording |
 *
 * Histograms are log2 buckets of nanoseconds; percentiles are the upper bound of the bucket that
 * holds them (capped by the maximum), so they overstate by less than 2×. Times are reported in ms.
 */
import { getEnvironmentData, setEnvironmentData } from 'node:worker_threads';
import { describe } from '../core/layout.js';
import { recordingTable, setRecording } from './recorder.js';
import { BUCKETS, COUNTER_NAMES, DEFAULT_CAPACITY, StatsTable, type HistogramReading } from './table.js';

/** Key under which the table travels to workers in `worker_threads` environment data. */
export const STATS_ENV_KEY = 'sablock:stats';

/** Summary of one histogram, in milliseconds. */
export interface HistogramStats {
  /** Durations recorded. */
  count: number;
  /** Mean, exact (from a 64-bit sum of nanoseconds). */
  mean: number;
  /** Median: upper bound of its log2 bucket, at most `max`. */
  p50: number;
  /** 90th percentile, same estimate as `p50`. */
  p90: number;
  /** 99th percentile, same estimate as `p50`. */
  p99: number;
  /** Longest recorded, exact. */
  max: number;
}

/** Counters and histograms of one lock class. All counters are 32-bit and wrap after 2^32. */
export interface LockStats {
  /** Successful acquisitions, by any path (lock, tryLock, lockAsync). */
  acquisitions: number;
  /** Acquisitions whose first attempt failed, so they spun, slept or queued. */
  contended: number;
  /** Contended acquisitions that got the lock without sleeping. */
  spinSuccesses: number;
  /** Sleeps (futex waits) of contended acquisitions that succeeded. */
  parks: number;
  /** Releases that handed the lock directly to a starving parked waiter (Mutex fairness). */
  handoffs: number;
  /** Timed acquisitions that gave up: `tryLock(ms)` false, `lockAsync({ timeout })` rejected. */
  timeouts: number;
  /** Async acquisitions rejected because their `AbortSignal` aborted. */
  aborts: number;
  /** Acquisitions told that the previous owner died holding the lock. */
  ownerDeaths: number;
  /** Time contended acquisitions waited. */
  wait: HistogramStats;
  /** Time locks were held. */
  hold: HistogramStats;
}

/** `stats.enable()` options. */
export interface StatsOptions {
  /** Lock classes the table can tell apart (default 256); further classes share one `'(other)'` row. */
  capacity?: number;
  /** Record only these classes (default: all). Applies to this thread and workers started afterwards. */
  classes?: Iterable<string>;
  /**
   * Record into an existing table (`stats.buffer` from another thread), e.g. in a worker started
   * before stats were enabled.
   */
  buffer?: SharedArrayBuffer;
}

interface Published {
  buffer: SharedArrayBuffer;
  classes: string[] | null;
}

let current: StatsTable | null = null;

/** Records into `table` from this thread; `turnOn`: also (re)enable recording for every thread. */
function start(table: StatsTable, classes: string[] | null, turnOn: boolean): void {
  current = table;
  if (turnOn) table.enabled = true;
  setRecording(table, classes === null ? null : new Set(classes));
  // Workers started from now on (and their workers) record into the same table.
  setEnvironmentData(STATS_ENV_KEY, { buffer: table.buffer, classes } satisfies Published);
}

function readClasses(classes: unknown): string[] | null {
  if (classes === undefined) return null;
  if (classes === null || typeof classes !== 'object' || !(Symbol.iterator in classes)) {
    throw new TypeError(`options.classes must be an iterable of class names, got ${describe(classes)}`);
  }
  const out: string[] = [];
  for (const c of classes as Iterable<unknown>) {
    if (typeof c !== 'string' || c.length === 0) {
      throw new TypeError(`options.classes must hold non-empty strings, got ${describe(c)}`);
    }
    out.push(c);
  }
  return out;
}

function enable(options?: StatsOptions): void {
  if (options !== undefined && (options === null || typeof options !== 'object')) {
    throw new TypeError(`options must be an object, got ${describe(options)}`);
  }
  const { capacity, classes, buffer } = options ?? {};
  const only = readClasses(classes);
  if (capacity !== undefined && (typeof capacity !== 'number' || !Number.isInteger(capacity) || capacity < 1 || capacity > 65536)) {
    throw new RangeError(`options.capacity must be an integer from 1 to 65536, got ${String(capacity)}`);
  }
  if (buffer !== undefined) {
    start(StatsTable.attach(buffer, 'options.buffer'), only, true);
    return;
  }
  if (current !== null && (capacity === undefined || capacity === current.capacity)) {
    start(current, only, true);
    return;
  }
  start(StatsTable.create(capacity ?? DEFAULT_CAPACITY), only, true);
}

function disable(): void {
  if (current === null) return;
  // Every thread's hooks check this word: recording stops everywhere.
  current.enabled = false;
  setRecording(null, null);
}

function percentile(h: HistogramReading, q: number): number {
  if (h.count === 0) return 0;
  const rank = Math.max(1, Math.ceil(q * h.count));
  let seen = 0;
  for (let k = 0; k < BUCKETS; k++) {
    seen += h.buckets[k]!;
    if (seen >= rank) return Math.min(2 ** (k + 1), h.maxNs) / 1e6;
  }
  return h.maxNs / 1e6;
}

function summarize(h: HistogramReading): HistogramStats {
  return {
    count: h.count,
    mean: h.count === 0 ? 0 : h.sumNs / h.count / 1e6,
    p50: percentile(h, 0.5),
    p90: percentile(h, 0.9),
    p99: percentile(h, 0.99),
    max: h.maxNs / 1e6,
  };
}

function snapshot(): Record<string, LockStats> {
  const out: Record<string, LockStats> = {};
  if (current === null) return out;
  for (const r of current.read()) {
    const row = {} as Record<string, unknown>;
    COUNTER_NAMES.forEach((n, k) => (row[n] = r.counters[k]));
    row.wait = summarize(r.wait);
    row.hold = summarize(r.hold);
    out[r.name] = row as unknown as LockStats;
  }
  return out;
}

function topContendedRows(n = 10): Array<LockStats & { name: string }> {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) {
    throw new RangeError(`n must be a non-negative integer, got ${typeof n === 'number' ? n : describe(n)}`);
  }
  return Object.entries(snapshot())
    .map(([name, s]) => ({ name, ...s }))
    .filter((s) => s.contended > 0 || s.timeouts > 0)
    .sort((x, y) => y.contended - x.contended || y.wait.mean * y.wait.count - x.wait.mean * x.wait.count)
    .slice(0, n);
}

/** The `stats` function object; see {@link stats}. */
export interface Stats {
  /** Snapshot of every recorded class, by class name; `{}` when stats were never enabled here. */
  (): Record<string, LockStats>;
  /**
   * Turns recording on, in this thread and (through `worker_threads` environment data) in every
   * worker started afterwards. The first call creates the shared table; later calls resume it.
   */
  enable(options?: StatsOptions): void;
  /** Stops recording in every thread (the table and its contents stay readable). */
  disable(): void;
  /** Same as `stats()`. */
  snapshot(): Record<string, LockStats>;
  /** The `n` classes with the most contended acquisitions (ties: most total wait), most first. */
  topContended(n?: number): Array<
    LockStats & {
      /** The lock class name. */
      name: string;
    }
  >;
  /** Zeroes every counter and histogram (class rows stay). */
  reset(): void;
  /** Whether this thread records now (it has a table and recording is on). */
  readonly enabled: boolean;
  /** The shared table, to hand to a worker started before `enable()` (`enable({ buffer })`); null when none. */
  readonly buffer: SharedArrayBuffer | null;
}

/**
 * Lock statistics per lock class, shared by every thread. Off by default (nothing allocated, one
 * predictable branch on the lock fast paths).
 *
 * ```ts
 * stats.enable();                 // or SABLOCK_STATS=1; before starting workers
 * // ... workers lock and unlock ...
 * stats().accounts.contended;     // from any thread
 * stats.topContended(5);          // which locks hurt
 * ```
 */
export const stats: Stats = Object.defineProperties(
  Object.assign(() => snapshot(), {
    enable,
    disable,
    snapshot,
    topContended: topContendedRows,
    reset(): void {
      current?.reset();
    },
  }),
  {
    enabled: { get: () => recordingTable() !== null && current !== null && current.enabled, enumerable: true },
    buffer: { get: () => current?.buffer ?? null, enumerable: true },
  },
) as Stats;

/** Same as `stats.topContended(n)`. */
export const topContended = (n?: number): Array<
  LockStats & {
    /** The lock class name. */
    name: string;
  }
> => stats.topContended(n);

// ---- at load: join a table published by the thread that started us, or honour SABLOCK_STATS ----
{
  const published = getEnvironmentData(STATS_ENV_KEY) as Published | undefined;
  if (published !== undefined) {
    try {
      // Join as published; whether recording is on right now is the table's ENABLED word.
      start(StatsTable.attach(published.buffer, 'published stats table'), published.classes, false);
    } catch {
      // Not ours (another copy of sablock with another layout): record nothing rather than corrupt it.
    }
  } else if (/^(1|true|on|yes)$/i.test(process.env.SABLOCK_STATS ?? '')) {
    enable();
  }
}
