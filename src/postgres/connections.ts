/**
 * Where a manager's sessions come from: its pool (made from a connection string, or the caller's),
 * the once-per-manager check of the server and the fence table (`prepare`), one configured session
 * per top-level acquisition (`open`), and the sessions open now, which `close()` ends.
 */
import pg from 'pg';
import { LockError, TimeoutError, type _ParsedWait as ParsedWait } from '../index.js';
import { LockConnectionError, notSupported } from './errors.js';
import { describe } from './names.js';
import type { PgLocksConfig } from './options.js';
import { Session } from './session.js';
import { RESET_SETTINGS, sessionSettings, type Statements } from './sql.js';
import { race } from './waits.js';

/** Where the locks live: a connection string (a pool is made and owned), or your `pg.Pool`. */
export type PgLocksSource =
  | ({
      /** `postgres://user:password@host:port/database`: a `pg.Pool` is made for it (other `pg.PoolConfig` fields pass through). */
      connectionString: string;
    } & Omit<pg.PoolConfig, 'connectionString'>)
  | {
      /** Your pool: each acquisition checks out one connection and hands it back reset. */
      pool: pg.Pool;
    };

/** One manager's connections to the database. */
export class Connections {
  readonly pool: pg.Pool;
  readonly #cfg: PgLocksConfig;
  readonly #ownPool: boolean;
  readonly #sql: Statements;
  readonly #settings: string;
  readonly #closing: AbortSignal;
  readonly #configured = new WeakMap<pg.PoolClient, number>();
  readonly #sessions = new Set<Session>();
  #ready: Promise<void> | undefined;
  /** `#ready` has resolved: `prepare()` returns nothing (no promise, no await, a request). */
  #isReady = false;
  /**
   * A configured session that let go of everything, kept for the next top-level acquisition
   * (own pool only): a request then costs no pool checkout and return, no new `Session`, no
   * listeners put on and taken off its client. At most one, never while the pool has waiters or
   * with a pool of one; handed back to the pool after `#spareMs` unused (`#expire`), before
   * `query()` runs on the pool (`releaseSpare`), and on close. A task that a lock callback left
   * running cannot reach it through that callback's scope once the hold is released (locks.ts
   * `_acquire`).
   */
  #spare: Session | undefined;
  #spareSince = 0;
  #spareTimer: NodeJS.Timeout | undefined;
  /**
   * How long a spare may wait: a quarter lease, at most 1 s. With the pool's idle timeout (half a
   * lease) after it, an unused connection is closed before the server's `idle_session_timeout`
   * (the lease) would end it.
   */
  readonly #spareMs: number;

  /** `source` is an object (checked by the caller); its pool, or a pool for its connection string. */
  constructor(source: object, cfg: PgLocksConfig, sql: Statements, closing: AbortSignal) {
    const s = source as { pool?: unknown; connectionString?: unknown };
    if (s.pool !== undefined) {
      const p = s.pool as { connect?: unknown; query?: unknown };
      if (p === null || typeof p !== 'object' || typeof p.connect !== 'function' || typeof p.query !== 'function') {
        throw new TypeError(`source.pool must be a pg.Pool, got ${describe(s.pool)}`);
      }
      this.pool = s.pool as pg.Pool;
      this.#ownPool = false;
    } else {
      if (typeof s.connectionString !== 'string' || s.connectionString === '') {
        throw new TypeError(`source.connectionString must be a non-empty string, got ${describe(s.connectionString)}`);
      }
      this.pool = new pg.Pool({
        keepAlive: true,
        keepAliveInitialDelayMillis: Math.max(1000, Math.floor(cfg.lease / 3)),
        ...(source as pg.PoolConfig),
        max: cfg.poolSize,
        // Idle pooled connections carry idle_session_timeout = lease: drop them before the server does.
        idleTimeoutMillis: Math.min(10_000, Math.floor(cfg.lease / 2)),
        allowExitOnIdle: true,
      });
      // An idle pooled connection that the server ends (restart, termination): the pool drops it.
      this.pool.on('error', () => {});
      this.#ownPool = true;
    }
    this.#cfg = cfg;
    this.#sql = sql;
    this.#settings = sessionSettings({ lease: cfg.lease, checkInterval: cfg.checkInterval, applicationName: `sablock:${cfg.clientId}` });
    this.#closing = closing;
    this.#spareMs = Math.min(1000, cfg.lease / 4);
  }

  /** Sessions open now (holding, waiting or kept). */
  get sessionCount(): number {
    return this.#sessions.size;
  }

  /** Ends every open session and, if the pool is ours, the pool. */
  close(): Promise<void> {
    if (this.#spareTimer !== undefined) clearTimeout(this.#spareTimer);
    this.#spareTimer = undefined;
    this.releaseSpare();
    for (const s of [...this.#sessions]) s.lose('the lock manager was closed', undefined);
    return this.#ownPool ? this.pool.end() : Promise.resolve();
  }

  /** Once per manager: the server is new enough; the fence table exists. Undefined once that is known. */
  prepare(what: string): Promise<void> | undefined {
    if (this.#isReady) return undefined;
    if (this.#ready === undefined) {
      this.#ready = (async () => {
        const c = await this.pool.connect().catch((e: unknown) => {
          throw new LockConnectionError(what, 'cannot connect to the database', e);
        });
        try {
          const v = await c.query<{ v: string }>('SELECT current_setting(\'server_version_num\') AS v');
          const version = Number(v.rows[0]!.v);
          if (version < 140000) {
            throw notSupported(`sablock/postgres needs PostgreSQL 14 or later (idle_session_timeout), the server is ${version}`);
          }
          if (this.#cfg.setup) await c.query(this.#sql.setup);
          // A fence-row rewrite must write WAL for its commit to flush (sql.ts invariant 3).
          const t = await c.query<{ p: string | null }>('SELECT (SELECT relpersistence FROM pg_class WHERE oid = to_regclass($1)) AS p', [this.#cfg.table]);
          const persistence = t.rows[0]?.p ?? null;
          if (persistence !== null && persistence !== 'p') {
            throw notSupported(`the fence table ${this.#cfg.table} must be a logged table (its row rewrites make tokens durable), it is ${persistence === 'u' ? 'UNLOGGED' : 'TEMPORARY'}`);
          }
          c.release();
        } catch (e) {
          c.release(e instanceof Error ? e : true);
          throw e;
        }
      })();
      this.#ready.then(
        () => {
          this.#isReady = true;
        },
        () => {
          this.#ready = undefined; // try again on the next call
        },
      );
    }
    return this.#ready;
  }

  /** The kept session (`#spare`) for a top-level acquisition, if there is one alive; else call `open()`. */
  takeSpare(): Session | undefined {
    const spare = this.#spare;
    if (spare === undefined) return undefined;
    // Lost while kept (its 'error'/'end' handler destroyed it already; release() then does nothing),
    // not idle (nothing gets there; release() ends it), or kept past its time (the event loop
    // stalled: the server may have ended it unseen).
    if (!spare.idle || performance.now() - this.#spareSince >= this.#spareMs) {
      this.releaseSpare();
      return undefined;
    }
    this.#spare = undefined;
    ref(spare.client, true);
    return spare;
  }

  /** Hands the kept session back to the pool now (for a statement run on the pool). */
  releaseSpare(): void {
    const spare = this.#spare;
    if (spare === undefined) return;
    this.#spare = undefined;
    spare.release();
  }

  /** A connection of our own for one top-level acquisition, configured (settings once per connection). */
  async open(name: string, wait: ParsedWait): Promise<Session> {
    const connecting = this.pool.connect();
    let client: pg.PoolClient;
    try {
      client = await race(connecting, name, wait, this.#closing, () => {
        connecting.then((c) => c.release(), () => {});
      });
    } catch (e) {
      if (e instanceof TimeoutError || e instanceof LockError || e === wait.signal?.reason) throw e;
      if (e instanceof DOMException) throw e;
      throw new LockConnectionError(name, 'cannot connect to the database', e);
    }
    let pid = this.#configured.get(client);
    if (pid === undefined) {
      try {
        const r = (await client.query(`${this.#settings}; SELECT pg_backend_pid() AS pid`)) as unknown as pg.QueryResult<{ pid: number }>[];
        pid = r[r.length - 1]!.rows[0]!.pid;
      } catch (e) {
        client.release(e instanceof Error ? e : true);
        throw new LockConnectionError(name, 'cannot configure the session', e);
      }
      // A caller's pool gets its connection back reset: set again next time.
      if (this.#ownPool) this.#configured.set(client, pid);
    }
    const s = new Session(client, pid, {
      lease: this.#cfg.lease,
      heartbeat: this.#cfg.heartbeat,
      reset: this.#ownPool ? undefined : RESET_SETTINGS,
      prepare: this.#ownPool,
      // A caller's pool gets every connection back at once, reset.
      keep: this.#ownPool ? this.#keep : undefined,
      // The one place a session leaves the set: handed back (after a reset, too) or destroyed.
      done: this.#forget,
    });
    this.#sessions.add(s);
    return s;
  }

  readonly #forget = (s: Session): void => {
    this.#sessions.delete(s);
  };

  /** `SessionConfig.keep`: keeps `s` as the spare unless one is kept, the pool has waiters or none to spare, or we close. */
  readonly #keep = (s: Session): boolean => {
    if (this.#spare !== undefined || this.#closing.aborted || this.#cfg.poolSize < 2 || this.pool.waitingCount > 0) return false;
    this.#spare = s;
    this.#spareSince = performance.now();
    // Kept, it must not hold the process open, as the pool's idle connections do not (allowExitOnIdle).
    ref(s.client, false);
    if (this.#spareTimer === undefined) this.#armExpiry(this.#spareMs);
    return true;
  };

  /** One timer for the spare, moved on rather than re-armed on each keep. */
  #armExpiry(ms: number): void {
    this.#spareTimer = setTimeout(() => this.#expire(), Math.max(1, ms)).unref();
  }

  #expire(): void {
    this.#spareTimer = undefined;
    const s = this.#spare;
    if (s === undefined) return;
    const age = performance.now() - this.#spareSince;
    if (age < this.#spareMs) return this.#armExpiry(this.#spareMs - age); // kept again since
    this.releaseSpare();
  }
}

/** Refs or unrefs a client's socket (pg ≥ 8.7 has `ref()`/`unref()`; without them, nothing). */
function ref(client: pg.PoolClient, on: boolean): void {
  const c = client as unknown as { ref?: () => void; unref?: () => void };
  if (on) c.ref?.();
  else c.unref?.();
}
