// WebLocks: a request granted at once while an earlier request of the same view for the same
// name has not heard how its wait ended is deferred (web-locks.ts #start, `#deferred`) until that
// view has no waiting request for the name (#waitEnded). A request made after the deferral that
// queues behind the deferred hold keeps that count above 0: the deferred callback never runs, its
// hold is never released, and the later request waits for ever. One thread, deterministic:
//   node scripts/repro-weblocks-deferred-grant.mjs [path-to-sablock-dist]
// Found by scripts/torture.mjs --kinds WebLocks --seed 7 (hang at stop, table:
// ["c"] held [S:t17] waiting [X:t17, ...]).
const dist = process.argv[2] ?? new URL('../dist/index.js', import.meta.url).href;
const { WebLocks } = await import(dist);
const wl = new WebLocks();
const log = (...a) => console.log(`${performance.now().toFixed(0).padStart(5)} ms`, ...a);

let releaseH;
const H = wl.request('c', () => new Promise((r) => (releaseH = r))); // H holds 'c'
await new Promise((r) => setTimeout(r, 10));
const A = wl.request('c', (l) => log('A callback', l?.mode)); // A waits behind H (this view waits on 'c')
A.catch((e) => log('A rejected:', e.name));
await new Promise((r) => setTimeout(r, 10));

releaseH();
await H; // H released: the table handed 'c' over to A (table.ts invariant 7); A's thread has not heard yet
// Still in this turn: a steal takes 'c' from A and gives it back at once; 'c' is free.
await wl.request('c', { steal: true }, () => log('steal callback'));
// B is granted at once, but deferred: A (same view, same name) still counts as waiting.
const B = wl.request('c', { mode: 'shared' }, () => log('B callback (shared)'));
// C queues behind B's hold; it now counts as waiting too, so A's end does not run B's callback.
let bRan = false;
let cDone = false;
B.then(() => (bRan = true));
const C = wl.request('c', () => log('C callback'));
C.then(() => (cDone = true), () => (cDone = true));
await new Promise((r) => setTimeout(r, 1000));
const q = await wl.query();
log('after 1 s: query():', JSON.stringify(q));
if (!bRan && !cDone) {
  log("BUG: B was granted at once but its callback has not run (its hold is never released), and C waits behind it for ever");
  process.exit(1);
}
log('ok: B ran, C done');
process.exit(0);
