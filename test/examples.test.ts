/**
 * Smoke test for `examples/`: every `examples/<name>/main.mjs` runs as a child process (as a user
 * would: `node examples/<name>/main.mjs`, importing 'sablock' through the package self-reference,
 * i.e. `dist/`), must exit 0 within its time bound, and must print its result line. Examples with
 * a negative-control flag are also run with it and must then exit 1, so their own invariant checks
 * are shown to be able to fail.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const EXAMPLES = join(ROOT, 'examples');
const BOUND_MS = 30_000;

/** What each example must print on stdout when it succeeds (examples not listed here: exit 0 only). */
const EXPECTED: Record<string, RegExp> = {
  'piscina-striped-map': /increments over \d+ keys in \d+ ms, mismatches: 0/,
  'rw-cache': /6 readers: [1-9]\d* reads \(\d+ reads\/s\), 1 writer: [1-9]\d* writes, bad reads: 0, intact entries: 64\/64/,
  'seqlock-telemetry': /retries per read, \d+ fell back to the lock, inconsistent: 0/,
  'bank-lock-manager': /total before: 16000, after: 16000[\s\S]*deadlocks resolved: \d+, audits: [1-9]\d* \(failed: 0\), locks left held: 0/,
  'web-locks-workers': /counter: 2000 \(expected 2000\), most callbacks inside at once: 1, threads seen by query\(\): [2-4],[\s\S]*'report' granted \d+ ms after its holder was terminated\nok/,
  'lockcheck-abba': /lockcheck reported 'lock-order' on \[audit-log, accounts\]/,
  'metrics-prom': /sablock_lock_wait_seconds_bucket\{lock="orders",le="[^"]+"\} \d+[\s\S]*sablock_stats_acquisitions_total\{lock="orders"\} \d+[\s\S]*events and stats agree/,
};

/** Negative controls: the flag that breaks the example's locking, and what it then prints. */
const BROKEN: Record<string, [flag: string, output: RegExp]> = {
  'rw-cache': ['--unlocked', /bad reads: [1-9]/],
  'seqlock-telemetry': ['--unlocked', /inconsistent: [1-9]/],
  'bank-lock-manager': ['--unlocked', /total before: 16000, after: (?!16000\b)\d+|\(failed: [1-9]/],
  'web-locks-workers': ['--unlocked', /counter: (?!2000 )\d+ \(expected 2000\)/],
  'lockcheck-abba': ['--same-order', /no lock-order report/],
};

const names = readdirSync(EXAMPLES, { withFileTypes: true })
  .filter((d) => d.isDirectory() && existsSync(join(EXAMPLES, d.name, 'main.mjs')))
  .map((d) => d.name)
  .sort();

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function runExample(name: string, args: string[] = []): Promise<Run> {
  return new Promise((resolve) => {
    // The child inherits no verifier/stats switches from the test environment: each example
    // enables what it demonstrates itself.
    const env = { ...process.env, SABLOCK_CHECK: '', SABLOCK_STATS: '' };
    execFile(
      process.execPath,
      [join('examples', name, 'main.mjs'), ...args],
      { cwd: ROOT, env, timeout: BOUND_MS, killSignal: 'SIGKILL', maxBuffer: 16 << 20 },
      (error, stdout, stderr) => {
        const e = error as (Error & { code?: unknown; signal?: NodeJS.Signals | null }) | null;
        resolve({ code: e === null ? 0 : typeof e.code === 'number' ? e.code : null, signal: e?.signal ?? null, stdout, stderr });
      },
    );
  });
}

const describeRun = (r: Run) => `exit ${r.code} signal ${r.signal}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;

describe('examples', () => {
  it('finds the examples, each listed in examples/README.md with its command', () => {
    expect(names).toEqual(expect.arrayContaining(Object.keys(EXPECTED)));
    const readme = readFileSync(join(EXAMPLES, 'README.md'), 'utf8');
    for (const name of names) expect(readme).toContain(`node examples/${name}/main.mjs`);
  });

  for (const name of names) {
    it(`${name}: exits 0 and prints its result`, { timeout: BOUND_MS + 5_000 }, async () => {
      const r = await runExample(name);
      expect(r.code, describeRun(r)).toBe(0);
      if (EXPECTED[name]) expect(r.stdout, describeRun(r)).toMatch(EXPECTED[name]);
    });
  }

  for (const [name, [flag, output]] of Object.entries(BROKEN)) {
    it(`${name} ${flag} (negative control): its own check fails, exit 1`, { timeout: BOUND_MS + 5_000 }, async () => {
      const r = await runExample(name, [flag]);
      expect(r.code, describeRun(r)).toBe(1);
      expect(r.stdout, describeRun(r)).toMatch(output);
    });
  }
});
