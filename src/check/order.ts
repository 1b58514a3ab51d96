/**
 * The acquired-before graph: what happens the first time a thread acquires class `b` while
 * holding class `a` (a new edge `a -> b` in the graph every thread shares, state.ts): rank and
 * declared-order checks, the search for a path back from `b` to `a`, recording the edge, and the
 * `rank` and `lock-order` reports. An edge already known never gets here (one bit test in
 * `Checker.onAcquire`).
 *
 * ## Edge types (shared acquisitions)
 * Each edge carries a type: how the earlier lock was held (E exclusive / S shared) × how the later
 * one was acquired (R: a read that never waits behind a queued writer, i.e. `readerPreferring`;
 * N: anything else). As in lockdep's recursive-read rule, a cycle is only a deadlock if it is
 * "strong": it never passes through a lock by arriving with an R acquisition and leaving while
 * holding it shared (-(*R)-> -(S*)->), because such a lock is only held and wanted by readers,
 * which do not block each other. A reader that can wait behind a writer (the default) orders like
 * an exclusive acquisition, so a reader queued behind a writer does close a cycle.
 */
import { threadId } from 'node:worker_threads';
import type { Checker } from './checker.js';
import type { ClassInfo } from './held.js';
import { banner, heldText, q, scenario, stackBlock, threadName, type LockOrderEdge, type LockOrderStack } from './report.js';
import { captureStack } from './stacks.js';
import { E_THREAD, MAX_CLASSES, MAX_EDGES } from './state-layout.js';
import type { SharedState } from './state.js';

/** Edge type bits: the earlier lock was held shared; the later one is a recursive read. */
export const TYPE_HELD_SHARED = 2;
export const TYPE_RECURSIVE_READ = 1;

/** How a report shows an edge seen after the edge table was full (no thread, no stack kept). */
export const UNRECORDED = `first seen in a thread not recorded: the edge table is full (${MAX_EDGES} edges; lockcheck.dropped().edges counts the rest)`;

interface PathEdge {
  from: number;
  to: number;
  type: number;
}

/** A new edge from -> info: rank checks and cycle search under the table lock, then record. */
export function newEdge(
  c: Checker,
  from: number,
  heldRank: number | undefined,
  info: ClassInfo,
  type: number,
  shared: boolean,
): void {
  const st = c.state;
  const to = info.cls;
  const stack = captureStack();
  const rankBroken = heldRank !== undefined && info.rank !== undefined && heldRank >= info.rank;
  if (!st.lock()) return; // table lock lost to a dead thread: skip rather than hang
  let path: PathEdge[] | undefined;
  let declaredBroken = false;
  let throwing = false;
  try {
    // Re-check under the lock: another thread may have added it meanwhile.
    if (st.hasEdgeType(type, from, to)) return;
    declaredBroken = st.declared(to, from);
    path = findStrongPath(st, to, from, type);
    throwing = (path !== undefined || rankBroken || declaredBroken) && c.throws();
    // With 'throw' the acquisition does not happen, so the edge is not recorded and every later
    // attempt throws again; otherwise record it (and report once, below).
    if (!throwing) {
      const e = st.addEdgeLocked(from, to, type, threadId, stack);
      if (path !== undefined) {
        st.markCycleEdge(e);
        for (const p of path) st.markCycleEdge(st.findEdge(p.from, p.to));
      }
    }
  } finally {
    st.unlock();
  }
  if (rankBroken || declaredBroken) rankReport(c, from, heldRank, info, shared, stack, declaredBroken);
  if (path !== undefined) cycleReport(c, from, info, type, shared, stack, path);
}

function rankReport(
  c: Checker,
  from: number,
  heldRank: number | undefined,
  info: ClassInfo,
  shared: boolean,
  stack: string,
  declared: boolean,
): void {
  const held = c.state.className(from);
  const rule = declared
    ? `the declared order puts ${q(info.name)} before ${q(held)}`
    : `${q(held)} has rank ${heldRank} and ${q(info.name)} rank ${info.rank}; ranks must increase`;
  const message = [
    banner('rank'),
    `${threadName(threadId)} is acquiring ${q(info.name)}${shared ? ' (shared)' : ''} while holding ${q(held)}, ` +
      `but ${rule}.`,
    '',
    stackBlock('new acquisition at:', stack),
    '',
    heldText(threadId, c.held()),
  ].join('\n');
  c.report(
    {
      kind: 'rank',
      message,
      locks: [held, info.name],
      threads: [threadId],
      stacks: [{ label: `new acquisition of ${q(info.name)}`, thread: threadId, stack }],
    },
    `rank:${from}:${info.cls}`,
    true,
  );
}

function cycleReport(
  c: Checker,
  from: number,
  info: ClassInfo,
  type: number,
  shared: boolean,
  stack: string,
  path: PathEdge[],
): void {
  const st = c.state;
  const heldName = st.className(from);
  const cycle: LockOrderEdge[] = [
    { from: heldName, to: info.name, held: heldMode(type), acquired: acquiredMode(type), thread: threadId, stack },
  ];
  for (const p of path) {
    const e = st.findEdge(p.from, p.to);
    cycle.push({
      from: st.className(p.from),
      to: st.className(p.to),
      held: heldMode(p.type),
      acquired: acquiredMode(p.type),
      thread: e >= 0 ? st.edgeWord(e, E_THREAD) : -1,
      stack: e >= 0 ? st.edgeStack(e) : '',
    });
  }
  const locks = cycle.map((e) => e.from);
  const threads = [threadId];
  for (const e of cycle) if (e.thread >= 0 && !threads.includes(e.thread)) threads.push(e.thread);
  const parent = cycle[cycle.length - 1]!.from;
  const lines = [
    banner('lock-order'),
    `${threadName(threadId)} is acquiring ${q(info.name)}${shared ? ' (shared)' : ''} while holding ` +
      `${q(heldName)}${(type & TYPE_HELD_SHARED) !== 0 ? ' (shared)' : ''}. Elsewhere ${q(info.name)} was held ` +
      `when ${q(heldName)} was acquired${cycle.length > 2 ? ' (through a chain of locks)' : ''}, so threads ` +
      'taking these locks in these orders at the same time can deadlock. No deadlock happened (yet).',
    '',
    `Cycle (${cycle.length} locks): ${[...locks, heldName].map(q).join(' -> ')}`,
    '',
    stackBlock(`new acquisition of ${q(info.name)} (closes the cycle), ${threadName(threadId)}:`, stack),
    '',
    heldText(threadId, c.held()),
    '',
    'Every edge of the cycle, with the stack where it was first seen:',
  ];
  cycle.forEach((e, j) => {
    lines.push('');
    lines.push(
      stackBlock(
        `[${j}] ${q(e.from)} (${e.held}) -> ${q(e.to)} (${e.acquired}), ` +
          (e.thread >= 0 ? `first seen in ${threadName(e.thread)}${j === 0 ? ' (now)' : ''}:` : `${UNRECORDED}:`),
        e.stack,
      ),
    );
  });
  lines.push('', scenario(heldName, info.name, parent, cycle.length));
  const stacks: LockOrderStack[] = cycle.map((e, j) => ({
    label: j === 0 ? `new acquisition of ${q(e.to)} while holding ${q(e.from)}` : `${q(e.from)} -> ${q(e.to)} first seen`,
    thread: e.thread,
    stack: e.stack,
  }));
  // One report per cycle, whichever edge closes it: key on the cycle's classes, rotated.
  const ids = [from, ...path.map((p) => p.from)];
  const m = ids.indexOf(Math.min(...ids));
  const key = `lock-order:${[...ids.slice(m), ...ids.slice(0, m)].join('>')}`;
  c.report({ kind: 'lock-order', message: lines.join('\n'), locks, threads, stacks, edges: cycle }, key, true);
}

function heldMode(type: number): LockOrderEdge['held'] {
  return (type & TYPE_HELD_SHARED) !== 0 ? 'shared' : 'exclusive';
}
function acquiredMode(type: number): LockOrderEdge['acquired'] {
  return (type & TYPE_RECURSIVE_READ) !== 0 ? 'shared, recursive' : 'exclusive';
}

/**
 * Breadth-first search for a strong path `start` ⇝ `goal` in the acquired-before graph, given the
 * closing edge goal -> start of type `closing`. States are (class, arrived by a recursive read);
 * from a state reached by a recursive read, edges whose earlier lock was held shared are not
 * followed (that pair is -(*R)-> -(S*)->, which readers cannot deadlock on). Returns the path's
 * edges in order, or undefined.
 */
export function findStrongPath(st: SharedState, start: number, goal: number, closing: number): PathEdge[] | undefined {
  const states = 2 * MAX_CLASSES;
  const prev = new Int32Array(states).fill(-1);
  const prevType = new Int8Array(states);
  const seen = new Uint8Array(states);
  const first = start * 2 + (closing & TYPE_RECURSIVE_READ);
  seen[first] = 1;
  const queue = [first];
  const closingHeldShared = (closing & TYPE_HELD_SHARED) !== 0;
  for (let head = 0; head < queue.length; head++) {
    const state = queue[head]!;
    const x = state >> 1;
    const arrivedR = (state & 1) === 1;
    if (x === goal && !(arrivedR && closingHeldShared)) {
      const path: PathEdge[] = [];
      for (let s = state; s !== first; s = prev[s]!) path.unshift({ from: prev[s]! >> 1, to: s >> 1, type: prevType[s]! });
      return path;
    }
    for (let type = 0; type < 4; type++) {
      if (arrivedR && (type & TYPE_HELD_SHARED) !== 0) continue;
      for (let w = 0; w < MAX_CLASSES >>> 5; w++) {
        let bits = st.rowWord(type, x, w);
        while (bits !== 0) {
          const b = 31 - Math.clz32(bits & -bits);
          bits &= bits - 1;
          const next = ((w << 5) + b) * 2 + (type & TYPE_RECURSIVE_READ);
          if (seen[next] === 1) continue;
          seen[next] = 1;
          prev[next] = state;
          prevType[next] = type;
          queue.push(next);
        }
      }
    }
  }
  return undefined;
}
