/**
 * The issues' performance targets, checked against one run's tables. A target whose rows were
 * not measured (primitive not merged, thread count not run, no C compiler) says so instead of
 * passing or failing.
 */
function val(tables, key, label) {
  const t = tables.find((x) => x.key === key);
  const r = t?.rows.find((x) => x.label === label && x.status === 'ok');
  return r ? r.median : null;
}

function ratioTarget(text, num, den, op, bound, { inverse = false } = {}) {
  if (num == null || den == null) return { text, measured: 'not measured', verdict: 'n/a' };
  const r = inverse ? den / num : num / den;
  const pass = op === '<=' ? r <= bound : op === '>=' ? r >= bound : r > bound;
  return { text, measured: `${r.toFixed(2)}×`, verdict: pass ? 'PASS' : 'MISS', ratio: r };
}


/**
 * Web Locks (issue 15) against Node's built-in: n/a, saying so, on lines without it. The one-name
 * target holds at every worker count measured: the measured column gives the lowest ratio.
 */
function webLocksTargets(tables, v) {
  const out = [];
  // The built-in's rows are skipped (not dropped) where this Node has none.
  const skipped = tables.some((t) => t.suite === 'weblocks' && t.rows.some((r) => r.label === 'node-locks' && r.status === 'skip'));
  const builtIn = skipped ? `no built-in on Node ${process.versions.node.split('.')[0]}` : 'not measured';
  const missing = (text) => ({ text, measured: builtIn, verdict: 'n/a' });
  const u = ratioTarget('Web Locks uncontended: locks.request ≥ 10× faster than the built-in (built-in cost / sablock cost)', v('weblocks/uncontended', 'locks.request'), v('weblocks/uncontended', 'node-locks'), '>=', 10, { inverse: true });
  out.push(u.verdict === 'n/a' ? missing(u.text) : u);
  const hotText = 'Web Locks, one contended name: locks.request ≥ 20× the built-in throughput, every worker count';
  const hot = tables
    .filter((t) => t.suite === 'weblocks' && t.scenario === 'hot')
    .map((t) => ({ threads: t.threads, r: ratioTarget('', v(t.key, 'locks.request'), v(t.key, 'node-locks'), '>=', 20) }));
  if (!hot.length || hot.some((h) => h.r.verdict === 'n/a')) out.push(missing(hotText));
  else {
    const worst = hot.reduce((a, b) => (b.r.ratio < a.r.ratio ? b : a));
    out.push({ text: hotText, measured: `${worst.r.measured} (${worst.threads} workers)`, verdict: hot.every((h) => h.r.verdict === 'PASS') ? 'PASS' : 'MISS', ratio: worst.r.ratio });
  }
  out.push(ratioTarget('Web Locks, disjoint names: locks.request, 2 workers ≥ 1.6× one worker (throughput)', v('weblocks/disjoint/t2', 'locks.request'), v('weblocks/disjoint/t1', 'locks.request'), '>=', 1.6));
  return out;
}

/**
 * sablock/postgres (issue 16) against bare advisory locks on the same server, same run. Disjoint
 * names scale with the processes up to the cores: the most processes measured that the cores can
 * run at once, against one process, at 0.8 × the ideal.
 */
function postgresTargets(tables, v, cpus) {
  const out = [];
  out.push(ratioTarget('postgres: request() acquire+release ≤ 1.2× a bare pg_advisory_lock/unlock pair (cost)', v('postgres/roundtrip', 'request()'), v('postgres/roundtrip', 'bare pair'), '<=', 1.2));
  out.push(ratioTarget('postgres: mutex().lockAsync()+unlock ≤ 1.2× a bare pg_advisory_lock/unlock pair (cost)', v('postgres/roundtrip', 'mutex().lockAsync()+unlock'), v('postgres/roundtrip', 'bare pair'), '<=', 1.2));
  const measured = tables.filter((t) => t.suite === 'postgres' && t.scenario === 'disjoint').map((t) => t.threads);
  const n = Math.max(0, ...measured.filter((x) => x > 1 && x <= cpus));
  const bound = 0.8 * (n || Math.min(2, cpus));
  out.push(ratioTarget(`postgres, disjoint names: request(), ${n || 'cores'} processes ≥ ${bound.toFixed(1)}× one process (throughput)`, n ? v(`postgres/disjoint/p${n}`, 'request()') : null, v('postgres/disjoint/p1', 'request()'), '>=', bound));
  return out;
}

export function evaluateTargets(tables, { cpus, threads }) {
  const v = (k, l) => val(tables, k, l);
  const out = [];
  const ex = 'exclusive/cs10-out0';
  out.push(ratioTarget('uncontended Mutex lock+unlock ≤ 1.15× the Atomics floor (cost)', v('uncontended/exclusive', 'Mutex'), v('uncontended/exclusive', 'floor'), '<=', 1.15));
  out.push(ratioTarget('2 workers contended: Mutex ≥ 0.6× C futex mutex (throughput)', v(`${ex}/t2`, 'Mutex'), v(`${ex}/t2`, 'c-futex'), '>=', 0.6));
  out.push(ratioTarget('16 threads: Mutex ≥ 1.0× C pthread_mutex (throughput)', v(`${ex}/t16`, 'Mutex'), v(`${ex}/t16`, 'c-pthread'), '>=', 1.0));
  out.push(ratioTarget('16 threads: Mutex ≥ 10× V8 Atomics.Mutex (throughput)', v(`${ex}/t16`, 'Mutex'), v(`${ex}/t16`, 'v8-mutex'), '>=', 10));
  // Oversubscription: 4× the cores (8 workers on 2 cores) against one worker per core.
  const over = threads.includes(4 * cpus) ? 4 * cpus : Math.max(...threads.filter((t) => t > cpus), 0) || null;
  const base = threads.includes(cpus) ? cpus : null;
  for (const label of ['Mutex', 'SpinLock']) {
    out.push(ratioTarget(`${over ?? '4×cores'} workers on ${cpus} cores ≥ 0.8× ${base ?? 'cores'}-worker throughput: ${label}`, over && base && v(`${ex}/t${over}`, label), over && base && v(`${ex}/t${base}`, label), '>=', 0.8));
  }
  // RWLock at 90% reads; a --quick run only has 99%.
  const rr = tables.some((t) => t.key.startsWith('rwlock/r90/')) ? 90 : 99;
  out.push(ratioTarget(`${over ?? '4×cores'} workers on ${cpus} cores ≥ 0.8× ${base ?? 'cores'}-worker throughput: RWLock (${rr}% reads)`, over && base && v(`rwlock/r${rr}/t${over}`, 'RWLock'), over && base && v(`rwlock/r${rr}/t${base}`, 'RWLock'), '>=', 0.8));
  out.push(ratioTarget('wake-up round trip: Semaphore ≤ 1.3× C futex round trip (time)', v('wakeup/pingpong', 'Semaphore'), v('wakeup/pingpong', 'c-futex'), '<=', 1.3));
  out.push(ratioTarget('wake-up round trip: Mutex + Condition ≤ 1.3× C futex round trip (time)', v('wakeup/pingpong', 'Condition'), v('wakeup/pingpong', 'c-futex'), '<=', 1.3));
  out.push(ratioTarget('wake-up round trip: raw Atomics.wait/notify ≤ 1.3× C futex round trip (time)', v('wakeup/pingpong', 'js-futex'), v('wakeup/pingpong', 'c-futex'), '<=', 1.3));
  out.push(ratioTarget('Mutex ≥ 100× async-mutex, uncontended (async-mutex cost / Mutex cost)', v('uncontended/async', 'Mutex'), v('uncontended/async', 'async-mutex'), '>=', 100, { inverse: true }));
  out.push(ratioTarget('Mutex.lockAsync vs async-mutex, uncontended (async-mutex cost / lockAsync cost; info)', v('uncontended/async', 'Mutex.lockAsync'), v('uncontended/async', 'async-mutex'), '>=', 1, { inverse: true }));
  out.push(ratioTarget('RWLock 99% reads, 4 workers beats Mutex with 4 workers (throughput)', v('rwlock/r99/t4', 'RWLock'), v('rwlock/r99/t4', 'Mutex'), '>', 1));
  out.push(ratioTarget('RWLock 99% reads, long read sections, 4 workers beats Mutex with 4 workers (throughput; info)', v('rwlock/r99long/t4', 'RWLock'), v('rwlock/r99long/t4', 'Mutex'), '>', 1));
  out.push(ratioTarget('SeqLock uncontended read of 64 bytes ≤ 3× two Atomics.load + plain reads (cost)', v('seqlock/uncontended-read', 'SeqLock.read'), v('seqlock/uncontended-read', 'seq-floor'), '<=', 3));
  const lmx = v('manager/uncontended', 'LockManager.X');
  out.push(
    lmx == null
      ? { text: 'LockManager uncontended X acquire+release of a 3-level path ≤ 1 µs', measured: 'not measured', verdict: 'n/a' }
      : { text: 'LockManager uncontended X acquire+release of a 3-level path ≤ 1 µs', measured: `${lmx.toFixed(0)} ns`, verdict: lmx <= 1000 ? 'PASS' : 'MISS' },
  );
  out.push(ratioTarget('LockManager disjoint rows: 2 workers ≥ 1.6× one worker (throughput)', v('manager/disjoint/t2', 'LockManager'), v('manager/disjoint/t1', 'LockManager'), '>=', 1.6));
  out.push(ratioTarget('lock-order checker off: Mutex ≤ 1.02× the lock without hooks (cost)', v('lockcheck/uncontended', 'Mutex (checker off)'), v('lockcheck/uncontended', 'Mutex (build without hooks)'), '<=', 1.02));
  out.push(ratioTarget('lock-order checker on (warn): Mutex ≤ 5× checker off (cost)', v('lockcheck/uncontended', 'Mutex (checker on)'), v('lockcheck/uncontended', 'Mutex (checker off)'), '<=', 5));
  out.push(...webLocksTargets(tables, v));
  out.push(...postgresTargets(tables, v, cpus));
  return out;
}
