/**
 * Every statement `sablock/postgres` sends, in one place. Keys are bigint parameters (`$n::bigint`,
 * sent as decimal text); names, tokens and timeouts are parameters too: nothing user-supplied is
 * spliced into SQL text except the fence table's and sequence's identifiers, checked by `options.ts`.
 *
 * ## Why one statement per grant
 * A grant is one statement, one implicit transaction, one round trip: the advisory lock, then the
 * fencing token (a second statement only when the token is not yet durable, invariant 3). The lock is taken in a `MATERIALIZED` CTE that the token's CTE reads, so the token
 * is drawn only once the lock is held. The token's CTE also checks the name stored for the key: a
 * different name there (a 64-bit hash collision) makes the token come back NULL, and the grant is
 * undone (`grant.ts`).
 *
 * ## Where the token comes from
 * `nextval()` of one sequence for every name (`<table>_token_seq`, CACHE 1). Its invariants:
 * 1. Larger with every grant of a name: nextval hands out increasing values in the order it is
 *    called, across sessions (CACHE 1: no session keeps a block of values of its own); a grant
 *    calls it after its lock is held, so after every earlier grant of that name called it.
 * 2. Never handed out twice, crash or not, once the value is durable. nextval is not rolled back
 *    and writes WAL only every 32 values (and on the first call after a checkpoint), logging the
 *    sequence 32 values ahead; the call that logs takes an xid, so its transaction's commit
 *    waits for the WAL flush. The 31 calls after it write nothing and commit without a flush.
 * 3. A value is durable once the WAL that logged the sequence past it is flushed.
 *    CORRECTNESS: a call that does not log may return a value covered by another session's log
 *    record that is not flushed yet (that session is still committing). A crash then would
 *    replay the sequence back below the value, and hand it out again. So the statement reports
 *    `flushed`, true when one of these holds:
 *    - the WAL insert position, read after nextval, is at or below the flush position, read after
 *      that: everything inserted so far, the record covering the value included, is on disk;
 *    - this statement's own transaction has an xid: only the nextval that logged took one here
 *      (it does so precisely so that its commit flushes), and that commit flushes every record
 *      before its commit record before the statement is answered.
 *    A grant that comes back not flushed is not handed out yet: `grant.ts` first runs `flush`,
 *    which rewrites the name's fence row (`token` = the larger of it and this token) in a
 *    transaction of its own, whose commit flushes everything before it. On a server with
 *    nothing else writing that second statement rarely runs (after a rolled-back writer, or
 *    beside a concurrent grant whose nextval logged). (It used to be a CTE of the grant; a
 *    data-modifying CTE made every grant statement cost about 35 µs more on the server, flushed
 *    or not.) Both commits flush only with `synchronous_commit` above `off`, which every session
 *    of ours sets (`sessionSettings`), and only for a logged fence table (`connections.ts`).
 *    (A transaction with only an xid, `pg_current_xact_id()`, and no WAL of its own would commit
 *    without a flush: the xid test relies on nextval's log record.)
 *
 * Session-level advisory locks ignore transaction rollback, so whenever a grant statement fails
 * after it may have taken the lock, the caller unlocks the key explicitly.
 */
import { createHash } from 'node:crypto';

const names = new Map<string, string>();

/** The prepared-statement name of `text`: one per distinct text (tables differ), stable per process. */
export function statementName(text: string): string {
  let n = names.get(text);
  if (n === undefined) {
    n = `sablock_${createHash('sha256').update(text).digest('hex').slice(0, 16)}`;
    names.set(text, n);
  }
  return n;
}

/** Advisory-lock function names by mode. */
function fn(base: 'lock' | 'try' | 'unlock', shared: boolean): string {
  const name = base === 'try' ? 'pg_try_advisory_lock' : `pg_advisory_${base}`;
  return `${name}${shared ? '_shared' : ''}`;
}

/**
 * The token CTEs of a grant, after the lock CTE(s): `n` draws the token when `cond` holds and the
 * key's row names `name` (invariant 1), `d` says whether it is durable already (invariant 3).
 * `n` must be read by the statement after the lock is taken.
 */
function tokenCtes(table: string, sequence: string, key: string, name: string, cond: string): string {
  return (
    `n AS MATERIALIZED (SELECT nextval('${sequence}') AS token FROM ${table} f WHERE ${cond} AND f.key = ${key} AND f.name = ${name}), ` +
    // insert position first, flush position second (arguments are evaluated left to right)
    `d AS MATERIALIZED (SELECT pg_current_wal_insert_lsn() <= pg_current_wal_flush_lsn() OR pg_current_xact_id_if_assigned() IS NOT NULL AS flushed FROM n)`
  );
}

/** The token columns of a grant's result: `token` (NULL: none drawn) and `flushed` (see invariant 3). */
const TOKEN_COLUMNS = `(SELECT token::text FROM n) AS token, coalesce((SELECT flushed FROM d), true) AS flushed`;

/** The statements for one fence table. */
export interface Statements {
  /** Creates the fence table (key → name, token, permits) and the token sequence if missing, under a setup lock. */
  setup: string;
  /** `$1` keys, `$2` names, `$3` permits (NULL for locks): registers each key's name; returns every row of those keys. */
  register: string;
  /** `$1` key, `$2` name: try-lock + token; returns `got`, `token` (NULL: not taken, or name mismatch), `flushed`. */
  tryLock(shared: boolean): string;
  /** `$1` key, `$2` name, `$3` lock_timeout ('0' = none): blocking lock + token; returns `token`, `flushed`. */
  waitLock(shared: boolean): string;
  /** `$1` key: releases one hold; returns `ok`. */
  unlock(shared: boolean): string;
  /** `$1` key: `got` (try-lock of a semaphore's gate). */
  gateTry: string;
  /** `$1` key, `$2` lock_timeout: blocking lock of a semaphore's gate. */
  gateWait: string;
  /** `$1` candidate slot keys, `$2` permits still needed, `$3` semaphore key, `$4` its name: the slots taken (`got`), and the token once all are held, `flushed`. */
  slots: string;
  /** `$1` key, `$2` token, `$3` lock_timeout: makes a grant's token durable (invariant 3) when the grant said it is not yet. */
  flush: string;
  /** `$1` slot keys, `$2` notify channel: releases permits and wakes the gate holder. */
  releaseSlots: string;
  /** Held and waiting sablock advisory locks of this database, with names and clients. */
  query: string;
}

export function statements(table: string, sequence: string): Statements {
  const tokens = (key: string, name: string, cond: string): string => tokenCtes(table, sequence, key, name, cond);
  // Each mode's text built once: a grant looks its prepared statement up by its text (session.ts).
  const byMode = (text: (shared: boolean) => string): ((shared: boolean) => string) => {
    const [exclusive, shared] = [text(false), text(true)];
    return (s) => (s ? shared : exclusive);
  };
  return {
    setup:
      `BEGIN; SELECT pg_advisory_xact_lock(7306916604148215916); ` +
      `CREATE TABLE IF NOT EXISTS ${table} (key bigint PRIMARY KEY, name text NOT NULL, token bigint NOT NULL DEFAULT 0, permits integer); ` +
      `CREATE SEQUENCE IF NOT EXISTS ${sequence} AS bigint CACHE 1 NO CYCLE; ` +
      // A fence table from before the sequence counted tokens per name in its rows: start above them all.
      `SELECT setval('${sequence}', t.m) FROM (SELECT max(token) AS m FROM ${table}) t, ${sequence} s WHERE t.m > s.last_value; COMMIT`,
    register:
      `WITH r AS (SELECT * FROM unnest($1::bigint[], $2::text[]) AS r(key, name)), ` +
      `ins AS (INSERT INTO ${table} (key, name, permits) SELECT key, name, $3::integer FROM r ON CONFLICT (key) DO NOTHING RETURNING key, name, permits) ` +
      `SELECT key::text, name, permits FROM ins UNION ALL SELECT t.key::text, t.name, t.permits FROM ${table} t WHERE t.key = ANY($1::bigint[])`,
    tryLock: byMode((shared) =>
      `WITH l AS MATERIALIZED (SELECT ${fn('try', shared)}($1::bigint) AS got), ` +
      `${tokens('$1::bigint', '$2', '(SELECT got FROM l)')} ` +
      `SELECT l.got, ${TOKEN_COLUMNS} FROM l`),
    waitLock: byMode((shared) =>
      `WITH c AS MATERIALIZED (SELECT set_config('lock_timeout', $3, true) AS s), ` +
      `l AS MATERIALIZED (SELECT true AS got FROM c, LATERAL (SELECT ${fn('lock', shared)}($1::bigint)) z), ` +
      `${tokens('$1::bigint', '$2', '(SELECT got FROM l)')} ` +
      `SELECT (SELECT got FROM l) AS got, ${TOKEN_COLUMNS}`),
    unlock: byMode((shared) => `SELECT ${fn('unlock', shared)}($1::bigint) AS ok`),
    gateTry: `SELECT pg_try_advisory_lock($1::bigint) AS got`,
    gateWait:
      `WITH c AS MATERIALIZED (SELECT set_config('lock_timeout', $2, true) AS s) ` +
      `SELECT true AS got FROM c, LATERAL (SELECT pg_advisory_lock($1::bigint)) z`,
    slots:
      // LIMIT stops the scan once enough slots were taken: no slot is locked beyond the need.
      `WITH g AS MATERIALIZED (SELECT k FROM unnest($1::bigint[]) AS k WHERE pg_try_advisory_lock(k) LIMIT $2), ` +
      `${tokens('$3::bigint', '$4', '(SELECT count(*) FROM g) >= $2')} ` +
      `SELECT array(SELECT k::text FROM g) AS got, ${TOKEN_COLUMNS}`,
    // Its own transaction: the row's new version gives it an xid and WAL, so its commit flushes.
    // lock_timeout first (evaluated by the scan, before the row's lock is waited for).
    flush: `UPDATE ${table} SET token = greatest(token, $2::bigint) WHERE key = $1::bigint AND set_config('lock_timeout', $3, true) IS NOT NULL`,
    releaseSlots: `SELECT bool_and(pg_advisory_unlock(k)) AS ok, pg_notify($2, '') FROM unnest($1::bigint[]) AS k`,
    query:
      `SELECT l.pid, l.mode, l.granted, l.waitstart, f.name, a.application_name ` +
      `FROM pg_locks l JOIN ${table} f ON f.key = ((l.classid::bigint << 32) | l.objid::bigint) ` +
      `LEFT JOIN pg_stat_activity a ON a.pid = l.pid ` +
      `WHERE l.locktype = 'advisory' AND l.objsubid = 1 ` +
      `AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) ` +
      `ORDER BY l.waitstart NULLS FIRST, l.pid`,
  };
}

/** Session settings sent once per connection: the server-side bounds (docs/postgres.md, "Bounds"). */
export function sessionSettings(o: { lease: number; checkInterval: number; applicationName: string }): string {
  const idleS = Math.max(1, Math.floor(o.lease / 3000));
  const intervalS = Math.max(1, Math.floor(o.lease / 9000));
  return [
    // An idle holder session (a dead host, a partition, a paused client) ends `lease` ms after its
    // last statement: its locks free. The holder's heartbeat keeps a live session from idling.
    `SET idle_session_timeout = ${Math.ceil(o.lease)}`,
    // A session waiting in a lock queue notices a closed client socket within this.
    `SET client_connection_check_interval = ${Math.ceil(o.checkInterval)}`,
    // A waiting session of a dead or unreachable host: keepalive probes fail within ~2/3 lease,
    // then the check above ends the session.
    `SET tcp_keepalives_idle = ${idleS}`,
    `SET tcp_keepalives_interval = ${intervalS}`,
    `SET tcp_keepalives_count = 3`,
    `SET tcp_user_timeout = ${Math.ceil(o.lease)}`,
    `SET application_name = '${o.applicationName.replace(/'/g, "''")}'`,
    // The token's durability rests on commits that flush (sql.ts invariant 3): never 'off' here.
    `SELECT set_config('synchronous_commit', 'on', false) WHERE current_setting('synchronous_commit') = 'off'`,
  ].join('; ');
}

/** What a connection handed back to the caller's pool gets, so it leaves as it came. */
export const RESET_SETTINGS =
  'RESET idle_session_timeout; RESET client_connection_check_interval; RESET tcp_keepalives_idle; ' +
  'RESET tcp_keepalives_interval; RESET tcp_keepalives_count; RESET tcp_user_timeout; RESET application_name; RESET synchronous_commit; UNLISTEN *';
