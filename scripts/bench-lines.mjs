#!/usr/bin/env node
/**
 * sablock's key benchmark figures on every supported Node.js line, in one table:
 * native-bench/results/node-lines.md. One short benchmark run per line (the machine's own Node and
 * the pinned binaries of scripts/node-lines/, through `npm run bench -- --node N`), one after the
 * other; every figure is a median of rounds with its ratio against a reference measured in the same
 * run, so a V8 regression or gain shows as a ratio moving, not as an absolute figure that machine
 * load alone can move. Run `npm run build` first (`npm run bench:lines` does).
 *
 *   node scripts/bench-lines.mjs [--passes N] [lines…]   default: 3 passes; the machine's line, then 22 24 26
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { LINES, OWN_LINE, parseLine } from './node-lines/lines.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const RUN = `${ROOT}native-bench/run.mjs`;
const OUT = `${ROOT}native-bench/results/node-lines`;
const TABLE = `${ROOT}native-bench/results/node-lines.md`;
/** The short run: the tables the figures below come from, 2 workers, 7 rounds (~35 s a line on 2 cores). */
const BENCH = ['--quick', '--threads', '2', '--rounds', '7', '--suites', 'uncontended,exclusive,rwlock,seqlock,wakeup', '--impls', 'Mutex,RWLock,SeqLock,Semaphore,Condition', '--out', OUT];

/** [figure, table key, row, reference row, reference's name]; the unit comes from the table. */
const FIGURES = [
  ['uncontended `Mutex` lock+unlock', 'uncontended/exclusive', 'Mutex', 'floor', 'CAS+store floor'],
  ['uncontended `RWLock` read lock+unlock', 'uncontended/exclusive', 'RWLock.read', 'floor', 'CAS+store floor'],
  ['V8 `Atomics.Mutex` uncontended (`--harmony-struct`)', 'uncontended/exclusive', 'v8-mutex', 'Mutex', '`Mutex`'],
  ['uncontended `Mutex.lockAsync`', 'uncontended/async', 'Mutex.lockAsync', 'async-mutex', 'async-mutex'],
  ["Node's `locks.request` uncontended", 'uncontended/async', 'node-locks', 'async-mutex', 'async-mutex'],
  ['`Mutex`, 2 workers, 10 units inside', 'exclusive/cs10-out0/t2', 'Mutex', 'c-futex', 'C futex mutex'],
  ['same, the JS floor', 'exclusive/cs10-out0/t2', 'js-floor', 'c-futex', 'C futex mutex'],
  ['same, V8 `Atomics.Mutex`', 'exclusive/cs10-out0/t2', 'v8-mutex', 'Mutex', '`Mutex`'],
  ["same, Node's `locks.request`", 'exclusive/cs10-out0/t2', 'node-locks', 'Mutex', '`Mutex`'],
  ['`RWLock` 99 % reads, 2 workers', 'rwlock/r99/t2', 'RWLock', 'Mutex', '`Mutex`'],
  ['`SeqLock` uncontended read of 64 bytes', 'seqlock/uncontended-read', 'SeqLock.read', 'seq-floor', 'two loads + plain reads'],
  ['`SeqLock`, 1 writer + 1 reader, reads', 'seqlock/w1/t2', 'SeqLock', 'c-seqlock', 'C seqlock'],
  ['wake-up round trip, raw `Atomics.wait`/`notify`', 'wakeup/pingpong', 'js-futex', 'c-futex', 'C futex'],
  ['wake-up round trip, `Semaphore` pair', 'wakeup/pingpong', 'Semaphore', 'js-futex', 'raw `Atomics.wait`/`notify`'],
  ['wake-up round trip, `Mutex` + `Condition`', 'wakeup/pingpong', 'Condition', 'js-futex', 'raw `Atomics.wait`/`notify`'],
];

const argv = process.argv.slice(2);
const pi = argv.indexOf('--passes');
const PASSES = pi >= 0 ? Number(argv.splice(pi, 2)[1]) : 3;
if (!(Number.isInteger(PASSES) && PASSES >= 1)) throw new RangeError('--passes must be a whole number ≥ 1');
const lines = (argv.length ? argv : [OWN_LINE, ...Object.keys(LINES).filter((l) => l !== OWN_LINE)]).map(parseLine);
mkdirSync(OUT, { recursive: true });

/** runs[line] = every pass's results on that line. Passes go over all lines in turn, so a burst of load hits one pass of each, not one line. */
const runs = Object.fromEntries(lines.map((l) => [l, []]));
for (let pass = 1; pass <= PASSES; pass++) {
  for (const line of lines) {
    console.error(`\n=== bench pass ${pass}/${PASSES} on Node line ${line} ===`);
    const r = spawnSync(process.execPath, [RUN, ...BENCH, '--node', line], { stdio: 'inherit', timeout: 600_000 });
    if (r.status !== 0) console.error(`bench on Node ${line}: ${r.signal ?? `exit ${r.status}`} (its figures are kept when it saved them)`);
    try {
      const res = JSON.parse(readFileSync(`${OUT}/latest.json`, 'utf8'));
      if (res.meta.node.slice(1).split('.')[0] === line && !runs[line].includes(res)) runs[line].push(res);
    } catch {
      /* no results from this pass */
    }
    rmSync(`${OUT}/latest.json`, { force: true });
  }
}
for (const ext of ['md', 'svg']) rmSync(`${OUT}/latest.${ext}`, { force: true });

const fmt = (v, unit) => {
  if (unit === 'ops/s') return v >= 1e6 ? `${(v / 1e6).toFixed(2)} M/s` : `${(v / 1e3).toFixed(0)} k/s`;
  return v >= 1e3 ? `${(v / 1e3).toFixed(2)} µs` : `${v.toFixed(1)} ns`;
};
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
/** One figure of one run: { value, ratio, unit } or { status } when the row did not run. */
function figure(res, [, key, label, refLabel]) {
  const t = res.tables.find((x) => x.key === key);
  const row = t?.rows.find((x) => x.label === label);
  const ref = t?.rows.find((x) => x.label === refLabel);
  if (!row || row.status !== 'ok') return { status: row?.status === 'skip' ? 'n/a' : (row?.status ?? '—') };
  return { value: row.median, ratio: ref?.status === 'ok' ? row.median / ref.median : null, unit: t.unit };
}
/** Median value · median ratio (lowest–highest ratio over the passes). */
function cell(line, f) {
  const got = runs[line].map((r) => figure(r, f));
  const ok = got.filter((g) => g.value !== undefined);
  if (!ok.length) return got[0]?.status ?? '—';
  const ratios = ok.map((g) => g.ratio).filter((x) => x !== null);
  const value = fmt(median(ok.map((g) => g.value)), ok[0].unit);
  if (!ratios.length) return value;
  const range = ratios.length > 1 ? ` (${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)})` : '';
  return `${value} · **${median(ratios).toFixed(2)}×**${range}`;
}

const shown = lines.filter((l) => runs[l].length);
const meta = (l) => runs[l][0].meta;
const m = shown.length ? meta(shown[0]) : null;
const loads = (l) => runs[l].map((r) => r.meta.loadAverage.start.toFixed(1)).join(', ');
const md = [
  '# sablock by Node.js line',
  '',
  `Generated by \`npm run bench:lines\` (scripts/bench-lines.mjs) on ${m ? `${m.date}, ${m.cpuModel}, ${m.cpus} cores` : '—'}:`,
  `${PASSES} passes over the lines, each pass one short run per line, one after the other:`,
  '',
  `    npm run bench -- ${BENCH.slice(0, -2).join(' ')} --node N`,
  '',
  `The last pass's full results are beside this file in [node-lines/](node-lines/); every pass's figures in node-lines.json.`,
  '',
  '**Read the ratios, not the absolute figures.** This is a shared, noisy 2-core VM: other jobs ran',
  'during these runs (load averages below, against 2 cores), and one run moves by 10–30 %, more under',
  "load. Each cell is the median over the passes of the run's figure (itself the median of its",
  'rounds), then in bold the median of its ratio to the reference named in the last column, measured',
  'in the same run on the same line, with the lowest and highest ratio of the passes: for times (ns, µs)',
  'a cost ratio (lower is faster), for rates (/s) a throughput ratio (higher is faster). Only a ratio',
  "that moves well outside the other lines' ranges says something about a line. `n/a`: the line does not have it.",
  '',
  `| figure | ${shown.map((l) => `Node ${meta(l).node.slice(1)} (V8 ${meta(l).v8.split('-')[0]})`).join(' | ')} | ratio against |`,
  `|---|${shown.map(() => '---:').join('|')}|---|`,
  ...FIGURES.map((f) => `| ${f[0]} | ${shown.map((l) => cell(l, f)).join(' | ')} | ${f[4]} |`),
  `| load average at each run's start | ${shown.map(loads).join(' | ')} | |`,
  `| run time | ${shown.map((l) => runs[l].map((r) => `${r.meta.wallSeconds.toFixed(0)} s`).join(', ')).join(' | ')} | |`,
  '',
];
writeFileSync(TABLE, `${md.join('\n')}\n`);
const figures = Object.fromEntries(
  shown.map((l) => [meta(l).node, runs[l].map((r) => ({ timestamp: r.meta.timestamp, loadAverage: r.meta.loadAverage, figures: Object.fromEntries(FIGURES.map((f) => [f[0], figure(r, f)])) }))]),
);
writeFileSync(TABLE.replace(/\.md$/, '.json'), `${JSON.stringify({ command: BENCH.slice(0, -2), passes: PASSES, figures }, null, 1)}\n`);
console.log(`\n${md.join('\n')}\n${TABLE}`);
process.exitCode = shown.length === lines.length ? 0 : 1;
