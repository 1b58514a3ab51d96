/**
 * `LockManager.query()`: a snapshot of every resource's holders and waiters, main table and fast
 * path together, like Web Locks' `navigator.locks.query()` plus modes and wait times. Owners found
 * dead on the way are released and the snapshot is taken again, so they are never shown.
 */
import { keyHex } from './hash.js';
import { IS, IX, lubOfMask, maskNames, MODE_COUNT, MODE_NAMES, type LockMode } from './modes.js';
import { nowStamp, stampAge, PARTITIONS, R_HOLD, R_HOME, R_ORDER, R_OWNER, R_SINCE, R_TICKET, R_WAIT, waitedMode, type LockTable } from './table.js';
import { deadRecord, deadThreadOwner, releaseOwner } from './owners.js';
import { threadIdOf } from '../core/thread.js';

/** One holder of a resource in a `query()` snapshot. */
export interface LockHolderInfo {
  /** Owner id: a thread's (threadId + 1), a transaction id from `newOwner()`, or an async task's (`ResourceLock.owner`). */
  owner: number;
  /** The least upper bound of the modes held. */
  mode: LockMode;
  /** Every mode held (each with at least one acquisition). */
  modes: LockMode[];
  /** Acquisitions held, all modes together. */
  count: number;
  /** Of `count`, the IS/IX acquisitions held in the fast path (absent when none). */
  fastPath?: number;
  /** For an async task's owner (`acquireAsync` without `owner`): the `threadId` it runs in. */
  thread?: number;
  /** For an async task's owner: its request's place in request order (a ticket of the table's one counter). */
  order?: number;
}

/** One waiter on a resource in a `query()` snapshot. */
export interface LockWaiterInfo {
  /** Owner id: a thread's (threadId + 1), a transaction id from `newOwner()`, or an async task's (`ResourceLock.owner`). */
  owner: number;
  /** The mode requested. */
  mode: LockMode;
  /** Milliseconds waited so far. */
  waitingMs: number;
  /** True if the owner already holds something there (a conversion, served first). */
  conversion: boolean;
  /** For an async task's owner: the `threadId` it runs in. */
  thread?: number;
  /** For an async task's owner: the wait's ticket (FIFO order, across the whole table). */
  order?: number;
}

/** A resource in a `query()` snapshot. */
export interface LockResourceInfo {
  /** The path that created the entry (JSON text, maybe truncated to `nameBytes`). */
  resource: string;
  /** The 64-bit key in hex. Paths with the same key share the entry. */
  key: string;
  /** Owners holding the resource. */
  holders: LockHolderInfo[];
  /** In FIFO order. */
  waiters: LockWaiterInfo[];
}

/** `lm.query()`: like Web Locks' `navigator.locks.query()`, plus modes and wait times. */
export interface LockManagerSnapshot {
  /** Every resource with holders or waiters, with both. */
  resources: LockResourceInfo[];
  /** Web Locks style: one entry per (resource, holder); `mode` is the least upper bound of its modes. */
  held: {
    /** The resource's path (JSON text, maybe truncated to `nameBytes`). */
    resource: string;
    /** The holder's owner id. */
    owner: number;
    /** The least upper bound of the modes it holds there. */
    mode: LockMode;
  }[];
  /** Web Locks style: one entry per waiting request, FIFO per resource. */
  pending: {
    /** The resource's path (JSON text, maybe truncated to `nameBytes`). */
    resource: string;
    /** The waiter's owner id. */
    owner: number;
    /** The mode requested. */
    mode: LockMode;
    /** Milliseconds waited so far. */
    waitingMs: number;
  }[];
}

/**
 * A snapshot of every resource's holders and waiters. Owners found dead (their thread exited)
 * are released first and never shown.
 */
export function query(t: LockTable): LockManagerSnapshot {
  for (;;) {
    const dead = new Set<number>();
    const snap = snapshot(t, dead);
    if (dead.size === 0) return snap;
    // A dead thread runs no more requests: release what it left, then look again.
    for (const o of dead) releaseOwner(t, o);
  }
}

/** A resource's name for messages: its path text, or its key when no name was kept. */
export function entryName(t: LockTable, e: number): string {
  const n = t.nameOf(e);
  return n !== '' ? n : `key ${keyHex(t.keyLo(e), t.keyHi(e))}`;
}

/** One snapshot; adds to `dead` every owner seen whose thread has died. */
function snapshot(t: LockTable, dead: Set<number>): LockManagerSnapshot {
  const resources: LockResourceInfo[] = [];
  const stamp = nowStamp();
  // One consistent snapshot: every fast-path group, then every partition (fastpath.ts,
  // invariant 4). Read piecemeal, a hold moving between a slot and the table could be counted
  // twice (read in the table, released, taken again in a slot, read there).
  t.fp.lockAllGroups();
  try {
    t.lockAll(true); // read-only: a death in here leaves nothing torn (table.ts S_READER)
  } catch (e) {
    t.fp.unlockAllGroups(); // a partition was refused: hold nothing when it propagates
    throw e;
  }
  try {
    for (let p = 0; p < PARTITIONS; p++) {
      t.forEachEntryIn(p, (e) => {
        const info: LockResourceInfo = { resource: entryName(t, e), key: keyHex(t.keyLo(e), t.keyHi(e)), holders: [], waiters: [] };
        const waiters: [number, LockWaiterInfo][] = [];
        t.forEachRecord(e, (r) => {
          const hold = t.field(r, R_HOLD);
          const owner = t.field(r, R_OWNER);
          if (deadRecord(t, r)) dead.add(owner);
          const home = t.field(r, R_HOME); // an async task's thread owner id, else 0
          if (hold !== 0) {
            let count = 0;
            for (let m = 0; m < MODE_COUNT; m++) count += t.count(r, m);
            const h: LockHolderInfo = { owner, mode: MODE_NAMES[lubOfMask(hold)]!, modes: maskNames(hold), count };
            if (home !== 0) {
              h.thread = threadIdOf(home);
              h.order = t.field(r, R_ORDER);
            }
            info.holders.push(h);
          }
          const wm = waitedMode(t.field(r, R_WAIT));
          if (wm >= 0) {
            const waitingMs = stampAge(stamp, t.field(r, R_SINCE));
            const ticket = t.field(r, R_TICKET);
            const wi: LockWaiterInfo = { owner, mode: MODE_NAMES[wm]!, waitingMs, conversion: hold !== 0 };
            if (home !== 0) {
              wi.thread = threadIdOf(home);
              wi.order = ticket;
            }
            waiters.push([ticket, wi]);
          }
        });
        // A Web Locks fast holder (table.ts "Fast words"): an X hold of its thread, no record.
        const f = t.fastHolder(e);
        if (f !== 0) {
          if (deadThreadOwner(f)) dead.add(f);
          info.holders.push({ owner: f, mode: 'X', modes: ['X'], count: 1, thread: threadIdOf(f), order: t.fastOrder(e) });
        }
        waiters.sort((x, y) => (x[0] - y[0]) | 0);
        info.waiters = waiters.map((x) => x[1]);
        // A fast holder that left between the entry walk's look and ours leaves nothing to show.
        if (info.holders.length + info.waiters.length > 0) resources.push(info);
      });
    }
    addFastPath(t, resources, dead);
  } finally {
    t.unlockAll();
    t.fp.unlockAllGroups();
  }
  const held = resources.flatMap((r) => r.holders.map((h) => ({ resource: r.resource, owner: h.owner, mode: h.mode })));
  const pending = resources.flatMap((r) =>
    r.waiters.map((w) => ({ resource: r.resource, owner: w.owner, mode: w.mode, waitingMs: w.waitingMs })),
  );
  return { resources, held, pending };
}

/**
 * Adds the fast-path holders (IS/IX) to a query() snapshot, merged into the resource of the
 * same key and into the same owner's holder entry if the main table has them too.
 */
function addFastPath(t: LockTable, resources: LockResourceInfo[], dead: Set<number>): void {
  const byKey = new Map<string, LockResourceInfo>();
  for (const r of resources) byKey.set(r.key, r);
  t.fp.forEachHeld((owner, lo, hi, isN, ixN, nameByte) => {
    if (deadThreadOwner(owner)) dead.add(owner);
    const key = keyHex(lo, hi);
    let info = byKey.get(key);
    if (info === undefined) {
      const name = t.nameAt(nameByte);
      info = { resource: name !== '' ? name : `key ${key}`, key, holders: [], waiters: [] };
      byKey.set(key, info);
      resources.push(info);
    }
    const mask = (isN > 0 ? 1 << IS : 0) | (ixN > 0 ? 1 << IX : 0);
    const h = info.holders.find((x) => x.owner === owner);
    if (h === undefined) {
      info.holders.push({ owner, mode: MODE_NAMES[lubOfMask(mask)]!, modes: maskNames(mask), count: isN + ixN, fastPath: isN + ixN });
    } else {
      let all = mask;
      for (const m of h.modes) all |= 1 << MODE_NAMES.indexOf(m);
      h.mode = MODE_NAMES[lubOfMask(all)]!;
      h.modes = maskNames(all);
      h.count += isN + ixN;
      h.fastPath = (h.fastPath ?? 0) + isN + ixN;
    }
  });
}
