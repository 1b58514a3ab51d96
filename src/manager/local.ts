/**
 * The lock manager's local bookkeeping: what this thread knows of the locks each owner holds
 * through it (plain JS, never shared). The shared table says who holds what; this says which
 * handle took which acquisition, which fast-path slot a hold went to, and what an escalation
 * replaced, so that each handle releases exactly what it took.
 *
 * `OwnerState` holds an owner's paths as a tree of `LocalLock`s (one per path component, found by
 * one Map lookup per component, cached when idle). A `LocalLock` counts, per mode, the
 * acquisitions it added to the shared record (`shared`) and those an escalation replaced
 * (`esc`); `fast[IS]`, `fast[IX]` say how many of `shared[IS]`, `shared[IX]` went through the fast
 * path (a release of one of those looks in the owner's slot first, then in the main table, where
 * a strong request may have moved it). A handle remembers (lock, mode) per level; releasing a
 * level takes back one shared acquisition of that mode if there is one, else one replaced
 * acquisition. Both kinds of one mode on one path stand for one acquisition each, so which handle
 * gives back which does not matter: the totals stay right, and the coarse hold goes with the last
 * replaced one.
 *
 * ## Invariants (per thread and owner)
 * 1. For each path, `shared[m]` = the acquisitions of mode m this thread's live handles added to
 *    the owner's shared record; the shared record's count may be larger (other threads using the
 *    same owner id) but never smaller, unless `releaseAll(owner)` ran (then the state is closed
 *    and every handle of it is a no-op).
 * 2. A lock is in its parent's `children` iff its `sharedTotal > 0`.
 * 3. `escMode ≥ 0` ⇔ this thread holds one extra acquisition of `escMode` on the shared record
 *    for an escalation, and `escRefsBelow` > 0 counts the covered acquisitions below it.
 */
import { hashPart, keyOfState, partText, ROOT_HASH, type HashState, type PathPart, type ResourcePath } from './hash.js';
import { intentionFor, MODE_COUNT } from './modes.js';
import { strongIndex, type FastKey } from './fastpath.js';

/** Idle LocalLocks an owner state keeps cached before it prunes them. */
const IDLE_LIMIT = 4096;

export class OwnerState {
  /**
   * The owner's paths as a tree: root component → LocalLock, then each lock's `kids`. No path
   * text is built or hashed to find a lock: one Map lookup per component (42 and '42' are
   * different Map keys, as they are different resources).
   */
  readonly roots = new Map<PathPart, LocalLock>();
  /** LocalLocks left in the tree with nothing held (a cache: reused without hashing). */
  idle = 0;
  pruneAt = IDLE_LIMIT;
  closed = false;
  /**
   * @param home 0 for a thread's or an explicit owner; for the owner of one `acquireAsync`
   *   without `owner` (an async task), this thread's owner id: its records carry it (R_HOME).
   */
  constructor(
    readonly owner: number,
    readonly home = 0,
  ) {}
}

export class LocalLock implements FastKey {
  /** Next components below this one, created on first use. */
  kids: Map<PathPart, LocalLock> | undefined;
  /** In the tree only as a cache (nothing held, no handle refers to it); see `forget`. */
  idle = false;
  readonly lo: number;
  readonly hi: number;
  /** strongIndex(lo, hi): the key's strong counter (fastpath.ts). */
  readonly ctr: number;
  /** Fast-path slot hint (fastpath.ts); -1 = none yet. */
  fpSlot = -1;
  /** Of `shared[IS]`, `shared[IX]`: how many were taken through the fast path (may have been moved to the main table since). */
  readonly fast = [0, 0];
  /** Running hash of the text up to this component, for the children's keys. */
  readonly hash: HashState;
  #text: string | undefined;
  /** Acquisitions per mode added to the shared record through this thread. */
  readonly shared = [0, 0, 0, 0, 0, 0];
  sharedTotal = 0;
  /** Acquisitions covered by an ancestor's escalation (no shared record). */
  esc = 0;
  coveredBy: LocalLock | undefined;
  /**
   * Direct children with shared acquisitions (escalation candidates), in any order: an array with
   * swap-removal (each child knows its place, `childAt`), cheaper than a Set on every request.
   */
  readonly children: LocalLock[] = [];
  /** Index in the parent's `children`, or -1. */
  childAt = -1;
  /** Mode of the escalation hold on this lock, or -1. */
  escMode = -1;
  /** Acquisitions below that the escalation hold covers. */
  escRefsBelow = 0;
  nextEscalationAt: number;
  constructor(
    readonly part: PathPart,
    readonly parent: LocalLock | undefined,
    hashBits: number,
    threshold: number,
  ) {
    this.hash = hashPart(parent === undefined ? ROOT_HASH : parent.hash, part);
    const [lo, hi] = keyOfState(this.hash, hashBits);
    this.lo = lo;
    this.hi = hi;
    this.ctr = strongIndex(lo, hi);
    this.nextEscalationAt = threshold;
  }
  #chain: readonly LocalLock[] | undefined;
  #path: ResourcePath | undefined;
  /** This lock and its ancestors, root first (built on first use, then shared by every request on the path). */
  get chain(): readonly LocalLock[] {
    return (this.#chain ??= Object.freeze(this.parent === undefined ? [this] : [...this.parent.chain, this]));
  }
  /** The path, frozen (built on first use). */
  get path(): ResourcePath {
    return (this.#path ??= Object.freeze(this.chain.map((L) => L.part)));
  }
  /** Canonical text of the path (= JSON.stringify of it), built on first use. */
  get text(): string {
    if (this.#text === undefined) {
      const p = partText(this.part);
      this.#text = this.parent === undefined ? '[' + p + ']' : this.parent.text.slice(0, -1) + ',' + p + ']';
    }
    return this.#text;
  }
}

/** MODES[m][n]: the modes of an n-level request for mode m (intention modes, then m), shared. */
const MODES: (readonly number[])[][] = Array.from({ length: MODE_COUNT }, () => []);

export function modesFor(n: number, m: number): readonly number[] {
  let modes = MODES[m]![n];
  if (modes === undefined) {
    const intention = intentionFor(m);
    modes = Object.freeze(Array.from({ length: n }, (_, k) => (k === n - 1 ? m : intention)));
    MODES[m]![n] = modes;
  }
  return modes;
}

export function noteShared(L: LocalLock, mode: number): void {
  if (L.sharedTotal++ === 0 && L.parent !== undefined) {
    L.childAt = L.parent.children.length;
    L.parent.children.push(L);
  }
  L.shared[mode]!++;
}

/** Takes L out of its parent's `children` (swap with the last one). */
export function leaveParent(L: LocalLock): void {
  const P = L.parent;
  if (P === undefined || L.childAt < 0) return;
  const last = P.children.pop()!;
  if (last !== L) {
    P.children[L.childAt] = last;
    last.childAt = L.childAt;
  }
  L.childAt = -1;
}

function unused(L: LocalLock): boolean {
  return L.sharedTotal === 0 && L.esc === 0 && L.escMode < 0 && L.children.length === 0 && L.escRefsBelow === 0;
}

/**
 * Marks a LocalLock nobody refers to any more as idle: it stays in the tree as a cache (so the
 * next request on that path neither allocates nor hashes), until the owner has more than
 * `pruneAt` idle ones; then every idle leaf goes.
 */
export function forget(st: OwnerState, L: LocalLock): void {
  if (L.idle || !unused(L)) return;
  L.idle = true;
  if (++st.idle > st.pruneAt) {
    prune(st, st.roots);
    st.pruneAt = Math.max(IDLE_LIMIT, 2 * st.idle);
  }
}

/** Removes idle LocalLocks without kids from a level of the tree (children first). */
function prune(st: OwnerState, map: Map<PathPart, LocalLock>): void {
  for (const [part, L] of map) {
    if (L.kids !== undefined) prune(st, L.kids);
    if (!L.idle) continue;
    if (!unused(L)) {
      // Taken again by a request in flight since it went idle (async interleaving).
      L.idle = false;
      st.idle--;
    } else if (L.kids === undefined || L.kids.size === 0) {
      map.delete(part);
      L.idle = false;
      st.idle--;
    }
  }
}

/**
 * The LocalLock of `path` in `st`'s tree, created (with its ancestors) on first use; a cached idle
 * one comes back into use with fresh escalation bookkeeping.
 */
export function localLockOf(st: OwnerState, path: ResourcePath, hashBits: number, threshold: number): LocalLock {
  let parent: LocalLock | undefined;
  let map = st.roots;
  const n = path.length;
  for (let k = 0; k < n; k++) {
    const part = path[k]!;
    let L = map.get(part);
    if (L === undefined) {
      L = new LocalLock(part, parent, hashBits, threshold);
      map.set(part, L);
    } else if (L.idle) {
      // A cached lock comes back into use: fresh escalation bookkeeping.
      L.idle = false;
      st.idle--;
      L.nextEscalationAt = threshold;
    }
    parent = L;
    if (k < n - 1) map = L.kids ??= new Map();
  }
  return parent!;
}
