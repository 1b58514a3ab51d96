/**
 * `query()`'s snapshot: the rows of `pg_locks` for sablock's names (`sql.ts`, `query`) as held
 * locks and waiting requests, each with its name, mode and client.
 */
import type { PgLockMode } from './request.js';

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

/** A row of the `query` statement. */
export interface SnapshotRow {
  pid: number;
  mode: string;
  granted: boolean;
  name: string;
  application_name: string | null;
}

/** The snapshot of `rows` (oldest first, as the statement orders them). */
export function snapshot(rows: readonly SnapshotRow[]): PgLocksSnapshot {
  const held: PgLockInfo[] = [];
  const pending: PgLockInfo[] = [];
  for (const row of rows) {
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
