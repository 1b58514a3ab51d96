/**
 * `createLocks()`: the Web Locks interface (`request`, `query`) and sablock's async primitives
 * over PostgreSQL session-level advisory locks. docs/postgres.md has the semantics and bounds.
 *
 * ## Sessions
 * Every acquisition made outside a lock callback takes a connection of its own from the pool and
 * keeps it while it waits and while it holds (a session-level advisory lock belongs to its
 * session). Acquisitions made inside a `request()` callback or a `withLockAsync()` function
 * (the async scope of a hold) use that hold's session: PostgreSQL then sees one session hold
 * one lock and wait for another, so its deadlock detector covers them (`DeadlockError`). Such a
 * nested wait runs in slices of at most `heartbeat` ms, so the session keeps answering and its
 * lease never lapses while it waits; a nested request for a key its session already holds
 * would be granted by PostgreSQL (advisory locks stack per session), so it is refused instead
 * (`ERR_LOCK_RECURSIVE`, or `null` with `ifAvailable`).
 *
 * ## One grant
 * 1. Fast path: `pg_try_advisory_lock` + token, one statement (`sql.ts`). Granted: done, no wait.
 * 2. Slow path: `pg_advisory_lock` + token, one statement, `lock_timeout` = what is left of the
 *    timeout: PostgreSQL queues it (FIFO behind conflicting requests) and grants it the moment the
 *    holder releases or its session ends; no polling. An abort gives up at once: a top-level
 *    session is destroyed (the server drops its queued request when it sees the socket close), a
 *    nested one lets the statement finish and unlocks a late grant.
 * Any failure after the lock may have been taken unlocks the key again (session-level locks
 * survive the statement's rollback).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import pg from 'pg';
import {
  DeadlockError,
  LockError,
  TimeoutError,
  WebLock,
  lockcheckHooks,
  observeHooks,
  _parseWaitOptions as parseWaitOptions,
  _readWebLockArgs as readWebLockArgs,
  type _ParsedWait as ParsedWait,
  type CheckedLock,
  type LockEventMode,
  type WebLockRequestOptions,
} from '../index.js';
import { closedError, collisionError, LockConnectionError, lostError, notSupported } from './errors.js';
import { keyOf, semaphoreName, slotName } from './keys.js';
import { parseOptions, type PgLocksConfig, type PgLocksOptions } from './options.js';
import { Session } from './session.js';
import { RESET_SETTINGS, sessionSettings, statements, type Statements } from './sql.js';

/** `'exclusive'` (one holder) or `'shared'` (any number of shared holders, no exclusive one). */
export type PgLockMode = 'exclusive' | 'shared';

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

/** The lock a `request()` callback receives: the in-process `WebLock` (`name`, `mode`), plus its token and loss signal. */
export class PgLock extends WebLock {
  /** Fencing token: larger with every grant of this name (any mode), from the database. */
  readonly token: bigint;
  /** Aborts when the lock is lost (its session ended, its lease ran out, the manager closed). */
  readonly signal: AbortSignal;
  /** @internal */
  constructor(name: string, mode: PgLockMode, token: bigint, signal: AbortSignal) {
    super(name, mode);
    this.token = token;
    this.signal = signal;
  }
}

/**
 * Options of `request()`: the in-process Web Locks ones (`mode`, `ifAvailable`, `signal` — which
 * aborts a waiting request; once granted, watch `lock.signal` — and `timeout`), but `steal`.
 */
export interface PgLockRequestOptions extends Omit<WebLockRequestOptions, 'steal'> {
  /** Not supported: always a `NotSupportedError` (docs/postgres.md says why). */
  steal?: boolean;
}

/** One lock or request in a `query()` snapshot. */
export interface PgLockInfo {
  /** The lock's name. */
  name: string;
  /** The mode held or requested. */
  mode: PgLockMode;
  /** The client that asked: `createLocks()`'s `clientId` for sablock clients, else `pid:<backend pid>`. */
  clientId: string;
}

/** `query()`'s result: held locks and waiting requests of every client of the database. */
export interface PgLocksSnapshot {
  /** Locks held now. */
  held: PgLockInfo[];
  /** Requests waiting now, oldest first. */
  pending: PgLockInfo[];
}

/** A request() callback. */
export type PgLockCallback<T> = (lock: PgLock | null) => T | PromiseLike<T>;

/** @internal What one acquisition asks for. */
export interface Target {
  /** The name users gave. */
  readonly name: string;
  /** Name stored in the fence table for `key`. */
  readonly rowName: string;
  readonly key: string;
  readonly shared: boolean;
  /** Event and verifier kind: `'PgLocks'`, `'PgMutex'`, `'PgRWLock'`, `'PgSemaphore'`. */
  readonly kind: string;
  readonly eventMode?: LockEventMode | undefined;
  readonly sem?: { readonly permits: number; readonly n: number; readonly slots: readonly string[]; readonly slotNames: readonly string[]; readonly channel: string };
}

/** What the verifier and the observers see of one name. */
interface NamedLock extends CheckedLock {
  readonly name: string;
  readonly lockClass: string;
  readonly handle: { readonly kind: string };
}

/** @internal One granted acquisition. */
export class Hold {
  readonly target: Target;
  readonly session: Session;
  readonly token: bigint;
  /** Semaphores: the slot keys still held. */
  readonly slots: string[];
  readonly controller = new AbortController();
  released = false;
  /** Called once if the lock is lost while held. */
  onLost: ((e: DOMException) => void) | undefined;
  named: NamedLock | undefined;
  /** The verifier recorded the acquisition (`onAcquired`): it must see the release. */
  checked = false;
  readonly #off: () => void;
  constructor(target: Target, session: Session, token: bigint, slots: string[]) {
    this.target = target;
    this.session = session;
    this.token = token;
    this.slots = slots;
    this.#off = session.onLost((why, cause) => {
      if (this.released) return;
      const e = lostError(target.name, why, cause);
      this.controller.abort(e);
      this.onLost?.(e);
    });
  }
  /** @internal */
  _detach(): void {
    this.#off();
  }
}

const now = (): number => performance.now();
const NAMED_CACHE = 1024;
const REGISTERED_CACHE = 65536;

function pgCode(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null && typeof (e as { code?: unknown }).code === 'string' ? (e as { code: string }).code : undefined;
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
}

function isThenable(x: unknown): x is PromiseLike<unknown> {
  return ((typeof x === 'object' && x !== null) || typeof x === 'function') && typeof (x as { then?: unknown }).then === 'function';
}

function describe(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (v === null || (typeof v !== 'object' && typeof v !== 'function')) return String(v);
  return typeof v === 'function' ? 'a function' : 'an object';
}

/** Checks a lock name: a string, not reserved. */
export function checkName(name: unknown, what = 'name'): string {
  if (typeof name !== 'string') throw new TypeError(`${what} must be a string, got ${describe(name)}`);
  if (name.startsWith('-')) throw notSupported(`lock names starting with '-' are reserved, got '${name}'`);
  if (name.includes('\0')) throw new TypeError(`${what} must not contain NUL characters (PostgreSQL text cannot hold them)`);
  return name;
}

/**
 * Locks in a PostgreSQL database, for every process and host that reaches it: `request()` and
 * `query()` as the Web Locks `LockManager`, `mutex()`, `rwlock()` and `semaphore()` as sablock's
 * async primitives. Made by `createLocks()`.
 */
export class PgLocks {
  /** Lock-class prefix (`options.name`). */
  readonly name: string;
  /** This manager's client id in `query()` snapshots (and the sessions' `application_name`). */
  readonly clientId: string;
  readonly #cfg: PgLocksConfig;
  readonly #pool: pg.Pool;
  readonly #ownPool: boolean;
  readonly #sql: Statements;
  readonly #settings: string;
  readonly #configured = new WeakMap<pg.PoolClient, number>();
  readonly #scope = new AsyncLocalStorage<Session>();
  readonly #sessions = new Set<Session>();
  readonly #registered = new Set<string>();
  readonly #named = new Map<string, NamedLock>();
  readonly #closing = new AbortController();
  #ready: Promise<void> | undefined;
  #closed: Promise<void> | undefined;

  /** @internal Use `createLocks()`. */
  constructor(source: unknown, options?: PgLocksOptions) {
    if (source === null || typeof source !== 'object') throw new TypeError(`source must be { connectionString } or { pool }, got ${describe(source)}`);
    const cfg = parseOptions(options);
    const s = source as { pool?: unknown; connectionString?: unknown };
    if (s.pool !== undefined) {
      const p = s.pool as { connect?: unknown; query?: unknown };
      if (p === null || typeof p !== 'object' || typeof p.connect !== 'function' || typeof p.query !== 'function') {
        throw new TypeError(`source.pool must be a pg.Pool, got ${describe(s.pool)}`);
      }
      this.#pool = s.pool as pg.Pool;
      this.#ownPool = false;
    } else {
      if (typeof s.connectionString !== 'string' || s.connectionString === '') {
        throw new TypeError(`source.connectionString must be a non-empty string, got ${describe(s.connectionString)}`);
      }
      this.#pool = new pg.Pool({
        keepAlive: true,
        keepAliveInitialDelayMillis: Math.max(1000, Math.floor(cfg.lease / 3)),
        ...(source as pg.PoolConfig),
        max: cfg.poolSize,
        // Idle pooled connections carry idle_session_timeout = lease: drop them before the server does.
        idleTimeoutMillis: Math.min(10_000, Math.floor(cfg.lease / 2)),
        allowExitOnIdle: true,
      });
      // An idle pooled connection that the server ends (restart, termination): the pool drops it.
      this.#pool.on('error', () => {});
      this.#ownPool = true;
    }
    this.#cfg = cfg;
    this.name = cfg.name;
    this.clientId = cfg.clientId;
    this.#sql = statements(cfg.table, cfg.sequence);
    this.#settings = sessionSettings({ lease: cfg.lease, checkInterval: cfg.checkInterval, applicationName: `sablock:${cfg.clientId}` });
  }

  /** The parsed options (lease, heartbeat, …). */
  get options(): Readonly<Omit<PgLocksConfig, 'clientId'>> {
    const { clientId: _, ...o } = this.#cfg;
    return o;
  }

  /**
   * Requests the lock `name` and calls `callback` with it once granted; the lock is held until
   * the promise `callback` returns settles, and `request()` settles with it (after the release).
   * If the lock is lost meanwhile, `lock.signal` aborts and `request()` rejects at once with its
   * reason (the callback keeps running: stop it, and let the fencing token protect the data).
   */
  request<T>(name: string, callback: PgLockCallback<T>): Promise<T>;
  request<T>(name: string, options: PgLockRequestOptions, callback: PgLockCallback<T>): Promise<T>;
  request(name: string, options: unknown, callback?: unknown): Promise<unknown> {
    let r: { target: Target; wait: ParsedWait; ifAvailable: boolean; callback: PgLockCallback<unknown> };
    try {
      r = this.#parseRequest(arguments.length, name, options, callback);
    } catch (e) {
      return Promise.reject(e);
    }
    return new Promise((resolve, reject) => {
      this._acquire(r.target, r.wait, r.ifAvailable ? 'try' : 'wait').then((hold) => {
        if (hold === null) {
          this.#runCallback(r.callback, null, undefined, resolve, reject);
          return;
        }
        const lock = new PgLock(r.target.name, r.target.shared ? 'shared' : 'exclusive', hold.token, hold.controller.signal);
        this.#runCallback(r.callback, lock, hold, resolve, reject);
      }, reject);
    });
  }

  /** Held locks and waiting requests of every client of this database (sablock's names only). */
  async query(): Promise<PgLocksSnapshot> {
    this.#checkOpen('query()');
    await this.#prepare('query()');
    const res = await this.#pool.query<{ pid: number; mode: string; granted: boolean; name: string; application_name: string | null }>(this.#sql.query);
    const held: PgLockInfo[] = [];
    const pending: PgLockInfo[] = [];
    for (const row of res.rows) {
      if (row.name.startsWith('-')) continue; // a semaphore's internal locks
      const app = row.application_name ?? '';
      const info: PgLockInfo = {
        name: row.name,
        mode: row.mode === 'ShareLock' ? 'shared' : 'exclusive',
        clientId: app.startsWith('sablock:') ? app.slice(8) : `pid:${row.pid}`,
      };
      (row.granted ? held : pending).push(info);
    }
    return { held, pending };
  }

  /**
   * Closes the manager: new requests fail (`ERR_LOCK_CLOSED`), waiting ones reject with it, held
   * locks are let go (their sessions end: `signal` aborts, `request()` rejects), and a pool made
   * from a connection string is ended. Idempotent.
   */
  close(): Promise<void> {
    if (this.#closed !== undefined) return this.#closed;
    this.#closing.abort(closedError(this.name));
    for (const s of [...this.#sessions]) s.lose('the lock manager was closed', undefined);
    this.#closed = this.#ownPool ? this.#pool.end() : Promise.resolve();
    return this.#closed;
  }

  // ---- acquisition (shared by request() and the primitives) ----------------------------------------

  /** @internal A target for a lock name. */
  _lockTarget(name: string, shared: boolean, kind: string, eventMode?: LockEventMode): Target {
    return { name, rowName: name, key: keyOf(this.#cfg.namespace, name).toString(), shared, kind, eventMode };
  }

  /** @internal A target for `n` permits of semaphore `name`. */
  _semTarget(name: string, permits: number, n: number): Target {
    const rowName = semaphoreName(name);
    const key = keyOf(this.#cfg.namespace, rowName);
    const slotNames = Array.from({ length: permits }, (_, i) => slotName(name, i));
    const hex = BigInt.asUintN(64, key).toString(16).padStart(16, '0');
    return {
      name,
      rowName,
      key: key.toString(),
      shared: false,
      kind: 'PgSemaphore',
      sem: { permits, n, slotNames, slots: slotNames.map((s) => keyOf(this.#cfg.namespace, s).toString()), channel: `sablock_${hex}` },
    };
  }

  /** @internal Acquires `t` (`'try'`: only if free now); null when `'try'` found it taken. */
  async _acquire(t: Target, wait: ParsedWait, mode: 'wait' | 'try'): Promise<Hold | null> {
    this.#checkOpen(t.name);
    if (wait.signal?.aborted) throw abortReason(wait.signal);
    const named = lockcheckHooks.checking || observeHooks.watching() ? this.#namedLock(t) : undefined;
    // Only an acquisition that may wait orders after what this task holds (a try adds no edge).
    if (named !== undefined && lockcheckHooks.checking && mode === 'wait') lockcheckHooks.onAcquire(named, t.shared, true);
    await this.#prepare(t.name);
    const outer = this.#scope.getStore();
    const nested = outer !== undefined && outer.lost === undefined && !outer.done;
    if (nested) {
      const keys = t.sem === undefined ? [t.key] : [t.key, ...t.sem.slots];
      if (keys.some((k) => outer.held.has(k))) {
        if (mode === 'try') return null;
        throw new LockError(
          'ERR_LOCK_RECURSIVE',
          `${t.name}: already held by the session of this callback; waiting for it would deadlock`,
          t.name,
        );
      }
    }
    const session = nested ? outer : await this.#open(t.name, wait);
    session.ref();
    let waitStart = -1;
    const waiting = (): void => {
      if (waitStart < 0 && named !== undefined) waitStart = now();
    };
    try {
      await this.#register(session, t);
      const hold = t.sem === undefined
        ? await this.#acquireLock(session, t, wait, mode, nested, waiting)
        : await this.#acquireSem(session, t, wait, mode, nested, waiting);
      if (hold === null) {
        session.unref();
        return null;
      }
      if (named !== undefined) {
        hold.named = named;
        if (lockcheckHooks.checking) {
          lockcheckHooks.onAcquired(named, t.shared, true);
          hold.checked = true;
        }
        observeHooks.noteAcquired(named, waitStart, waitStart < 0 ? 0 : 1, t.eventMode);
      }
      return hold;
    } catch (e) {
      if (named !== undefined && waitStart >= 0) {
        if (e instanceof TimeoutError) observeHooks.noteTimeout(named, waitStart, t.eventMode);
        else if (wait.signal?.aborted) observeHooks.noteAbort(named, waitStart, t.eventMode);
      }
      session.unref();
      throw this.#mapError(t, session, wait, e);
    }
  }

  /** @internal Releases a hold (once). */
  async _release(h: Hold): Promise<void> {
    if (h.released) return;
    h.released = true;
    h._detach();
    const t = h.target;
    if (h.named !== undefined && h.checked && lockcheckHooks.checking) lockcheckHooks.onRelease(h.named, t.shared, 0);
    const s = h.session;
    const keys = t.sem === undefined ? [t.key] : h.slots.splice(0);
    if (s.lost === undefined && !s.done && keys.length > 0) {
      try {
        if (t.sem === undefined) await s.query(this.#sql.unlock(t.shared), [t.key]);
        else await s.query(this.#sql.releaseSlots, [keys, t.sem.channel]);
      } catch (e) {
        // The session cannot say it let go: end it, which does.
        s.lose('release failed', e);
      }
    }
    for (const k of keys) s.dropKey(k);
    if (h.named !== undefined) observeHooks.noteReleased(h.named, t.eventMode);
    s.unref();
  }

  /** @internal Gives back `n` of a semaphore hold's permits (the rest stay held). */
  async _releasePermits(h: Hold, n: number): Promise<void> {
    if (n >= h.slots.length) return this._release(h);
    const keys = h.slots.splice(h.slots.length - n, n);
    const s = h.session;
    if (s.lost === undefined && !s.done) {
      try {
        await s.query(this.#sql.releaseSlots, [keys, h.target.sem!.channel]);
      } catch (e) {
        s.lose('release failed', e);
      }
    }
    for (const k of keys) s.dropKey(k);
  }

  /** @internal Runs `fn` in the async scope of `h`: acquisitions inside use its session. */
  _inScope<T>(h: Hold, fn: () => T): T {
    const run = (): T => this.#scope.run(h.session, fn);
    return h.named !== undefined && lockcheckHooks.checking ? lockcheckHooks.runHolding(h.named, h.target.shared, run) : run();
  }

  /** @internal */
  _parseWait(options: unknown, what = 'options'): ParsedWait {
    return parseWaitOptions(options, what);
  }

  // ---- internals ----------------------------------------------------------------------------------

  #parseRequest(argc: number, name: unknown, options: unknown, callback: unknown) {
    // The in-process Web Locks conversions, then this backend's own rules.
    const { name: n, shared, ifAvailable, steal, wait, callback: cb } = readWebLockArgs(argc, name, options, callback);
    checkName(n);
    if (steal) {
      throw notSupported(
        'options.steal is not supported by sablock/postgres: an advisory lock can only be taken from its holder by ending the ' +
          "holder's whole session (every lock it holds), and requests queued ahead would be granted first",
      );
    }
    if (wait.signal !== undefined && ifAvailable) throw notSupported('options.signal cannot be used with options.ifAvailable');
    if (wait.timeout !== undefined && ifAvailable) throw notSupported('options.timeout cannot be used with options.ifAvailable');
    if (wait.signal?.aborted) throw abortReason(wait.signal);
    this.#checkOpen(n);
    return { target: this._lockTarget(n, shared, 'PgLocks'), wait, ifAvailable, callback: cb as PgLockCallback<unknown> };
  }

  #runCallback(
    cb: PgLockCallback<unknown>,
    lock: PgLock | null,
    hold: Hold | undefined,
    resolve: (v: unknown) => void,
    reject: (e: unknown) => void,
  ): void {
    let done = false;
    const settle = (ok: boolean, v: unknown): void => {
      const finish = (): void => {
        if (done) return;
        done = true;
        if (ok) resolve(v);
        else reject(v);
      };
      if (hold === undefined) return finish();
      this._release(hold).then(finish, finish);
    };
    if (hold !== undefined) {
      hold.onLost = (e) => {
        // Rejected at the moment of the loss, as a robbed Web Locks request is.
        if (done) return;
        done = true;
        reject(e);
      };
    }
    let result: unknown;
    try {
      result = hold === undefined ? cb(lock) : this._inScope(hold, () => cb(lock));
    } catch (e) {
      settle(false, e);
      return;
    }
    if (isThenable(result)) {
      Promise.resolve(result).then(
        (v) => settle(true, v),
        (e: unknown) => settle(false, e),
      );
    } else {
      settle(true, result);
    }
  }

  #checkOpen(what: string): void {
    if (this.#closing.signal.aborted) throw closedError(what === this.name ? what : `${this.name}: ${what}`);
  }

  /** Once per manager: the server is new enough; the fence table exists. */
  #prepare(what: string): Promise<void> {
    if (this.#ready === undefined) {
      this.#ready = (async () => {
        const c = await this.#pool.connect().catch((e: unknown) => {
          throw new LockConnectionError(what, 'cannot connect to the database', e);
        });
        try {
          const v = await c.query<{ v: string }>('SELECT current_setting(\'server_version_num\') AS v');
          const version = Number(v.rows[0]!.v);
          if (version < 140000) {
            throw notSupported(`sablock/postgres needs PostgreSQL 14 or later (idle_session_timeout), the server is ${version}`);
          }
          if (this.#cfg.setup) await c.query(this.#sql.setup);
          c.release();
        } catch (e) {
          c.release(e instanceof Error ? e : true);
          throw e;
        }
      })();
      this.#ready.catch(() => {
        this.#ready = undefined; // try again on the next call
      });
    }
    return this.#ready;
  }

  /** A connection of our own for one top-level acquisition, configured (settings once per connection). */
  async #open(name: string, wait: ParsedWait): Promise<Session> {
    const connecting = this.#pool.connect();
    let client: pg.PoolClient;
    try {
      client = await this.#race(connecting, name, wait, () => {
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
    const s = new Session(client, pid, { lease: this.#cfg.lease, heartbeat: this.#cfg.heartbeat, reset: this.#ownPool ? undefined : RESET_SETTINGS, prepare: this.#ownPool });
    this.#sessions.add(s);
    s.onLost(() => this.#sessions.delete(s));
    const unref = s.unref.bind(s);
    s.unref = () => {
      unref();
      if (s.done) this.#sessions.delete(s);
    };
    return s;
  }

  /** Registers the names of `t`'s keys in the fence table (once per manager), checking for collisions. */
  async #register(s: Session, t: Target): Promise<void> {
    const id = t.sem === undefined ? t.rowName : `${t.rowName}\0${t.sem.permits}`;
    if (this.#registered.has(id)) return;
    const keys = [t.key, ...(t.sem?.slots ?? [])];
    const names = [t.rowName, ...(t.sem?.slotNames ?? [])];
    for (let attempt = 0; ; attempt++) {
      const r = await s.query<{ key: string; name: string; permits: number | null }>(this.#sql.register, [keys, names, t.sem?.permits ?? null]);
      const byKey = new Map(r.rows.map((row) => [row.key, row]));
      if (keys.some((k) => !byKey.has(k))) {
        // Inserted concurrently by a transaction our snapshot did not see: look again.
        if (attempt < 3) continue;
        throw new LockError('ERR_LOCK_STATE', `${t.name}: cannot register the name in the fence table`, t.name);
      }
      keys.forEach((k, i) => {
        const row = byKey.get(k)!;
        if (row.name !== names[i]) throw collisionError(t.name, BigInt(k), row.name);
      });
      const stored = byKey.get(t.key)!.permits;
      if (t.sem !== undefined && stored !== t.sem.permits) {
        throw new RangeError(`semaphore ${JSON.stringify(t.name)} has ${stored} permits in the database; it cannot be used with ${t.sem.permits}`);
      }
      break;
    }
    if (this.#registered.size >= REGISTERED_CACHE) this.#registered.clear();
    this.#registered.add(id);
  }

  async #acquireLock(s: Session, t: Target, wait: ParsedWait, mode: 'wait' | 'try', nested: boolean, waiting: () => void): Promise<Hold | null> {
    let row: { got: boolean; token: string | null } | undefined;
    try {
      row = (await s.query<{ got: boolean; token: string | null }>(this.#sql.tryLock(t.shared), [t.key, t.rowName])).rows[0];
    } catch (e) {
      await this.#undo(s, t);
      throw e;
    }
    if (row?.got === true) return this.#granted(s, t, row.token);
    if (mode === 'try') return null;
    waiting();
    for (;;) {
      const left = wait.deadline - now();
      if (left <= 0) throw new TimeoutError(t.name, wait.timeout ?? 0);
      // Nested waits in slices: the session answers (renewing its lease) at least once a heartbeat.
      const slice = nested ? Math.min(left, this.#cfg.heartbeat) : left;
      const lockTimeout = slice === Infinity ? '0' : `${Math.max(1, Math.ceil(slice))}ms`;
      try {
        const r = await this.#waitStatement(s, t, this.#sql.waitLock(t.shared), [t.key, t.rowName, lockTimeout], wait, nested);
        return this.#granted(s, t, r.rows[0]?.token ?? null);
      } catch (e) {
        if (s.lost === undefined && !s.done) await this.#undo(s, t);
        if (pgCode(e) === '55P03') {
          if (now() < wait.deadline) continue; // one slice over
          throw new TimeoutError(t.name, wait.timeout ?? 0);
        }
        throw e;
      }
    }
  }

  /** The lock is held (or was taken for a colliding name: undone). */
  async #granted(s: Session, t: Target, token: string | null): Promise<Hold> {
    if (token === null) {
      await this.#undo(s, t);
      const r = await s.query<{ name: string }>(`SELECT name FROM ${this.#cfg.table} WHERE key = $1::bigint`, [t.key]).catch(() => ({ rows: [] }));
      this.#registered.delete(t.rowName);
      throw collisionError(t.name, BigInt(t.key), r.rows[0]?.name ?? '(no row: the fence table lost it)');
    }
    s.addKey(t.key);
    return new Hold(t, s, BigInt(token), []);
  }

  /** Unlocks `t`'s key if this session took it in a failed step (false, with a server warning, if not). */
  async #undo(s: Session, t: Target): Promise<void> {
    if (s.lost !== undefined || s.done) return;
    try {
      await s.query(this.#sql.unlock(t.shared), [t.key]);
    } catch (e) {
      s.lose('cannot undo a failed grant', e);
    }
  }

  async #acquireSem(s: Session, t: Target, wait: ParsedWait, mode: 'wait' | 'try', nested: boolean, waiting: () => void): Promise<Hold | null> {
    const sem = t.sem!;
    // 1. The gate: one acquirer at a time gathers permits, the others queue (FIFO) behind it.
    let gate = (await s.query<{ got: boolean }>(this.#sql.gateTry, [t.key])).rows[0]?.got === true;
    if (!gate) {
      if (mode === 'try') return null;
      waiting();
      while (!gate) {
        const left = wait.deadline - now();
        if (left <= 0) throw new TimeoutError(t.name, wait.timeout ?? 0);
        const slice = nested ? Math.min(left, this.#cfg.heartbeat) : left;
        try {
          await this.#waitStatement(s, t, this.#sql.gateWait, [t.key, slice === Infinity ? '0' : `${Math.max(1, Math.ceil(slice))}ms`], wait, nested);
          gate = true;
        } catch (e) {
          if (s.lost === undefined && !s.done) await this.#undo(s, t);
          if (pgCode(e) === '55P03') {
            if (now() < wait.deadline) continue;
            throw new TimeoutError(t.name, wait.timeout ?? 0);
          }
          throw e;
        }
      }
    }
    s.addKey(t.key); // the gate counts as held: heartbeats run while we gather
    const mine: string[] = [];
    let listening = false;
    let ok = false;
    try {
      for (;;) {
        const candidates = sem.slots.filter((k) => !mine.includes(k));
        const r = await s.query<{ got: string[]; token: string | null }>(this.#sql.slots, [candidates, sem.n - mine.length, t.key, t.rowName]);
        for (const k of r.rows[0]!.got) {
          mine.push(k);
          s.addKey(k);
        }
        const token = r.rows[0]!.token;
        if (token !== null) {
          ok = true;
          return new Hold(t, s, BigInt(token), mine);
        }
        if (mode === 'try') return null;
        waiting();
        if (!listening) {
          // Listen, then look once more: a release between our look and LISTEN sent no wakeup we get.
          await s.query(`LISTEN "${sem.channel}"`);
          listening = true;
          continue;
        }
        const left = wait.deadline - now();
        if (left <= 0) throw new TimeoutError(t.name, wait.timeout ?? 0);
        await this.#notified(s, t, sem.channel, Math.min(left, this.#cfg.semaphorePoll), wait);
      }
    } finally {
      const cleanup = async (): Promise<void> => {
        if (!ok && mine.length > 0) await s.query(this.#sql.releaseSlots, [mine, sem.channel]);
        if (!ok) for (const k of mine.splice(0)) s.dropKey(k);
        if (listening) await s.query(`UNLISTEN "${sem.channel}"`);
        await s.query(this.#sql.unlock(false), [t.key]);
      };
      if (s.lost === undefined && !s.done) {
        await cleanup().catch((e: unknown) => s.lose('cannot let go of a semaphore gate', e));
      }
      s.dropKey(t.key);
    }
  }

  /** Waits for a NOTIFY on `channel`, at most `ms`; rejects on abort, close or session loss. */
  #notified(s: Session, t: Target, channel: string, ms: number, wait: ParsedWait): Promise<void> {
    return new Promise((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        off();
        offLost();
        wait.signal?.removeEventListener('abort', onAbort);
        this.#closing.signal.removeEventListener('abort', onAbort);
      };
      const timer = setTimeout(() => {
        done();
        resolve();
      }, ms);
      const off = s.onNotify((c) => {
        if (c !== channel) return;
        done();
        resolve();
      });
      const offLost = s.onLost((why, cause) => {
        done();
        reject(new LockConnectionError(t.name, `the session ended while waiting (${why})`, cause));
      });
      const onAbort = (): void => {
        done();
        reject(this.#closing.signal.aborted ? closedError(t.name) : abortReason(wait.signal!));
      };
      wait.signal?.addEventListener('abort', onAbort, { once: true });
      this.#closing.signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /**
   * Runs a statement that may wait in a lock queue, giving up on abort, close or (as a backstop
   * to `lock_timeout`) a heartbeat after the deadline. A top-level session is destroyed when given
   * up on (the server drops its queued request); a nested one must live on: the statement
   * finishes and a late grant is unlocked.
   */
  #waitStatement(s: Session, t: Target, text: string, values: unknown[], wait: ParsedWait, nested: boolean): Promise<pg.QueryResult<{ got: boolean; token: string | null }>> {
    const p = s.query<{ got: boolean; token: string | null }>(text, values);
    return this.#race(p, t.name, wait, () => {
      if (!nested) s.lose('wait abandoned', undefined);
      else {
        p.then(
          (r) => (r.rows[0]?.got === true ? this.#undo(s, t) : undefined),
          () => {},
        );
      }
    }, this.#cfg.heartbeat);
  }

  /** `p`, or a rejection on abort, close or `deadline + grace`; `onGiveUp` runs when it is given up on. */
  #race<T>(p: Promise<T>, name: string, wait: ParsedWait, onGiveUp: () => void, grace = 0): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const closing = this.#closing.signal;
      const giveUp = (e: unknown): void => {
        if (settled) return;
        finish();
        reject(e);
        onGiveUp();
      };
      const onAbort = (): void => giveUp(closing.aborted ? closedError(name) : abortReason(wait.signal!));
      const finish = (): void => {
        settled = true;
        if (timer !== undefined) clearTimeout(timer);
        wait.signal?.removeEventListener('abort', onAbort);
        closing.removeEventListener('abort', onAbort);
      };
      const timer = wait.deadline === Infinity
        ? undefined
        : setTimeout(() => giveUp(new TimeoutError(name, wait.timeout ?? 0)), Math.max(0, wait.deadline - now()) + grace);
      wait.signal?.addEventListener('abort', onAbort, { once: true });
      closing.addEventListener('abort', onAbort, { once: true });
      p.then(
        (v) => {
          if (settled) return;
          finish();
          resolve(v);
        },
        (e: unknown) => {
          if (settled) return;
          finish();
          reject(e);
        },
      );
    });
  }

  #mapError(t: Target, s: Session, wait: ParsedWait, e: unknown): unknown {
    if (wait.signal?.aborted && e === wait.signal.reason) return e;
    if (e instanceof TimeoutError || e instanceof LockError || e instanceof DeadlockError || e instanceof DOMException || e instanceof TypeError || e instanceof RangeError) return e;
    if (e instanceof LockConnectionError) return e;
    const code = pgCode(e);
    if (code === '40P01') {
      const detail = (e as { detail?: string }).detail;
      return new DeadlockError(`${t.name}: PostgreSQL's deadlock detector failed this request (SQLSTATE 40P01)${detail ? `: ${detail}` : ''}`, [], t.name);
    }
    if (code === '55P03') return new TimeoutError(t.name, 0);
    if (this.#closing.signal.aborted) return closedError(t.name);
    if (s.lost !== undefined) return new LockConnectionError(t.name, `the session ended before the grant (${s.lost.why})`, s.lost.cause);
    if (code === undefined || code.startsWith('08') || code.startsWith('57P')) return new LockConnectionError(t.name, 'the connection failed', e);
    return e;
  }

  #namedLock(t: Target): NamedLock {
    const id = `${t.kind}\0${t.rowName}`;
    let n = this.#named.get(id);
    if (n === undefined) {
      if (this.#named.size >= NAMED_CACHE) this.#named.clear();
      const cls = `${this.name}:${t.rowName}`;
      n = { name: cls, lockClass: cls, handle: { kind: t.kind } };
      this.#named.set(id, n);
    }
    return n;
  }
}
