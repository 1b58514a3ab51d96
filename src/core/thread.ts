/**
 * This thread's identity as stored in lock words.
 *
 * Lock words hold `threadId + 1` so that 0 can mean "no owner". The main thread is 1, each worker
 * `threadId + 1`. Node never reuses a thread id within a process, so an id in a word names exactly
 * one thread, alive or dead.
 */
import { threadId, isMainThread } from 'node:worker_threads';
import { LockError } from './errors.js';

/** Largest owner id that fits the owner field of the lock words (28 bits). */
export const MAX_OWNER_ID = 0x0fff_ffff;

/** This thread's owner id (`threadId + 1`), as written into lock words. */
export const OWNER_ID: number = threadId + 1;

/** True in the process's main thread. */
export const IS_MAIN_THREAD: boolean = isMainThread;

/** Throws if this thread's id cannot be stored in a lock word (after 268 million workers). */
export function assertOwnerIdFits(): void {
  if (OWNER_ID > MAX_OWNER_ID) {
    throw new LockError(
      'ERR_LOCK_THREAD_ID',
      `thread id ${threadId} does not fit the 28-bit owner field of sablock's lock words`,
    );
  }
}

/** The `threadId` an owner id stands for. */
export function threadIdOf(ownerId: number): number {
  return ownerId - 1;
}
