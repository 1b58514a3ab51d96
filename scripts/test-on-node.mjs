#!/usr/bin/env node
/**
 * The test suite under other Node.js lines: the pinned binaries of scripts/node-lines/ run vitest
 * on the dist/ already built (`npm run test:node` builds it first; CI builds it once in `npm test`).
 * Each line is reported on its own (files, tests, duration); the exit status is 1 when any failed.
 *
 *   npm run test:node -- 24                    one line (22, 24, 26, or this Node's own)
 *   node scripts/test-on-node.mjs 22 24 26     several (what .ci/run does after npm test)
 *   npm run test:node -- 26 test/smoke.test.ts anything after the lines goes to vitest
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LINES, nodeBinary, OWN_LINE, parseLine } from './node-lines/lines.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const VITEST = join(ROOT, 'node_modules/vitest/vitest.mjs');

const argv = process.argv.slice(2);
const lines = [];
while (argv.length && /^(node|v)?\d+$/.test(argv[0])) lines.push(argv.shift());
if (!lines.length) {
  console.error(`usage: npm run test:node -- <line…> [vitest args]   (lines: ${Object.keys(LINES).join(', ')} or this Node's ${OWN_LINE})`);
  process.exit(2);
}
let lineKeys;
try {
  lineKeys = lines.map(parseLine);
} catch (e) {
  console.error(e.message);
  process.exit(2);
}

const tmp = mkdtempSync(join(tmpdir(), 'sablock-lines-'));
const summary = [];
for (const line of lineKeys) {
  const t0 = Date.now();
  const row = { line, version: `v${LINES[line]}`, ok: false, text: '', failures: [] };
  summary.push(row);
  let bin;
  try {
    bin = nodeBinary(line);
  } catch (e) {
    row.text = `could not install: ${e.message}`;
    continue;
  }
  console.log(`\n=== npm test on Node ${bin.version} (${bin.path}) ===`);
  const json = join(tmp, `vitest-${line}.json`);
  const r = spawnSync(bin.path, [VITEST, 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${json}`, ...argv], {
    cwd: ROOT,
    stdio: 'inherit',
    // `node` on PATH is the line under test too; test/node-line.test.ts checks vitest's forks run it.
    env: { ...process.env, PATH: `${dirname(bin.path)}${delimiter}${process.env.PATH}`, SABLOCK_NODE_LINE: bin.version },
  });
  const secs = Math.round((Date.now() - t0) / 1000);
  let counts = '';
  try {
    const j = JSON.parse(readFileSync(json, 'utf8'));
    // Name every failure in the summary: CI keeps only the tail of a long log.
    for (const f of j.testResults) {
      for (const a of f.assertionResults ?? []) {
        if (a.status !== 'failed') continue;
        const msg = String(a.failureMessages?.[0] ?? '').split('\n')[0].slice(0, 300);
        row.failures.push(`${relative(ROOT, f.name)} > ${a.fullName}: ${msg}`);
      }
      if (f.status === 'failed' && !(f.assertionResults ?? []).some((a) => a.status === 'failed')) {
        row.failures.push(`${relative(ROOT, f.name)}: ${String(f.message ?? '').split('\n')[0].slice(0, 300)}`);
      }
    }
    counts = `${j.testResults.length} files (${j.testResults.filter((t) => t.status === 'failed').length} failed), ${j.numTotalTests} tests: ${j.numPassedTests} passed, ${j.numFailedTests} failed, ${j.numPendingTests + j.numTodoTests} skipped`;
  } catch {
    counts = 'no vitest report';
  }
  row.ok = r.status === 0;
  row.text = `${row.ok ? 'PASS' : `FAIL (${r.signal ?? `exit ${r.status}`})`}  ${counts}, ${secs} s`;
}
rmSync(tmp, { recursive: true, force: true });

console.log('\nnpm test by Node line');
for (const r of summary) {
  console.log(`  Node ${r.version.padEnd(9)} ${r.text}`);
  for (const f of r.failures) console.log(`      failed: ${f}`);
}
process.exitCode = summary.every((r) => r.ok) ? 0 : 1;
