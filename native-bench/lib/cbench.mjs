/**
 * Builds and runs the C reference programs (native-bench/c/) with the system compiler, `cc -O2
 * -pthread`, into native-bench/build/ (git-ignored). No compiler: the C rows are skipped with a
 * note, the rest of the run goes on.
 */
import { execFileSync, execFile } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const SRC = fileURLToPath(new URL('../c/locks.c', import.meta.url));
const BUILD = fileURLToPath(new URL('../build/', import.meta.url));
const BIN = `${BUILD}locks`;

let built = null;

/** Compiler version line, or null when there is no `cc`. */
export function compilerVersion() {
  try {
    return execFileSync('cc', ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split('\n')[0];
  } catch {
    return null;
  }
}

/** Builds once per run; returns null on success or the reason the C rows are skipped. */
export function buildC() {
  if (built !== null) return built || null;
  try {
    mkdirSync(BUILD, { recursive: true });
    if (!existsSync(BIN) || statSync(BIN).mtimeMs < statSync(SRC).mtimeMs) {
      execFileSync('cc', ['-O2', '-pthread', '-o', BIN, SRC], { stdio: ['ignore', 'ignore', 'pipe'] });
    }
    built = '';
    return null;
  } catch (e) {
    built = e.code === 'ENOENT' ? 'no C compiler (cc) on PATH' : `cc failed: ${String(e.stderr ?? e.message).trim()}`;
    return built;
  }
}

/** Runs one C cell; resolves to { samples, extra, check } like harness.runCell. */
export function runC({ cImpl, workload, threads, params, rounds, durationMs }) {
  const args = [
    workload,
    cImpl,
    threads,
    params.inside ?? 0,
    params.outside ?? 0,
    params.readPct ?? 0,
    params.writers ?? 0,
    durationMs,
    rounds,
  ].map(String);
  return new Promise((resolve, reject) => {
    execFile(BIN, args, { timeout: 60_000 + durationMs * (rounds + 1) * 20 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`${BIN} ${args.join(' ')}: ${err.message} ${stderr}`));
      try {
        resolve(JSON.parse(stdout.trim().split('\n').pop()));
      } catch (e) {
        reject(new Error(`unreadable output from locks: ${stdout}`));
      }
    });
  });
}
