/**
 * `createLocks()`: the Web Locks interface (`request`, `query`) and sablock's async primitives
 * over PostgreSQL session-level advisory locks. docs/postgres.md has the semantics and bounds.
 * This file is the public class and the walk of one acquisition (verifier and stats hooks,
 * nesting, session, registration, grant) and of its release; the jobs it hands out:
 * - `request.ts`: `request()`'s public types, arguments and callback;
 * - `query.ts`: `query()`'s snapshot;
 * - `connections.ts`: the pool, the server check, one configured session per acquisition;
 * - `names.ts`: name checks, the keys of a name (`Target`), the fence-table registry;
 * - `grant.ts`: the request machine, one grant of a lock or of permits on a session;
 * - `waits.ts`: giving up on a wait (abort, close, deadline); `hold.ts`: `Target` and `Hold`;
 * - `session.ts`: one session, its lease and heartbeats; `sql.ts`: every statement.
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
 * One grant: `grant.ts`.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import {
  LockError,
  TimeoutError,
  lockcheckHooks,
  observeHooks,
  _parseWaitOptions as parseWaitOptions,
  type _ParsedWait as ParsedWait,
  type LockEventMode,
} from '../index.js';
import { closedError } from './errors.js';
import { Connections } from './connections.js';
import { Grants } from './grant.js';
import type { Hold, NamedLock, Target } from './hold.js';
import { describe, lockTarget, NameRegistry, semTarget } from './names.js';
import { parseOptions, type PgLocksConfig, type PgLocksOptions } from './options.js';
import { snapshot, type PgLocksSnapshot, type SnapshotRow } from './query.js';
import { PgLock, readRequest, runCallback, type PgLockCallback, type PgLockRequestOptions } from './request.js';
import type { Session } from './session.js';
import { statements, type Statements } from './sql.js';
import { abortReason, now } from './waits.js';

const NAMED_CACHE = 1024;

/** The async scope of a hold: acquisitions in it are nested in its session while it is held. */
interface Scope {
  readonly hold: Hold;
  /** The scope it was entered from (a callback's scope inside another's). */
  readonly parent: Scope | undefined;
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
  readonly #sql: Statements;
  readonly #db: Connections;
  readonly #names: NameRegistry;
  readonly #grants: Grants;
  readonly #scope = new AsyncLocalStorage<Scope>();
  readonly #named = new Map<string, NamedLock>();
  readonly #closing = new AbortController();
  #closed: Promise<void> | undefined;

  /** @internal Use `createLocks()`. */
  constructor(source: unknown, options?: PgLocksOptions) {
    if (source === null || typeof source !== 'object') throw new TypeError(`source must be { connectionString } or { pool }, got ${describe(source)}`);
    const cfg = parseOptions(options);
    const sql = statements(cfg.table, cfg.sequence);
    this.#db = new Connections(source, cfg, sql, this.#closing.signal);
    this.#cfg = cfg;
    this.name = cfg.name;
    this.clientId = cfg.clientId;
    this.#sql = sql;
    this.#names = new NameRegistry(sql);
    this.#grants = new Grants(cfg, sql, this.#names, this.#closing.signal);
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
          runCallback(this, r.callback, null, undefined, resolve, reject);
          return;
        }
        const lock = new PgLock(r.target.name, r.target.shared ? 'shared' : 'exclusive', hold);
        runCallback(this, r.callback, lock, hold, resolve, reject);
      }, reject);
    });
  }

  /** Held locks and waiting requests of every client of this database (sablock's names only). */
  async query(): Promise<PgLocksSnapshot> {
    this.#checkOpen('query()');
    await this.#db.prepare('query()');
    // The pool's connections may all be busy but the one kept for the next acquisition.
    this.#db.releaseSpare();
    const res = await this.#db.pool.query<SnapshotRow>(this.#sql.query);
    return snapshot(res.rows);
  }

  /**
   * Closes the manager: new requests fail (`ERR_LOCK_CLOSED`), waiting ones reject with it, held
   * locks are let go (their sessions end: `signal` aborts, `request()` rejects), and a pool made
   * from a connection string is ended. Idempotent.
   */
  close(): Promise<void> {
    if (this.#closed !== undefined) return this.#closed;
    this.#closing.abort(closedError(this.name));
    this.#closed = this.#db.close();
    return this.#closed;
  }

  // ---- acquisition (shared by request() and the primitives) ----------------------------------------

  /** @internal A target for a lock name. */
  _lockTarget(name: string, shared: boolean, kind: string, eventMode?: LockEventMode): Target {
    return lockTarget(this.#cfg.namespace, name, shared, kind, eventMode);
  }

  /** @internal A target for `n` permits of semaphore `name`. */
  _semTarget(name: string, permits: number, n: number): Target {
    return semTarget(this.#cfg.namespace, name, permits, n);
  }

  /** @internal Acquires `t` (`'try'`: only if free now); null when `'try'` found it taken. */
  async _acquire(t: Target, wait: ParsedWait, mode: 'wait' | 'try'): Promise<Hold | null> {
    this.#checkOpen(t.name);
    if (wait.signal?.aborted) throw abortReason(wait.signal);
    const named = lockcheckHooks.checking || observeHooks.watching() ? this.#namedLock(t) : undefined;
    // Only an acquisition that may wait orders after what this task holds (a try adds no edge).
    if (named !== undefined && lockcheckHooks.checking && mode === 'wait') lockcheckHooks.onAcquire(named, t.shared, true);
    // Each step below that is already done returns nothing to await: a request is a few promises fewer.
    const ready = this.#db.prepare(t.name);
    if (ready !== undefined) await ready;
    // Nested: asked in the async scope of a hold not yet released, the innermost such (a task that
    // a callback left running past its release belongs to the holds around it, if any are still
    // held, else it is on its own: the session may be kept for, or taken by, another).
    let scope = this.#scope.getStore();
    while (scope !== undefined && scope.hold.released) scope = scope.parent;
    const outer = scope?.hold.session;
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
    const session = nested ? outer : (this.#db.takeSpare() ?? (await this.#db.open(t.name, wait)));
    session.ref();
    let waitStart = -1;
    const waiting = (): void => {
      if (waitStart < 0 && named !== undefined) waitStart = now();
    };
    try {
      const registering = this.#names.register(session, t);
      if (registering !== undefined) await registering;
      const hold = t.sem === undefined
        ? await this.#grants.lock(session, t, wait, mode, nested, waiting)
        : await this.#grants.semaphore(session, t, wait, mode, nested, waiting);
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
      throw this.#grants.mapError(t, session, wait, e);
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
    const run = (): T => this.#scope.run({ hold: h, parent: this.#scope.getStore() }, fn);
    return h.named !== undefined && lockcheckHooks.checking ? lockcheckHooks.runHolding(h.named, h.target.shared, run) : run();
  }

  /** @internal Sessions this manager has open (holding, waiting or kept): for tests. */
  _sessionCount(): number {
    return this.#db.sessionCount;
  }

  /** @internal */
  _parseWait(options: unknown, what = 'options'): ParsedWait {
    return parseWaitOptions(options, what);
  }

  // ---- internals ----------------------------------------------------------------------------------

  #parseRequest(argc: number, name: unknown, options: unknown, callback: unknown) {
    const { name: n, shared, wait, ifAvailable, callback: cb } = readRequest(argc, name, options, callback);
    this.#checkOpen(n);
    return { target: this._lockTarget(n, shared, 'PgLocks'), wait, ifAvailable, callback: cb };
  }

  #checkOpen(what: string): void {
    if (this.#closing.signal.aborted) throw closedError(what === this.name ? what : `${this.name}: ${what}`);
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
