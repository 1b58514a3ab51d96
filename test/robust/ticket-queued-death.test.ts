/**
 * TicketLock, a thread terminated while it waits in the queue (not holding): its turn must not
 * stop the lock. The waiters behind it get the lock, in order, with exclusion intact, and the
 * sleep bookkeeping it left is taken back (ticketlock.ts invariant 5).
 */
import { describe, expect, it } from 'vitest';
import { TicketLock } from '../../dist/index.js';
import { withActors, sleep, wall } from './helpers.js';
import { until } from '../harness/bounds.mjs';

/** Generous bound from the release to the next live waiter holding the lock. */
const BOUND_MS = 2_000;
/** Word offsets inside a TicketLock (ticketlock.ts layout): SLEEPERS is word 4. */
const SLEEPERS_WORD = 4;

/** raw/ticketlock.ts: NEXT and SERVING are state words 0 and 1 (after the tag), QUEUED entries (owner, ticket, asleep) from state word 9. */
const NEXT_WORD = 1, SERVING_WORD = 2, QUEUED_WORD = 10;

/**
 * Has the thread `threadId` taken a ticket and recorded itself in QUEUED (invariant 5)? Only then
 * is its death in the queue one the lock recovers from: a waiter that dies between its ticket and
 * its entry is a documented limit (docs/robustness.md), so the tests wait for the entry rather
 * than sleep and hope (a sleep of 100 ms was not enough on a loaded CI machine).
 */
const queuedIn = (lock: TicketLock, threadId: number): boolean => {
  const h = lock.handle as unknown as { buffer: SharedArrayBuffer; byteOffset: number };
  const a = new Int32Array(h.buffer);
  const base = h.byteOffset / 4;
  const serving = Atomics.load(a, base + SERVING_WORD);
  const next = Atomics.load(a, base + NEXT_WORD);
  for (let k = 0; k < 8; k++) {
    const e = base + QUEUED_WORD + 3 * k;
    if (Atomics.load(a, e) !== threadId + 1) continue;
    // Its ticket is written after its owner id: one still in [SERVING, NEXT) is this wait's.
    const t = Atomics.load(a, e + 1);
    if (((t - serving) | 0) >= 0 && ((next - t) | 0) > 0) return true;
  }
  return false;
};

const sleepersOf = (lock: TicketLock): number => {
  const h = lock.handle as unknown as { buffer: SharedArrayBuffer; byteOffset: number };
  return Atomics.load(new Int32Array(h.buffer), h.byteOffset / 4 + SLEEPERS_WORD);
};

describe('TicketLock: a queued waiter dies', () => {
  it.each(['sync', 'async'] as const)('a %s waiter killed in the queue does not stop the lock', async (how) => {
    const lock = new TicketLock({ name: 'queued-death' });
    const counter = new SharedArrayBuffer(4);
    await withActors(async (spawn) => {
      lock.lock(); // the main thread holds it: everyone queues behind
      const doomed = spawn({ kind: 'TicketLock', handle: lock.handle, role: 'waiter', how, counter });
      expect((await doomed.next()).type).toBe('ready');
      await until(() => queuedIn(lock, doomed.worker.threadId), 10_000, 'the doomed waiter queued');
      await sleep(50); // and asleep, mostly
      const behind = [0, 1].map(() => spawn({ kind: 'TicketLock', handle: lock.handle, role: 'waiter', how: 'sync', counter }));
      for (const b of behind) {
        expect((await b.next()).type).toBe('ready');
        await until(() => queuedIn(lock, b.worker.threadId), 10_000, 'a waiter behind queued'); // tickets in this order
      }
      await doomed.kill();
      const releasedAt = wall();
      lock.unlock(); // serves the dead waiter's ticket: someone must serve the next for it
      for (const b of behind) {
        const got = await b.next<{ acquired: boolean; ownerDied: boolean; at: number }>();
        expect(got.acquired).toBe(true);
        expect(got.ownerDied).toBe(false); // it died holding nothing: no data to repair
        expect(got.at - releasedAt).toBeLessThan(BOUND_MS);
      }
    });
    expect(new Int32Array(counter)[0]).toBe(2);
    expect(lock.isLocked()).toBe(false);
    expect(sleepersOf(lock)).toBe(0);
    expect(lock.tryLock()).toBe(true);
    lock.unlock();
  }, 30_000);

  it('a waiter killed right as its turn comes: the next one still gets the lock', async () => {
    const lock = new TicketLock({ name: 'queued-death-race' });
    const counter = new SharedArrayBuffer(4);
    for (let round = 0; round < 5; round++) {
      await withActors(async (spawn) => {
        lock.lock();
        const doomed = spawn({ kind: 'TicketLock', handle: lock.handle, role: 'waiter', how: 'sync' });
        expect((await doomed.next()).type).toBe('ready');
        await until(() => queuedIn(lock, doomed.worker.threadId), 10_000, 'the doomed waiter queued');
        const next = spawn({ kind: 'TicketLock', handle: lock.handle, role: 'waiter', how: 'sync', counter });
        expect((await next.next()).type).toBe('ready');
        await until(() => queuedIn(lock, next.worker.threadId), 10_000, 'the next waiter queued');
        await sleep(50); // both asleep, mostly
        // Release and kill at once: it dies queued, served-but-not-owner, or holding (all recovered).
        lock.unlock();
        await sleep(round);
        await doomed.kill();
        const got = await next.next<{ acquired: boolean }>(BOUND_MS + 5_000);
        expect(got.acquired).toBe(true);
      });
      // A holder killed before unlocking leaves OWNER_DIED: clear it for the next round.
      lock.lock();
      if (lock.ownerDied) lock.markConsistent();
      lock.unlock();
    }
    expect(new Int32Array(counter)[0]).toBe(5);
  }, 60_000);
});
