/**
 * RWLock at 50/90/99 % reads beside Mutex, the hand-written futex mutex and pthread_rwlock, with
 * short sections (inside=50, outside=200: the lock is rarely the bottleneck, so a reader-writer
 * lock can gain little over a mutex) and, at 99 % reads, long read sections (inside=400,
 * outside=100: a mutex serializes most of the work, readers could overlap it).
 */
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
    // Long read sections, 99 % reads: where a reader-writer lock is meant to pay off.
    for (const t of threads) {
      const params = { inside: 400, outside: 100, readPct: 99 };
      tables.push({
        key: `rwlock/r99long/t${t}`,
        title: `RW, 99% reads, long sections (inside=400, outside=100), ${t} thread(s)`,
        unit: 'ops/s',
        scenario: 'r99long',
        threads: t,
        cRef: 'c-rwlock',
        jsRef: 'js-futex',
        rows: IMPLS.map((impl) => ({ impl, label: impl, workload: 'rw', threads: t, params })),
      });
    }
    return tables;
  },
};
