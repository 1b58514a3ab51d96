/**
 * The harness checks itself: a "lock" that excludes nothing must fail its data check (lost
 * updates, torn reads) under contention, while Mutex passes the same check. Not in the default
 * run; `npm run bench -- --suites selftest`.
 */
export default {
  id: 'selftest',
  title: 'Harness self-test (negative control)',
  plan(cfg) {
    const t = Math.max(2, cfg.cpus);
    const rows = (workload, params) => [
      { impl: 'js-broken', label: 'js-broken', workload, threads: t, params, expectFail: true },
      { impl: 'Mutex', label: 'Mutex', workload, threads: t, params },
    ];
    return [
      { key: 'selftest/exclusive', title: `No-lock vs Mutex, exclusive, ${t} threads`, unit: 'ops/s', rows: rows('exclusive', { inside: 10, outside: 0 }) },
      // One permit, no semaphore: a second thread inside must be seen.
      { key: 'selftest/semaphore', title: `No-lock vs Mutex, semaphore of 1 permit, ${t} threads`, unit: 'ops/s', rows: rows('semaphore', { inside: 10, outside: 0, permits: 1 }) },
      { key: 'selftest/rw', title: `No-lock vs Mutex, 50% reads, ${t} threads`, unit: 'ops/s', rows: rows('rw', { inside: 0, outside: 0, readPct: 50 }) },
    ];
  },
};
