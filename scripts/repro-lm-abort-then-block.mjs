// LockManager: an aborted acquireAsync still holds what it was granted until its await
// continuation runs, so a blocking acquire by the same thread right after ac.abort() waits for
// its own abandoned request (DeadlockError after deadlockTimeout; with deadlockTimeout: Infinity,
// a wait until the acquire's timeout, or for ever without one).
//   node scripts/repro-lm-abort-then-block.mjs [path-to-sablock-dist]
// One thread, deterministic. Case A: the leaf, granted by the hand-over of table.ts invariant 7.
// Case B: an ancestor's intention lock, taken by a multi-level request still waiting on its leaf.
const dist = process.argv[2] ?? new URL('../dist/index.js', import.meta.url).href;
const { LockManager } = await import(dist);

async function caseA(deadlockTimeout) {
  const lm = new LockManager({ deadlockTimeout });
  const h1 = await lm.acquireAsync(['r'], 'X'); // task 1 holds X on ['r']
  const ac = new AbortController();
  const p2 = lm.acquireAsync(['r'], 'X', { signal: ac.signal }); // task 2 queued behind it
  p2.catch(() => {});
  h1.release(); // hands ['r'] over to task 2 (invariant 7): granted in the table
  ac.abort(); // task 2 is abandoned...
  const t0 = performance.now();
  try {
    const h = lm.acquire(['r'], 'X', { timeout: 1000 }); // ...and the thread blocks at once
    h.release();
    return `acquired after ${(performance.now() - t0).toFixed(0)} ms`;
  } catch (e) {
    return `${e.name} after ${(performance.now() - t0).toFixed(0)} ms: ${e.message}`;
  }
}

async function caseB(deadlockTimeout) {
  const lm = new LockManager({ deadlockTimeout });
  const h1 = await lm.acquireAsync(['db', 't'], 'X'); // task 1 holds X on ['db','t'] (IX on ['db'])
  const ac = new AbortController();
  const p2 = lm.acquireAsync(['db', 't'], 'X', { signal: ac.signal }); // task 2: IX on ['db'] granted, waits on ['db','t']
  p2.catch(() => {});
  await new Promise((r) => setTimeout(r, 5));
  ac.abort(); // task 2 abandoned: its IX on ['db'] is given back only in its continuation
  h1.release();
  const t0 = performance.now();
  try {
    const h = lm.acquire(['db'], 'S', { timeout: 1000 }); // conflicts only with task 2's IX
    h.release();
    return `acquired after ${(performance.now() - t0).toFixed(0)} ms`;
  } catch (e) {
    return `${e.name} after ${(performance.now() - t0).toFixed(0)} ms: ${e.message}`;
  }
}

// Expected once an abort withdraws at once: both acquire in ~0 ms. Exit code 1 while they do not.
let failed = false;
for (const dt of [200, Infinity]) {
  console.log(`deadlockTimeout ${dt}`);
  for (const [name, c] of [['A (leaf handed over, then aborted)  ', caseA], ['B (ancestor IX of an aborted request)', caseB]]) {
    const r = await c(dt);
    if (!r.startsWith('acquired')) failed = true;
    console.log(`  ${name}: ${r}`);
  }
}
process.exit(failed ? 1 : 0);
