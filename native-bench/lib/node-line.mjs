/**
 * `npm run bench -- --node 24`: the whole run under another Node.js line, one of the pinned
 * binaries of scripts/node-lines/ (installed there on first use), or the machine's own line. The runner starts itself again
 * under that binary with the same arguments; the child (SABLOCK_BENCH_NODE set) measures, and every
 * process and worker it starts runs the same binary (process.execPath).
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { nodeBinary } from '../../scripts/node-lines/lines.mjs';

const RUN = fileURLToPath(new URL('../run.mjs', import.meta.url));

/**
 * Runs the benchmark under `line` and exits with its status, unless this process is already that
 * run (then returns, and the caller measures). `fail(message)` reports a bad line.
 */
export function runOnLine(line, argv, fail) {
  const here = process.env.SABLOCK_BENCH_NODE;
  if (here) {
    if (here !== process.version) fail(`--node ${line}: meant to run on ${here}, running on ${process.version}`);
    return;
  }
  let bin;
  try {
    bin = nodeBinary(line);
  } catch (e) {
    fail(`--node: ${e.message}`);
  }
  // This machine's own line when none is pinned for it (Node 20 on this project's machine): run here.
  if (bin.path === process.execPath) return;
  console.error(`npm run bench: on Node ${bin.version} (${bin.path})`);
  const r = spawnSync(bin.path, [RUN, ...argv], { stdio: 'inherit', env: { ...process.env, SABLOCK_BENCH_NODE: bin.version } });
  process.exit(r.status ?? 1);
}
