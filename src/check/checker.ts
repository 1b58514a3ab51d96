/**
 * The lock-order verifier, per thread: the hooks' implementation over the shared state.
 *
 * Model (Linux lockdep, FreeBSD WITNESS): locks are grouped in **classes** (a name, or the
 * construction site of an unnamed lock). Each thread keeps the stack of locks it holds; acquiring
 * class `b` while holding class `a` records the edge `a -> b` ("a acquired before b") in a graph
 * shared by every thread. The first time an edge is seen, the verifier looks for a path back from
 * `b` to `a`: if there is one, some interleaving of the threads that recorded those edges can
 * deadlock, although none did. That check runs only on new edges; an edge already known costs one
 * bit test.
 *
 * ## Shared (read) acquisitions
 * Each edge carries a type: how the earlier lock was held (E exclusive / S shared) × how the later
 * one was acquired (R: a read that never waits behind a queued writer, i.e. `readerPreferring`;
 * N: anything else). As in lockdep's recursive-read rule, a cycle is only a deadlock if it is
 * "strong": it never passes through a lock by arriving with an R acquisition and leaving while
 * holding it shared (-(*R)-> -(S*)->), because such a lock is only held and wanted by readers,
 * which do not block each other. A reader that can wait behind a writer (the default) orders like
 * an exclusive acquisition, so a reader queued behind a writer does close a cycle.
 *
 * ## What else it checks
 * - recursive: a blocking acquisition of a lock the thread already holds (a read re-entry is fine
 *   only for `readerPreferring` locks);
 * - rank: `rank` options, and `declareOrder([...])` lists, checked on each new edge;
 * - not-owner: a release of a lock this thread does not hold;
 * - held-across-await: a blocking-acquired lock still held when the microtask queued at its
 *   acquisition runs, i.e. after the current task yielded (await, or the end of the macrotask);
 * - main-thread-block: the main thread about to block in `Atomics.wait`;
 * - exit-with-locks: a worker exiting (its own `'exit'`) or terminated (its parent's `'exit'`
 *   event, from the held list the worker publishes in its thread slot) while holding locks;
 * - deadlock: a blocked thread wakes every watchdog period, republishes "waiting for class X,
 *   owner T" in its slot and follows owners through the other slots; a cycle back to itself,
 *   seen twice with the same waits, every wait older than `deadlockTimeout`, each owner's own
 *   held list naming the class waited for (owner ids can be stale), is a deadlock.
 *
 * ## Known limits
 * - Locks acquired with a bare `lockAsync()` are tracked (not-owner, exit-with-locks) but order
 *   nothing: they belong to a task, not the thread, and concurrent tasks of one thread would make
 *   false edges. Inside `withLockAsync` (`runHolding`) the verifier knows the task (an
 *   AsyncLocalStorage scope), so locks taken there, sync or async, are ordered after it, until
 *   the callback settles; contexts inherited from the scope that run later hold nothing.
 * - Two instances of one class nested in one thread make no edge (no instance-level order).
 * - Waits-for edges need the owner; shared-mode owners are unknown (0), so reader-only waits
 *   stop the deadlock search.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { isMainThread, threadId } from 'node:worker_threads';
import { LockOrderError } from '../core/errors.js';
import { now } from '../core/futex.js';
import { OWNER_ID } from '../core/thread.js';
import type { CheckedLock, CheckHooks } from './hooks.js';
import {
  banner,
  heldText,
  q,
  scenario,
  stackBlock,
  threadName,
  type HeldLock,
  type LockOrderEdge,
  type LockOrderKind,
  type LockOrderReport,
  type LockOrderStack,
} from './report.js';
import {
  E_FROM,
  E_THREAD,
  E_TO,
  H_DEADLOCK_MS,
  H_HOLD_STACKS,
  H_MODE,
  MAX_CLASSES,
  MAX_EDGES,
  MAX_THREADS,
  SLOT_HELD,
  T_HELD,
  T_HELD_COUNT,
  T_ID,
  T_STACK_SEQ,
  T_WAIT_CLASS,
  T_WAIT_OWNER,
  T_WAIT_SEQ,
  T_WAIT_SHARED,
  T_WAIT_SINCE,
  type SharedState,
} from './state.js';

/** What to do with a violation: print it, throw it, record it only, or call a function. */
export type OnViolation = 'warn' | 'throw' | 'silent' | ((report: LockOrderReport) => void);

/** Mode numbers stored in the shared header for threads that cannot share a function. */
export const MODE_WARN = 0;
export const MODE_THROW = 1;
export const MODE_SILENT = 2;

/** How a report shows an edge seen after the edge table was full (no thread, no stack kept). */
export const UNRECORDED = `first seen in a thread not recorded: the edge table is full (${MAX_EDGES} edges; lockcheck.dropped().edges counts the rest)`;

/** Edge type bits: the earlier lock was held shared; the later one is a recursive read. */
const TYPE_HELD_SHARED = 2;
const TYPE_RECURSIVE_READ = 1;

const SHARED = 1;
const ASYNC = 2;

interface ClassInfo {
  readonly cls: number;
  readonly name: string;
  readonly rank: number | undefined;
  readonly recursiveRead: boolean;
}

const INFO = Symbol('sablock.lockcheck');

/**
 * One lock held by an async scope (`runHolding`), linked to the locks of enclosing scopes. Timers
 * and promises created in the scope inherit it (AsyncLocalStorage) and may run after the lock was
 * released: `released` is set when the scope's callback has settled, and such holds are skipped.
 */
interface ScopeHold {
  readonly lock: CheckedLock;
  readonly info: ClassInfo;
  readonly shared: boolean;
  readonly outer: ScopeHold | undefined;
  released: boolean;
}

/** This thread's verifier (one per thread, created when the verifier is enabled in it). */
export class Checker implements CheckHooks {
  readonly state: SharedState;
  /** The function given to enable() in this thread, if any; else the shared mode applies. */
  callback: ((r: LockOrderReport) => void) | undefined;
  /** Local mode set by enable() in this thread (-1: use the shared header's). */
  localMode = -1;
  readonly #slot: number;

  // Held-lock stack, as parallel arrays (no allocation per acquisition).
  readonly #lock: CheckedLock[] = [];
  readonly #cls: number[] = [];
  readonly #mode: number[] = [];
  readonly #rank: (number | undefined)[] = [];
  readonly #turn: number[] = [];
  readonly #site: (string | undefined)[] = [];

  #turnNow = 0;
  #turnCheckQueued = false;
  readonly #turnCheck = (): void => this.#checkTurn();
  /** Locks held by the current async scope (withLockAsync); undefined outside any. */
  readonly #scope = new AsyncLocalStorage<ScopeHold>();

  constructor(state: SharedState) {
    this.state = state;
    this.#slot = state.claimThreadSlot(OWNER_ID);
  }

  // ---- hooks ----------------------------------------------------------------------------------------

  onAcquire(lock: CheckedLock, shared: boolean, async: boolean): void {
    const info = this.#info(lock);
    const recursiveRead = shared && info.recursiveRead;
    for (let k = this.#lock.length - 1; k >= 0; k--) {
      const mode = this.#mode[k]!;
      // Async holds order nothing (see "Known limits").
      if ((mode & ASYNC) !== 0) continue;
      if (this.#same(this.#lock[k]!, lock)) {
        // An async acquisition by the holder waits like any other task (API contract).
        if (async) continue;
        if (recursiveRead && (mode & SHARED) !== 0) continue;
        this.#recursive(info, (mode & SHARED) !== 0, shared);
        continue;
      }
      const from = this.#cls[k]!;
      if (from === info.cls) continue; // two instances of one class: no edge (known limit)
      const type = ((mode & SHARED) !== 0 ? TYPE_HELD_SHARED : 0) | (recursiveRead ? TYPE_RECURSIVE_READ : 0);
      // Fast path: a known edge is one bit test (state invariant 2).
      if (!this.state.hasEdgeType(type, from, info.cls)) this.#newEdge(from, this.#rank[k], info, type, shared);
    }
    // Locks held by the enclosing async scopes of this task (withLockAsync).
    for (let s = this.#scope.getStore(); s !== undefined; s = s.outer) {
      if (s.released) continue; // a context inherited from a scope whose lock is released since
      if (this.#same(s.lock, lock)) {
        // The task waits for a lock it holds itself: nothing else will release it.
        if (!(recursiveRead && s.shared)) this.#recursive(s.info, s.shared, shared);
        continue;
      }
      const from = s.info.cls;
      if (from === info.cls) continue;
      const type = (s.shared ? TYPE_HELD_SHARED : 0) | (recursiveRead ? TYPE_RECURSIVE_READ : 0);
      if (!this.state.hasEdgeType(type, from, info.cls)) this.#newEdge(from, s.info.rank, info, type, shared);
    }
  }

  runHolding<T>(lock: CheckedLock, shared: boolean, fn: () => T): T {
    const hold: ScopeHold = { lock, info: this.#info(lock), shared, outer: this.#scope.getStore(), released: false };
    const end = (): void => {
      hold.released = true;
    };
    let result: T;
    try {
      result = this.#scope.run(hold, fn);
    } catch (e) {
      end();
      throw e;
    }
    // The caller releases the lock once `fn` (and what it returned) settled: the hold ends there
    // for every context that inherited the scope.
    if (isThenable(result)) return Promise.resolve(result).finally(end) as T;
    end();
    return result;
  }

  onAcquired(lock: CheckedLock, shared: boolean, async: boolean): void {
    const info = this.#info(lock);
    const n = this.#lock.length;
    this.#lock.push(lock);
    this.#cls.push(info.cls);
    this.#mode.push((shared ? SHARED : 0) | (async ? ASYNC : 0));
    this.#rank.push(info.rank);
    this.#turn.push(async ? Infinity : this.#turnNow);
    this.#site.push(this.state.setting(H_HOLD_STACKS) === 1 ? captureStack() : undefined);
    if (this.#slot >= 0) {
      // Plain writes: diagnostics for watchdogs and parents (state memory-ordering notes).
      const a = this.state.i32;
      if (n < SLOT_HELD) a[this.#slot + T_HELD + n] = info.cls;
      a[this.#slot + T_HELD_COUNT] = n + 1;
    }
    if (!async && !this.#turnCheckQueued) {
      this.#turnCheckQueued = true;
      queueMicrotask(this.#turnCheck);
    }
  }

  onRelease(lock: CheckedLock, shared: boolean, owner: number): void {
    for (let k = this.#lock.length - 1; k >= 0; k--) {
      if (this.#same(this.#lock[k]!, lock) && ((this.#mode[k]! & SHARED) !== 0) === shared) {
        this.#remove(k);
        return;
      }
    }
    // Held according to the lock word although we never saw it taken: it was acquired before
    // the verifier was enabled in this thread. Not a violation.
    if (owner === OWNER_ID) return;
    const info = this.#info(lock);
    const what =
      owner === 0
        ? shared
          ? `this thread holds no shared lock on it`
          : `it is not locked`
        : `it is held by ${threadName(owner - 1)}`;
    const stack = captureStack();
    const message = [
      banner('not-owner'),
      `${threadName(threadId)} is releasing ${q(info.name)}${shared ? ' (shared)' : ''}, but ${what}.`,
      '',
      stackBlock('release at:', stack),
      '',
      heldText(threadId, this.#heldList()),
    ].join('\n');
    const threads = owner > 0 ? [threadId, owner - 1] : [threadId];
    this.report(
      { kind: 'not-owner', message, locks: [info.name], threads, stacks: [{ label: 'release', thread: threadId, stack }] },
      `not-owner:${info.cls}:${owner === 0 ? 'free' : 'other'}`,
      true,
    );
  }

  onWait(lock: CheckedLock, shared: boolean, owner: number): void {
    const info = this.#info(lock);
    if (isMainThread) this.#mainThreadBlock(info, shared);
    const s = this.#slot;
    if (s < 0) return;
    const a = this.state.i32;
    // Publish the waits-for entry; the class word goes last, it is what marks the slot waiting.
    Atomics.store(a, s + T_WAIT_OWNER, owner);
    Atomics.store(a, s + T_WAIT_SHARED, shared ? 1 : 0);
    Atomics.store(a, s + T_WAIT_SINCE, this.#clock());
    Atomics.add(a, s + T_WAIT_SEQ, 1); // a new wait: watchdogs compare sequence numbers
    Atomics.store(a, s + T_WAIT_CLASS, info.cls + 1);
  }

  onWaitEnd(): void {
    const s = this.#slot;
    if (s < 0) return;
    Atomics.store(this.state.i32, s + T_WAIT_CLASS, 0);
    Atomics.add(this.state.i32, s + T_WAIT_SEQ, 1); // the wait is over
  }

  waitChecked(
    lock: CheckedLock,
    shared: boolean,
    deadline: number,
    abandonable: boolean,
    attempt: (deadline: number) => boolean,
    owner: () => number,
  ): boolean {
    this.onWait(lock, shared, owner());
    try {
      const timeout = Math.max(1, this.state.setting(H_DEADLOCK_MS));
      const period = Math.min(250, Math.max(5, timeout / 4));
      const start = now();
      let lastKey = '';
      let stackPublished = false;
      for (;;) {
        if (attempt(Math.min(deadline, now() + period))) return true;
        if (now() >= deadline) return false;
        if (this.#slot < 0) continue;
        // Still waiting: refresh the owner (it may have changed hands) and look for a cycle.
        Atomics.store(this.state.i32, this.#slot + T_WAIT_OWNER, owner());
        const waited = now() - start;
        if (!stackPublished && waited >= timeout / 2) {
          stackPublished = true;
          const seq = Atomics.load(this.state.i32, this.#slot + T_WAIT_SEQ);
          this.state.setSlotStack(this.#slot, seq, captureStack());
        }
        if (waited < timeout) continue;
        const cycle = this.#waitsForCycle(timeout);
        const key = cycle === undefined ? '' : cycle.map((c) => `${c.slot}:${c.seq}:${c.owner}`).join(',');
        if (key !== '' && key === lastKey) this.#deadlock(cycle!, abandonable);
        lastKey = key;
      }
    } finally {
      this.onWaitEnd();
    }
  }

  constructionSite(kind: string): string {
    const frame = firstFrame(captureStack());
    return frame === '' ? kind : `${kind} at ${frame}`;
  }

  // ---- public helpers for lockcheck ----------------------------------------------------------------

  /** Reports what a thread exiting now still holds (its own 'exit' event). */
  exitCheck(): void {
    if (isMainThread) return;
    if (this.#lock.length === 0) {
      this.releaseSlot();
      return;
    }
    const held = this.#heldList();
    const message = [
      banner('exit-with-locks'),
      `${threadName(threadId)} is exiting while holding ${held.length} lock${held.length === 1 ? '' : 's'}; ` +
        'threads waiting for them may hang (or see owner-died).',
      '',
      heldText(threadId, held),
    ].join('\n');
    const stacks = held
      .filter((h) => h.site !== undefined)
      .map((h) => ({ label: `${q(h.cls)} acquired`, thread: threadId, stack: h.site! }));
    this.report(
      { kind: 'exit-with-locks', message, locks: held.map((h) => h.cls), threads: [threadId], stacks },
      `exit-with-locks:${threadId}`,
      false,
    );
    this.releaseSlot();
  }

  /** Called in the parent after worker `id` exited: reports what its slot says it held. */
  exitedWorker(id: number): void {
    const s = this.state.findThreadSlot(id + 1);
    if (s < 0) return;
    const count = this.state.i32[s + T_HELD_COUNT]!;
    if (count > 0) {
      const locks = this.state.slotHeld(s).map((c) => this.state.className(c));
      const message = [
        banner('exit-with-locks'),
        `${threadName(id)} exited (or was terminated) while holding ${count} lock${count === 1 ? '' : 's'}: ` +
          `${locks.map(q).join(', ')}${count > locks.length ? ', …' : ''}.`,
        'Threads waiting for them may hang (or see owner-died). Seen by its parent, ' + `${threadName(threadId)}.`,
      ].join('\n');
      this.report({ kind: 'exit-with-locks', message, locks, threads: [id], stacks: [] }, `exit-with-locks:${id}`, false);
    }
    this.state.releaseThreadSlot(s, id + 1);
  }

  releaseSlot(): void {
    if (this.#slot >= 0) this.state.releaseThreadSlot(this.#slot, OWNER_ID);
  }

  /** Locks this thread holds, for reports and tests. */
  held(): HeldLock[] {
    return this.#heldList();
  }

  /**
   * Records `r` under `key` (once per key, across threads) and reacts: throws LockOrderError when
   * the mode is 'throw' and `canThrow` (with `onlyFirst`, only if this call recorded it), else
   * warns/calls back the first time only.
   */
  report(r: LockOrderReport, key: string, canThrow: boolean, onlyFirst = false): boolean {
    const recorded = this.state.addReport(key, JSON.stringify(r));
    const mode = this.localMode >= 0 ? this.localMode : this.state.setting(H_MODE);
    if (this.callback !== undefined) {
      if (recorded) this.callback(r);
      return recorded;
    }
    // `onlyFirst`: only the thread that recorded it throws (one deadlock victim, not all).
    if (mode === MODE_THROW && canThrow && (recorded || !onlyFirst)) throw new LockOrderError(r.message, r);
    if (recorded && mode !== MODE_SILENT) process.stderr.write(`${r.message}\n`);
    return recorded;
  }

  // ---- internals ------------------------------------------------------------------------------------

  #info(lock: CheckedLock): ClassInfo {
    const cached = (lock as unknown as Record<symbol, ClassInfo | undefined>)[INFO];
    if (cached !== undefined && cached.cls < MAX_CLASSES) return cached;
    const name = lock.lockClass ?? lock.name;
    const info: ClassInfo = {
      cls: this.state.classId(name),
      name,
      rank: lock.rank,
      recursiveRead: lock.readerPreferring === true,
    };
    // Cached on the lock object (non-enumerable): later acquisitions skip the class lookup.
    Object.defineProperty(lock, INFO, { value: info, configurable: true });
    return info;
  }

  #same(a: CheckedLock, b: CheckedLock): boolean {
    return a === b || (a.buffer !== undefined && a.buffer === b.buffer && a.byteOffset === b.byteOffset);
  }

  #remove(k: number): void {
    const n = this.#lock.length - 1;
    if (k === n) {
      // The usual case, releases in reverse order: pop, no copying.
      this.#lock.pop();
      this.#cls.pop();
      this.#mode.pop();
      this.#rank.pop();
      this.#turn.pop();
      this.#site.pop();
    } else {
      this.#lock.splice(k, 1);
      this.#cls.splice(k, 1);
      this.#mode.splice(k, 1);
      this.#rank.splice(k, 1);
      this.#turn.splice(k, 1);
      this.#site.splice(k, 1);
    }
    if (this.#slot >= 0) {
      const a = this.state.i32;
      for (let j = k; j < n && j < SLOT_HELD; j++) a[this.#slot + T_HELD + j] = this.#cls[j]!;
      a[this.#slot + T_HELD_COUNT] = n;
    }
  }

  #heldList(): HeldLock[] {
    return this.#lock.map((_, k) => ({
      cls: this.state.className(this.#cls[k]!),
      shared: (this.#mode[k]! & SHARED) !== 0,
      async: (this.#mode[k]! & ASYNC) !== 0,
      site: this.#site[k],
    }));
  }

  #clock(): number {
    return (Date.now() % 0x4000_0000) | 0;
  }

  #checkTurn(): void {
    this.#turnCheckQueued = false;
    const t = this.#turnNow++;
    for (let k = 0; k < this.#lock.length; k++) {
      if (this.#turn[k]! > t) continue;
      this.#turn[k] = Infinity; // reported (or deduplicated) once per hold
      const cls = this.state.className(this.#cls[k]!);
      const message = [
        banner('held-across-await'),
        `${threadName(threadId)} took ${q(cls)} with a blocking call and still holds it after yielding to the ` +
          'event loop (an await, a promise callback or the end of the task). Other tasks of this thread now run ' +
          'with it held; one that locks it throws or blocks the whole thread. Release it before awaiting, or ' +
          'use lockAsync()/withLockAsync() for locks held across awaits.',
        '',
        heldText(threadId, this.#heldList()),
      ].join('\n');
      const site = this.#site[k];
      this.report(
        {
          kind: 'held-across-await',
          message,
          locks: [cls],
          threads: [threadId],
          stacks: site === undefined ? [] : [{ label: `${q(cls)} acquired`, thread: threadId, stack: site }],
        },
        `held-across-await:${this.#cls[k]}`,
        false,
      );
    }
  }

  #recursive(info: ClassInfo, heldShared: boolean, shared: boolean): void {
    const stack = captureStack();
    const why =
      heldShared && shared
        ? 'a second read lock waits behind any queued writer, which waits for the first read lock'
        : heldShared || shared
          ? 'a lock held in one mode cannot be taken again in the other mode by the same thread'
          : 'the lock is not reentrant: the thread would wait for itself forever';
    const message = [
      banner('recursive'),
      `${threadName(threadId)} is acquiring ${q(info.name)}${shared ? ' (shared)' : ''}, which it already holds` +
        `${heldShared ? ' (shared)' : ''}: ${why}.`,
      '',
      stackBlock('new acquisition at:', stack),
      '',
      heldText(threadId, this.#heldList()),
      '',
      'Possible scenario:',
      '',
      `    thread A`,
      `    --------`,
      `    lock(${q(info.name)})`,
      `    lock(${q(info.name)})   <- waits for thread A: itself`,
      '',
      '    *** DEADLOCK ***',
    ].join('\n');
    this.report(
      {
        kind: 'recursive',
        message,
        locks: [info.name],
        threads: [threadId],
        stacks: [{ label: `new acquisition of ${q(info.name)}`, thread: threadId, stack }],
      },
      `recursive:${info.cls}:${heldShared ? 1 : 0}${shared ? 1 : 0}`,
      true,
    );
  }

  #mainThreadBlock(info: ClassInfo, shared: boolean): void {
    const stack = captureStack();
    const message = [
      banner('main-thread-block'),
      `The main thread is about to block in Atomics.wait for ${q(info.name)}${shared ? ' (shared)' : ''}, ` +
        'which another thread holds: its event loop (timers, I/O, worker messages) stops until then. ' +
        'Use lockAsync() on the main thread.',
      '',
      stackBlock('blocking acquisition at:', stack),
      '',
      heldText(threadId, this.#heldList()),
    ].join('\n');
    this.report(
      {
        kind: 'main-thread-block',
        message,
        locks: [info.name],
        threads: [threadId],
        stacks: [{ label: `blocking acquisition of ${q(info.name)}`, thread: threadId, stack }],
      },
      `main-thread-block:${info.cls}`,
      true,
    );
  }

  /** A new edge from -> info: rank checks and cycle search under the table lock, then record. */
  #newEdge(from: number, heldRank: number | undefined, info: ClassInfo, type: number, shared: boolean): void {
    const st = this.state;
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
      throwing = (path !== undefined || rankBroken || declaredBroken) && this.#throws();
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
    if (rankBroken || declaredBroken) this.#rankReport(from, heldRank, info, shared, stack, declaredBroken);
    if (path !== undefined) this.#cycleReport(from, info, type, shared, stack, path);
  }

  #throws(): boolean {
    if (this.callback !== undefined) return false;
    const mode = this.localMode >= 0 ? this.localMode : this.state.setting(H_MODE);
    return mode === MODE_THROW;
  }

  #rankReport(
    from: number,
    heldRank: number | undefined,
    info: ClassInfo,
    shared: boolean,
    stack: string,
    declared: boolean,
  ): void {
    const held = this.state.className(from);
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
      heldText(threadId, this.#heldList()),
    ].join('\n');
    this.report(
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

  #cycleReport(from: number, info: ClassInfo, type: number, shared: boolean, stack: string, path: PathEdge[]): void {
    const st = this.state;
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
      heldText(threadId, this.#heldList()),
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
    this.report({ kind: 'lock-order', message: lines.join('\n'), locks, threads, stacks, edges: cycle }, key, true);
  }

  /** Follows waits-for owners from this thread's slot; the cycle back to it, if any. */
  #waitsForCycle(timeout: number): WaitEntry[] | undefined {
    const st = this.state;
    const a = st.i32;
    const clock = this.#clock();
    const out: WaitEntry[] = [];
    let s = this.#slot;
    for (let hops = 0; hops < MAX_THREADS; hops++) {
      const cls = Atomics.load(a, s + T_WAIT_CLASS);
      if (cls === 0) return undefined;
      const since = Atomics.load(a, s + T_WAIT_SINCE);
      if ((((clock - since) % 0x4000_0000) + 0x4000_0000) % 0x4000_0000 < timeout) return undefined;
      const owner = Atomics.load(a, s + T_WAIT_OWNER);
      out.push({
        slot: s,
        id: Atomics.load(a, s + T_ID),
        cls: cls - 1,
        owner,
        shared: Atomics.load(a, s + T_WAIT_SHARED) === 1,
        seq: Atomics.load(a, s + T_WAIT_SEQ),
      });
      const next = st.findThreadSlot(owner);
      if (next < 0) return undefined;
      // The owner id a waiter published may be stale (the lock changed hands since, and the waiter
      // has not run to refresh it). The owner's own held list is updated before every release, so
      // require it to name the class waited for; in a real deadlock every list is frozen.
      if (!this.#slotHolds(next, cls - 1)) return undefined;
      if (next === this.#slot) return out;
      if (out.some((w) => w.slot === next)) return undefined; // a cycle without us: its members report it
      s = next;
    }
    return undefined;
  }

  #slotHolds(slot: number, cls: number): boolean {
    const a = this.state.i32;
    const n = a[slot + T_HELD_COUNT]!;
    if (n > SLOT_HELD) return true; // deeper than the list: cannot tell, assume held
    for (let k = 0; k < n; k++) if (a[slot + T_HELD + k] === cls) return true;
    return false;
  }

  #deadlock(cycle: WaitEntry[], abandonable: boolean): void {
    const st = this.state;
    const threads = cycle.map((w) => w.id - 1);
    const locks = cycle.map((w) => st.className(w.cls));
    const lines = [
      banner('deadlock'),
      `${cycle.length} threads are blocked, each waiting for a lock the next one holds:`,
      '',
    ];
    const stacks: LockOrderStack[] = [];
    cycle.forEach((w, j) => {
      const held = st.slotHeld(w.slot).map((c) => st.className(c));
      lines.push(
        `  ${threadName(w.id - 1)} waits for ${q(locks[j]!)}${w.shared ? ' (shared)' : ''}, held by ` +
          `${threadName(w.owner - 1)}; it holds ${held.length ? held.map(q).join(', ') : 'nothing listed'}`,
      );
      const stack = Atomics.load(st.i32, w.slot + T_STACK_SEQ) === w.seq ? st.slotStack(w.slot) : '';
      stacks.push({ label: `${threadName(w.id - 1)} waiting for ${q(locks[j]!)}`, thread: w.id - 1, stack });
    });
    lines.push('');
    for (const s of stacks) lines.push(stackBlock(`${s.label}:`, s.stack), '');
    lines.push(
      abandonable && this.#throws()
        ? `${threadName(threadId)} gives up its wait with LockOrderError to break the deadlock.`
        : 'The threads stay blocked.',
    );
    const key = `deadlock:${[...threads].sort((x, y) => x - y).join(',')}:${[...locks].sort().join(',')}`;
    this.report({ kind: 'deadlock', message: lines.join('\n'), locks, threads, stacks }, key, abandonable, true);
  }
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return (typeof v === 'object' || typeof v === 'function') && v !== null && typeof (v as { then?: unknown }).then === 'function';
}

interface WaitEntry {
  slot: number;
  id: number;
  cls: number;
  owner: number;
  shared: boolean;
  seq: number;
}

interface PathEdge {
  from: number;
  to: number;
  type: number;
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

// ---- stacks -------------------------------------------------------------------------------------------

/**
 * The library's own directory, to drop its frames from stacks: `dist/` for the bundle, or `src/`
 * when stacks are source-mapped back to the sources (as under test runners).
 */
const SELF = libraryDir(fileOfFrame((new Error().stack ?? '').split('\n')[1] ?? ''));

function libraryDir(file: string): string {
  const src = file.lastIndexOf('/src/check/');
  if (src >= 0) return file.slice(0, src + 5);
  const slash = Math.max(file.lastIndexOf('/'), file.lastIndexOf('\\'));
  return slash >= 0 ? file.slice(0, slash + 1) : file;
}

function fileOfFrame(line: string): string {
  return locationOf(line).replace(/:\d+:\d+$/, '');
}

/** The `path:line:col` part of one stack line. */
function locationOf(line: string): string {
  const t = line.trim();
  const m = /\(([^()]*)\)$/.exec(t);
  return (m !== null ? m[1]! : t.replace(/^at\s+/, '')).replace(/^file:\/\//, '');
}

/** The caller's stack without the library's frames, at most 12 frames. */
export function captureStack(): string {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 40;
  const holder: { stack?: string } = {};
  Error.captureStackTrace(holder, captureStack);
  Error.stackTraceLimit = limit;
  const lines = (holder.stack ?? '').split('\n').slice(1);
  const out: string[] = [];
  for (const l of lines) {
    if (SELF !== '' && l.includes(SELF)) continue;
    out.push(l.trim());
    if (out.length === 12) break;
  }
  return out.join('\n');
}

/** `path:line:col` of a stack's first frame. */
function firstFrame(stack: string): string {
  return locationOf(stack.split('\n')[0] ?? '');
}
