/**
 * A cell or a group of micro tasks in a process of its own: for rows that need node flags
 * (--harmony-struct for V8's Atomics.Mutex) or a process-wide setting (the lock-order checker).
 * Prints each result as one line `@@RESULT <json>` as soon as it has it, so a crash at exit (Node
 * 20 sometimes aborts when a worker that used --harmony-struct exits) loses nothing measured.
 *
 *   node [flags] child.mjs '<json spec>'
 *   spec: { type: 'cell', cell } | { type: 'micro', names, time, warmupTime, rounds, lockcheck?: 'warn' }
 */
const spec = JSON.parse(process.argv[2]);
const emit = (r) => process.stdout.write(`@@RESULT ${JSON.stringify(r)}\n`);

if (spec.lockcheck) {
  const { default: sablock } = await import('./sablock.mjs');
  if (!sablock.lockcheck) {
    emit({ error: 'lockcheck not exported by dist/' });
    process.exit(0);
  }
  sablock.lockcheck.enable({ onViolation: spec.lockcheck });
}

if (spec.type === 'cell') {
  const { runCell } = await import('./harness.mjs');
  try {
    emit(await runCell(spec.cell));
  } catch (e) {
    emit({ error: String(e?.stack ?? e) });
  }
} else {
  const { runMicro } = await import('./micro.mjs');
  for (const r of await runMicro(spec.names, spec)) emit(r);
}
