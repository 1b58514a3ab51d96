// Run: node examples/bank-lock-manager/main.mjs
// Four workers move money between 16 accounts held in a SharedArrayBuffer. A transfer locks two
// account rows X under ['bank', 'accounts', id] through one shared LockManager (which takes IX on
// ['bank'] and ['bank', 'accounts'] for it), in the order the transfer names them (from, then to),
// so two opposite transfers can deadlock: the manager's waits-for check fails one of them with a
// DeadlockError, which releases what it holds and retries. Every 100 transfers a worker audits the
// whole table under S on ['bank', 'accounts'] (which waits out every transfer in flight and keeps
// new ones out): the sum of all balances must be the total the bank started with.
// `--unlocked`: transfers take no locks (a negative control: expect a wrong total and exit code 1).
import { Worker, isMainThread, workerData, parentPort } from 'node:worker_threads';
import { LockManager, DeadlockError } from 'sablock';

const WORKERS = 4;
const ACCOUNTS = 16;
const OPENING_BALANCE = 1000;
const TOTAL = ACCOUNTS * OPENING_BALANCE;
const RUN_MS = 1000; // measured from the moment every worker is ready
const GO = 0;
const STOP = 1;

const accountPath = (id) => ['bank', 'accounts', id];

if (isMainThread) {
  // A short deadlockTimeout: a blocked request checks for a cycle after 5 ms, not the default 1 s.
  const lm = new LockManager({ capacity: 256, deadlockTimeout: 5, name: 'bank' });
  const balances = new Int32Array(new SharedArrayBuffer(ACCOUNTS * 4)).fill(OPENING_BALANCE);
  const control = new Int32Array(new SharedArrayBuffer(8));
  const before = balances.reduce((a, b) => a + b, 0);

  let ready = 0;
  let t0 = 0;
  const go = () => {
    t0 = performance.now();
    Atomics.store(control, GO, 1);
    Atomics.notify(control, GO); // wake every worker parked on GO
    setTimeout(() => Atomics.store(control, STOP, 1), RUN_MS); // the workers poll STOP
  };
  const results = await Promise.all(
    Array.from(
      { length: WORKERS },
      (_, id) =>
        new Promise((resolve, reject) => {
          const w = new Worker(new URL(import.meta.url), { workerData: { id, handle: lm.handle, balances, control, unlocked: process.argv.includes('--unlocked') } });
          let result;
          w.on('message', (m) => (m === 'ready' ? ++ready === WORKERS && go() : (result = m)));
          w.on('error', reject);
          w.on('exit', (code) => (code === 0 && result ? resolve(result) : reject(new Error(`worker ${id} exited with ${code}`))));
        }),
    ),
  );
  const ms = performance.now() - t0;
  const after = balances.reduce((a, b) => a + b, 0);
  const sum = (k) => results.reduce((n, r) => n + r[k], 0);
  const left = lm.query();
  console.log(`total before: ${before}, after: ${after}`);
  console.log(
    `${sum('transfers')} transfers in ${ms.toFixed(0)} ms by ${WORKERS} workers, deadlocks resolved: ${sum('deadlocks')}, ` +
      `audits: ${sum('audits')} (failed: ${sum('badAudits')}), locks left held: ${left.held.length}`,
  );
  const ok = before === TOTAL && after === TOTAL && sum('badAudits') === 0 && sum('audits') > 0 && left.held.length === 0 && left.pending.length === 0;
  process.exitCode = ok ? 0 : 1;
} else {
  const { id, balances, control } = workerData;
  const lm = LockManager.from(workerData.handle);
  let seed = 7919 * (id + 1);
  const rand = (n) => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8) % n;
  let transfers = 0;
  let deadlocks = 0;
  let audits = 0;
  let badAudits = 0;

  let sink = 0;
  const bookkeeping = () => {
    for (let k = 0; k < 200; k++) sink = (sink + k) | 0;
  };

  function transfer(from, to, amount) {
    if (workerData.unlocked) {
      // No lock: read both balances, do the bookkeeping a real transfer does between its reads and
      // its writes (here a short busy loop), write back. Another worker can write in between.
      const a = balances[from];
      const b = balances[to];
      if (a >= amount) {
        bookkeeping();
        balances[from] = a - amount;
        balances[to] = b + amount;
      }
      return;
    }
    for (;;) {
      let a = null;
      let b = null;
      try {
        a = lm.acquire(accountPath(from), 'X');
        b = lm.acquire(accountPath(to), 'X'); // may close a cycle with a transfer going the other way
        if (balances[from] >= amount) {
          balances[from] -= amount;
          balances[to] += amount;
        }
        return;
      } catch (e) {
        if (!(e instanceof DeadlockError)) throw e;
        deadlocks++; // this request was chosen as the victim: let go and try again
      } finally {
        b?.release();
        a?.release();
      }
    }
  }

  function audit() {
    // S on the table: no IX (no transfer) can be held meanwhile, so the balances are at rest.
    const table = lm.acquire(['bank', 'accounts'], 'S');
    try {
      let total = 0;
      for (let k = 0; k < ACCOUNTS; k++) total += balances[k];
      audits++;
      if (total !== TOTAL) badAudits++;
    } finally {
      table.release();
    }
  }

  parentPort.postMessage('ready');
  Atomics.wait(control, GO, 0); // returns at once if GO is already 1
  while (Atomics.load(control, STOP) === 0) {
    const from = rand(ACCOUNTS);
    const to = (from + 1 + rand(ACCOUNTS - 1)) % ACCOUNTS;
    transfer(from, to, 1 + rand(50));
    if (++transfers % 100 === 0) audit();
  }
  parentPort.postMessage({ transfers, deadlocks, audits, badAudits });
}
