/**
 * A worker that dies — terminate(), process.exit(), an uncaught error — while holding or waiting:
 * its held locks are freed (only its own share of a shared lock), its queued requests dropped,
 * and requests waiting in other threads are granted within 2 s of its exit.
 */
import { describe, expect, it } from 'vitest';
import { WebLocks } from '../../src/index.js';
import { clientsOf, deferred, sleep, unique, until, wall, within, withClients, type Client } from './helpers.js';

/** From the dead worker's exit event to a waiter holding the lock (target well under this). */
const BOUND_MS = 2_000;
const HOWS = ['terminate', 'exit', 'throw'] as const;

/** Ends `w` `how` and resolves with its exit time. */
async function kill(w: Client, how: (typeof HOWS)[number]): Promise<number> {
  if (how === 'terminate') await w.terminate();
  else await w.die(how);
  await within(w.exited, 5_000, `worker ${how}`);
  return w.exitedAt;
}

/** A request here for `name`; `granted` resolves with the wall time of the grant. */
function requestHere(locks: WebLocks, name: string, options = {}) {
  const granted = deferred<number>();
  const hold = deferred();
  const done = locks.request(name, options, () => (granted.resolve(wall()), hold.promise));
  done.catch(() => {});
  return { granted: granted.promise, release: () => hold.resolve(), done };
}

describe('a dead worker’s locks', () => {
  it.each(HOWS)('a holder that dies (%s) frees its lock: the waiters here and in a worker get it in turn', async (how) => {
    const locks = new WebLocks();
    const res = unique();
    await withClients(async (start) => {
      const holder = start(locks.handle);
      const other = start(locks.handle);
      const deadId = await holder.clientId();
      await holder.granted(await holder.request(res));
      const here = requestHere(locks, res);
      const behind = await other.request(res);
      await until(async () => (await locks.query()).pending.length === 2, 2_000, 'both queued');

      const exitAt = await kill(holder, how);
      const at = await within(here.granted, BOUND_MS + 1_000, 'the waiter here');
      expect(at - exitAt).toBeLessThan(BOUND_MS);
      const q = await locks.query();
      expect(clientsOf([...q.held, ...q.pending], res)).not.toContain(deadId);
      expect(await other.isGranted(behind)).toBe(false); // still one at a time
      here.release();
      await other.granted(behind, BOUND_MS);
      await other.release(behind);
    });
  });

  it.each(HOWS)('every lock a dying worker held (%s) is freed, shared and exclusive, under several names', async (how) => {
    const locks = new WebLocks();
    const names = [unique('x'), unique('s'), unique('y')];
    await withClients(async (start) => {
      const holder = start(locks.handle);
      for (const [k, name] of names.entries()) await holder.granted(await holder.request(name, { mode: k === 1 ? 'shared' : 'exclusive' }));
      const waits = names.map((name) => requestHere(locks, name));
      const exitAt = await kill(holder, how);
      const times = await within(Promise.all(waits.map((w) => w.granted)), BOUND_MS + 1_000, 'all three here');
      for (const t of times) expect(t - exitAt).toBeLessThan(BOUND_MS);
      for (const w of waits) w.release();
      await within(Promise.all(waits.map((w) => w.done)), 2_000, 'the releases'); // settled = released
    });
    expect(await locks.query()).toEqual({ held: [], pending: [] });
  });

  it('a dead shared holder frees only its own share: the exclusive waiter still waits for the live one', async () => {
    const locks = new WebLocks();
    const res = unique();
    await withClients(async (start) => {
      const [dying, living] = [start(locks.handle), start(locks.handle)];
      await dying.granted(await dying.request(res, { mode: 'shared' }));
      const kept = await living.request(res, { mode: 'shared' });
      await living.granted(kept);
      const here = requestHere(locks, res);
      await kill(dying, 'terminate');
      await sleep(300); // longer than a dead owner takes to be reaped (see the test above)
      let early = false;
      void here.granted.then(() => (early = true));
      await sleep(0);
      expect(early).toBe(false);
      expect(clientsOf((await locks.query()).held, res)).toEqual([await living.clientId()]);
      await living.release(kept);
      await within(here.granted, BOUND_MS, 'the exclusive waiter');
      here.release();
    });
  });

  it.each(['terminate', 'exit'] as const)('a queued request of a worker that dies (%s) is dropped: the one behind it is granted', async (how) => {
    const locks = new WebLocks();
    const res = unique();
    await withClients(async (start) => {
      const [doomed, next] = [start(locks.handle), start(locks.handle)];
      const [doomedId, nextId] = [await doomed.clientId(), await next.clientId()];
      const here = requestHere(locks, res);
      await here.granted;
      await doomed.request(res);
      await doomed.queued(res, doomedId);
      const behind = await next.request(res);
      await next.queued(res, nextId);

      const exitAt = await kill(doomed, how);
      await until(async () => !clientsOf((await locks.query()).pending, res).includes(doomedId), BOUND_MS, 'the dead request dropped');
      here.release();
      const grant = await next.granted(behind, BOUND_MS + 1_000);
      expect(grant.at - exitAt).toBeLessThan(BOUND_MS);
      await next.release(behind);
      expect((await next.outcome(behind)).status).toBe('fulfilled');
    });
  });
});
