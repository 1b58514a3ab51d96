/**
 * Semaphore under contention: workers take one permit, work inside, give it back, with 1 and 4
 * permits in all, beside the Mutex (one permit, the exclusive reference) and a hand-written futex
 * semaphore. Each cell checks that no more threads than permits were ever inside and that no
 * update was lost.
 */
const IMPLS = ['js-sem', 'Mutex', 'Semaphore'];
const PERMITS = [1, 4];

export default {
  id: 'semaphore',
  title: 'Semaphore, throughput vs threads and permits',
  plan(cfg) {
    const threads = cfg.threads.filter((t) => t <= Math.max(8, cfg.cpus * 2));
    const tables = [];
    for (const permits of PERMITS) {
      const params = { inside: 50, outside: 50, permits };
      for (const t of threads) {
        tables.push({
          key: `semaphore/p${permits}/t${t}`,
          title: `Semaphore, ${permits} permit(s) (inside=50, outside=50), ${t} thread(s)`,
          unit: 'ops/s',
          scenario: `p${permits}`,
          threads: t,
          jsRef: 'js-sem',
          // A semaphore's permits are fixed when it is made: one cell per permit count.
          rows: IMPLS.map((impl) => ({ impl, label: impl, workload: 'semaphore', threads: t, params, cell: `p${permits}` })),
        });
      }
    }
    return tables;
  },
};
