/**
 * SeqLock: uncontended read of a 64-byte record vs the bare floor (two Atomics.load + the plain
 * reads), readers only, and readers beside one continuously writing thread.
 */
export default {
  id: 'seqlock',
  title: 'Sequence lock',
  plan(cfg) {
    const tables = [
      {
        key: 'seqlock/uncontended-read',
        title: 'SeqLock uncontended read of a 64-byte record',
        unit: 'ns/op',
        jsRef: 'seq-floor',
        rows: ['seq-floor', 'SeqLock.read'].map((m) => ({ kind: 'micro', micro: m, label: m })),
      },
    ];
    const threads = cfg.threads.filter((t) => t <= Math.max(8, cfg.cpus * 2));
    for (const writers of [0, 1]) {
      for (const t of threads) {
        if (t <= writers) continue;
        const params = { inside: 0, outside: 20, writers };
        tables.push({
          key: `seqlock/w${writers}/t${t}`,
          title: `SeqLock, ${writers ? `1 writer + ${t - 1} reader(s)` : `${t} reader(s)`}: reads/s (writes/s in notes)`,
          unit: 'ops/s',
          scenario: `w${writers}`,
          threads: t,
          cRef: 'c-seqlock',
          rows: ['SeqLock', 'c-seqlock'].map((impl) => ({ impl, label: impl, workload: 'seq', threads: t, params, extra: writers ? 'writes/s' : undefined })),
        });
      }
    }
    return tables;
  },
};
