/** Runs child.mjs with node flags / environment and collects its `@@RESULT` lines. */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const CHILD = fileURLToPath(new URL('./child.mjs', import.meta.url));

/**
 * Resolves to { results, code, signal, stderr, timedOut, why } — never rejects: a crash is data (the caller
 * reports it in the row), and results printed before a crash are kept.
 */
export function runChild(spec, { nodeFlags = [], env = {}, timeoutMs = 120_000 } = {}) {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [...nodeFlags, CHILD, JSON.stringify(spec)], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err = (err + d).slice(-4000)));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      p.kill('SIGKILL');
    }, timeoutMs);
    p.on('close', (code, signal) => {
      clearTimeout(timer);
      const results = out
        .split('\n')
        .filter((l) => l.startsWith('@@RESULT '))
        .map((l) => JSON.parse(l.slice(9)));
      // Say why it ended in one line, for a row's note.
      const why = timedOut
        ? `timed out after ${(timeoutMs / 1000).toFixed(0)} s (killed)`
        : `exited ${signal ?? `with code ${code}`}${err.trim() ? `: ${err.trim().split('\n').slice(-1)[0]}` : ''}`;
      resolve({ results, code, signal, stderr: err, timedOut, why });
    });
  });
}
