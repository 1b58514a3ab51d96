#!/usr/bin/env node
/**
 * `npm run bench` — how close is each sablock lock to native, and to what a user would use
 * instead, on this machine, in one run. See native-bench/README.md.
 *
 *   npm run bench [-- options]
 *   --quick                 short run (~1 min on an idle machine): 3 rounds × 80 ms, one scenario per suite, threads 1, cores, 4×cores
 *   --suites a,b            suites to run (default all: uncontended,exclusive,rwlock,seqlock,manager,semaphore,lockcheck,wakeup,weblocks,postgres)
 *   --impls a,b             sablock rows to keep (e.g. Mutex,RWLock); references stay unless --no-refs
 *   --no-refs               drop the JS and C reference rows
 *   --no-c                  skip the C references
 *   --threads 1,2,4,8,16,32 thread counts for the worker suites
 *   --rounds N --duration MS --micro-ms MS   measurement lengths (micro-ms: per task, split over the rounds)
 *   --warmup-ms MS          most time fresh workers spend warming up before the first scenario (default 1000)
 *   --machine NAME          results file name prefix (default: cpu model + core count)
 *   --out DIR               where results go (default native-bench/results)
 *   --no-save               print only
 *   --provisional TEXT      mark the saved Markdown provisional, with a reason
 *   --node 24               run under another Node.js line (22, 24, 26: the binaries pinned in scripts/node-lines/; or this machine's own)
 *   --list                  list suites and implementations
 */
import { cpus as osCpus, totalmem, platform, release, arch, loadavg } from 'node:os';
import { mkdirSync, writeFileSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { IMPLS, unavailable } from './lib/impls.mjs';
import { MICRO, microUnavailable } from './lib/micro.mjs';
import { runCell } from './lib/harness.mjs';
import { runChild } from './lib/child-run.mjs';
import { buildC, compilerVersion, runC } from './lib/cbench.mjs';
import { median, spread } from './lib/stats.mjs';
import { addRatios, consoleTable, markdown, svgChart } from './lib/report.mjs';
import { evaluateTargets } from './lib/targets.mjs';
import { runOnLine } from './lib/node-line.mjs';

const SUITE_IDS = ['uncontended', 'exclusive', 'rwlock', 'seqlock', 'manager', 'semaphore', 'lockcheck', 'wakeup', 'weblocks', 'postgres'];
/** Suites that run only when named in --suites. */
const EXTRA_SUITES = ['selftest'];

/** A bad option: say which, and stop (exit 2) before measuring anything. */
function fail(message) {
  console.error(`npm run bench: ${message} (see --help)`);
  process.exit(2);
}

function parseArgs(argv) {
  const o = { flags: new Set() };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) fail(`unexpected argument ${a}`);
    const [k, inline] = a.slice(2).split('=', 2);
    if (['quick', 'no-refs', 'no-c', 'no-save', 'list', 'help'].includes(k)) o.flags.add(k);
    else if (['suites', 'impls', 'threads', 'rounds', 'duration', 'micro-ms', 'warmup-ms', 'machine', 'out', 'provisional', 'node'].includes(k)) {
      o[k] = inline ?? argv[++i];
      if (o[k] === undefined) fail(`--${k} needs a value`);
    } else fail(`unknown option --${k}`);
  }
  return o;
}

const list = (s) => (s == null ? null : String(s).split(',').map((x) => x.trim()).filter(Boolean));
const ints = (s, name) =>
  list(s)?.map((x) => {
    const n = Number(x);
    if (!Number.isInteger(n) || n < 1 || n > 1024) fail(`${name}: ${x} is not a count between 1 and 1024`);
    return n;
  });

const args = parseArgs(process.argv.slice(2));
if (args.node !== undefined) runOnLine(args.node, process.argv.slice(2), fail);
if (args.flags.has('help')) {
  const src = await import('node:fs').then((fs) => fs.readFileSync(fileURLToPath(import.meta.url), 'utf8'));
  console.log(src.split('*/')[0].replace(/^#!.*\n\/\*\*\n/, '').replace(/^ \* ?/gm, ''));
  process.exit(0);
}
const cpus = osCpus().length;
const quick = args.flags.has('quick');
const defaultThreads = quick ? [1, cpus, 4 * cpus] : [1, 2, 4, 8, cpus, 2 * cpus];
const cfg = {
  quick,
  cpus,
  threads: [...new Set(ints(args.threads, '--threads') ?? defaultThreads)].sort((a, b) => a - b),
  rounds: Number(args.rounds ?? (quick ? 3 : 4)),
  durationMs: Number(args.duration ?? (quick ? 80 : 150)),
  microMs: Number(args['micro-ms'] ?? (quick ? 150 : 400)),
  warmupMs: Number(args['warmup-ms'] ?? (quick ? 400 : 1000)),
  suites: list(args.suites) ?? SUITE_IDS,
  impls: list(args.impls),
  refs: !args.flags.has('no-refs'),
  c: !args.flags.has('no-c'),
};
for (const s of cfg.suites) if (![...SUITE_IDS, ...EXTRA_SUITES].includes(s)) fail(`--suites: unknown suite ${s} (have ${[...SUITE_IDS, ...EXTRA_SUITES].join(', ')})`);
if (!(cfg.rounds >= 1) || !(cfg.durationMs >= 10) || !(cfg.microMs >= 10) || !(cfg.warmupMs >= 0)) fail('--rounds ≥ 1, --duration ≥ 10, --micro-ms ≥ 10, --warmup-ms ≥ 0');

{
  const known = Object.entries(IMPLS).filter(([, v]) => v.family === 'sablock').map(([k]) => k.toLowerCase());
  for (const x of cfg.impls ?? []) if (!known.includes(x.toLowerCase())) fail(`--impls: unknown primitive ${x} (have ${known.join(', ')})`);
}

if (args.flags.has('list')) {
  console.log(`suites: ${SUITE_IDS.join(', ')} (and, only when named: ${EXTRA_SUITES.join(', ')})`);
  for (const [k, v] of Object.entries(IMPLS)) console.log(`  ${k.padEnd(12)} ${v.family.padEnd(8)} ${unavailable(k) ?? v.about ?? ''}`);
  for (const [k, v] of Object.entries(MICRO)) console.log(`  ${k.padEnd(16)} micro    ${microUnavailable(k) ?? v.about ?? ''}`);
  process.exit(0);
}

// ---- the plan ----
const suites = [];
const tables = [];
for (const id of cfg.suites) {
  const suite = (await import(`./suites/${id}.mjs`)).default;
  suites.push({ id: suite.id, title: suite.title, footnote: suite.footnote, measure: suite.measure });
  for (const t of suite.plan(cfg)) {
    t.suite = suite.id;
    t.rows = t.rows.filter((r) => keepRow(r));
    if (t.rows.length) tables.push(t);
  }
}

function familyOf(r) {
  // Rows a suite measures itself (kind 'suite') say their family.
  if (r.family) return r.family;
  if (r.kind === 'micro') return r.micro.startsWith('js-') || ['floor', 'seq-floor', 'async-mutex', 'v8-mutex', 'node-locks'].includes(r.micro) ? 'ref' : 'sablock';
  if (r.kind === 'c') return 'c';
  const f = IMPLS[r.impl].family;
  return f === 'sablock' || f === 'test' ? f : 'ref';
}
function keepRow(r) {
  r.kind ??= IMPLS[r.impl]?.c ? 'c' : 'workers';
  const fam = familyOf(r);
  if (fam === 'test') return true;
  if (fam !== 'sablock') return cfg.refs;
  if (!cfg.impls) return true;
  const base = (r.micro ?? r.impl).split('.')[0];
  return cfg.impls.some((x) => x.toLowerCase() === base.toLowerCase());
}

/** Percent of all CPUs' time spent busy over `ms` (Linux /proc/stat); null where unavailable. */
async function cpuBusyPercent(ms) {
  const sample = () => {
    try {
      const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
      // user nice system idle iowait irq softirq steal: idle and iowait are not busy.
      const idle = f[3] + (f[4] ?? 0);
      return { idle, total: f.slice(0, 8).reduce((a, b) => a + b, 0) };
    } catch {
      return null;
    }
  };
  const a = sample();
  if (!a) return null;
  await new Promise((r) => setTimeout(r, ms));
  const b = sample();
  const total = b.total - a.total;
  return total > 0 ? Math.round((100 * (total - (b.idle - a.idle))) / total) : null;
}

// ---- progress ----
const totalRows = tables.reduce((n, t) => n + t.rows.length, 0);
let doneRows = 0;
const loadAtStart = loadavg()[0];
const busyAtStart = await cpuBusyPercent(500);
const t0 = performance.now();
const tty = process.stderr.isTTY;
function progress(msg) {
  const el = ((performance.now() - t0) / 1000).toFixed(0).padStart(4);
  const line = `[${String(doneRows).padStart(3)}/${totalRows}] ${el}s  ${msg}`;
  if (tty) process.stderr.write(`\r\x1b[K${line.slice(0, (process.stderr.columns || 120) - 1)}`);
  else process.stderr.write(`${line}\n`);
}
function progressEnd() {
  if (tty) process.stderr.write('\r\x1b[K');
}

const cSkip = cfg.c ? buildC() : 'C references disabled (--no-c)';
const about = {};

function finishRow(row, samples, extra, sleeps) {
  row.status = 'ok';
  row.samples = samples;
  row.median = median(samples);
  row.spread = spread(samples);
  const notes = [];
  if (extra?.some((x) => x > 0)) notes.push(`${(median(extra) / 1e3).toFixed(1)} k writes/s`);
  // Sleeps (voluntary context switches) per operation: tells a sleeping run from a spinning one.
  if (sleeps?.length) {
    row.sleepsPerOp = median(sleeps);
    notes.push(`${formatSleeps(row.sleepsPerOp)} sleeps/op`);
  }
  if (notes.length) row.note = notes.join(', ');
}

function formatSleeps(x) {
  return x >= 0.1 ? x.toFixed(2) : x >= 0.001 ? x.toFixed(4) : x.toExponential(1);
}

async function runCRow(table, row) {
  const cImpl = IMPLS[row.impl].c[row.workload === 'uncontended' ? 'exclusive' : row.workload];
  about[row.label] = IMPLS[row.impl].about;
  if (cSkip) return Object.assign(row, { status: 'skip', note: cSkip });
  const res = await runC({ cImpl, workload: row.workload, threads: row.threads ?? 1, params: row.params ?? {}, rounds: cfg.rounds, durationMs: cfg.durationMs });
  finishRow(row, table.fromRate ? res.samples.map((x) => 1e9 / x) : res.samples, table.fromRate ? null : res.extra, res.sleeps);
  row.check = res.check;
}

/**
 * Worker rows of one implementation, workload and thread count (from any tables of a suite):
 * one set of fresh workers runs each row's scenario as a phase.
 */
async function runWorkerGroup(impl, workload, threads, entries) {
  const rows = entries.map((e) => e.row);
  const why = unavailable(impl);
  for (const r of rows) about[r.label] = IMPLS[impl].about ?? `sablock ${impl}`;
  if (why) {
    for (const r of rows) Object.assign(r, { status: 'skip', note: why });
    doneRows += rows.length;
    return;
  }
  const cell = { name: impl, workload, threads, phases: rows.map((r) => r.params), rounds: cfg.rounds, durationMs: cfg.durationMs, warmupMs: cfg.warmupMs };
  const show = (p) => progress(`${entries[p].table.key}: ${rows[p].label}${threads ? ` ×${threads}` : ''}`);
  let res;
  let crashNote = null;
  try {
    const flags = IMPLS[impl].nodeFlags;
    if (flags) {
      show(0);
      const c = await runChild({ type: 'cell', cell }, { nodeFlags: flags, timeoutMs: 60_000 + cfg.warmupMs + threads * 2_000 + rows.length * (cfg.rounds + 1) * cfg.durationMs * 30 });
      res = c.results[0];
      const crashed = c.code !== 0 || c.signal;
      if (!res || res.error) {
        const note = res?.error?.split('\n')[0] ?? `child process ${c.why}`;
        for (const r of rows) Object.assign(r, { status: crashed ? 'crash' : 'error', note });
        doneRows += rows.length;
        return;
      }
      if (crashed) crashNote = `its process then ${c.why} (after reporting; results kept)`;
    } else {
      res = await runCell({ ...cell, onPhase: (p) => { doneRows += p > 0 ? 1 : 0; show(p); } });
      doneRows -= rows.length - 1;
    }
  } catch (e) {
    for (const r of rows) Object.assign(r, { status: 'error', note: String(e?.message ?? e).split('\n')[0] });
    doneRows += rows.length;
    return;
  }
  entries.forEach(({ table, row }, p) => {
    const ph = res.phases[p];
    finishRow(row, table.fromRate ? ph.samples.map((x) => 1e9 / x) : ph.samples, table.fromRate ? null : ph.extra, ph.sleeps);
    row.check = res.check;
    row.warmupRounds = ph.warmupRounds;
    // A negative control passes when its data check caught it.
    if (row.expectFail) row.check = res.check === 'ok' ? 'broken lock NOT caught by the data check' : 'ok';
    if (row.expectFail && row.check === 'ok') row.note = `caught as expected: ${res.check}`;
    // A reference known to let two workers in at once (row.knownOverlaps, said in the suite's
    // footnote): what its check saw goes in its note instead of failing the run.
    if (row.knownOverlaps && res.check.startsWith('lost updates')) {
      row.check = 'ok';
      row.note = `not exclusive on one name: ${res.check}${row.note ? `; ${row.note}` : ''}`;
    }
    if (crashNote) row.note = row.note ? `${row.note}; ${crashNote}` : crashNote;
  });
  doneRows += rows.length;
}

/** Micro rows of one table: grouped by process (node flags, checker on/off), one child each. */
async function runMicroRows(table, rows) {
  const groups = new Map();
  for (const r of rows) {
    about[r.label] = MICRO[r.micro]?.about ?? about[r.label] ?? `sablock ${r.micro}`;
    const why = microUnavailable(r.micro);
    if (why) {
      Object.assign(r, { status: 'skip', note: why });
      doneRows++;
      continue;
    }
    const flags = MICRO[r.micro].nodeFlags ?? [];
    const key = JSON.stringify([flags, r.lockcheck ?? null, r.group ?? null, r.own ? r.label : null]);
    if (!groups.has(key)) groups.set(key, { flags, lockcheck: r.lockcheck, rows: [] });
    groups.get(key).rows.push(r);
  }
  for (const g of groups.values()) {
    progress(`${table.key}: ${g.rows.map((r) => r.label).join(', ')}`);
    const spec = {
      type: 'micro',
      names: g.rows.map((r) => r.micro),
      time: Math.max(20, Math.round(cfg.microMs / cfg.rounds)),
      warmupTime: Math.min(200, cfg.microMs),
      rounds: cfg.rounds,
      lockcheck: g.lockcheck,
    };
    const c = await runChild(spec, { nodeFlags: g.flags, env: g.lockcheck ? { SABLOCK_CHECK: '1' } : {}, timeoutMs: 60_000 + g.rows.length * cfg.microMs * 10 });
    const crashed = c.code !== 0 || c.signal;
    g.rows.forEach((r, i) => {
      const res = c.results.find((x) => x.name === r.micro && !x.taken) ?? (c.results[0]?.name ? null : c.results[0]);
      if (res) res.taken = true;
      if (!res || res.error) {
        Object.assign(r, { status: crashed && !res ? 'crash' : 'error', note: (res?.error ?? `child process ${c.why}`).split('\n')[0] });
      } else {
        Object.assign(r, { status: 'ok', median: res.median, spread: res.spread, samples: res.samples, check: 'ok' });
        if (crashed) r.note = `its process then ${c.why} (after reporting; results kept)`;
      }
      doneRows++;
    });
  }
}

for (const suite of suites) {
  const own = tables.filter((t) => t.suite === suite.id);
  for (const table of own) {
    const micro = table.rows.filter((r) => r.kind === 'micro');
    if (micro.length) await runMicroRows(table, micro);
    for (const row of table.rows.filter((r) => r.kind === 'c')) {
      progress(`${table.key}: ${row.label}${row.threads ? ` ×${row.threads}` : ''}`);
      try {
        await runCRow(table, row);
      } catch (e) {
        Object.assign(row, { status: 'error', note: String(e?.message ?? e).split('\n')[0] });
      }
      doneRows++;
    }
  }
  // Rows of one implementation, workload and thread count share a cell (one phase each), unless
  // their `cell` differs: a cell's data check covers all its phases, so a row whose check must be
  // its own asks for a cell of its own.
  const groups = new Map();
  for (const table of own) {
    for (const row of table.rows.filter((r) => r.kind === 'workers')) {
      const key = `${row.impl}|${row.workload}|${row.threads}|${row.cell ?? ''}`;
      if (!groups.has(key)) groups.set(key, []);
      groups.get(key).push({ table, row });
    }
  }
  for (const [key, entries] of groups) {
    const [impl, workload, threads] = key.split('|');
    await runWorkerGroup(impl, workload, Number(threads), entries);
  }
  // Rows of kind 'suite': the suite measures them itself (its own server, processes, …).
  const selfMeasured = own.map((t) => ({ ...t, rows: t.rows.filter((r) => r.kind === 'suite') })).filter((t) => t.rows.length);
  if (selfMeasured.length) {
    await suite.measure(selfMeasured, { cfg, progress, finishRow, rowDone: () => doneRows++ });
  }
  for (const table of own) {
    addRatios(table);
    progressEnd();
    console.log(`\n${consoleTable(table)}`);
  }
  if (suite.footnote && own.length) console.log(`\n  * ${suite.footnote}`);
}
progressEnd();

// ---- results ----
const cpuModel = osCpus()[0]?.model?.trim() ?? 'unknown CPU';
const date = new Date().toISOString();
const machine = args.machine ?? `${cpuModel.replace(/\(.*?\)/g, '').replace(/[^A-Za-z0-9]+/g, '-').replace(/^-|-$/g, '').toLowerCase()}-${cpus}c`;
const targets = evaluateTargets(tables, cfg);
const result = {
  meta: {
    machine,
    date: date.slice(0, 10),
    timestamp: date,
    cpuModel,
    cpus,
    memGiB: Math.round(totalmem() / 2 ** 30),
    os: `${platform()} ${release()} ${arch()}`,
    node: process.version,
    nodeLine: args.node ?? null,
    v8: process.versions.v8,
    cc: cfg.c ? compilerVersion() : null,
    command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).map((a) => (/[\s"']/.test(a) ? JSON.stringify(a) : a)).join(' ')}` : ''}`,
    // Other load on the machine makes every figure noisy. The 1-minute load average says how much on
    // most machines (some VMs report 2–3 while idle); the CPU time used by anything in the 0.5 s
    // before the run started is measured directly (/proc/stat; null elsewhere).
    loadAverage: { start: loadAtStart, end: loadavg()[0] },
    busyBeforeRunPercent: busyAtStart,
    options: { threads: cfg.threads, rounds: cfg.rounds, durationMs: cfg.durationMs, microMs: cfg.microMs, warmupMs: cfg.warmupMs, suites: cfg.suites, quick },
    provisional: args.provisional ?? null,
    wallSeconds: (performance.now() - t0) / 1000,
  },
  suites,
  targets,
  about,
  tables: tables.map((t) => ({ ...t, rows: t.rows.map(({ taken, ...r }) => r) })),
};

console.log('\nTargets');
const w = Math.max(...targets.map((t) => t.text.length));
for (const t of targets) console.log(`  ${t.text.padEnd(w)}  ${t.measured.padStart(12)}  ${t.verdict}`);
console.log(`\n${totalRows} rows in ${result.meta.wallSeconds.toFixed(0)} s`);

if (!args.flags.has('no-save')) {
  const dir = args.out ?? fileURLToPath(new URL('./results/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  // A run under another line (--node) gets its own files beside the machine's line's.
  const base = `${dir}/${machine}-${result.meta.date}${args.node ? `-node${process.versions.node.split('.')[0]}` : ''}`;
  writeFileSync(`${base}.json`, `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(`${base}.md`, markdown(result));
  writeFileSync(`${base}.svg`, svgChart(result));
  // latest.* name the newest run: links, so a run is committed once, not twice.
  for (const ext of ['json', 'md', 'svg']) {
    rmSync(`${dir}/latest.${ext}`, { force: true });
    symlinkSync(basename(`${base}.${ext}`), `${dir}/latest.${ext}`);
  }
  console.log(`results: ${base}.{json,md,svg} (latest.* link to them)`);
}
const failed = tables.flatMap((t) => t.rows).filter((r) => r.status === 'ok' && r.check !== 'ok');
if (failed.length) {
  console.error(`\n${failed.length} row(s) failed their data check: ${failed.map((r) => r.label).join(', ')}`);
  process.exitCode = 1;
}
