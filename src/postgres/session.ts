/**
 * One PostgreSQL session (a pooled connection) carrying advisory locks, and what watches it.
 *
 * A session-level advisory lock lives exactly as long as its session, so "do I still hold it?" is
 * "is my session alive?". Three things end that belief here, each aborting every hold's `signal`:
 * 1. the connection reports an error or ends (server restart, `pg_terminate_backend`, reset);
 * 2. the lease runs out: no statement sent in the last `lease − heartbeat/2` ms was answered. The
 *    server ends an idle session `lease` ms after its last statement (`idle_session_timeout`), and
 *    the last statement it saw was sent no earlier than the last one answered, so the client gives
 *    up first, by half a heartbeat (slack for a late timer);
 * 3. the manager closes.
 * While it holds locks the session sends a heartbeat (`SELECT 1`) whenever it has been quiet for
 * `heartbeat` ms; any answered statement renews the lease.
 *
 * A lost session is destroyed (its socket closed at once), never handed back to a pool as usable.
 */
import type pg from 'pg';
import { statementName } from './sql.js';

/** What the manager tells each session. */
export interface SessionConfig {
  lease: number;
  heartbeat: number;
  /** Run before handing the connection back (the caller's pool), or undefined. */
  reset: string | undefined;
  /**
   * Run parameterised statements as named prepared statements (parsed and planned once per
   * connection: a grant's statement costs more to plan than to run). Only on connections of a
   * pool we own: a caller's connection goes back with nothing of ours left on it.
   */
  prepare: boolean;
  /**
   * Offered the session when its last user is gone, holding nothing: true if the manager keeps it
   * for its next acquisition (connections.ts `#keep`; it calls `release()` later), false to hand
   * it back to the pool now.
   */
  keep?: ((s: Session) => boolean) | undefined;
  /** Told once, when the session is handed back or destroyed (`done` becomes true). */
  done?: ((s: Session) => void) | undefined;
}

/** Someone to tell when the session is lost. */
export type LostListener = (why: string, cause: unknown) => void;

const now = (): number => performance.now();

/** Per statement text: an object with no own properties whose prototype carries `name` and `text`. */
const configs = new Map<string, object>();

/**
 * The query config of a named prepared statement, made once per text. pg 8.23 copies a config's
 * own properties on every query (`cloneQueryConfig`, about 1.5 µs for `{ name, text, values }`)
 * and keeps its prototype: with `name` and `text` on the prototype and `values` passed apart,
 * there is nothing to copy. Older pg (8.7–8.21) writes `values` onto the object it is given
 * instead; sharing it is still safe, as the query copies them in the same synchronous call,
 * before any other query can write them (it only keeps the last values, a key and a name, alive).
 */
function preparedConfig(text: string): object {
  let c = configs.get(text);
  if (c === undefined) {
    c = Object.create(Object.freeze({ name: statementName(text), text })) as object;
    configs.set(text, c);
  }
  return c;
}

export class Session {
  readonly client: pg.PoolClient;
  readonly pid: number;
  readonly #cfg: SessionConfig;
  /** Keys held by this session (advisory-lock key text → hold count). */
  readonly held = new Map<string, number>();
  readonly #lostListeners = new Set<LostListener>();
  readonly #notify = new Set<(channel: string) => void>();
  /** Acquisitions in progress + holds: handed back when it drops to 0. */
  #users = 0;
  #inflight = 0;
  /** Send time of the latest statement answered (the lease runs from there). */
  #lastAck = now();
  #lastSend = now();
  #timer: NodeJS.Timeout | undefined;
  #lost: { why: string; cause: unknown } | undefined;
  #returned = false;
  readonly #onError = (e: unknown): void => this.lose('connection error', e);
  readonly #onEnd = (): void => this.lose('connection ended', undefined);
  readonly #onNotification = (m: pg.Notification): void => {
    for (const f of this.#notify) f(m.channel);
  };

  constructor(client: pg.PoolClient, pid: number, cfg: SessionConfig) {
    this.client = client;
    this.pid = pid;
    this.#cfg = cfg;
    client.on('error', this.#onError);
    client.on('end', this.#onEnd);
    client.on('notification', this.#onNotification);
  }

  /** Why the session is lost (undefined while it is alive). */
  get lost(): { why: string; cause: unknown } | undefined {
    return this.#lost;
  }

  /** Handed back to the pool (or destroyed): no longer usable. */
  get done(): boolean {
    return this.#returned;
  }

  /** Alive, with no user and nothing held: it may be kept, handed out again or handed back. */
  get idle(): boolean {
    return this.#users === 0 && this.held.size === 0 && this.#lost === undefined && !this.#returned;
  }

  /** Runs a statement on this session, renewing the lease when it is answered. */
  async query<R extends pg.QueryResultRow = Record<string, unknown>>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>> {
    if (this.#lost !== undefined) throw this.#lostCause();
    const sent = now();
    this.#lastSend = sent;
    this.#inflight++;
    try {
      const r =
        values !== undefined && this.#cfg.prepare
          ? await this.client.query<R>(preparedConfig(text) as pg.QueryConfig, values)
          : await this.client.query<R>(text, values);
      if (sent > this.#lastAck) this.#lastAck = sent;
      return r;
    } finally {
      this.#inflight--;
    }
  }

  /** A simple-protocol statement (several `;`-separated statements, no parameters). */
  async simple(text: string): Promise<void> {
    await this.query(text);
  }

  ref(): void {
    this.#users++;
  }

  /** One user fewer; the last one hands the connection back. */
  unref(): void {
    if (--this.#users > 0 || this.#returned) return;
    this.#handBack();
  }

  /** `key` is now held once more by this session. */
  addKey(key: string): void {
    this.held.set(key, (this.held.get(key) ?? 0) + 1);
    if (this.#timer === undefined && this.#lost === undefined) this.#tick();
  }

  /** One hold of `key` is gone. */
  dropKey(key: string): void {
    const n = (this.held.get(key) ?? 0) - 1;
    if (n > 0) this.held.set(key, n);
    else this.held.delete(key);
    // The lease timer is left to run out: with nothing held its next tick stops it, and a grant
    // before then finds it armed (no setTimeout and clearTimeout a request).
  }

  onLost(f: LostListener): () => void {
    this.#lostListeners.add(f);
    return () => this.#lostListeners.delete(f);
  }

  onNotify(f: (channel: string) => void): () => void {
    this.#notify.add(f);
    return () => this.#notify.delete(f);
  }

  /** The session is gone (or must be given up on): tell every hold, destroy the connection. */
  lose(why: string, cause: unknown): void {
    if (this.#lost !== undefined) return;
    this.#lost = { why, cause };
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const f of [...this.#lostListeners]) f(why, cause);
    this.#destroy(cause);
  }

  #lostCause(): Error {
    const l = this.#lost!;
    const e = new Error(`session lost: ${l.why}${l.cause instanceof Error ? `: ${l.cause.message}` : ''}`);
    (e as { cause?: unknown }).cause = l.cause;
    return e;
  }

  /** Lease check and heartbeat; re-arms itself while keys are held. */
  #tick(): void {
    this.#timer = undefined;
    if (this.#lost !== undefined || this.held.size === 0) return;
    const t = now();
    // Give up half a heartbeat before the server may: timers fire late on a busy event loop.
    const leaseEnd = this.#lastAck + this.#cfg.lease - this.#cfg.heartbeat / 2;
    if (t >= leaseEnd) {
      this.lose(`no answer from the server for ${Math.round(t - this.#lastAck)} ms (lease ${this.#cfg.lease} ms)`, undefined);
      return;
    }
    // A statement in flight renews the lease when answered: no heartbeat beside it.
    if (this.#inflight === 0 && t - this.#lastSend >= this.#cfg.heartbeat) {
      this.query('SELECT 1').catch(() => {
        // a failed heartbeat: the connection's error/end events (or the lease) decide
      });
    }
    const next = Math.min(leaseEnd, t + this.#cfg.heartbeat / 4);
    // unref: a held lock alone does not keep the process alive (its connection may).
    this.#timer = setTimeout(() => this.#tick(), Math.max(1, next - t)).unref();
  }

  #detach(): void {
    this.client.off('error', this.#onError);
    this.client.off('end', this.#onEnd);
    this.client.off('notification', this.#onNotification);
    // No listener of ours stays behind on a pooled client: release() (called right after, in the
    // same turn) puts pg-pool's idle error listener on it first thing.
  }

  #destroy(cause: unknown): void {
    if (this.#returned) return;
    this.#returned = true;
    this.#cfg.done?.(this);
    this.#detach();
    // Close the socket now: a stalled connection must not linger as ours (end() would wait on it).
    (this.client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
    try {
      this.client.release(cause instanceof Error ? cause : new Error('sablock/postgres: session lost'));
    } catch {
      // already released
    }
  }

  /** Hands the connection back (or keeps it, `SessionConfig.keep`): at once, without a promise, unless it must be reset first. */
  #handBack(): void {
    if (this.#returned) return;
    if (this.#lost !== undefined) return this.#destroy(this.#lost.cause);
    if (this.held.size > 0) {
      // Something still held by a session nobody uses: never hand out a connection holding locks.
      return this.#destroy(new Error('sablock/postgres: session handed back holding locks'));
    }
    if (this.#cfg.reset !== undefined) {
      void this.#resetThenRelease(this.#cfg.reset);
      return;
    }
    if (this.#cfg.keep?.(this) === true) return;
    this.release();
  }

  /** A caller's pool gets its connection back reset (`SessionConfig.reset`). */
  async #resetThenRelease(reset: string): Promise<void> {
    try {
      await this.query(reset);
    } catch (e) {
      return this.#destroy(e);
    }
    if (this.#users > 0 || this.#returned) return; // taken up again meanwhile (cannot happen today)
    this.release();
  }

  /** Hands the connection back to the pool (a session nobody uses, holding nothing; else it is ended). */
  release(): void {
    if (this.#returned) return;
    // Never a connection that holds locks or that someone still uses back to the pool.
    if (!this.idle) return this.lose('handed back while in use', undefined);
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#returned = true;
    this.#cfg.done?.(this);
    this.#detach();
    this.client.release();
  }
}
