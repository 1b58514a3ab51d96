/**
 * One WebLocks shared by real worker_threads (its handle posted to each): FIFO order across
 * threads, shared batches and an exclusive request alone between them, steals across threads
 * (the robbed thread is told at once, its late release frees nothing), and query() from every
 * thread showing every thread's locks with a distinct clientId each (including a cross-thread
 * deadlock, as web-platform-tests web-locks/query observes one).
 */
import { describe, expect, it } from 'vitest';
import { WebLocks } from '../../src/index.js';
import {
  clientsOf,
  deferred,
  expectDOMException,
  modesOf,
  rejects,
  sleep,
  unique,
  wall,
  within,
  withClients,
  type Client,
  type LockInfo,
} from './helpers.js';

/** Takes `name` here and holds it until the returned release is called. */
async function holdHere(locks: WebLocks, name: string, options = {}): Promise<{ release: () => void; done: Promise<unknown> }> {
  const granted = deferred();
  const hold = deferred();
  const done = locks.request(name, options, () => (granted.resolve(), hold.promise));
  done.catch(() => {});
  await within(granted.promise, 2_000, `hold of ${name} here`);
  return { release: () => hold.resolve(), done };
}

/** This thread's clientId on `locks`. */
const myClientId = (locks: WebLocks): Promise<string> => {
  const probe = unique('probe');
  return locks.request(probe, async () => (await locks.query()).held.find((l) => l.name === probe)!.clientId);
};

/** Queues a request for `name` in `w` and waits until it shows as pending. */
async function enqueue(w: Client, name: string, options: Record<string, unknown> = {}): Promise<number> {
  const cid = await w.clientId();
  const id = await w.request(name, options);
  await w.queued(name, cid);
  return id;
}

describe('one WebLocks across workers', () => {
  it('exclusive requests from four workers are granted in the order made, one at a time', async () => {
    const locks = new WebLocks();
    const res = unique();
    await withClients(async (start) => {
      const ws = [0, 1, 2, 3].map(() => start(locks.handle));
      const main = await holdHere(locks, res);
      const ids: number[] = [];
      for (const w of ws) ids.push(await enqueue(w, res));
      main.release();
      for (let k = 0; k < ws.length; k++) {
        await ws[k]!.granted(ids[k]!);
        // Nobody behind it has been let in meanwhile.
        for (let j = k + 1; j < ws.length; j++) expect(await ws[j]!.isGranted(ids[j]!), `worker ${j} while ${k} holds`).toBe(false);
        await ws[k]!.release(ids[k]!);
        expect((await ws[k]!.outcome(ids[k]!)).status).toBe('fulfilled');
      }
      expect(await locks.query()).toEqual({ held: [], pending: [] });
    });
  });

  it('shared requests from several workers are held together; an exclusive one between them waits for all and then holds alone', async () => {
    const locks = new WebLocks();
    const res = unique();
    await withClients(async (start) => {
      const [w1, w2, w3, w4] = [0, 1, 2, 3].map(() => start(locks.handle)) as [Client, Client, Client, Client];
      const main = await holdHere(locks, res);
      const s1 = await enqueue(w1, res, { mode: 'shared' });
      const s2 = await enqueue(w2, res, { mode: 'shared' });
      const x = await enqueue(w3, res);
      const s3 = await enqueue(w4, res, { mode: 'shared' });
      const s4 = await enqueue(w1, res, { mode: 'shared' });
      main.release();

      expect((await w1.granted(s1)).lock).toEqual({ name: res, mode: 'shared' });
      expect((await w2.granted(s2)).lock).toEqual({ name: res, mode: 'shared' });
      let q = await locks.query();
      expect(modesOf(q.held, res)).toEqual(['shared', 'shared']);
      expect(clientsOf(q.held, res)).toEqual([await w1.clientId(), await w2.clientId()]);
      expect(modesOf(q.pending, res)).toEqual(['exclusive', 'shared', 'shared']);

      await w1.release(s1);
      await sleep(30);
      expect(await w3.isGranted(x)).toBe(false); // w2 still holds its share
      await w2.release(s2);
      expect((await w3.granted(x)).lock).toEqual({ name: res, mode: 'exclusive' });
      await sleep(30);
      expect(await w4.isGranted(s3)).toBe(false);
      expect(await w1.isGranted(s4)).toBe(false);
      q = await locks.query();
      expect(modesOf(q.held, res)).toEqual(['exclusive']);

      await w3.release(x);
      await w4.granted(s3);
      await w1.granted(s4);
      expect(modesOf((await locks.query()).held, res)).toEqual(['shared', 'shared']);
      await w4.release(s3);
      await w1.release(s4);
      for (const [w, id] of [[w4, s3], [w1, s4]] as const) expect((await w.outcome(id)).status).toBe('fulfilled');
      expect(await locks.query()).toEqual({ held: [], pending: [] });
    });
  });

  it('a steal from another worker: the robbed request rejects with AbortError at once; its late release frees nothing of the thief’s', async () => {
    const locks = new WebLocks();
    const res = unique();
    await withClients(async (start) => {
      const [victim, thief, third] = [start(locks.handle), start(locks.handle), start(locks.handle)];
      const held = await victim.request(res);
      await victim.granted(held);
      const queued = await enqueue(third, res);

      const stolen = await thief.request(res, { steal: true });
      const grant = await thief.granted(stolen);
      const robbed = await victim.outcome(held, 2_000);
      expect(robbed.status).toBe('rejected');
      expect(robbed.name).toBe('AbortError');
      expect(Math.abs(robbed.at - grant.at)).toBeLessThan(500);

      // The victim's callback is still running; it ends now. The thief must still hold.
      await victim.release(held);
      await sleep(50);
      expect(await locks.request(res, { ifAvailable: true }, (lock) => lock)).toBeNull();
      const q = await locks.query();
      expect(clientsOf(q.held, res)).toEqual([await thief.clientId()]);
      expect(await third.isGranted(queued)).toBe(false);

      await thief.release(stolen);
      await third.granted(queued);
      await third.release(queued);
      expect((await thief.outcome(stolen)).status).toBe('fulfilled');
    });
  });

  it('a worker steals from this thread: the request here rejects with AbortError within 500 ms', async () => {
    const locks = new WebLocks();
    const res = unique();
    await withClients(async (start) => {
      const thief = start(locks.handle);
      const here = await holdHere(locks, res);
      const rejected = rejects(() => here.done);
      const stolen = await thief.request(res, { steal: true });
      const grant = await thief.granted(stolen);
      const e = await within(rejected, 2_000, 'the rejection here');
      const at = wall();
      expectDOMException(e, 'AbortError');
      expect(at - grant.at).toBeLessThan(500);
      here.release(); // late: must not free the thief's lock
      await sleep(20);
      expect(await locks.request(res, { ifAvailable: true }, (lock) => lock)).toBeNull();
      await thief.release(stolen);
    });
  });

  it('query() from every thread shows every thread’s locks, with one distinct clientId per thread', async () => {
    const locks = new WebLocks();
    const [a, b] = [unique('a'), unique('b')];
    await withClients(async (start) => {
      const [w1, w2, w3] = [start(locks.handle), start(locks.handle), start(locks.handle)];
      const here = await holdHere(locks, a);
      await w1.granted(await w1.request(b, { mode: 'shared' }));
      await w2.granted(await w2.request(b, { mode: 'shared' }));
      await enqueue(w3, a);

      const ids = { main: await myClientId(locks), w1: await w1.clientId(), w2: await w2.clientId(), w3: await w3.clientId() };
      expect(new Set(Object.values(ids)).size).toBe(4);
      for (const id of Object.values(ids)) expect(typeof id).toBe('string');

      const expected = (q: { held: LockInfo[]; pending: LockInfo[] }) => {
        expect(q.held.filter((l) => l.name === a)).toEqual([{ name: a, mode: 'exclusive', clientId: ids.main }]);
        expect(q.held.filter((l) => l.name === b)).toEqual([
          { name: b, mode: 'shared', clientId: ids.w1 },
          { name: b, mode: 'shared', clientId: ids.w2 },
        ]);
        expect(q.pending.filter((l) => l.name === a)).toEqual([{ name: a, mode: 'exclusive', clientId: ids.w3 }]);
        expect(q.pending.filter((l) => l.name === b)).toEqual([]);
      };
      expected(await locks.query());
      for (const w of [w1, w2, w3]) expected(await w.query());
      // The same id twice: stable per thread.
      expect(await w1.clientId()).toBe(ids.w1);
      expect(await myClientId(locks)).toBe(ids.main);
      here.release();
    });
  });

  it('pending requests from several workers are listed in the order made, in any order of workers', async () => {
    const locks = new WebLocks();
    const res = unique();
    await withClients(async (start) => {
      const ws = [start(locks.handle), start(locks.handle), start(locks.handle)] as [Client, Client, Client];
      const [c1, c2, c3] = await Promise.all(ws.map((w) => w.clientId()));
      const here = await holdHere(locks, res);
      const r1 = await enqueue(ws[0], res);
      const r2 = await enqueue(ws[1], res);
      const r3 = await enqueue(ws[2], res);
      expect(clientsOf((await locks.query()).pending, res)).toEqual([c1, c2, c3]);

      here.release();
      await ws[0].granted(r1);
      await ws[0].release(r1);
      await ws[1].granted(r2);
      await ws[1].release(r2);
      await ws[2].granted(r3); // held by worker 3 now
      const again2 = await enqueue(ws[1], res);
      const again1 = await enqueue(ws[0], res);
      expect(clientsOf((await locks.query()).pending, res)).toEqual([c2, c1]);
      expect(clientsOf((await locks.query()).held, res)).toEqual([c3]);
      await ws[2].release(r3);
      await ws[1].granted(again2);
      await ws[1].release(again2);
      await ws[0].granted(again1);
      await ws[0].release(again1);
    });
  });

  it('query() shows a deadlock between this thread and a worker', async () => {
    const locks = new WebLocks();
    const [r1, r2] = [unique('r1'), unique('r2')];
    await withClients(async (start) => {
      const w = start(locks.handle);
      const wId = await w.clientId();
      await w.granted(await w.request(r1));
      const here = await holdHere(locks, r2);
      const wWaits = await w.request(r2);
      const probe = await w.request(r2, { ifAvailable: true });
      expect((await w.granted(probe)).lock).toBeNull();
      await w.release(probe);
      const abort = new AbortController();
      const mine = locks.request(r1, { signal: abort.signal }, () => {
        throw new Error('should not be granted');
      });
      mine.catch(() => {});
      const me = await myClientId(locks);

      const q = await locks.query();
      expect(clientsOf(q.held, r1)).toEqual([wId]);
      expect(clientsOf(q.held, r2)).toEqual([me]);
      expect(clientsOf(q.pending, r1)).toEqual([me]);
      expect(clientsOf(q.pending, r2)).toEqual([wId]);

      abort.abort();
      here.release();
      await w.granted(wWaits);
    });
  });
});
