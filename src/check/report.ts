/**
 * What the verifier reports and how it reads: the structured `LockOrderReport` and its message.
 *
 * The text follows what Linux lockdep and FreeBSD WITNESS print for the same bugs, so it is
 * familiar: a one-line headline naming the kind, the acquisition that triggered it with its stack,
 * the locks the thread holds, for a cycle every edge with the stack where it was first seen (from
 * whichever thread saw it), and a two-thread "possible scenario" table showing how the cycle
 * deadlocks.
 */

/** The violation kinds the verifier reports. */
export type LockOrderKind =
  | 'lock-order'
  | 'recursive'
  | 'not-owner'
  | 'rank'
  | 'held-across-await'
  | 'main-thread-block'
  | 'exit-with-locks'
  | 'deadlock';

/** One stack in a report: what it shows, the thread it was taken in, the frames. */
export interface LockOrderStack {
  /** What this stack is, e.g. `new acquisition of "b"` or `"a" -> "b" first seen`. */
  label: string;
  /** `threadId` of the thread the stack was taken in (0 = main thread). */
  thread: number;
  /** The frames, one per line (empty when the verifier could not keep it). */
  stack: string;
}

/** One edge of a reported cycle: `from` was held when `to` was acquired. */
export interface LockOrderEdge {
  /** Class of the lock that was held. */
  from: string;
  /** Class of the lock acquired while `from` was held. */
  to: string;
  /** How `from` was held: `'exclusive'` or `'shared'` (read). */
  held: 'exclusive' | 'shared';
  /** How `to` was acquired: `'exclusive'`, `'shared'` (read) or `'shared, recursive'` (a read that never waits behind a writer). */
  acquired: 'exclusive' | 'shared' | 'shared, recursive';
  /**
   * Thread that first acquired in this order; -1 when the edge was first seen after the edge
   * table was full (counted in `lockcheck.dropped().edges`), so neither thread nor stack was kept.
   */
  thread: number;
  /** Its stack at that moment ('' when not kept: edge table or stack area full). */
  stack: string;
}

/** One violation found by the verifier, recorded once and readable from every thread. */
export interface LockOrderReport {
  /** What kind of violation this is. */
  kind: LockOrderKind;
  /** The human-readable report (what `'warn'` prints). */
  message: string;
  /** Lock classes involved (for a cycle: in cycle order, starting at the held lock). */
  locks: string[];
  /** `threadId`s involved, the reporting thread first (for a deadlock: every thread in it). */
  threads: number[];
  /** The stacks the report shows (the triggering acquisition, held locks, cycle edges). */
  stacks: LockOrderStack[];
  /** For `'lock-order'`: every edge of the cycle, the closing one first. */
  edges?: LockOrderEdge[];
}

/** A lock this thread holds, as shown in a report. */
export interface HeldLock {
  cls: string;
  shared: boolean;
  async: boolean;
  site: string | undefined;
}

export const q = (cls: string): string => JSON.stringify(cls);

export function threadName(id: number): string {
  return id === 0 ? 'main thread (0)' : `thread ${id}`;
}

function indent(stack: string, pad = '    '): string {
  if (stack === '') return `${pad}(stack not recorded)`;
  return stack
    .split('\n')
    .map((l) => pad + l.trim())
    .join('\n');
}

export function heldText(thread: number, held: readonly HeldLock[]): string {
  if (held.length === 0) return `${threadName(thread)} holds no locks.`;
  const lines = [`${threadName(thread)} holds ${held.length} lock${held.length === 1 ? '' : 's'}:`];
  held.forEach((h, k) => {
    const how = `${h.shared ? 'shared' : 'exclusive'}${h.async ? ', async' : ''}`;
    lines.push(`  #${k}: ${q(h.cls)} (${how})${h.site === undefined ? '' : ', acquired at:'}`);
    if (h.site !== undefined) lines.push(indent(h.site, '      '));
  });
  return lines.join('\n');
}

const HEADLINES: Record<LockOrderKind, string> = {
  'lock-order': 'possible deadlock: lock order inversion',
  recursive: 'possible self-deadlock: re-acquiring a lock this thread holds',
  'not-owner': 'releasing a lock this thread does not hold',
  rank: 'lock rank / declared order violated',
  'held-across-await': 'blocking lock held across an await (event-loop turn)',
  'main-thread-block': 'blocking wait on the main thread',
  'exit-with-locks': 'thread exited holding locks',
  deadlock: 'DEADLOCK: threads wait for each other',
};

/** The banner that opens every message. */
export function banner(kind: LockOrderKind): string {
  const title = `sablock lockcheck: ${HEADLINES[kind]} [${kind}]`;
  return `${'='.repeat(Math.min(title.length, 100))}\n${title}\n${'='.repeat(Math.min(title.length, 100))}`;
}

export function stackBlock(title: string, stack: string): string {
  return `${title}\n${indent(stack)}`;
}

/**
 * The two-thread scenario for the cycle `held -> acquiring -> … -> parent -> held`: thread A holds
 * `held` and wants `acquiring`; thread B (standing for the rest of the chain) holds `parent` and
 * wants `held`.
 */
export function scenario(held: string, acquiring: string, parent: string, chainLength: number): string {
  const w = 40;
  const row = (a: string, b = ''): string => `    ${a.padEnd(w)}${b}`.trimEnd();
  const lines = [
    'Possible scenario (two threads; with a longer chain, other threads hold the locks in between):',
    '',
    row('thread A', 'thread B'),
    row('--------', '--------'),
    row(`lock(${q(held)})`),
    row('', `lock(${q(parent)})`),
    row('', `lock(${q(held)})     <- waits for A`),
    row(`lock(${q(acquiring)})`, ''),
    row(`  <- waits for ${chainLength > 2 ? 'the chain ending in B' : 'B'}`),
    '',
    '    *** DEADLOCK ***',
  ];
  return lines.join('\n');
}

/**
 * DOT text of the acquired-before graph. Edges with `recorded: false` (seen after the edge table
 * was full: no thread, no stack, no cycle mark kept) are drawn dashed, and a comment counts them.
 */
export function dot(
  names: readonly string[],
  edges: readonly { from: number; to: number; types: number; cycle: boolean; recorded?: boolean }[],
): string {
  const lines = [
    'digraph lockcheck {',
    '  // acquired-before graph: an edge a -> b means b was acquired while a was held',
    '  rankdir=LR;',
    '  node [shape=box, fontname="monospace"];',
  ];
  const unrecorded = edges.filter((e) => e.recorded === false).length;
  if (unrecorded > 0) {
    lines.push(
      `  // ${unrecorded} edges have no record (edge table full): drawn dashed; their first thread and stack, ` +
        'and whether they lie on a reported cycle, were not kept',
    );
  }
  const onCycle = new Set<number>();
  for (const e of edges) if (e.cycle) onCycle.add(e.from).add(e.to);
  names.forEach((n, id) => {
    lines.push(`  c${id} [label=${q(n)}${onCycle.has(id) ? ', color=red, penwidth=2' : ''}];`);
  });
  for (const e of edges) {
    const attrs: string[] = [];
    const label = typeLabel(e.types);
    if (label !== '') attrs.push(`label=${q(label)}`);
    if (e.cycle) attrs.push('color=red', 'penwidth=2');
    if (e.recorded === false) attrs.push('style=dashed');
    lines.push(`  c${e.from} -> c${e.to}${attrs.length ? ` [${attrs.join(', ')}]` : ''};`);
  }
  lines.push('}');
  return lines.join('\n') + '\n';
}

/** Edge-type bits (1 << type, type = heldShared·2 + recursiveRead) as a short label. */
function typeLabel(types: number): string {
  if (types === 1) return '';
  const parts: string[] = [];
  for (let t = 0; t < 4; t++) {
    if ((types & (1 << t)) === 0) continue;
    parts.push(`${t & 2 ? 'S' : 'E'}${t & 1 ? 'R' : 'N'}`);
  }
  return parts.join(',');
}
