/**
 * The verifier's reports about one thread's own use of a lock, as opposed to the order between
 * locks (order.ts) and waits between threads (watchdog.ts): recursive acquisition, release by a
 * thread that does not hold the lock, the main thread blocking, a blocking-acquired lock held
 * across an await, and a thread exiting with locks held. Each says what happened; `send` puts it
 * under its banner and hands it to `Checker.report`, which records it once and reacts (warn,
 * throw, silent or the callback). The three about one call (`reportCall`) also show its stack and
 * what the thread holds.
 */
import { threadId } from 'node:worker_threads';
import type { Checker } from './checker.js';
import type { ClassInfo } from './held.js';
import { banner, heldText, q, stackBlock, threadName, type HeldLock, type LockOrderKind, type LockOrderReport } from './report.js';
import { captureStack } from './stacks.js';

/** A blocking acquisition of a lock this thread already holds (it would wait for itself). */
export function reportRecursive(c: Checker, info: ClassInfo, heldShared: boolean, shared: boolean): void {
  const why =
    heldShared && shared
      ? 'a second read lock waits behind any queued writer, which waits for the first read lock'
      : heldShared || shared
        ? 'a lock held in one mode cannot be taken again in the other mode by the same thread'
        : 'the lock is not reentrant: the thread would wait for itself forever';
  reportCall(c, {
    kind: 'recursive',
    lock: info.name,
    what:
      `${threadName(threadId)} is acquiring ${q(info.name)}${shared ? ' (shared)' : ''}, which it already holds` +
      `${heldShared ? ' (shared)' : ''}: ${why}.`,
    at: 'new acquisition at:',
    label: `new acquisition of ${q(info.name)}`,
    key: `recursive:${info.cls}:${heldShared ? 1 : 0}${shared ? 1 : 0}`,
    after: [
      '',
      'Possible scenario:',
      '',
      `    thread A`,
      `    --------`,
      `    lock(${q(info.name)})`,
      `    lock(${q(info.name)})   <- waits for thread A: itself`,
      '',
      '    *** DEADLOCK ***',
    ],
  });
}

/** A release of a lock this thread does not hold; `owner` is the lock word's owner id (0: none). */
export function reportNotOwner(c: Checker, info: ClassInfo, shared: boolean, owner: number): void {
  const what =
    owner === 0
      ? shared
        ? `this thread holds no shared lock on it`
        : `it is not locked`
      : `it is held by ${threadName(owner - 1)}`;
  reportCall(c, {
    kind: 'not-owner',
    lock: info.name,
    what: `${threadName(threadId)} is releasing ${q(info.name)}${shared ? ' (shared)' : ''}, but ${what}.`,
    at: 'release at:',
    label: 'release',
    key: `not-owner:${info.cls}:${owner === 0 ? 'free' : 'other'}`,
    threads: owner > 0 ? [threadId, owner - 1] : [threadId],
  });
}

/** The main thread about to block in `Atomics.wait`. */
export function reportMainThreadBlock(c: Checker, info: ClassInfo, shared: boolean): void {
  reportCall(c, {
    kind: 'main-thread-block',
    lock: info.name,
    what:
      `The main thread is about to block in Atomics.wait for ${q(info.name)}${shared ? ' (shared)' : ''}, ` +
      'which another thread holds: its event loop (timers, I/O, worker messages) stops until then. ' +
      'Use lockAsync() on the main thread.',
    at: 'blocking acquisition at:',
    label: `blocking acquisition of ${q(info.name)}`,
    key: `main-thread-block:${info.cls}`,
  });
}

/** A lock of class `cls` taken with a blocking call, still held after the task yielded. */
export function reportHeldAcrossAwait(c: Checker, cls: number, site: string | undefined): void {
  const name = c.state.className(cls);
  const what =
    `${threadName(threadId)} took ${q(name)} with a blocking call and still holds it after yielding to the ` +
    'event loop (an await, a promise callback or the end of the task). Other tasks of this thread now run ' +
    'with it held; one that locks it throws or blocks the whole thread. Release it before awaiting, or ' +
    'use lockAsync()/withLockAsync() for locks held across awaits.';
  const stacks = site === undefined ? [] : [{ label: `${q(name)} acquired`, thread: threadId, stack: site }];
  send(c, 'held-across-await', [what, '', heldText(threadId, c.held())], { locks: [name], threads: [threadId], stacks }, `held-across-await:${cls}`, false);
}

/** This thread exiting (its own 'exit' event) while holding `held`. */
export function reportExitWithLocks(c: Checker, held: HeldLock[]): void {
  const what =
    `${threadName(threadId)} is exiting while holding ${held.length} lock${held.length === 1 ? '' : 's'}; ` +
    'threads waiting for them may hang (or see owner-died).';
  const stacks = held
    .filter((h) => h.site !== undefined)
    .map((h) => ({ label: `${q(h.cls)} acquired`, thread: threadId, stack: h.site! }));
  send(c, 'exit-with-locks', [what, '', heldText(threadId, held)], { locks: held.map((h) => h.cls), threads: [threadId], stacks }, `exit-with-locks:${threadId}`, false);
}

/**
 * Seen by its parent: worker `id` exited (or was terminated) with `count` locks held, `locks`
 * being the classes its thread slot lists (the first SLOT_HELD).
 */
export function reportExitedWorker(c: Checker, id: number, count: number, locks: string[]): void {
  const lines = [
    `${threadName(id)} exited (or was terminated) while holding ${count} lock${count === 1 ? '' : 's'}: ` +
      `${locks.map(q).join(', ')}${count > locks.length ? ', …' : ''}.`,
    'Threads waiting for them may hang (or see owner-died). Seen by its parent, ' + `${threadName(threadId)}.`,
  ];
  send(c, 'exit-with-locks', lines, { locks, threads: [id], stacks: [] }, `exit-with-locks:${id}`, false);
}

/** What a report about one call of this thread says besides its stack and the locks held. */
interface CallReport {
  kind: LockOrderKind;
  /** The lock's name. */
  lock: string;
  /** What happened (one paragraph). */
  what: string;
  /** Title of the call's stack in the message, and its label in `stacks`. */
  at: string;
  label: string;
  /** Recorded once per key. */
  key: string;
  /** Threads involved; this one by default. */
  threads?: number[];
  /** Lines after what the thread holds (a scenario). */
  after?: string[];
}

/**
 * A report about one call of this thread (a recursive acquisition, a release by a non-owner, the
 * main thread blocking): what happened, the call's stack, what this thread holds, then `after`.
 * In mode 'throw' the call throws LockOrderError (`canThrow`).
 */
function reportCall(c: Checker, r: CallReport): void {
  const stack = captureStack();
  send(
    c,
    r.kind,
    [r.what, '', stackBlock(r.at, stack), '', heldText(threadId, c.held()), ...(r.after ?? [])],
    { locks: [r.lock], threads: r.threads ?? [threadId], stacks: [{ label: r.label, thread: threadId, stack }] },
    r.key,
    true,
  );
}

/** Puts `lines` under `kind`'s banner as the message and hands the report to the checker (`Checker.report`). */
function send(
  c: Checker,
  kind: LockOrderKind,
  lines: string[],
  who: Pick<LockOrderReport, 'locks' | 'threads' | 'stacks'>,
  key: string,
  canThrow: boolean,
): void {
  const message = [banner(kind), ...lines].join('\n');
  c.report({ kind, message, ...who }, key, canThrow);
}
