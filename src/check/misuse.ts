/**
 * The verifier's reports about one thread's own use of a lock, as opposed to the order between
 * locks (order.ts) and waits between threads (watchdog.ts): recursive acquisition, release by a
 * thread that does not hold the lock, the main thread blocking, a blocking-acquired lock held
 * across an await, and a thread exiting with locks held. Each builds the report and hands it to
 * `Checker.report`, which records it once and reacts (warn, throw, silent or the callback).
 */
import { threadId } from 'node:worker_threads';
import type { Checker } from './checker.js';
import type { ClassInfo } from './held.js';
import { banner, heldText, q, stackBlock, threadName, type HeldLock } from './report.js';
import { captureStack } from './stacks.js';

/** A blocking acquisition of a lock this thread already holds (it would wait for itself). */
export function reportRecursive(c: Checker, info: ClassInfo, heldShared: boolean, shared: boolean): void {
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
    heldText(threadId, c.held()),
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
  c.report(
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

/** A release of a lock this thread does not hold; `owner` is the lock word's owner id (0: none). */
export function reportNotOwner(c: Checker, info: ClassInfo, shared: boolean, owner: number): void {
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
    heldText(threadId, c.held()),
  ].join('\n');
  const threads = owner > 0 ? [threadId, owner - 1] : [threadId];
  c.report(
    { kind: 'not-owner', message, locks: [info.name], threads, stacks: [{ label: 'release', thread: threadId, stack }] },
    `not-owner:${info.cls}:${owner === 0 ? 'free' : 'other'}`,
    true,
  );
}

/** The main thread about to block in `Atomics.wait`. */
export function reportMainThreadBlock(c: Checker, info: ClassInfo, shared: boolean): void {
  const stack = captureStack();
  const message = [
    banner('main-thread-block'),
    `The main thread is about to block in Atomics.wait for ${q(info.name)}${shared ? ' (shared)' : ''}, ` +
      'which another thread holds: its event loop (timers, I/O, worker messages) stops until then. ' +
      'Use lockAsync() on the main thread.',
    '',
    stackBlock('blocking acquisition at:', stack),
    '',
    heldText(threadId, c.held()),
  ].join('\n');
  c.report(
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

/** A lock of class `cls` taken with a blocking call, still held after the task yielded. */
export function reportHeldAcrossAwait(c: Checker, cls: number, site: string | undefined): void {
  const name = c.state.className(cls);
  const message = [
    banner('held-across-await'),
    `${threadName(threadId)} took ${q(name)} with a blocking call and still holds it after yielding to the ` +
      'event loop (an await, a promise callback or the end of the task). Other tasks of this thread now run ' +
      'with it held; one that locks it throws or blocks the whole thread. Release it before awaiting, or ' +
      'use lockAsync()/withLockAsync() for locks held across awaits.',
    '',
    heldText(threadId, c.held()),
  ].join('\n');
  c.report(
    {
      kind: 'held-across-await',
      message,
      locks: [name],
      threads: [threadId],
      stacks: site === undefined ? [] : [{ label: `${q(name)} acquired`, thread: threadId, stack: site }],
    },
    `held-across-await:${cls}`,
    false,
  );
}

/** This thread exiting (its own 'exit' event) while holding `held`. */
export function reportExitWithLocks(c: Checker, held: HeldLock[]): void {
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
  c.report(
    { kind: 'exit-with-locks', message, locks: held.map((h) => h.cls), threads: [threadId], stacks },
    `exit-with-locks:${threadId}`,
    false,
  );
}

/**
 * Seen by its parent: worker `id` exited (or was terminated) with `count` locks held, `locks`
 * being the classes its thread slot lists (the first SLOT_HELD).
 */
export function reportExitedWorker(c: Checker, id: number, count: number, locks: string[]): void {
  const message = [
    banner('exit-with-locks'),
    `${threadName(id)} exited (or was terminated) while holding ${count} lock${count === 1 ? '' : 's'}: ` +
      `${locks.map(q).join(', ')}${count > locks.length ? ', …' : ''}.`,
    'Threads waiting for them may hang (or see owner-died). Seen by its parent, ' + `${threadName(threadId)}.`,
  ].join('\n');
  c.report({ kind: 'exit-with-locks', message, locks, threads: [id], stacks: [] }, `exit-with-locks:${id}`, false);
}
