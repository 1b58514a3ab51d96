/**
 * TicketLock, a thread terminated while it waits in the queue (not holding): its turn must not
 * stop the lock. The waiters behind it get the lock, in order, with exclusion intact, and the
 * sleep bookkeeping it left is taken back (ticketlock.ts invariant 5).
 */
import { describe, expect, it } from 'vitest';
import { TicketLock } from '../../dist/index.js';
import { withActors, sleep, wall } from './helpers.js';

/** Generous bound from the release to the next live waiter holding the lock. */
const BOUND_MS = 2_000;
/** Word offsets inside a TicketLock (ticketlock.ts layout): SLEEPERS is word 4. */
const SLEEPERS_WORD = 4;

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
      await sleep(150); // it takes its ticket and sleeps
      const behind = [0, 1].map(() => spawn({ kind: 'TicketLock', handle: lock.handle, role: 'waiter', how: 'sync', counter }));
      for (const b of behind) {
        expect((await b.next()).type).toBe('ready');
        await sleep(150); // tickets in this order
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
        await sleep(100);
        const next = spawn({ kind: 'TicketLock', handle: lock.handle, role: 'waiter', how: 'sync', counter });
        expect((await next.next()).type).toBe('ready');
        await sleep(100);
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
