/**
 * `createLocks()`'s options, checked once: bad values are `TypeError`/`RangeError` naming the
 * option, as everywhere in sablock.
 */
import { randomBytes } from 'node:crypto';

/** Options of `createLocks(source, options)`. */
export interface PgLocksOptions {
  /** Lock-class prefix for the verifier, stats and events (`<name>:<lock name>`). Default `'pg'`. */
  name?: string;
  /**
   * Milliseconds a holder's session may stay silent before the lock is given up on both sides:
   * the server ends an idle holder session after `lease` ms (`idle_session_timeout`), the holder's
   * `signal` aborts once no heartbeat was answered for `lease` ms. Default 30000.
   */
  lease?: number;
  /** Milliseconds between heartbeats of a holding session (less than `lease / 2`). Default `lease / 3`. */
  heartbeat?: number;
  /** `client_connection_check_interval` of every session, in ms: how soon a waiting session of a closed client ends. Default 1000. */
  checkInterval?: number;
  /** Prefix hashed with every name into its 64-bit advisory-lock key (separates applications on one database). Default `'sablock'`. */
  namespace?: string;
  /** The fence table (`name` or `schema.name`): key → name registry; the tokens come from the sequence `<table>_token_seq` beside it. Default `'sablock_fence'`. */
  table?: string;
  /** Create the fence table and its token sequence if missing (off: your migrations create them, see docs/postgres.md). Default true. */
  setup?: boolean;
  /** With `{ connectionString }`: most connections of the pool created for it (one per held or waiting lock). Default 10. */
  poolSize?: number;
  /** Semaphores: the longest a waiter goes without re-checking its permits (releases wake it at once with NOTIFY; a dead holder's do not). Default 1000. */
  semaphorePoll?: number;
}

/** Parsed options. */
export interface PgLocksConfig {
  name: string;
  lease: number;
  heartbeat: number;
  checkInterval: number;
  namespace: string;
  table: string;
  /** The token sequence: the fence table's name + `_token_seq`, in its schema. */
  sequence: string;
  setup: boolean;
  poolSize: number;
  semaphorePoll: number;
  clientId: string;
}

function describe(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'bigint') return `${v}n`;
  if (v === null || typeof v !== 'object') return String(v);
  return Array.isArray(v) ? 'an array' : 'an object';
}

function ms(o: Record<string, unknown>, key: string, dflt: number, min: number): number {
  const v = o[key];
  if (v === undefined) return dflt;
  if (typeof v !== 'number') throw new TypeError(`options.${key} must be a number of milliseconds, got ${describe(v)}`);
  if (!Number.isFinite(v) || v < min) throw new RangeError(`options.${key} must be a finite number >= ${min}, got ${v}`);
  return v;
}

function str(o: Record<string, unknown>, key: string, dflt: string): string {
  const v = o[key];
  if (v === undefined) return dflt;
  if (typeof v !== 'string' || v.length === 0) throw new TypeError(`options.${key} must be a non-empty string, got ${describe(v)}`);
  return v;
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

export function parseOptions(options: unknown): PgLocksConfig {
  if (options !== undefined && (options === null || typeof options !== 'object')) {
    throw new TypeError(`options must be an object, got ${describe(options)}`);
  }
  const o = (options ?? {}) as Record<string, unknown>;
  const lease = ms(o, 'lease', 30_000, 100);
  const heartbeat = ms(o, 'heartbeat', lease / 3, 10);
  if (heartbeat >= lease / 2) throw new RangeError(`options.heartbeat must be less than lease / 2 (${lease / 2} ms), got ${heartbeat}`);
  const table = str(o, 'table', 'sablock_fence');
  const parts = table.split('.');
  if (parts.length > 2 || !parts.every((p) => IDENT.test(p))) {
    throw new RangeError(`options.table must be an identifier or schema.identifier (letters, digits, _), got ${describe(table)}`);
  }
  const setup = o.setup ?? true;
  if (typeof setup !== 'boolean') throw new TypeError(`options.setup must be a boolean, got ${describe(setup)}`);
  const poolSize = o.poolSize ?? 10;
  if (typeof poolSize !== 'number' || !Number.isInteger(poolSize) || poolSize < 1) {
    throw new RangeError(`options.poolSize must be a positive integer, got ${describe(poolSize)}`);
  }
  return {
    name: str(o, 'name', 'pg'),
    lease,
    heartbeat,
    checkInterval: ms(o, 'checkInterval', 1000, 1),
    namespace: str(o, 'namespace', 'sablock'),
    table: parts.map((p) => `"${p}"`).join('.'),
    sequence: [...parts.slice(0, -1), `${parts[parts.length - 1]!}_token_seq`].map((p) => `"${p}"`).join('.'),
    setup,
    poolSize,
    semaphorePoll: ms(o, 'semaphorePoll', 1000, 1),
    clientId: `${process.pid}-${randomBytes(4).toString('hex')}`,
  };
}
