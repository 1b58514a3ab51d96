// Run: node examples/lockcheck-abba/main.mjs
// The lock-order verifier catching an AB/BA bug that never deadlocked. The main thread enables
// lockcheck before starting workers, so every worker shares its acquired-before graph. Worker 1
// takes "accounts" then "audit-log"; after it has finished, worker 2 takes "audit-log" then
// "accounts". They never overlap in time, so nothing hangs, but the second order closes a cycle in
// the graph: run at the same time, the two could deadlock. With onViolation 'warn', worker 2
// prints the lockdep-style report (its message) on stderr the moment it takes the second lock; the
// report is also recorded in the shared state, so the main thread reads it back with
// lockcheck.reports() and prints a summary and the graph on stdout. Exit code 0 iff the
// 'lock-order' report was produced.
import { Worker, isMainThread, workerData } from 'node:worker_threads';
import { Mutex, lockcheck } from 'sablock';

if (isMainThread) {
  // Before any worker starts: workers started afterwards share this verifier and its mode.
  lockcheck.enable({ onViolation: 'warn' });
  const accounts = new Mutex({ name: 'accounts' });
  const auditLog = new Mutex({ name: 'audit-log' });

  const run = (first, second) =>
    new Promise((resolve, reject) => {
      const w = new Worker(new URL(import.meta.url), { workerData: { first: first.handle, second: second.handle } });
      w.on('error', reject);
      w.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`worker exited with ${code}`))));
    });
  await run(accounts, auditLog); // worker 1: A then B
  // worker 2, later: B then A (with --same-order, A then B: a negative control, no report, exit 1)
  const sameOrder = process.argv.includes('--same-order');
  if (sameOrder) await run(accounts, auditLog);
  else await run(auditLog, accounts);

  const report = lockcheck.reports().find((r) => r.kind === 'lock-order');
  if (report === undefined) {
    console.log(`no lock-order report: ${sameOrder ? 'both workers took the locks in one order' : 'the verifier missed the AB/BA inversion'}`);
    process.exitCode = 1;
  } else {
    // report.message is what worker 2 printed on stderr; here, its headline.
    const lines = report.message.split('\n');
    console.log(`${lines[1]}\n${lines[3]}`);
    console.log(`lockcheck reported '${report.kind}' on [${report.locks.join(', ')}] (threads ${report.threads.join(', ')}); no deadlock happened`);
    console.log(`acquired-before graph (DOT):\n${lockcheck.toDot()}`);
    process.exitCode = 0;
  }
} else {
  const first = Mutex.from(workerData.first);
  const second = Mutex.from(workerData.second);
  first.withLock(() => second.withLock(() => {}));
}
