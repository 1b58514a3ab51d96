/**
 * Turning measured tables into what a user reads: console tables, the Markdown report, the SVG
 * chart, and the targets check. A table has one row per implementation; ratios compare each row
 * with the table's C reference (`cRef`) and JS reference (`jsRef`) measured in the same run.
 * For ops/s tables a ratio is a throughput ratio (higher = faster); for ns/op tables it is a cost
 * ratio (lower = faster). A suite's `footnote`, when it has one, is printed under its tables.
 */

export function fmtValue(v, unit) {
  if (v == null || !Number.isFinite(v)) return '—';
  if (unit === 'ops/s') {
    if (v >= 1e6) return `${(v / 1e6).toFixed(2)} M/s`;
    if (v >= 1e3) return `${(v / 1e3).toFixed(1)} k/s`;
    return `${v.toFixed(0)} /s`;
  }
  if (v >= 1e6) return `${(v / 1e6).toFixed(2)} ms`;
  if (v >= 1e4) return `${(v / 1e3).toFixed(1)} µs`;
  if (v >= 100) return `${v.toFixed(0)} ns`;
  return `${v.toFixed(1)} ns`;
}

const fmtRatio = (r) => (r == null || !Number.isFinite(r) ? '—' : r >= 100 ? r.toFixed(0) : r.toFixed(2));

function rowOf(table, label) {
  return table.rows.find((r) => r.label === label && r.status === 'ok');
}

/** Fills ratioC / ratioJs on every row of a measured table. */
export function addRatios(table) {
  const c = table.cRef && rowOf(table, table.cRef);
  const js = table.jsRef && rowOf(table, table.jsRef);
  for (const r of table.rows) {
    if (r.status !== 'ok') continue;
    r.ratioC = c ? r.median / c.median : null;
    r.ratioJs = js ? r.median / js.median : null;
  }
}

function cells(table, r) {
  const ok = r.status === 'ok';
  return [
    r.label,
    ok ? fmtValue(r.median, table.unit) : '—',
    ok ? r.spread.toFixed(1) : '',
    ok && table.cRef ? fmtRatio(r.ratioC) : '',
    ok && table.jsRef ? fmtRatio(r.ratioJs) : '',
    ok ? (r.check === 'ok' ? 'ok' : `FAIL: ${r.check}`) + (r.note ? ` (${r.note})` : '') : `${r.status}: ${r.note}`,
  ];
}

function headers(table) {
  const kind = table.unit === 'ops/s' ? 'thr' : 'cost';
  return [
    'implementation',
    `median ${table.unit === 'ops/s' ? 'ops/s' : 'per op'}`,
    '±%',
    table.cRef ? `${kind} × ${table.cRef}` : '',
    table.jsRef ? `${kind} × ${table.jsRef}` : '',
    'check / note',
  ];
}

/** Plain-text table for the terminal. */
export function consoleTable(table) {
  const rows = [headers(table), ...table.rows.map((r) => cells(table, r))];
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)));
  const line = (r) => '  ' + r.map((c, i) => String(c).padEnd(widths[i])).join('  ').trimEnd();
  const better = table.unit === 'ops/s' ? 'higher is better' : 'lower is better';
  return [`${table.title}  [${table.unit}, ${better}]`, ...rows.map(line)].join('\n');
}

function mdTable(head, rows) {
  const esc = (c) => String(c).replaceAll('|', '\\|');
  return [
    `| ${head.map(esc).join(' | ')} |`,
    `|${head.map((h, i) => (i === 0 || /note|result|what/.test(h) || h === '' ? '---' : '---:')).join('|')}|`,
    ...rows.map((r) => `| ${r.map(esc).join(' | ')} |`),
  ].join('\n');
}

/** Throughput-vs-threads summary: one row per implementation, one column per thread count. */
export function scalingSummaries(tables) {
  const groups = new Map();
  for (const t of tables) {
    if (t.threads == null || t.unit !== 'ops/s') continue;
    const g = `${t.suite}/${t.scenario}`;
    if (!groups.has(g)) groups.set(g, { key: g, suite: t.suite, scenario: t.scenario, tables: [] });
    groups.get(g).tables.push(t);
  }
  const out = [];
  for (const g of groups.values()) {
    const threads = [...new Set(g.tables.map((t) => t.threads))].sort((a, b) => a - b);
    if (threads.length < 2) continue;
    const labels = [...new Set(g.tables.flatMap((t) => t.rows.map((r) => r.label)))];
    const series = labels.map((label) => ({
      label,
      points: threads.map((n) => {
        const t = g.tables.find((x) => x.threads === n);
        const r = t && rowOf(t, label);
        return r ? r.median : null;
      }),
    }));
    const kept = series.filter((s) => s.points.some((p) => p != null));
    if (kept.length) out.push({ ...g, threads, series: kept });
  }
  return out;
}

/** Markdown report. */
export function markdown(result) {
  const m = result.meta;
  const lines = [];
  lines.push(`# sablock benchmark — ${m.machine}, ${m.date}`);
  lines.push('');
  if (m.provisional) {
    lines.push(`> **PROVISIONAL**: ${m.provisional}`);
    lines.push('');
  }
  lines.push(mdTable(['', ''], [
    ['machine', `${m.cpuModel}, ${m.cpus} CPUs, ${m.memGiB} GiB, ${m.os}`],
    ['node', `${m.node} (V8 ${m.v8})`],
    ['compiler', m.cc ?? 'none (C rows skipped)'],
    ['command', `\`${m.command}\``],
    ['settings', `threads ${m.options.threads.join(',')}; ${m.options.rounds} rounds × ${m.options.durationMs} ms after warm-up (fresh workers: until two rounds agree within 20 %, at most ${m.options.warmupMs} ms); single-thread tasks ${m.options.microMs} ms each over ${m.options.rounds} interleaved rounds`],
    ['wall time', `${m.wallSeconds.toFixed(0)} s`],
    ['load average (1 min)', `${m.loadAverage.start.toFixed(1)} at start, ${m.loadAverage.end.toFixed(1)} at end (${m.cpus} CPUs; some VMs report 2–3 while idle)`],
    ['CPUs busy before the run', m.busyBeforeRunPercent == null ? 'not measured (no /proc/stat)' : `${m.busyBeforeRunPercent} % over 0.5 s (other work; near 0 on a quiet machine)`],
  ]));
  lines.push('');
  lines.push('Median of the rounds; ±% is half the range of the rounds, in % of the median. Single-thread ns/op');
  lines.push('rows: each round is the median tinybench sample, and the tasks of a table run interleaved, round by');
  lines.push('round, so outside load hits them alike. `thr ×` ratios are throughput ratios (higher = faster), `cost ×`');
  lines.push('ratios are time ratios (lower = faster), both against rows of the same table, measured in this run.');
  lines.push('One work unit is one 32-bit LCG step, the same loop in JS and C. "check" is the data check each');
  lines.push('cell runs (exact counters, paired fields, untorn records). "sleeps/op" in a worker row is the');
  lines.push("process's voluntary context switches per operation (each blocking Atomics.wait or futex wait is one):");
  lines.push('near 0 means the threads spun or ran alone, 2 per round trip means each side slept once.');
  lines.push('');
  lines.push('## Targets');
  lines.push('');
  lines.push(mdTable(['target', 'measured', 'result'], result.targets.map((t) => [t.text, t.measured, t.verdict])));
  lines.push('');
  const summaries = scalingSummaries(result.tables);
  if (summaries.length) {
    lines.push('## Throughput vs threads (ops/s, median)');
    lines.push('');
    for (const s of summaries) {
      lines.push(`### ${s.key}`);
      lines.push('');
      lines.push(mdTable(['implementation', ...s.threads.map((t) => `${t} thr`)], s.series.map((x) => [x.label, ...x.points.map((p) => fmtValue(p, 'ops/s'))])));
      lines.push('');
    }
  }
  lines.push('## Tables');
  for (const suite of result.suites) {
    lines.push('');
    lines.push(`### ${suite.title}`);
    for (const t of result.tables.filter((x) => x.suite === suite.id)) {
      lines.push('');
      lines.push(`**${t.title}** (${t.unit}, ${t.unit === 'ops/s' ? 'higher' : 'lower'} is better)`);
      lines.push('');
      lines.push(mdTable(headers(t).filter((h, i) => h !== '' || i === 0), t.rows.map((r) => cells(t, r).filter((_, i) => headers(t)[i] !== ''))));
    }
    if (suite.footnote) lines.push('', `\\* ${suite.footnote}`);
  }
  lines.push('');
  lines.push('## Implementations');
  lines.push('');
  lines.push(mdTable(['name', 'what'], Object.entries(result.about).map(([k, v]) => [k, v])));
  lines.push('');
  return lines.join('\n');
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

/** SVG chart: one panel per scenario, throughput (log scale) vs threads, one line per implementation. */
export function svgChart(result) {
  const panels = scalingSummaries(result.tables);
  const W = 460;
  const H = 320;
  const cols = Math.min(2, Math.max(1, panels.length));
  const rows = Math.ceil(panels.length / cols) || 1;
  const out = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${cols * W}" height="${rows * H + 40}" font-family="sans-serif" font-size="11">`);
  out.push(`<rect width="100%" height="100%" fill="white"/>`);
  out.push(`<text x="10" y="22" font-size="14" font-weight="bold">sablock: throughput vs threads — ${esc(result.meta.machine)}, ${esc(result.meta.date)}${result.meta.provisional ? ' (provisional)' : ''}</text>`);
  panels.forEach((p, k) => {
    const ox = (k % cols) * W;
    const oy = 40 + Math.floor(k / cols) * H;
    const L = 60, R = 130, T = 24, B = 36;
    const pw = W - L - R, ph = H - T - B;
    const vals = p.series.flatMap((s) => s.points).filter((v) => v > 0);
    if (!vals.length) return;
    const lo = Math.floor(Math.log10(Math.min(...vals)));
    const hi = Math.ceil(Math.log10(Math.max(...vals)));
    const span = Math.max(1, hi - lo);
    const x = (i) => ox + L + (p.threads.length === 1 ? pw / 2 : (i / (p.threads.length - 1)) * pw);
    const y = (v) => oy + T + ph - ((Math.log10(v) - lo) / span) * ph;
    out.push(`<text x="${ox + L}" y="${oy + 14}" font-weight="bold">${esc(p.key)}</text>`);
    out.push(`<rect x="${ox + L}" y="${oy + T}" width="${pw}" height="${ph}" fill="none" stroke="#999"/>`);
    for (let e = lo; e <= hi; e++) {
      const yy = y(10 ** e);
      out.push(`<line x1="${ox + L}" x2="${ox + L + pw}" y1="${yy}" y2="${yy}" stroke="#eee"/>`);
      out.push(`<text x="${ox + L - 4}" y="${yy + 4}" text-anchor="end">${fmtValue(10 ** e, 'ops/s').replace(/\.0+ /, ' ')}</text>`);
    }
    p.threads.forEach((t, i) => out.push(`<text x="${x(i)}" y="${oy + T + ph + 14}" text-anchor="middle">${t}</text>`));
    out.push(`<text x="${ox + L + pw / 2}" y="${oy + T + ph + 30}" text-anchor="middle">threads</text>`);
    p.series.forEach((s, j) => {
      const c = COLORS[j % COLORS.length];
      const dash = s.label.startsWith('c-') ? ' stroke-dasharray="5,3"' : s.label.startsWith('js-') || s.label.startsWith('v8-') || s.label.startsWith('node-') ? ' stroke-dasharray="2,2"' : '';
      const pts = s.points.map((v, i) => (v > 0 ? `${x(i).toFixed(1)},${y(v).toFixed(1)}` : null)).filter(Boolean);
      if (pts.length > 1) out.push(`<polyline points="${pts.join(' ')}" fill="none" stroke="${c}" stroke-width="${s.label.startsWith('c-') || s.label.includes('-') ? 1.5 : 2.5}"${dash}/>`);
      for (const pt of pts) {
        const [px, py] = pt.split(',');
        out.push(`<circle cx="${px}" cy="${py}" r="2.5" fill="${c}"/>`);
      }
      const ly = oy + T + 8 + j * 14;
      out.push(`<line x1="${ox + L + pw + 8}" x2="${ox + L + pw + 26}" y1="${ly}" y2="${ly}" stroke="${c}" stroke-width="2"${dash}/>`);
      out.push(`<text x="${ox + L + pw + 30}" y="${ly + 4}">${esc(s.label)}</text>`);
    });
  });
  out.push('</svg>');
  return out.join('\n');
}

function esc(s) {
  return String(s).replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}
