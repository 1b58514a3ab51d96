/**
 * What the locks call when they are observed. Everything here is off the fast path: a lock's
 * fast path tests `observing || <channel>.hasSubscribers` (two loads, false when observability is
 * off) and calls in only when it is true. The contended paths test `watching()`.
 *
 * Per-thread state: this thread's view of the shared table, a class name → slot cache, and the
 * acquisition time of each lock object this thread holds (hold time is measured per object: a lock
 * acquired through one object and released through another view of it records no hold time).
 */
import { now } from '../core/futex.js';
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
import {
  abortChannel,
  acquireChannel,
  anySubscribers,
  contendedChannel,
  ownerDiedChannel,
  releaseChannel,
  timeoutChannel,
  type LockEvent,
  type LockEventMode,
} from './events.js';
import { TimeoutError } from '../core/errors.js';

/** What the hooks need from a lock. */
export interface ObservedLock {
  readonly name: string;
}

/** True while this thread records stats (the fast paths test it). */
export let observing = false;

let table: StatsTable | null = null;
let only: ReadonlySet<string> | null = null;
const slots = new Map<string, number>();
const heldSince = new Map<object, number>();

/** @internal Points this thread's recording at `t` (null: stop recording here). */
export function setRecording(t: StatsTable | null, classes: ReadonlySet<string> | null): void {
  table = t;
  only = classes;
  slots.clear();
  heldSince.clear();
  SLOW_PATH.handedOff = false;
  observing = t !== null;
}

/** @internal The table this thread records into, if any. */
export function recordingTable(): StatsTable | null {
  return table;
}

/** Slow paths: is anything observing (stats here, or a subscriber on any sablock channel)? */
export function watching(): boolean {
  return observing || anySubscribers();
}

/** Slot of this lock's class in the table, or -1 when not recorded (off, filtered out). */
function slotOf(lock: ObservedLock): number {
  if (table === null || !table.enabled) return -1;
  let s = slots.get(lock.name);
  if (s === undefined) {
    s = only !== null && !only.has(lock.name) ? -1 : table.slotOf(lock.name);
    slots.set(lock.name, s);
  }
  return s;
}

function kindOf(lock: ObservedLock): string {
  return (lock as { handle?: { kind?: string } }).handle?.kind ?? lock.constructor.name;
}

function message(lock: ObservedLock, mode: LockEventMode | undefined): LockEvent {
  const m: LockEvent = { lock, name: lock.name, kind: kindOf(lock) };
  if (mode !== undefined) m.mode = mode;
  return m;
}

/**
 * This thread now holds `lock`. `waitStart` is the `now()` at which it started waiting, or -1
 * for an acquisition that did not wait; `parks` is how often it slept meanwhile; `mode` (RW locks
 * only) goes into the event messages.
 */
export function noteAcquired(lock: ObservedLock, waitStart = -1, parks = 0, mode?: LockEventMode): void {
  const t = now();
  const waitMs = waitStart < 0 ? 0 : t - waitStart;
  const s = slotOf(lock);
  if (s >= 0) {
    const tb = table!;
    tb.count(s, C_ACQUISITIONS);
    if (waitStart >= 0) {
      tb.count(s, C_CONTENDED);
      if (parks === 0) tb.count(s, C_SPIN_SUCCESSES);
      else tb.count(s, C_PARKS, parks);
      tb.record(s, WAIT, waitMs * 1e6);
    }
  }
  // Only when a release will be observed to take it out again (else the map would keep the lock alive).
  if (observing || releaseChannel.hasSubscribers) heldSince.set(lock, t);
  if (waitStart >= 0 && contendedChannel.hasSubscribers) {
    const m = message(lock, mode);
    m.waitMs = waitMs;
    m.parks = parks;
    contendedChannel.publish(m);
  }
  if (acquireChannel.hasSubscribers) {
    const m = message(lock, mode);
    m.waitMs = waitMs;
    acquireChannel.publish(m);
  }
}

/** This thread released `lock` (after the release, so the hook never delays a waiter). */
export function noteReleased(lock: ObservedLock, mode?: LockEventMode): void {
  const since = heldSince.get(lock);
  if (since !== undefined) heldSince.delete(lock);
  const holdMs = since === undefined ? -1 : now() - since;
  // The raw release says whether it handed the lock to a parked waiter (sync, so it was this one).
  const handedOff = SLOW_PATH.handedOff;
  SLOW_PATH.handedOff = false;
  const s = slotOf(lock);
  if (s >= 0) {
    if (handedOff) table!.count(s, C_HANDOFFS);
    if (holdMs >= 0) table!.record(s, HOLD, holdMs * 1e6);
  }
  if (releaseChannel.hasSubscribers) {
    const m = message(lock, mode);
    if (holdMs >= 0) m.holdMs = holdMs;
    releaseChannel.publish(m);
  }
}

/**
 * A blocking wait for `lock` that started at `waitStart` ended: it took the lock (`ok`, after
 * `parks` sleeps) or timed out. The one way every contended path records how its wait ended.
 */
export function noteWaitEnded(lock: ObservedLock, waitStart: number, ok: boolean, parks: number, mode?: LockEventMode): void {
  if (ok) noteAcquired(lock, waitStart, parks, mode);
  else noteTimeout(lock, waitStart, mode);
}

/** A timed acquisition of `lock` that started waiting at `waitStart` gave up. */
export function noteTimeout(lock: ObservedLock, waitStart: number, mode?: LockEventMode): void {
  noteGaveUp(lock, waitStart, mode, C_TIMEOUTS, timeoutChannel);
}

/** An async acquisition of `lock` was aborted by its signal. */
export function noteAbort(lock: ObservedLock, waitStart: number, mode?: LockEventMode): void {
  noteGaveUp(lock, waitStart, mode, C_ABORTS, abortChannel);
}

/** A wait that ended without the lock: counts it in `counter`, publishes it (with `waitMs`) on `channel`. */
function noteGaveUp(
  lock: ObservedLock,
  waitStart: number,
  mode: LockEventMode | undefined,
  counter: number,
  channel: typeof timeoutChannel,
): void {
  const s = slotOf(lock);
  if (s >= 0) table!.count(s, counter);
  if (channel.hasSubscribers) {
    const m = message(lock, mode);
    m.waitMs = now() - waitStart;
    channel.publish(m);
  }
}

/**
 * This thread acquired `lock` and learned that its previous owner died holding it. For the
 * owner-death code to call (once per death it reports); counts `ownerDeaths`, publishes
 * `sablock:owner-died`. Cheap to call when nothing observes.
 */
export function noteOwnerDied(lock: ObservedLock): void {
  const s = observing ? slotOf(lock) : -1;
  if (s >= 0) table!.count(s, C_OWNER_DEATHS);
  if (ownerDiedChannel.hasSubscribers) ownerDiedChannel.publish(message(lock, undefined));
}

/**
 * Awaits an async slow-path acquisition (which resolves to its park count) and records how it
 * ended: acquired, timed out, or aborted by `signal`. Rethrows its error.
 */
export async function observeAsync(
  lock: ObservedLock,
  waitStart: number,
  signal: AbortSignal | undefined,
  waiting: Promise<number>,
  mode?: LockEventMode,
): Promise<void> {
  let parks: number;
  try {
    parks = await waiting;
  } catch (e) {
    if (e instanceof TimeoutError) noteTimeout(lock, waitStart, mode);
    else if (signal?.aborted) noteAbort(lock, waitStart, mode);
    throw e;
  }
  noteAcquired(lock, waitStart, parks, mode);
}
