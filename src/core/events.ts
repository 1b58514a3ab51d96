/**
 * Lock events on `node:diagnostics_channel`. Each channel is created once, here; a message is
 * built and published only when the channel has subscribers (`channel.hasSubscribers`, a cheap
 * getter), in the thread where the event happened.
 *
 * | channel              | published when | message |
 * |----------------------|----------------|---------|
 * | `sablock:acquire`    | a lock was acquired (every path) | `{ lock, name, kind, waitMs }` (waitMs 0 when it did not wait) |
 * | `sablock:contended`  | an acquisition that had to wait got the lock | `{ lock, name, kind, waitMs, parks }` |
 * | `sablock:release`    | a lock was released | `{ lock, name, kind, holdMs? }` (holdMs when this thread saw the acquisition while observing) |
 * | `sablock:timeout`    | a timed acquisition gave up | `{ lock, name, kind, waitMs }` |
 * | `sablock:abort`      | an async acquisition was aborted by its signal | `{ lock, name, kind, waitMs }` |
 * | `sablock:owner-died` | an acquirer found that the previous owner died holding the lock | `{ lock, name, kind }` |
 *
 * `lock` is the primitive object, `name` its class name, `kind` its kind (`'Mutex'`, …). Events
 * of an `RWLock` also carry `mode`: `'read'`, `'write'` or `'upgradable'` (the hold acquired,
 * released, timed out or aborted). A `Semaphore` publishes acquire/contended/release/timeout/abort
 * once per `acquire*`/`release` call, whatever the number of permits.
 */
import diagnosticsChannel from 'node:diagnostics_channel';

/** The names of sablock's diagnostics channels. */
export const CHANNELS = Object.freeze({
  /** A lock was acquired, by any path. */
  acquire: 'sablock:acquire',
  /** An acquisition that had to wait got the lock (message has `waitMs`, `parks`). */
  contended: 'sablock:contended',
  /** A lock was released (message has `holdMs` when known). */
  release: 'sablock:release',
  /** A timed acquisition gave up. */
  timeout: 'sablock:timeout',
  /** An async acquisition was aborted by its signal. */
  abort: 'sablock:abort',
  /** An acquirer found that the previous owner died holding the lock. */
  ownerDied: 'sablock:owner-died',
} as const);

/** The hold an RWLock event is about. */
export type LockEventMode = 'read' | 'write' | 'upgradable';

/** Message published on every sablock channel. */
export interface LockEvent {
  /** The primitive object the event is about. */
  lock: object;
  /** Its class name (`options.name`, or the kind). */
  name: string;
  /** Its kind: `'Mutex'`, `'SpinLock'`, `'TicketLock'`, … */
  kind: string;
  /** Milliseconds spent waiting (acquire, contended, timeout, abort). */
  waitMs?: number;
  /** Milliseconds the lock was held (release, when known). */
  holdMs?: number;
  /** Times the acquirer went to sleep (contended). */
  parks?: number;
  /** RWLock events: which hold (read, write or upgradable read). */
  mode?: LockEventMode;
}

export const acquireChannel = diagnosticsChannel.channel(CHANNELS.acquire);
export const contendedChannel = diagnosticsChannel.channel(CHANNELS.contended);
export const releaseChannel = diagnosticsChannel.channel(CHANNELS.release);
export const timeoutChannel = diagnosticsChannel.channel(CHANNELS.timeout);
export const abortChannel = diagnosticsChannel.channel(CHANNELS.abort);
export const ownerDiedChannel = diagnosticsChannel.channel(CHANNELS.ownerDied);

/** True when any sablock channel has a subscriber (slow paths check this; fast paths check one channel). */
export function anySubscribers(): boolean {
  return (
    acquireChannel.hasSubscribers ||
    contendedChannel.hasSubscribers ||
    releaseChannel.hasSubscribers ||
    timeoutChannel.hasSubscribers ||
    abortChannel.hasSubscribers ||
    ownerDiedChannel.hasSubscribers
  );
}
