/**
 * The fast word of a Web Locks name (manager/table.ts "Fast words"): an exclusive request on a name
 * with no record and no holder takes it with one CAS and no table update; anything else on the
 * name moves that hold into the table. These tests take the races the fast word adds: a robbed
 * fast hold released late, an entry recycled under a thread's cached copy, a fast holder that
 * dies, and query() and steals across workers while holds sit only in the word.
 */
import { describe, expect, it } from 'vitest';
import { Worker } from 'node:worker_threads';
import { createRequire } from 'node:module';
import { LockManager, WebLocks, type LockManagerHandle } from '../../src/index.js';
import { deferred, expectDOMException, unique, until, within, withClients } from './helpers.js';

/** Owner ids from here on are newOwner()'s (tasks, transactions); below are threads' (manager/owners.ts). */
const FIRST_TASK_OWNER = 0x1000_0000;

/** Resolves once `name` has an entry with nothing on it: the next exclusive request of this thread goes through its word. */
async function warm(locks: WebLocks, name: string): Promise<void> {
  await locks.request(name, () => {});
}

describe('Web Locks fast word', () => {
  it('lists a fast holder in query() from another thread, in grant order with table holds', async () => {
    const locks = new WebLocks();
    const [a, b, d] = [unique('a'), unique('b'), unique('d')];
    await warm(locks, a);
    await warm(locks, b);
    const end = deferred();
    // a and b through their words, d (no entry yet) through the table, granted a, d, b.
    const pa = locks.request(a, () => end.promise);
    const pd = locks.request(d, () => end.promise);
    const pb = locks.request(b, () => end.promise);
    await withClients(async (start) => {
      const other = start(locks.handle);
      await until(async () => (await other.query()).held.length === 3, 2_000, 'three held');
      const q = await other.query();
      expect(q.held.map((h) => [h.name, h.mode, h.clientId])).toEqual([
        [a, 'exclusive', WebLocks.clientId],
        [d, 'exclusive', WebLocks.clientId],
        [b, 'exclusive', WebLocks.clientId],
      ]);
      // a and b sit in their words (held by this thread's owner id), d in a record of its task.
      const owners = new Map(
        LockManager.from((locks.handle as { manager: LockManagerHandle }).manager)
          .query()
          .held.map((h) => [JSON.parse(h.resource)[0], h.owner]),
      );
      expect([owners.get(a)! < FIRST_TASK_OWNER, owners.get(b)! < FIRST_TASK_OWNER, owners.get(d)! < FIRST_TASK_OWNER]).toEqual([true, true, false]);
      // And a worker's request of a waits behind the fast holder, in FIFO order.
      const id = await other.request(a);
      await until(async () => (await locks.query()).pending.length === 1, 2_000, 'queued behind the word');
      expect(await other.isGranted(id)).toBe(false);
      end.resolve();
      await Promise.all([pa, pd, pb]);
      await other.granted(id);
      await other.release(id);
    });
    expect(await locks.query()).toEqual({ held: [], pending: [] });
  });

  it("a robbed fast hold's late release frees nothing of this thread's next hold of the name", async () => {
    const locks = new WebLocks();
    const name = unique('x');
    await warm(locks, name);
    const first = deferred();
    let firstOutcome: unknown;
    const robbed = locks.request(name, () => first.promise).then(
      () => 'resolved',
      (e: unknown) => (firstOutcome = e),
    );
    // A steal from this same thread moves the fast hold into the table and takes it; released at once.
    await locks.request(name, { steal: true }, () => {});
    await robbed;
    expectDOMException(firstOutcome, 'AbortError');
    // The name is free again: this thread's next hold (its word is not taken while the robbed
    // callback still runs, so the table holds it).
    const second = deferred();
    let inSecond = false;
    const p2 = locks.request(name, () => ((inSecond = true), second.promise));
    await until(() => inSecond, 2_000, 'second hold granted');
    // The robbed callback ends now: its release must not free the second hold.
    first.resolve();
    await new Promise((r) => setTimeout(r, 10));
    expect(await locks.request(name, { ifAvailable: true }, (l) => l)).toBe(null);
    second.resolve();
    await p2;
    expect(await locks.request(name, { ifAvailable: true }, (l) => l?.name)).toBe(name);
  });

  it('a cached entry recycled for another name: a fast take of the old name does not take the new one', async () => {
    const capacity = 16;
    const locks = new WebLocks({ capacity });
    const x = unique('x');
    await warm(locks, x); // x's entry is cached, empty; this thread has its index
    await locks.request(x, () => {}); // through the word: the index is cached
    // Fill the table: the last name finds the pool empty, and the drain recycles x's empty entry.
    const end = deferred();
    const names = Array.from({ length: capacity }, (_, k) => unique(`n${k}`));
    const held = names.map((n) => locks.request(n, () => end.promise));
    await until(async () => (await locks.query()).held.length === capacity, 2_000, 'table full');
    end.resolve();
    await Promise.all(held);
    // Every n is now an empty cached entry, one of them in x's old place. Hold x (its stale index
    // points at that entry), and every n must still be free.
    const inX = deferred();
    const xEnd = deferred();
    const px = locks.request(x, () => (inX.resolve(), xEnd.promise));
    await inX.promise;
    for (const n of names) expect(await locks.request(n, { ifAvailable: true }, (l) => l?.name ?? null)).toBe(n);
    expect((await locks.query()).held.map((h) => h.name)).toEqual([x]);
    xEnd.resolve();
    await px;
  });

  it.each(['terminate', 'exit'] as const)('a worker that dies (%s) holding a name through its word: a waiter gets it, query() shows it free', async (how) => {
    const locks = new WebLocks();
    const [waited, alone] = [unique('w'), unique('alone')];
    await withClients(async (start) => {
      const holder = start(locks.handle);
      for (const n of [waited, alone]) {
        // Warm the name in the holder, then hold it through the word.
        await holder.release(await holder.request(n).then(async (id) => (await holder.granted(id), id)));
        await holder.granted(await holder.request(n));
      }
      const deadId = await holder.clientId();
      expect((await locks.query()).held.map((h) => h.clientId)).toEqual([deadId, deadId]);
      const end = deferred();
      let got = false;
      const here = locks.request(waited, () => ((got = true), end.promise));
      await until(async () => (await locks.query()).pending.length === 1, 2_000, 'queued behind the word');
      if (how === 'terminate') await holder.terminate();
      else await holder.die('exit');
      await within(holder.exited, 5_000, 'holder exit');
      await until(() => got, 2_000, 'the waiter granted after the death');
      // Nobody asked for `alone`: query() reaps the dead fast holder and shows only the waiter's hold.
      expect((await locks.query()).held.map((h) => h.name)).toEqual([waited]);
      expect(await locks.request(alone, { ifAvailable: true }, (l) => l?.name ?? null)).toBe(alone);
      end.resolve();
      await here;
    });
  });

  it('a steal from another worker takes a fast hold: the holder is rejected, its late release frees nothing', async () => {
    const locks = new WebLocks();
    const name = unique('s');
    await warm(locks, name);
    const end = deferred();
    let outcome: unknown;
    let inside = false;
    const p = locks.request(name, () => ((inside = true), end.promise)).catch((e: unknown) => (outcome = e));
    await until(() => inside, 2_000, 'held through the word');
    await withClients(async (start) => {
      const thief = start(locks.handle);
      const id = await thief.request(name, { steal: true });
      await thief.granted(id);
      await until(() => outcome !== undefined, 2_000, 'the robbed request rejected');
      expectDOMException(outcome, 'AbortError');
      end.resolve(); // the robbed callback ends while the thief holds
      await p;
      expect(await locks.request(name, { ifAvailable: true }, (l) => l)).toBe(null);
      expect((await locks.query()).held.map((h) => h.clientId)).toEqual([await thief.clientId()]);
      await thief.release(id);
    });
    expect(await locks.request(name, { ifAvailable: true }, (l) => l?.name)).toBe(name);
  });

  it('two views of one table in one thread through different buffer objects share one fast-hold guard', async () => {
    // A cloned handle (another SharedArrayBuffer object for the same memory), and the CJS build's
    // process-wide locks beside the ESM build's: a robbed hold's late release through one view
    // must not free this thread's later hold through the other (a review's repro, two holders).
    const dist = new URL('../../dist/index.js', import.meta.url);
    const esm = (await import(dist.href)) as { WebLocks: typeof WebLocks; locks: WebLocks };
    const cjs = createRequire(import.meta.url)(new URL('../../dist/index.cjs', import.meta.url).pathname) as { locks: WebLocks };
    const pairs: [string, WebLocks, WebLocks][] = [];
    const wl = new esm.WebLocks();
    pairs.push(['cloned handle', wl, esm.WebLocks.from(structuredClone(wl.handle) as Parameters<typeof WebLocks.from>[0])]);
    pairs.push(['ESM and CJS builds', esm.locks, cjs.locks]);
    for (const [what, v1, v2] of pairs) {
      const name = unique('v');
      await v1.request(name, () => {});
      const endA = deferred();
      const robbed = v1.request(name, () => endA.promise).then(
        () => 'resolved',
        (e: { name: string }) => e.name,
      );
      await new Promise((r) => setTimeout(r, 5));
      await v1.request(name, { steal: true }, () => {});
      expect(await robbed, what).toBe('AbortError');
      const endB = deferred();
      let inB = false;
      const pB = v2.request(name, () => ((inB = true), endB.promise));
      await until(() => inB, 2_000, `${what}: B granted`);
      endA.resolve(); // the robbed callback ends: its release must leave B's hold alone
      await new Promise((r) => setTimeout(r, 5));
      expect(await v1.request(name, { ifAvailable: true }, (l) => l !== null), what).toBe(false);
      endB.resolve();
      await pB;
    }
  });
});

/**
 * A request of another worker closes the fast word of a holder T (its hold becomes a record) and
 * is terminated right after its CAS, before anything else of its update: the next locker undoes
 * the close (T's word again). Found by a review: T's hold was then taken for stolen, and with the
 * record pool full T's release threw CapacityError and left the name held by T for good.
 */
describe('Web Locks fast word: a closer terminated right after its CAS', () => {
  const url = new URL('../../dist/index.js', import.meta.url).href;
  const HOLDER = `
    const { workerData, parentPort } = require('node:worker_threads');
    import(workerData.url).then(async ({ WebLocks }) => {
      const wl = WebLocks.from(workerData.handle);
      await wl.request('a', () => {}); // the entry exists, empty: the next request takes the word
      let end;
      const p = wl.request('a', () => new Promise((r) => (end = r))).then(() => 'ok', (e) => e.name);
      let settled = 'pending';
      p.then((v) => (settled = v));
      parentPort.postMessage('held');
      await new Promise((r) => parentPort.once('message', r));
      parentPort.postMessage(settled); // before its callback ends: still 'pending' unless rejected
      end();
      parentPort.postMessage(await p);
    });`;
  // Stops for good right after its CAS that takes the holder's word (T -> CLOSED), then is terminated.
  const CLOSER = `
    const { workerData, parentPort } = require('node:worker_threads');
    import(workerData.url).then(async ({ WebLocks }) => {
      const wl = WebLocks.from(workerData.handle);
      const cas = Atomics.compareExchange;
      Atomics.compareExchange = function (a, i, expect, value) {
        const r = cas.call(Atomics, a, i, expect, value);
        if (expect === workerData.holder && value === 0 && r === expect) {
          parentPort.postMessage('stopped');
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
        }
        return r;
      };
      await wl.request('a', { ifAvailable: true }, (l) => l);
      parentPort.postMessage('done');
    });`;
  const next = (w: Worker, what: string) => within(new Promise<string>((r) => w.once('message', r)), 10_000, what);

  async function closeAndKill(wl: WebLocks, beforeKill?: () => Promise<void>): Promise<Worker> {
    const holder = new Worker(HOLDER, { eval: true, workerData: { url, handle: wl.handle } });
    expect(await next(holder, 'holder: held')).toBe('held');
    await beforeKill?.();
    const closer = new Worker(CLOSER, { eval: true, workerData: { url, handle: wl.handle, holder: holder.threadId + 1 } });
    expect(await next(closer, 'closer: stopped')).toBe('stopped');
    await closer.terminate();
    return holder;
  }

  it('the holder is not taken for robbed when a steal elsewhere makes it look', async () => {
    const wl = new WebLocks();
    const holder = await closeAndKill(wl);
    try {
      // A steal on another name moves STEAL: every holding thread asks the table about its holds.
      const z = unique('z');
      const robbed = wl.request(z, () => new Promise(() => {})).catch((e: { name: string }) => e.name);
      await new Promise((r) => setTimeout(r, 5));
      await wl.request(z, { steal: true }, () => {});
      expect(await robbed).toBe('AbortError');
      await new Promise((r) => setTimeout(r, 200)); // time for the holder's look
      holder.postMessage('end');
      expect(await next(holder, 'holder: settled before its callback ended?')).toBe('pending');
      expect(await next(holder, 'holder: release')).toBe('ok');
      expect(await wl.request('a', { ifAvailable: true }, (l) => l !== null)).toBe(true);
    } finally {
      await holder.terminate();
    }
  });

  it('with the record pool full, the holder releases and leaves the name free', async () => {
    const wl = new WebLocks({ capacity: 16, holderCapacity: 4 });
    const ends: (() => void)[] = [];
    const holder = await closeAndKill(wl, async () => {
      // Shared requests always make records: take every one the pool has left.
      for (let k = 0; k < 4; k++) {
        const end = deferred();
        const got = deferred<boolean>();
        wl.request(unique('fill'), { mode: 'shared' }, () => (got.resolve(true), end.promise)).catch(() => got.resolve(false));
        if (!(await got.promise)) break;
        ends.push(() => end.resolve());
      }
      expect(ends.length).toBeGreaterThan(0);
    });
    try {
      holder.postMessage('end');
      expect(await next(holder, 'holder: before the end')).toBe('pending');
      expect(await next(holder, 'holder: release')).toBe('ok');
      for (const end of ends) end();
      await new Promise((r) => setTimeout(r, 10));
      expect((await wl.query()).held).toEqual([]);
      expect(await wl.request('a', { timeout: 2000 }, () => 'free')).toBe('free');
    } finally {
      await holder.terminate();
    }
  });
});

