// WebLocks: a worker terminated (worker.terminate()) while it makes requests can stop inside one of
// the lock table's critical sections. Before the table's undo journal (manager/table.ts) the
// partition that lock guards was then out of service for good (every later request on one of its
// names, and query(), rejected with ERR_LOCK_BROKEN); now the next locker undoes the dead worker's
// half-done update (docs/web-locks.md "Owner death", docs/lock-manager.md "Invalid use and
// limits"). Four workers make exclusive, shared, ifAvailable, steal and timed requests on 3 names
// while one of them is terminated every 20-50 ms, 30 times; the main thread keeps requesting too.
// Prints how many of the main thread's requests failed (AbortError: robbed by a worker's steal,
// lawful), and whether every name can still be taken at the end:
//   node scripts/repro-weblocks-terminate.mjs [path-to-sablock-dist]
// Found by a review of 2026-12-05; it ended broken in 3 runs of 4 then. With the journal: no run
// ended broken, but 3 of 14 hung: the main thread, which terminates the workers, blocked on a
// partition lock its dying worker held before its event loop saw that worker's 'exit'. Since the
// blocked creator asks the worker's handle (core/owner-death.ts stoppedProbe): 10 runs of 10 fine.
import { Worker, isMainThread, workerData } from 'node:worker_threads';

const dist = (isMainThread ? process.argv[2] : workerData.dist) ?? new URL('../dist/index.js', import.meta.url).href;
const { WebLocks } = await import(dist);
const NAMES = 3;

if (isMainThread) {
  setTimeout(() => (console.log('HANG'), process.exit(2)), 60_000).unref();
  const wl = new WebLocks({ capacity: 16 });
  const start = (i) => new Worker(new URL(import.meta.url), { workerData: { dist, handle: wl.handle, seed: i * 7919 + Date.now() } });
  const workers = Array.from({ length: 4 }, (_, i) => start(i));
  let stop = false;
  const failures = new Map();
  const mainLoop = (async () => {
    while (!stop) {
      const name = `k${Math.floor(Math.random() * NAMES)}`;
      await wl.request(name, { timeout: 3000 }, () => new Promise((r) => setTimeout(r, 1))).catch((e) => {
        const why = typeof e?.code === 'string' ? e.code : e?.name; // a DOMException's code is a number
        failures.set(why, (failures.get(why) ?? 0) + 1);
      });
    }
  })();
  for (let round = 0; round < 30; round++) {
    await new Promise((r) => setTimeout(r, 20 + Math.random() * 30));
    const k = Math.floor(Math.random() * workers.length);
    await workers[k].terminate();
    workers[k] = start(100 + round);
  }
  await Promise.all(workers.map((w) => w.terminate()));
  stop = true;
  await mainLoop;
  const broken = [];
  for (let n = 0; n < NAMES; n++) {
    await wl.request(`k${n}`, { timeout: 3000 }, () => {}).catch((e) => broken.push(`k${n}: ${typeof e?.code === 'string' ? e.code : e?.name}`));
  }
  console.log('main thread request failures:', JSON.stringify(Object.fromEntries(failures)));
  console.log(broken.length === 0 ? 'every name can still be taken' : `out of service: ${broken.join(', ')}`);
  process.exit(0);
} else {
  const views = [WebLocks.from(workerData.handle), WebLocks.from(workerData.handle)];
  let s = workerData.seed >>> 0;
  const rnd = (n) => ((s = (s * 1103515245 + 12345) >>> 0), (s >>> 8) % n);
  const tick = () => new Promise((r) => setTimeout(r, rnd(3)));
  const one = async () => {
    const opts = { mode: rnd(3) === 0 ? 'shared' : 'exclusive' };
    const kind = rnd(6);
    if (kind === 0) opts.ifAvailable = true;
    else if (kind === 1 && opts.mode === 'exclusive') opts.steal = true;
    else if (kind === 2) opts.timeout = rnd(20);
    await views[rnd(2)]
      .request(`k${rnd(NAMES)}`, opts, async () => {
        for (let i = rnd(4); i > 0; i--) await tick();
      })
      .catch(() => {});
  };
  await Promise.all(Array.from({ length: 3 }, async () => {
    for (;;) await one();
  }));
}
