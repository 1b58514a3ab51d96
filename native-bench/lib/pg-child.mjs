/**
 * One client process of the `postgres` suite (driven by lib/pg.mjs): `node pg-child.mjs <connection
 * string>`. It reads one JSON command a line on stdin and answers each with one JSON line on stdout.
 * Every row it can run is an "impl":
 *   - `request`: `await locks.request(name, cb)` of sablock/postgres (one pooled session a grant);
 *   - `mutex`:   `await m.lockAsync()` + `await m.unlock()` of `locks.mutex(name)`;
 *   - `bare`:    `SELECT pg_advisory_lock($1)` / `SELECT pg_advisory_unlock($1)` on one connection
 *                of its own: the reference, what any client pays for the lock alone.
 * Times are `performance.timeOrigin + performance.now()` (ms): one clock for every process of the
 * machine, so the parent can compare a release in one process with a grant in another.
 *
 * Commands:
 *   { cmd: 'roundtrip', impls, name, rounds, ms, warmupMs }  uncontended acquire+release, rows interleaved
 *       round by round (one warm-up round first) → { ns: { impl: [ns/op per round] } }
 *   { cmd: 'run', impl, name, ms, spans }  acquire+release of `name` back to back for `ms` ms →
 *       { ops, spans: [tokenOrNull, tAcquired, tReleased, …] } (spans only when asked)
 *   { cmd: 'hold', impl, name }   acquire (wait if needed) → { granted: t }; keep it until
 *   { cmd: 'release' }            → { released: t } (t taken just before the release is sent)
 *   { cmd: 'exit' }
 */
import { createInterface } from 'node:readline';
import pg from 'pg';
import { createLocks } from '../../dist/postgres.js';
import { warmUp } from './stats.mjs';

const cs = process.argv[2];
const locks = createLocks({ connectionString: cs }, { poolSize: 4 });
const bare = new pg.Client({ connectionString: cs });
await bare.connect();
const now = () => performance.timeOrigin + performance.now();
const send = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);

/** A key of its own for the bare rows, far from sablock's hashed keys in practice. */
const bareKey = (name) => {
  let h = 1469598103934665603n;
  for (const c of Buffer.from(`bare:${name}`)) h = BigInt.asIntN(64, (h ^ BigInt(c)) * 1099511628211n);
  return h.toString();
};

const mutexes = new Map();

/** One acquire+release of `impl`; `inside(token)` runs while held. */
async function once(impl, name, inside) {
  if (impl === 'request') {
    await locks.request(name, (lock) => inside(lock.token));
  } else if (impl === 'mutex') {
    let m = mutexes.get(name);
    if (!m) mutexes.set(name, (m = locks.mutex(name)));
    const g = await m.lockAsync();
    inside(g.token);
    await m.unlock();
  } else {
    const key = bareKey(name);
    await bare.query('SELECT pg_advisory_lock($1)', [key]);
    inside(null);
    await bare.query('SELECT pg_advisory_unlock($1)', [key]);
  }
}

async function loop(impl, name, ms, record) {
  const spans = [];
  const inside = record
    ? (token) => {
        const t = now();
        spans.push(token === null ? null : token.toString(), t, now());
      }
    : () => {};
  const end = performance.now() + ms;
  let ops = 0;
  while (performance.now() < end) {
    await once(impl, name, inside);
    ops++;
  }
  return { ops, spans };
}

let held = null;

async function handle(c) {
  switch (c.cmd) {
    case 'roundtrip': {
      // Warmed as the other suites warm fresh workers (stats.mjs warmUp), each row; then one
      // interleaved round, then `rounds`.
      for (const impl of c.impls) {
        await warmUp(async () => {
          const t0 = performance.now();
          const { ops } = await loop(impl, c.name, c.ms, false);
          return (performance.now() - t0) / ops;
        }, c.warmupMs ?? 0);
      }
      const ns = Object.fromEntries(c.impls.map((i) => [i, []]));
      for (let r = -1; r < c.rounds; r++) {
        for (const impl of c.impls) {
          const t0 = performance.now();
          const { ops } = await loop(impl, c.name, c.ms, false);
          if (r >= 0) ns[impl].push(((performance.now() - t0) * 1e6) / ops);
        }
      }
      return { ns };
    }
    case 'run':
      return loop(c.impl, c.name, c.ms, c.spans);
    case 'hold': {
      let release;
      const released = new Promise((r) => (release = r));
      let granted;
      const got = new Promise((r) => (granted = r));
      if (c.impl === 'request') {
        held = { done: locks.request(c.name, () => (granted(now()), released)), release };
      } else {
        const key = bareKey(c.name);
        held = {
          done: bare.query('SELECT pg_advisory_lock($1)', [key]).then(async () => {
            granted(now());
            await released;
            await bare.query('SELECT pg_advisory_unlock($1)', [key]);
          }),
          release,
        };
      }
      return { granted: await got };
    }
    case 'release': {
      const h = held;
      held = null;
      const t = now();
      h.release();
      await h.done;
      return { released: t };
    }
    case 'exit':
      await bare.end();
      await locks.close();
      process.exit(0);
  }
  throw new Error(`unknown command ${c.cmd}`);
}

// Each command runs as it arrives and answers on its own: a 'hold' that waits for its grant must not
// keep the parent from sending the 'release' of the process holding it. The parent sends the other
// commands one at a time.
const rl = createInterface({ input: process.stdin });
rl.on('line', (line) => {
  const c = JSON.parse(line);
  handle(c).then(
    (r) => send({ id: c.id, ...r }),
    (e) => send({ id: c.id, error: String(e?.stack ?? e) }),
  );
});
send({ ready: true });
