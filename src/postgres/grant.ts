/**
 * The request machine: one grant of a lock or of a semaphore's permits on a session that
 * `PgLocks` (`locks.ts`) opened or found, and what a failed one rejects with.
 *
 * ## One grant
 * 1. Fast path: `pg_try_advisory_lock` + token, one statement (`sql.ts`). Granted: done, no wait
 *    (a second statement only when the token is not durable yet, `durable()`; sql.ts invariant 3).
 * 2. Slow path: `pg_advisory_lock` + token, one statement, `lock_timeout` = what is left of the
 *    timeout: PostgreSQL queues it (FIFO behind conflicting requests) and grants it the moment the
 *    holder releases or its session ends; no polling. An abort gives up at once: a top-level
 *    session is destroyed (the server drops its queued request when it sees the socket close), a
 *    nested one lets the statement finish and unlocks a late grant.
 * Any failure after the lock may have been taken unlocks the key again (session-level locks
 * survive the statement's rollback).
 *
 * A nested wait (`nested`: the session is a lock callback's, locks.ts "Sessions") runs in slices
 * of at most `heartbeat` ms.
 */
import type pg from 'pg';
import { DeadlockError, LockError, TimeoutError, type _ParsedWait as ParsedWait } from '../index.js';
import { closedError, collisionError, LockConnectionError } from './errors.js';
import { Hold, type Target } from './hold.js';
import type { NameRegistry } from './names.js';
import type { PgLocksConfig } from './options.js';
import type { Session } from './session.js';
import type { Statements } from './sql.js';
import { notified, now, race } from './waits.js';

function pgCode(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null && typeof (e as { code?: unknown }).code === 'string' ? (e as { code: string }).code : undefined;
}

/** The `lock_timeout` setting for a statement that may wait `ms` (Infinity: '0', none; at least 1 ms). */
function lockTimeoutOf(ms: number): string {
  return ms === Infinity ? '0' : `${Math.max(1, Math.ceil(ms))}ms`;
}

/** A grant statement's row (sql.ts): taken or not, the token (NULL: none), whether it is durable yet. */
interface GrantRow {
  got: boolean;
  token: string | null;
  flushed?: boolean;
}

/** One manager's grants: its options, statements, name registry and closing signal. */
export class Grants {
  readonly #cfg: PgLocksConfig;
  readonly #sql: Statements;
  readonly #names: NameRegistry;
  readonly #closing: AbortSignal;
  constructor(cfg: PgLocksConfig, sql: Statements, names: NameRegistry, closing: AbortSignal) {
    this.#cfg = cfg;
    this.#sql = sql;
    this.#names = names;
    this.#closing = closing;
  }

  /** Takes lock `t` on `s` (`'try'`: only if free now; null if not); `waiting()` runs once it must wait. */
  async lock(s: Session, t: Target, wait: ParsedWait, mode: 'wait' | 'try', nested: boolean, waiting: () => void): Promise<Hold | null> {
    let row: GrantRow | undefined;
    try {
      row = (await s.query<GrantRow>(this.#sql.tryLock(t.shared), [t.key, t.rowName])).rows[0];
    } catch (e) {
      await this.#undo(s, t);
      throw e;
    }
    if (row?.got === true) return this.#granted(s, t, row, wait, nested);
    if (mode === 'try') return null;
    waiting();
    const r = await this.#waitInQueue(s, t, this.#sql.waitLock(t.shared), [t.key, t.rowName], wait, nested);
    return this.#granted(s, t, r.rows[0], wait, nested);
  }

  /** The lock is held (or was taken for a colliding name: undone); a durable token's hold at once, without a promise. */
  #granted(s: Session, t: Target, row: GrantRow | undefined, wait: ParsedWait, nested: boolean): Hold | Promise<Hold> {
    const token = row?.token ?? null;
    if (token === null || row!.flushed !== true) return this.#grantedSlow(s, t, token, wait, nested);
    // Held from here: the lease runs and a nested request for the key sees it.
    s.addKey(t.key);
    return new Hold(t, s, BigInt(token), []);
  }

  /** `#granted` for a name whose key another name holds (no token) or a token not durable yet. */
  async #grantedSlow(s: Session, t: Target, token: string | null, wait: ParsedWait, nested: boolean): Promise<Hold> {
    if (token === null) {
      await this.#undo(s, t);
      const r = await s.query<{ name: string }>(`SELECT name FROM ${this.#cfg.table} WHERE key = $1::bigint`, [t.key]).catch(() => ({ rows: [] }));
      this.#names.forget(t.rowName);
      throw collisionError(t.name, BigInt(t.key), r.rows[0]?.name ?? '(no row: the fence table lost it)');
    }
    // Held from here: the lease runs and a nested request for the key sees it (the flush below may wait).
    s.addKey(t.key);
    try {
      await this.#durable(s, t, token, wait, nested);
    } catch (e) {
      s.dropKey(t.key);
      await this.#undo(s, t);
      throw e;
    }
    return new Hold(t, s, BigInt(token), []);
  }

  /**
   * Makes `token`, drawn by a grant that came back not `flushed`, durable before anyone sees it
   * (sql.ts, invariant 3): a crash before this is answered may hand the value out again, but it
   * was never handed out here. The statement may wait for the fence row's lock: it is bounded by
   * what is left of the timeout and given up on abort or close, as a wait in the lock queue is.
   */
  async #durable(s: Session, t: Target, token: string, wait: ParsedWait, nested: boolean): Promise<void> {
    let r: pg.QueryResult;
    try {
      r = await this.#waitStatement(s, t, this.#sql.flush, [t.key, token, lockTimeoutOf(wait.deadline - now())], wait, nested);
    } catch (e) {
      throw pgCode(e) === '55P03' ? new TimeoutError(t.name, wait.timeout ?? 0) : e;
    }
    // No row rewritten: no xid, no WAL, no flush (the fence row was deleted, or a trigger kept it).
    if (r.rowCount !== 1) throw new LockError('ERR_LOCK_STATE', `${t.name}: the fence table's row for this name was not rewritten; its token cannot be made durable`, t.name);
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

  /** Takes `t.sem.n` permits of semaphore `t` on `s`, as `lock()` does a lock. */
  async semaphore(s: Session, t: Target, wait: ParsedWait, mode: 'wait' | 'try', nested: boolean, waiting: () => void): Promise<Hold | null> {
    const sem = t.sem!;
    // 1. The gate: one acquirer at a time gathers permits, the others queue (FIFO) behind it.
    const gate = (await s.query<{ got: boolean }>(this.#sql.gateTry, [t.key])).rows[0]?.got === true;
    if (!gate) {
      if (mode === 'try') return null;
      waiting();
      await this.#waitInQueue(s, t, this.#sql.gateWait, [t.key], wait, nested);
    }
    s.addKey(t.key); // the gate counts as held: heartbeats run while we gather
    const mine: string[] = [];
    let listening = false;
    let ok = false;
    try {
      for (;;) {
        const candidates = sem.slots.filter((k) => !mine.includes(k));
        const r = await s.query<{ got: string[]; token: string | null; flushed: boolean }>(this.#sql.slots, [candidates, sem.n - mine.length, t.key, t.rowName]);
        for (const k of r.rows[0]!.got) {
          mine.push(k);
          s.addKey(k);
        }
        const token = r.rows[0]!.token;
        if (token !== null) {
          if (r.rows[0]!.flushed !== true) await this.#durable(s, t, token, wait, nested); // a failure: `finally` gives the permits back
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
        await notified(s, t, sem.channel, Math.min(left, this.#cfg.semaphorePoll), wait, this.#closing);
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

  /**
   * The slow path of a lock and of a semaphore's gate: waits in `t.key`'s lock queue until
   * `text` is granted, or the deadline, an abort or close. `text` is a blocking statement whose
   * parameters are `values` then the `lock_timeout` of one wait (`sql.ts`: `waitLock`, `gateWait`);
   * resolves with its result once granted.
   */
  async #waitInQueue(s: Session, t: Target, text: string, values: unknown[], wait: ParsedWait, nested: boolean): Promise<pg.QueryResult<GrantRow>> {
    for (;;) {
      const left = wait.deadline - now();
      if (left <= 0) throw new TimeoutError(t.name, wait.timeout ?? 0);
      // Nested waits in slices: the session answers (renewing its lease) at least once a heartbeat.
      const slice = nested ? Math.min(left, this.#cfg.heartbeat) : left;
      try {
        return await this.#waitStatement(s, t, text, [...values, lockTimeoutOf(slice)], wait, nested);
      } catch (e) {
        // The key may have been taken before the failure (session-level locks survive the rollback).
        if (s.lost === undefined && !s.done) await this.#undo(s, t);
        if (pgCode(e) === '55P03') {
          if (now() < wait.deadline) continue; // one slice over
          throw new TimeoutError(t.name, wait.timeout ?? 0);
        }
        throw e;
      }
    }
  }

  /**
   * Runs a statement that may wait in a lock queue, giving up on abort, close or (as a backstop
   * to `lock_timeout`) a heartbeat after the deadline. A top-level session is destroyed when given
   * up on (the server drops its queued request); a nested one must live on: the statement
   * finishes and a late grant is unlocked.
   */
  #waitStatement(s: Session, t: Target, text: string, values: unknown[], wait: ParsedWait, nested: boolean): Promise<pg.QueryResult<GrantRow>> {
    const p = s.query<GrantRow>(text, values);
    return race(p, t.name, wait, this.#closing, () => {
      if (!nested) s.lose('wait abandoned', undefined);
      else {
        p.then(
          (r) => (r.rows[0]?.got === true ? this.#undo(s, t) : undefined),
          () => {},
        );
      }
    }, this.#cfg.heartbeat);
  }

  /** What a failed acquisition rejects with: sablock's errors as they are, the driver's and server's mapped. */
  mapError(t: Target, s: Session, wait: ParsedWait, e: unknown): unknown {
    if (wait.signal?.aborted && e === wait.signal.reason) return e;
    if (e instanceof TimeoutError || e instanceof LockError || e instanceof DeadlockError || e instanceof DOMException || e instanceof TypeError || e instanceof RangeError) return e;
    if (e instanceof LockConnectionError) return e;
    const code = pgCode(e);
    if (code === '40P01') {
      const detail = (e as { detail?: string }).detail;
      return new DeadlockError(`${t.name}: PostgreSQL's deadlock detector failed this request (SQLSTATE 40P01)${detail ? `: ${detail}` : ''}`, [], t.name);
    }
    if (code === '55P03') return new TimeoutError(t.name, 0);
    if (this.#closing.aborted) return closedError(t.name);
    if (s.lost !== undefined) return new LockConnectionError(t.name, `the session ended before the grant (${s.lost.why})`, s.lost.cause);
    if (code === undefined || code.startsWith('08') || code.startsWith('57P')) return new LockConnectionError(t.name, 'the connection failed', e);
    return e;
  }
}
