/**
 * `lockcheck`: the lock-order verifier's public face (see `checker.ts` for what it checks and
 * `state.ts` for the shared memory behind it).
 *
 * Off by default. `lockcheck.enable()` in the main thread, or `SABLOCK_CHECK=1` (also `=throw`,
 * `=silent`) in the environment, creates the shared state and publishes it with
 * `worker_threads.setEnvironmentData`; every worker started afterwards finds it when it imports
 * sablock and enables itself on the same state, so all threads share one graph and one report
 * list. Locks then take their checked paths (see `hooks.ts`).
 */
import { getEnvironmentData, isMainThread, setEnvironmentData } from 'node:worker_threads';
import { describe, readBoolean } from '../core/layout.js';
import {
  checking,
  install,
  onAcquire,
  onAcquired,
  onRelease,
  onWait,
  onWaitEnd,
  runHolding,
  waitChecked,
  type CheckedLock,
} from '../core/hooks.js';
import { Checker, MODE_SILENT, MODE_THROW, MODE_WARN, type OnViolation } from './checker.js';
import { UNRECORDED } from './order.js';
import { banner, dot, q, stackBlock, threadName, type HeldLock, type LockOrderReport } from './report.js';
import { E_FLAGS, E_FROM, E_THREAD, E_TO, E_TYPES, H_DEADLOCK_MS, H_HOLD_STACKS, H_MODE } from './state-layout.js';
import { SharedState } from './state.js';

export type { LockOrderReport, LockOrderKind, LockOrderStack, LockOrderEdge } from './report.js';
export type { OnViolation } from './checker.js';
export type { CheckedLock } from '../core/hooks.js';

/** Options of `lockcheck.enable()`. */
export interface LockCheckOptions {
  /**
   * What a violation does: `'warn'` (default: print to stderr once per distinct violation),
   * `'throw'` (the offending call throws `LockOrderError` before it blocks), `'silent'` (record
   * only, see `reports()`), or a function called once per distinct violation found in this thread
   * (other threads fall back to `'warn'`).
   */
  onViolation?: OnViolation;
  /** How long (ms) a blocked thread waits before it looks for a waits-for cycle. Default 1000. */
  deadlockTimeout?: number;
  /** Record every acquisition's stack, shown for held locks in reports (slower). Default false. */
  holdStacks?: boolean;
}

const ENV_KEY = 'sablock:lockcheck';
const DEFAULT_DEADLOCK_MS = 1000;

let checker: Checker | undefined;
let parsedCount = 0;
const parsed: LockOrderReport[] = [];

function modeNumber(v: OnViolation): number {
  return v === 'throw' ? MODE_THROW : v === 'silent' ? MODE_SILENT : MODE_WARN;
}

function checkOptions(options: unknown): LockCheckOptions {
  if (options === undefined || options === null) return {};
  if (typeof options !== 'object') throw new TypeError(`options must be an object, got ${describe(options)}`);
  const o = options as LockCheckOptions;
  const v = o.onViolation;
  if (v !== undefined && typeof v !== 'function' && v !== 'warn' && v !== 'throw' && v !== 'silent') {
    throw new TypeError(`options.onViolation must be 'warn', 'throw', 'silent' or a function, got ${describe(v)}`);
  }
  if (o.deadlockTimeout !== undefined) {
    if (typeof o.deadlockTimeout !== 'number') {
      throw new TypeError(`options.deadlockTimeout must be a number, got ${describe(o.deadlockTimeout)}`);
    }
    if (!(o.deadlockTimeout >= 1 && o.deadlockTimeout <= 0x3fff_ffff)) {
      throw new RangeError(`options.deadlockTimeout must be between 1 and 2^30 ms, got ${o.deadlockTimeout}`);
    }
  }
  readBoolean(o.holdStacks, 'options.holdStacks', false);
  return o;
}

let listening = false;

/** Starts the verifier in this thread on `state`. */
function start(state: SharedState): Checker {
  const c = new Checker(state);
  checker = c;
  // Workers this thread starts from now on attach to the same state.
  setEnvironmentData(ENV_KEY, state.buffer);
  if (!listening) {
    listening = true;
    // A worker exiting on its own reports what it still holds, with stacks.
    process.on('exit', () => checker?.exitCheck());
    // A worker that exits or is terminated without running its 'exit' handler: its parent reads
    // its thread slot. The id is read now: after exit, worker.threadId is no longer meaningful.
    process.on('worker', (w) => {
      const id = w.threadId;
      w.once('exit', () => checker?.exitedWorker(id));
    });
  }
  install(c);
  return c;
}

/** The lock-order verifier. */
export const lockcheck = {
  /**
   * Enables the verifier in this thread and, when called in the main thread before workers start,
   * in every worker started afterwards (they share one graph and one report list). Calling it
   * again updates the options.
   */
  enable(options?: LockCheckOptions): void {
    const o = checkOptions(options);
    const c = checker ?? start(new SharedState(envState()));
    const v = o.onViolation ?? 'warn';
    c.callback = typeof v === 'function' ? v : undefined;
    c.localMode = modeNumber(typeof v === 'function' ? 'warn' : v);
    // The main thread's (or a first enabler's) choice is what other threads fall back to.
    if (isMainThread || envState() === undefined) {
      c.state.setSetting(H_MODE, modeNumber(typeof v === 'function' ? 'warn' : v));
    }
    if (o.deadlockTimeout !== undefined || c.state.setting(H_DEADLOCK_MS) === 0) {
      c.state.setSetting(H_DEADLOCK_MS, o.deadlockTimeout ?? DEFAULT_DEADLOCK_MS);
    }
    if (o.holdStacks !== undefined) c.state.setSetting(H_HOLD_STACKS, o.holdStacks ? 1 : 0);
  },

  /** Stops checking in this thread (other threads keep checking). Locks held now are forgotten. */
  disable(): void {
    install(undefined);
    checker?.releaseSlot();
    checker = undefined;
  },

  /** True while the verifier is enabled in this thread. */
  get enabled(): boolean {
    return checker !== undefined;
  },

  /** Every violation recorded so far, by every thread sharing this verifier, oldest first. */
  reports(): LockOrderReport[] {
    const state = checker?.state ?? stateFromEnv();
    if (state === undefined) return [];
    for (const json of state.reportJsons(parsedCount)) {
      parsed.push(JSON.parse(json) as LockOrderReport);
      parsedCount++;
    }
    return parsed.slice();
  },

  /**
   * Declares that the named lock classes must be acquired in this order (each before the ones
   * after it). Checked on every new acquired-before edge; existing edges that contradict it are
   * reported at once. Throws RangeError if it contradicts an earlier declaration.
   */
  declareOrder(classes: readonly string[]): void {
    if (!Array.isArray(classes)) throw new TypeError(`classes must be an array of lock class names, got ${describe(classes)}`);
    classes.forEach((c, k) => {
      if (typeof c !== 'string' || c.length === 0) {
        throw new TypeError(`classes[${k}] must be a non-empty string, got ${describe(c)}`);
      }
    });
    const c = requireChecker('declareOrder');
    const st = c.state;
    const ids = classes.map((n) => st.classId(n));
    for (let i = 0; i < ids.length; i++) {
      for (let j = i + 1; j < ids.length; j++) {
        if (ids[i] === ids[j]) throw new RangeError(`classes: ${q(classes[i]!)} appears twice`);
        if (st.declared(ids[j]!, ids[i]!)) {
          throw new RangeError(
            `classes: ${q(classes[i]!)} before ${q(classes[j]!)} contradicts an earlier declareOrder()`,
          );
        }
      }
    }
    for (let i = 0; i < ids.length; i++) for (let j = i + 1; j < ids.length; j++) st.declare(ids[i]!, ids[j]!);
    // Edges already seen against the new order.
    for (let i = 0; i < ids.length; i++) {
      for (let j = i + 1; j < ids.length; j++) {
        // The bits, not the record: an edge seen after the edge table was full has only its bits.
        if (st.edgeTypes(ids[j]!, ids[i]!) === 0) continue;
        const e = st.findEdge(ids[j]!, ids[i]!);
        const later = classes[j]!;
        const earlier = classes[i]!;
        const thread = e >= 0 ? st.edgeWord(e, E_THREAD) : -1;
        const stack = e >= 0 ? st.edgeStack(e) : '';
        const message = [
          banner('rank'),
          `${q(earlier)} was acquired while holding ${q(later)}, but the order declared now puts ${q(earlier)} first.`,
          '',
          stackBlock(`${q(later)} -> ${q(earlier)} ${thread >= 0 ? `first seen in ${threadName(thread)}` : UNRECORDED}:`, stack),
        ].join('\n');
        c.report(
          {
            kind: 'rank',
            message,
            locks: [later, earlier],
            threads: [thread],
            stacks: [{ label: `${q(later)} -> ${q(earlier)} first seen`, thread, stack }],
          },
          `rank:${ids[j]}:${ids[i]}`,
          false,
        );
      }
    }
  },

  /**
   * The acquired-before graph in Graphviz DOT: one node per lock class, an edge `a -> b` when `b`
   * was acquired while `a` was held (labelled with its modes when reads are involved); edges and
   * classes on a reported cycle are red. Edges first seen after the edge table was full
   * (`dropped().edges`) are drawn dashed, with a comment saying how many.
   */
  toDot(): string {
    const state = checker?.state ?? stateFromEnv();
    if (state === undefined) return dot([], []);
    const names: string[] = [];
    for (let id = 0; id < state.classCount(); id++) names.push(state.className(id));
    const edges: Parameters<typeof dot>[1][number][] = [];
    for (let e = 0; e < state.edgeCount(); e++) {
      edges.push({
        from: state.edgeWord(e, E_FROM),
        to: state.edgeWord(e, E_TO),
        types: state.edgeWord(e, E_TYPES),
        cycle: (state.edgeWord(e, E_FLAGS) & 1) !== 0,
      });
    }
    // Edges seen after the edge table was full: only their bits exist; drawn dashed.
    for (const u of state.unrecordedEdges()) edges.push({ ...u, cycle: false, recorded: false });
    return dot(names, edges);
  },

  /** The locks this thread holds, as the verifier sees them (for diagnostics and tests). */
  held(): HeldLock[] {
    return checker?.held() ?? [];
  },

  /** Items dropped because a fixed-size area was full (reports, edge stacks, edge records); 0 normally. */
  dropped(): {
    /** Violation reports not stored (report area full). */
    reports: number;
    /** Edge stacks not stored (stack area full). */
    stacks: number;
    /**
     * Edges with no record (edge table full): still checked for cycles and drawn by `toDot()`
     * (dashed), but reports show them without thread or stack.
     */
    edges: number;
  } {
    return (checker?.state ?? stateFromEnv())?.dropped() ?? { reports: 0, stacks: 0, edges: 0 };
  },
};

/**
 * The verifier's hooks, for lock implementations outside sablock (and tests): call them as
 * `core/hooks.ts` describes, only while `lockcheckHooks.checking` is true.
 */
export const lockcheckHooks: {
  /** True while the verifier is enabled in this thread; call the hooks only then. */
  readonly checking: boolean;
  /** Before a blocking or async acquisition attempt; may throw `LockOrderError` (order, rank, recursion). */
  onAcquire(lock: CheckedLock, shared: boolean, async: boolean): void;
  /** After the lock was taken, by every path (plain `tryLock()` included). */
  onAcquired(lock: CheckedLock, shared: boolean, async: boolean): void;
  /** Before a release; `owner` is the owner id in the lock word (0 = free or unknown). May throw (not-owner). */
  onRelease(lock: CheckedLock, shared: boolean, owner: number): void;
  /** Before a blocking wait the lock runs itself (`owner`: current owner id, 0 if unknown); may throw. */
  onWait(lock: CheckedLock, shared: boolean, owner: number): void;
  /** After the wait announced by `onWait` ended (taken, timed out or thrown). */
  onWaitEnd(): void;
  /** Runs a blocking slow path under the verifier (deadlock watchdog included); returns whether the lock was taken. */
  waitChecked: typeof waitChecked;
  /** Runs `fn` in an async scope that holds `lock`, so acquisitions inside are ordered after it. */
  runHolding: typeof runHolding;
} = {
  get checking(): boolean {
    return checking;
  },
  onAcquire,
  onAcquired,
  onRelease,
  onWait,
  onWaitEnd,
  waitChecked,
  runHolding,
};

function requireChecker(what: string): Checker {
  if (checker === undefined) throw new Error(`lockcheck.${what}() needs the verifier enabled (lockcheck.enable())`);
  return checker;
}

function envState(): SharedArrayBuffer | undefined {
  const b = getEnvironmentData(ENV_KEY);
  return Object.prototype.toString.call(b) === '[object SharedArrayBuffer]' ? (b as SharedArrayBuffer) : undefined;
}

let envStateView: SharedState | undefined;
function stateFromEnv(): SharedState | undefined {
  const b = envState();
  if (b === undefined) return undefined;
  if (envStateView?.buffer !== b) envStateView = new SharedState(b);
  return envStateView;
}

// ---- enabling at import time ------------------------------------------------------------------------

function envSetting(): OnViolation | undefined {
  const v = (process.env.SABLOCK_CHECK ?? '').trim().toLowerCase();
  if (v === '' || v === '0' || v === 'false' || v === 'off') return undefined;
  return v === 'throw' ? 'throw' : v === 'silent' ? 'silent' : 'warn';
}

{
  const shared = envState();
  if (shared !== undefined) {
    // A thread started after the verifier was enabled: join the shared state, with the mode the
    // enabling thread published there.
    const c = start(new SharedState(shared));
    c.localMode = -1;
  } else {
    const mode = envSetting();
    // SABLOCK_CHECK: the main thread (or a worker whose parent did not load sablock) creates the
    // state and publishes it before it can start workers.
    if (mode !== undefined) lockcheck.enable({ onViolation: mode });
  }
}
