/**
 * Web Locks (issue 15): sablock's process-wide `locks.request(name, cb)` against Node's built-in
 * `worker_threads.locks` (Node ≥ 24.5; skipped with a note elsewhere), measured in the same run.
 * Uncontended request + release on the event loop (with `Mutex.lockAsync` as context), then
 * workers taking turns on one name, and workers each on a name of their own (does it scale?).
 */
const PARAMS = { inside: 10, outside: 0 }; // a tiny critical section, back to back

const FOOTNOTE =
  "node-locks: Node's built-in Web Locks do not keep a waiting worker's event loop alive (a worker whose " +
  'request waits exits with code 13), so its workers hold a timer while they measure; and they do not keep ' +
  'exclusion across workers reliably: the data check counts the overlapping critical sections it lets through and ' +
  'its row notes them ("not exclusive on one name: …") instead of failing the run. Neither is worked around here.';

export default {
  id: 'weblocks',
  title: 'Web Locks: locks.request() vs the built-in',
  footnote: FOOTNOTE,
  plan(cfg) {
    const tables = [
      {
        key: 'weblocks/uncontended',
        title: 'Uncontended await locks.request(name, () => {}) on the event loop',
        unit: 'ns/op',
        jsRef: 'node-locks',
        rows: [
          { kind: 'micro', micro: 'WebLocks.request', label: 'locks.request' },
          { kind: 'micro', micro: 'node-locks', label: 'node-locks' },
          { kind: 'micro', micro: 'Mutex.lockAsync', label: 'Mutex.lockAsync' },
          // Where a request's time goes: the promise and callback alone, then with the lock manager's grant and release.
          { kind: 'micro', micro: 'promise-callback', label: 'promise + callback, no lock' },
          { kind: 'micro', micro: 'LockManager.task', label: 'promise + callback + LockManager X' },
        ],
      },
    ];
    for (const [scenario, what] of [
      ['hot', 'taking turns on one name'],
      ['disjoint', 'each on a name of its own'],
    ]) {
      for (const t of cfg.threads) {
        // A cell per scenario (fresh workers, its own data check): the built-in's overlaps on one
        // name stay out of its disjoint rows.
        const params = { ...PARAMS, disjoint: scenario === 'disjoint' };
        tables.push({
          key: `weblocks/${scenario}/t${t}`,
          title: `Web Locks, ${t} worker(s) ${what}, await request(name, cb) (inside=10, outside=0 work units)`,
          unit: 'ops/s',
          scenario,
          threads: t,
          jsRef: 'node-locks',
          rows: [
            { impl: 'WebLocks', label: 'locks.request', workload: 'weblocks', threads: t, params, cell: scenario },
            { impl: 'node-locks', label: 'node-locks', workload: 'weblocks', threads: t, params, cell: scenario, knownOverlaps: true },
          ],
        });
      }
    }
    return tables;
  },
};
