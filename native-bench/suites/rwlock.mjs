/** RWLock at 50/90/99 % reads beside Mutex, the hand-written futex mutex and pthread_rwlock. */
const IMPLS = ['js-futex', 'Mutex', 'RWLock', 'c-pthread', 'c-rwlock'];

export default {
  id: 'rwlock',
  title: 'Read-write lock, throughput vs threads and read ratio',
  plan(cfg) {
    const ratios = cfg.quick ? [99] : [50, 90, 99];
    const threads = cfg.threads.filter((t) => t <= Math.max(8, cfg.cpus * 2));
    const tables = [];
    for (const readPct of ratios) {
      for (const t of threads) {
        const params = { inside: 50, outside: 200, readPct };
        tables.push({
          key: `rwlock/r${readPct}/t${t}`,
          title: `RW, ${readPct}% reads (inside=50, outside=200), ${t} thread(s)`,
          unit: 'ops/s',
          scenario: `r${readPct}`,
          threads: t,
          cRef: 'c-rwlock',
          jsRef: 'js-futex',
          rows: IMPLS.map((impl) => ({ impl, label: impl, workload: 'rw', threads: t, params })),
        });
      }
    }
    return tables;
  },
};
