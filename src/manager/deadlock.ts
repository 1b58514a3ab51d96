/**
 * Waits-for graph search for `LockManager`, as in PostgreSQL's deadlock.c: a request that has
 * waited `deadlockTimeout` takes every partition lock (ascending order, so the graph is one
 * consistent snapshot), builds the graph and looks for a cycle that starts with **its own** wait
 * edges and comes back to its owner. If there is one, that request is on the cycle and is the
 * victim (PostgreSQL also fails the process that ran the check). Starting from the request, not
 * from every wait of its owner, matters when an owner waits in several places: a request waiting
 * only for an owner that waits for nothing must not be failed for a cycle through another
 * request of its owner (that request finds the cycle itself, at its own check).
 *
 * Every waiting request runs this check, including a second request of an owner that already
 * waits on the same resource (it has no queue slot of its own, `requests.ts`): its edges are
 * computed from its own mode, with the FIFO position of its owner's queued record, exactly as the
 * grant rule treats it. So every cycle of waiting requests is found by each request on it whose
 * thread runs its check.
 *
 * Edges follow the grant rule of `table.ts` (invariant 4; one difference, below), so an edge is only drawn where
 * the grant rule really makes one owner wait for another: owner A waiting for mode m on entry e
 * waits for owner B if B holds a mode on e that conflicts with m ("hard" edge), or, when A's
 * request is not a conversion, if B waits on e with an earlier ticket for a mode that conflicts
 * with m (a "soft" edge: FIFO order makes A queue behind B). PostgreSQL would try to reorder the
 * queue to break soft cycles; we fail the request instead, which is safe, only less clever.
 * Under eventual fairness one difference: a soft edge is drawn to an earlier waiter B that is not
 * yet due, which the grant rule ignores for *new* requests, but which the hand-over treats as
 * ahead of A (it nudges B, or skips both), so A stays queued behind B all the same, and B is due
 * within 2 ms. A check inside those 2 ms can report a cycle through that edge a moment before it
 * holds for every path; not filtering such edges keeps the report from waiting a whole
 * `deadlockTimeout` more.
 *
 * Ownership model (docs/lock-manager.md): an owner that has a waiting request releases nothing
 * meanwhile. That is exact for the default owners: a thread's own owner is used by its blocking
 * calls (one at a time: the thread is stopped while it waits), and every `acquireAsync` without
 * an `owner` is an owner of its own (an async task), which waits in one place at most. One more
 * kind of edge follows from it: while a thread is stopped in a blocking `acquire` (its record's
 * R_BLOCKS), every async task of that thread (records with R_HOME = that thread) cannot run, so
 * cannot release: it waits for the owner of that blocking request (`thread` set on the edge).
 * A task holding what its own thread then blocks on is thus a cycle of two edges.
 *
 * The caller holds all partition locks; nothing here locks or writes.
 */
import { SablockError } from '../core/errors.js';
import type { LockTable } from './table.js';
import { PARTITIONS, R_BLOCKS, R_HOLD, R_HOME, R_OWNER, R_TICKET, R_WAIT, waitedMode } from './table.js';
import { conflicts, maskNames, MODE_NAMES, type LockMode } from './modes.js';

/** One edge of a waits-for cycle. */
export interface DeadlockEdge {
  /** The waiting owner. */
  owner: number;
  /** The resource it waits for (the entry's stored name, or its key in hex). */
  resource: string;
  /** The mode it asked for. */
  mode: LockMode;
  /** The owner it waits for. */
  blockedBy: number;
  /** What that owner holds there, or waits for ahead of it. */
  blockerModes: LockMode[];
  /** `true` if the blocker holds a conflicting mode; `false` if it only waits ahead (FIFO) or `thread` is set. */
  held: boolean;
  /**
   * Set when the edge is not a lock wait: `owner` is an async task of the thread with this owner
   * id, which cannot run because that thread is stopped in a blocking `acquire` of `blockedBy`
   * (for `mode` on `resource`).
   */
  thread?: number;
}

interface Waiting {
  e: number;
  r: number;
}

/** The request that runs the check: its owner's record `r` on entry `e`, and its mode. */
export interface CheckingRequest {
  e: number;
  r: number;
  /** The mode this request waits for (the record's R_WAIT − 1, or another request's mode). */
  mode: number;
  /**
   * A blocking request without a queue slot (ticket 0) sets no R_BLOCKS: the owner id of the
   * thread it stops, so the search knows that thread's tasks cannot run (0: none).
   */
  blocks?: number;
}

/**
 * Finds a waits-for cycle that starts with the edges of request `req` (of owner `start`) and
 * comes back to `start`; returns its edges (the first one is `req`'s) or null.
 */
export function findCycle(
  t: LockTable,
  start: number,
  req: CheckingRequest,
  resourceName: (e: number) => string,
): DeadlockEdge[] | null {
  // Every waiting record, by owner; the thread of every task owner; the blocking wait of every
  // stopped thread.
  const waiting = new Map<number, Waiting[]>();
  const homeOf = new Map<number, number>();
  const stopped = new Map<number, Waiting>();
  for (let p = 0; p < PARTITIONS; p++) {
    t.forEachEntryIn(p, (e) => {
      t.forEachRecord(e, (r) => {
        const o = t.field(r, R_OWNER);
        const home = t.field(r, R_HOME);
        if (home !== 0) homeOf.set(o, home);
        if (t.field(r, R_WAIT) === 0) return;
        const blocks = t.field(r, R_BLOCKS);
        if (blocks !== 0) stopped.set(blocks, { e, r });
        let list = waiting.get(o);
        if (list === undefined) waiting.set(o, (list = []));
        list.push({ e, r });
      });
    });
  }
  if (t.field(req.r, R_WAIT) === 0) return null;
  // A stopped thread the table does not show: the checking request's own, blocking without a slot.
  if (req.blocks !== undefined && req.blocks !== 0 && !stopped.has(req.blocks)) stopped.set(req.blocks, { e: req.e, r: req.r });

  // The edges of one request (record w.r's owner, `mode`, at w.r's FIFO position).
  const blockersOf = (w: Waiting, mode = waitedMode(t.field(w.r, R_WAIT))): DeadlockEdge[] => {
    const out: DeadlockEdge[] = [];
    const owner = t.field(w.r, R_OWNER);
    const conversion = t.field(w.r, R_HOLD) !== 0;
    const ticket = t.field(w.r, R_TICKET);
    t.forEachRecord(w.e, (q) => {
      const qo = t.field(q, R_OWNER);
      if (qo === owner) return;
      const hold = t.field(q, R_HOLD);
      const edge = { owner, resource: resourceName(w.e), mode: MODE_NAMES[mode]!, blockedBy: qo };
      if (conflicts(mode, hold)) {
        out.push({ ...edge, blockerModes: maskNames(hold), held: true });
        return;
      }
      const qm = waitedMode(t.field(q, R_WAIT));
      if (!conversion && qm >= 0 && ((t.field(q, R_TICKET) - ticket) | 0) < 0 && conflicts(mode, 1 << qm)) {
        out.push({ ...edge, blockerModes: [MODE_NAMES[qm]!], held: false });
      }
    });
    return out;
  };

  // Depth-first search from req's own edges; an owner already explored without reaching `start`
  // never will. Other owners are expanded through all their waiting records: an owner with a
  // waiting request releases nothing meanwhile (docs/lock-manager.md, ownership model).
  const seen = new Set<number>([start]);
  const path: DeadlockEdge[] = [];
  const follow = (edges: DeadlockEdge[]): boolean => {
    for (const edge of edges) {
      path.push(edge);
      if (edge.blockedBy === start) return true;
      if (!seen.has(edge.blockedBy)) {
        seen.add(edge.blockedBy);
        if (visit(edge.blockedBy)) return true;
      }
      path.pop();
    }
    return false;
  };
  const visit = (o: number): boolean => {
    for (const w of waiting.get(o) ?? []) if (follow(blockersOf(w))) return true;
    // An async task whose thread is stopped in a blocking acquire waits for that request's owner.
    const home = homeOf.get(o);
    const s = home === undefined ? undefined : stopped.get(home);
    if (s !== undefined && t.field(s.r, R_OWNER) !== o) {
      const edge: DeadlockEdge = {
        owner: o,
        resource: resourceName(s.e),
        mode: MODE_NAMES[waitedMode(t.field(s.r, R_WAIT))]!,
        blockedBy: t.field(s.r, R_OWNER),
        blockerModes: [],
        held: false,
        thread: home,
      };
      if (follow([edge])) return true;
    }
    return false;
  };
  return follow(blockersOf(req, req.mode)) ? path : null;
}

/** "owner 3 waits for X on ["db","b"], blocked by owner 4 (holds S)", one line per edge. */
export function describeCycle(edges: DeadlockEdge[]): string {
  return edges
    .map((d) =>
      d.thread !== undefined
        ? `owner ${d.owner} is an async task of thread owner ${d.thread}, which is stopped in a blocking ` +
          `acquire of ${d.mode} on ${d.resource} by owner ${d.blockedBy}`
        : `owner ${d.owner} waits for ${d.mode} on ${d.resource}, blocked by owner ${d.blockedBy} ` +
          `(${d.held ? 'holds' : 'waits ahead for'} ${d.blockerModes.join('+')})`,
    )
    .join('; ');
}

/** A lock-manager request was chosen as the victim of a waits-for cycle. */
export class DeadlockError extends SablockError {
  /** Always `'DeadlockError'`. */
  override name = 'DeadlockError';
  /** Always `'ERR_LOCK_DEADLOCK'`. */
  declare readonly code: 'ERR_LOCK_DEADLOCK';
  /** Every edge of the cycle, the victim's own first (empty if unknown). */
  readonly cycle: readonly DeadlockEdge[];
  constructor(message: string, cycle: readonly DeadlockEdge[] = [], lock?: string) {
    const threads = [...new Set(cycle.flatMap((e) => (e.thread === undefined ? [] : [e.thread - 1])))];
    super('ERR_LOCK_DEADLOCK', message, lock, threads);
    this.cycle = cycle;
  }
}
