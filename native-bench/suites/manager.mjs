/**
 * LockManager: uncontended X acquire + release of a 3-level path; workers on disjoint rows of one
 * table (the table and db get IX from everyone: does that scale?); workers on one hot row, beside
 * a plain Mutex doing the same loop.
 */
export default {
  id: 'manager',
  title: 'Hierarchical lock manager',
  plan(cfg) {
    const threads = cfg.threads.filter((t) => t <= Math.max(8, cfg.cpus * 2));
    const params = { inside: 20, outside: 200 };
    const tables = [
      {
        key: 'manager/uncontended',
        title: "LockManager uncontended acquire(['db','t',row],'X') + release",
        unit: 'ns/op',
        rows: [
          { kind: 'micro', micro: 'LockManager.X', label: 'LockManager.X' },
          { kind: 'micro', micro: 'Mutex', label: 'Mutex' },
        ],
      },
    ];
    for (const t of threads) {
      tables.push({
        key: `manager/disjoint/t${t}`,
        title: `LockManager, ${t} worker(s) on disjoint rows of one table (inside=20, outside=200)`,
        unit: 'ops/s',
        scenario: 'disjoint',
        threads: t,
        rows: [{ impl: 'LockManager', label: 'LockManager', workload: 'manager', threads: t, params: { ...params, hot: false } }],
      });
      tables.push({
        key: `manager/hot/t${t}`,
        title: `LockManager, ${t} worker(s) on one hot row (inside=20, outside=200), beside one Mutex`,
        unit: 'ops/s',
        scenario: 'hot',
        threads: t,
        rows: [
          { impl: 'LockManager', label: 'LockManager', workload: 'manager', threads: t, params: { ...params, hot: true } },
          { impl: 'Mutex', label: 'Mutex', workload: 'exclusive', threads: t, params },
        ],
      });
    }
    return tables;
  },
};
