// A tiny stand-in for the part of prom-client this example uses (Registry, Counter, Gauge,
// Histogram with labels and `collect`), so the example runs without `npm install`. It writes the
// same Prometheus text exposition format (version 0.0.4); it is not a replacement for prom-client
// (no default metrics, no aggregation across processes, no OpenMetrics).

const escapeLabel = (v) => String(v).replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
const formatLabels = (labels) => {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
  return parts.length === 0 ? '' : `{${parts.join(',')}}`;
};
const formatValue = (v) => (v === Infinity ? '+Inf' : v === -Infinity ? '-Inf' : Number.isNaN(v) ? 'NaN' : String(v));
const keyOf = (labels) => JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));

export class Registry {
  contentType = 'text/plain; version=0.0.4; charset=utf-8';
  #metrics = [];
  registerMetric(m) {
    this.#metrics.push(m);
  }
  async metrics() {
    const out = [];
    for (const m of this.#metrics) {
      if (m.collect) await m.collect.call(m);
      out.push(`# HELP ${m.name} ${m.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`, `# TYPE ${m.name} ${m.type}`, ...m.lines());
    }
    return `${out.join('\n')}\n`;
  }
}

class Metric {
  constructor(type, { name, help, labelNames = [], registers = [], collect }) {
    if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(name)) throw new TypeError(`invalid metric name ${name}`);
    Object.assign(this, { type, name, help, labelNames, collect });
    this.values = new Map(); // label key → { labels, value }
    for (const r of registers) r.registerMetric(this);
  }
  /** prom-client style arguments: (labels, value) or (value). */
  static args(a, b, dflt) {
    return typeof a === 'object' && a !== null ? [a, b ?? dflt] : [{}, a ?? dflt];
  }
  reset() {
    this.values.clear();
  }
  entry(labels) {
    for (const k of Object.keys(labels)) if (!this.labelNames.includes(k)) throw new TypeError(`${this.name}: unknown label ${k}`);
    const key = keyOf(labels);
    let e = this.values.get(key);
    if (e === undefined) this.values.set(key, (e = this.fresh(labels)));
    return e;
  }
  fresh(labels) {
    return { labels, value: 0 };
  }
  /** Like prom-client's `get()` for counters and gauges: `{ name, help, type, values: [{ labels, value }] }`. */
  async get() {
    if (this.collect) await this.collect.call(this);
    const values = [...this.values.values()].map(({ labels, value }) => ({ labels, value }));
    return { name: this.name, help: this.help, type: this.type, values };
  }
  lines() {
    return [...this.values.values()].map((e) => `${this.name}${formatLabels(e.labels)} ${formatValue(e.value)}`);
  }
}

export class Counter extends Metric {
  constructor(config) {
    super('counter', config);
  }
  inc(a, b) {
    const [labels, v] = Metric.args(a, b, 1);
    if (!(v >= 0)) throw new RangeError(`${this.name}: a counter only goes up (got ${v})`);
    this.entry(labels).value += v;
  }
}

export class Gauge extends Metric {
  constructor(config) {
    super('gauge', config);
  }
  set(a, b) {
    const [labels, v] = Metric.args(a, b, 0);
    this.entry(labels).value = v;
  }
}

export class Histogram extends Metric {
  constructor(config) {
    super('histogram', config);
    this.buckets = [...(config.buckets ?? [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10])].sort((x, y) => x - y);
  }
  fresh(labels) {
    return { labels, counts: this.buckets.map(() => 0), sum: 0, count: 0 };
  }
  observe(a, b) {
    const [labels, v] = Metric.args(a, b, 0);
    const e = this.entry(labels);
    for (let k = 0; k < this.buckets.length; k++) if (v <= this.buckets[k]) e.counts[k]++;
    e.sum += v;
    e.count++;
  }
  lines() {
    const out = [];
    for (const e of this.values.values()) {
      this.buckets.forEach((le, k) => out.push(`${this.name}_bucket${formatLabels({ ...e.labels, le })} ${e.counts[k]}`));
      out.push(`${this.name}_bucket${formatLabels({ ...e.labels, le: '+Inf' })} ${e.count}`);
      out.push(`${this.name}_sum${formatLabels(e.labels)} ${formatValue(e.sum)}`);
      out.push(`${this.name}_count${formatLabels(e.labels)} ${e.count}`);
    }
    return out;
  }
}
