/**
 * Exclusive locks under contention: every thread count × critical-section scenario, sablock's
 * Mutex, SpinLock and TicketLock beside the JS references (floor, hand-written futex mutex, V8's
 * Atomics.Mutex, Node's Web Locks where the line has them) and the C references (pthread mutex, futex mutex, TTAS).
 */
export const SCENARIOS = {
  // Back-to-back short critical sections: the most contended a lock gets.
  'cs10-out0': { inside: 10, outside: 0 },
  // Longer critical sections with ten times as much work outside: a busy but sane lock.
  'cs100-out1000': { inside: 100, outside: 1000 },
};

const IMPLS = ['js-floor', 'js-futex', 'v8-mutex', 'node-locks', 'Mutex', 'SpinLock', 'TicketLock', 'c-pthread', 'c-futex', 'c-ttas'];

export default {
  id: 'exclusive',
  title: 'Exclusive locks, throughput vs threads',
  plan(cfg) {
    const scenarios = cfg.quick ? ['cs10-out0'] : Object.keys(SCENARIOS);
    const tables = [];
    for (const s of scenarios) {
      for (const t of cfg.threads) {
        tables.push({
          key: `exclusive/${s}/t${t}`,
          title: `Exclusive, ${s} (inside=${SCENARIOS[s].inside}, outside=${SCENARIOS[s].outside} work units), ${t} thread(s)`,
          unit: 'ops/s',
          scenario: s,
          threads: t,
          cRef: 'c-futex',
          jsRef: 'js-floor',
          rows: IMPLS.map((impl) => ({ impl, label: impl, workload: 'exclusive', threads: t, params: SCENARIOS[s] })),
        });
      }
    }
    return tables;
  },
};
