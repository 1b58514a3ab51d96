/**
 * What the locks call when they are observed: the seam between the primitives and `src/observe/`.
 * It lives in core, below both: primitives call it; it publishes the `node:diagnostics_channel`
 * events itself (`core/events.ts`) and hands the stats part to the recorder `observe/` installs
 * (`installRecorder`), so no arrow runs from core or a primitive up into `observe/`.
 *
 * Everything here is off the fast path: a lock's fast path tests `observing || <channel>.hasSubscribers`
 * (two loads, false when observability is off) and calls in only when it is true. The contended
 * paths test `watching()`.
 *
 * Per-thread state: the installed recorder, and the acquisition time of each lock object this
 * thread holds (hold time is measured per object: a lock acquired through one object and released
 * through another view of it records no hold time).
 */
import { now } from './futex.js';
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
import { TimeoutError } from './errors.js';

/** What the hooks need from a lock. */
export interface ObservedLock {
  /** The lock's class name, as the events and stats show it. */
  readonly name: string;
}

/**
 * The stats side of the hooks, installed by `observe/` while this thread records stats: `slotOf`
 * gives the lock's class slot in the shared table (-1: not recorded), the others count into it.
 */
export interface Recorder {
  slotOf(lock: ObservedLock): number;
  acquired(slot: number, waitMs: number, parks: number): void;
  released(slot: number, holdMs: number): void;
  timedOut(slot: number): void;
  aborted(slot: number): void;
  ownerDied(slot: number): void;
}

/** True while this thread records stats (the fast paths test it). */
export let observing = false;

let recorder: Recorder | null = null;
const heldSince = new Map<object, number>();

/** @internal `observe/` installs its recorder here (null: stop recording in this thread). */
export function installRecorder(r: Recorder | null): void {
  recorder = r;
  heldSince.clear();
  observing = r !== null;
}

/** Slow paths: is anything observing (stats here, or a subscriber on any sablock channel)? */
export function watching(): boolean {
  return observing || anySubscribers();
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
  const s = recorder === null ? -1 : recorder.slotOf(lock);
  if (s >= 0) recorder!.acquired(s, waitStart < 0 ? -1 : waitMs, parks);
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
  const s = recorder === null ? -1 : recorder.slotOf(lock);
  if (s >= 0) recorder!.released(s, holdMs);
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
  noteGaveUp(lock, waitStart, mode, false, timeoutChannel);
}

/** An async acquisition of `lock` was aborted by its signal. */
export function noteAbort(lock: ObservedLock, waitStart: number, mode?: LockEventMode): void {
  noteGaveUp(lock, waitStart, mode, true, abortChannel);
}

/** A wait that ended without the lock: counts it (aborted or timed out), publishes it (with `waitMs`) on `channel`. */
function noteGaveUp(
  lock: ObservedLock,
  waitStart: number,
  mode: LockEventMode | undefined,
  aborted: boolean,
  channel: typeof timeoutChannel,
): void {
  const s = recorder === null ? -1 : recorder.slotOf(lock);
  if (s >= 0) {
    if (aborted) recorder!.aborted(s);
    else recorder!.timedOut(s);
  }
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
  const s = recorder === null ? -1 : recorder.slotOf(lock);
  if (s >= 0) recorder!.ownerDied(s);
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

/**
 * The observe hooks, for lock implementations outside sablock's core (`sablock/postgres`): call
 * them as the primitives do (see each function above), so that their locks count in `stats()`
 * and publish on the `sablock:*` diagnostics channels like the in-process ones.
 */
export const observeHooks: {
  /** True when stats are recorded in this thread or any sablock channel has a subscriber; time waits only then. */
  watching(): boolean;
  /** This thread now holds `lock`; `waitStart` is the `performance.now()` its wait started at (-1: it did not wait). */
  noteAcquired(lock: ObservedLock, waitStart?: number, parks?: number, mode?: LockEventMode): void;
  /** This thread released `lock` (call after the release). */
  noteReleased(lock: ObservedLock, mode?: LockEventMode): void;
  /** A timed acquisition of `lock` that started waiting at `waitStart` gave up. */
  noteTimeout(lock: ObservedLock, waitStart: number, mode?: LockEventMode): void;
  /** An acquisition of `lock` that started waiting at `waitStart` was aborted by its signal. */
  noteAbort(lock: ObservedLock, waitStart: number, mode?: LockEventMode): void;
} = { watching, noteAcquired, noteReleased, noteTimeout, noteAbort };
