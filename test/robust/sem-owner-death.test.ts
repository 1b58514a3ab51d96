/**
 * Semaphore with `trackOwners`: a thread terminated holding permits gets them given back by the
 * waiters (sync, async, timed try), within a bounded time, with exact counts afterwards. Without
 * `trackOwners` (negative control) the permits stay lost, as documented.
 */
import { describe, expect, it } from 'vitest';
import { Semaphore, LockError } from '../../dist/index.js';
import { withActors, sleep } from './helpers.js';

const SEM_ACTOR = new URL('../fixtures/robust/sem-actor.mjs', import.meta.url);
// Generous: three waiters take the permits one after another, each after a 50 ms slice at worst;
// on a loaded 2-core CI machine that chain has been seen near 2 s. scripts/terminations.mjs measures.
const BOUND_MS = 5_000;
type Got = { type: string; acquired: boolean; ownerDied: boolean; at: number };

describe('Semaphore: dead holder (trackOwners)', () => {
  it('sync, async and timed-try waiters get a terminated holder\'s permits back', async () => {
    const sem = new Semaphore(3, { trackOwners: true, name: 'robust-sem' });
    expect(sem.tracksOwners).toBe(true);
    await withActors(async (spawn) => {
      const live = spawn({ handle: sem.handle, role: 'holder', n: 1 }, SEM_ACTOR);
      const dead = spawn({ handle: sem.handle, role: 'holder', n: 2 }, SEM_ACTOR);
      await live.next();
      await dead.next();
      expect(sem.available()).toBe(0);
      const ws = (['sync', 'async', 'try'] as const).map((how) => spawn({ handle: sem.handle, role: 'waiter', n: 2, how }, SEM_ACTOR));
      for (const w of ws) expect((await w.next()).type).toBe('ready');
      await sleep(150);
      expect(sem.ownerDied).toBe(false);
      const exitAt = await dead.kill();
      for (const w of ws) {
        const got = await w.next<Got>();
        expect(got.acquired).toBe(true);
        expect(got.ownerDied).toBe(true);
        expect(got.at - exitAt).toBeLessThan(BOUND_MS);
      }
      // The live holder's permit was never taken back.
      expect(sem.available()).toBe(2);
    });
    expect(sem.ownerDied).toBe(true);
  }, 30_000);

  it('a plain tryAcquire() reaps at once; a release beyond what this object holds throws', async () => {
    const sem = new Semaphore(2, { trackOwners: true });
    await withActors(async (spawn) => {
      const dead = spawn({ handle: sem.handle, role: 'holder', n: 2 }, SEM_ACTOR);
      await dead.next();
      expect(sem.tryAcquire()).toBe(false);
      await dead.kill();
      expect(sem.tryAcquire(2)).toBe(true);
      expect(sem.available()).toBe(0);
      expect(() => sem.release(3)).toThrow(LockError);
      sem.release(2);
      expect(sem.available()).toBe(2);
      expect(() => sem.release(1)).toThrow(LockError);
    });
  }, 20_000);

  it('without trackOwners the permits of a dead holder stay lost (negative control)', async () => {
    const sem = new Semaphore(2);
    expect(sem.tracksOwners).toBe(false);
    await withActors(async (spawn) => {
      const dead = spawn({ handle: sem.handle, role: 'holder', n: 2 }, SEM_ACTOR);
      await dead.next();
      await dead.kill();
      expect(sem.tryAcquire(1, 300)).toBe(false);
      expect(sem.available()).toBe(0);
      expect(sem.ownerDied).toBe(false);
    });
    // Anonymous permits may be released by any thread (unchanged behaviour).
    sem.release(2);
    expect(sem.available()).toBe(2);
  }, 20_000);

  it('rejects a non-boolean trackOwners', () => {
    expect(() => new Semaphore(1, { trackOwners: 1 as never })).toThrow(TypeError);
  });
});
