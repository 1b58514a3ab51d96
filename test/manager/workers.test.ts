/**
 * LockManager across real worker threads: holders in one worker, requesters in another.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { LockManager } from '../../dist/index.js';
import { Agent, eventually, sleep, withAgents } from './agent.js';

const MODES = ['IS', 'IX', 'S', 'SIX', 'U', 'X'] as const;
// DESIGN.md §3, written out independently of src/manager/modes.ts: held (row) × requested (column).
const COMPATIBLE: Record<string, string> = {
  IS: 'YYYYYN',
  IX: 'YYNNNN',
  S: 'YNYNYN',
  SIX: 'YNNNNN',
  U: 'YNYNNN',
  X: 'NNNNNN',
};

const T = 30_000;
let lm: LockManager;
afterEach(() => {
  // Every test must leave the table empty: no leaked entries or records.
  if (lm) expect(lm.query().resources).toEqual([]);
});

describe('LockManager across workers', () => {
  it(
    'full 6×6 compatibility matrix: holder in one worker, tryAcquire in another',
    async () => {
      lm = new LockManager({ capacity: 64 });
      await withAgents(lm.handle, 2, async ([a, b]) => {
        for (const held of MODES) {
          for (const [k, req] of MODES.entries()) {
            const h = await a!.call<number>('acquire', ['db', 't'], held);
            const got = await b!.call<number | null>('tryAcquire', ['db', 't'], req);
            const want = COMPATIBLE[held]![k] === 'Y';
            expect({ held, req, granted: got !== null }).toEqual({ held, req, granted: want });
            if (got !== null) await b!.call('release', got);
            await a!.call('release', h);
          }
        }
      });
    },
    T,
  );

  it(
    'takes intention locks on every ancestor, root first, and they block coarse conflicting locks',
    async () => {
      lm = new LockManager({ capacity: 64 });
      await withAgents(lm.handle, 2, async ([a, b]) => {
        const aId = await a!.call<number>('ownerId');
        const h = await a!.call<number>('acquire', ['db', 't', 1], 'X');
        const held = lm.query().held;
        expect(held).toContainEqual({ resource: '["db"]', owner: aId, mode: 'IX' });
        expect(held).toContainEqual({ resource: '["db","t"]', owner: aId, mode: 'IX' });
        expect(held).toContainEqual({ resource: '["db","t",1]', owner: aId, mode: 'X' });
        expect(await b!.call('tryAcquire', ['db', 't'], 'S')).toBeNull();
        expect(await b!.call('tryAcquire', ['db'], 'X')).toBeNull();
        expect(await b!.call('tryAcquire', ['db', 't', 1], 'S')).toBeNull();
        const is = await b!.call<number>('tryAcquire', ['db', 't'], 'IS');
        expect(is).not.toBeNull();
        const other = await b!.call<number>('tryAcquire', ['db', 't', 2], 'X');
        expect(other).not.toBeNull();
        await b!.call('release', other);
        await b!.call('release', is);
        await a!.call('release', h);
        // A table-level S lets readers of rows in (IS ok with S) but keeps row writers out (IX).
        const s = await a!.call<number>('acquire', ['db', 't'], 'S');
        expect(await b!.call('tryAcquire', ['db', 't', 5], 'X')).toBeNull();
        const r = await b!.call<number>('tryAcquire', ['db', 't', 5], 'S');
        expect(r).not.toBeNull();
        await b!.call('release', r);
        await a!.call('release', s);
      });
    },
    T,
  );

  it(
    'converts re-requests to the least upper bound; releasing one handle keeps the rest',
    async () => {
      lm = new LockManager({ capacity: 64 });
      await withAgents(lm.handle, 2, async ([a, b]) => {
        const s = await a!.call<number>('acquire', ['r'], 'S');
        const ix = await a!.call<number>('acquire', ['r'], 'IX');
        expect(lm.query().resources[0]!.holders[0]).toMatchObject({ mode: 'SIX', modes: ['IX', 'S'], count: 2 });
        // SIX: only IS is compatible.
        const is = await b!.call<number>('tryAcquire', ['r'], 'IS');
        expect(is).not.toBeNull();
        await b!.call('release', is);
        expect(await b!.call('tryAcquire', ['r'], 'IX')).toBeNull();
        expect(await b!.call('tryAcquire', ['r'], 'S')).toBeNull();
        await a!.call('release', ix); // back to S
        expect(lm.query().resources[0]!.holders[0]).toMatchObject({ mode: 'S', count: 1 });
        expect(await b!.call('tryAcquire', ['r'], 'IX')).toBeNull();
        const s2 = await b!.call<number>('tryAcquire', ['r'], 'S');
        expect(s2).not.toBeNull();
        // Blocking conversion S→X waits for the other reader to leave.
        const x = a!.call<number>('acquire', ['r'], 'X');
        await eventually(() => lm.query().pending.length === 1);
        expect(lm.query().pending[0]).toMatchObject({ mode: 'X' });
        expect(lm.query().resources[0]!.waiters[0]!.conversion).toBe(true);
        await b!.call('release', s2);
        const xh = await x;
        await a!.call('release', xh);
        await a!.call('release', s);
      });
    },
    T,
  );

  it(
    'conversions go ahead of the queue; new requests queue FIFO behind a waiting X',
    async () => {
      lm = new LockManager({ capacity: 64 });
      await withAgents(lm.handle, 3, async ([a, b, c]) => {
        const s = await a!.call<number>('acquire', ['q'], 'S');
        const bx = b!.call<number>('acquire', ['q'], 'X'); // waits for a's S
        await eventually(() => lm.query().pending.length === 1);
        // Eventual fairness (the default): only a waiter that has waited over FAIR_AFTER_MS holds
        // later requests back (docs/lock-manager.md, "Scheduling rules"). Let X become due first,
        // or an S sent within ~1 ms may pass it (it did once, on Node 26 in a full run).
        await sleep(10);
        // S is compatible with the holder but would overtake the waiting X: refused.
        expect(await c!.call('tryAcquire', ['q'], 'S')).toBeNull();
        const cs = c!.call<number>('acquireAsync', ['q'], 'S');
        await eventually(() => lm.query().pending.length === 2);
        expect(lm.query().pending.map((p) => p.mode)).toEqual(['X', 'S']);
        // a's conversion S→SIX is checked against holders only (it holds; nobody else does).
        const six = await a!.call<number>('tryAcquire', ['q'], 'SIX');
        expect(six).not.toBeNull();
        await a!.call('release', six);
        await a!.call('release', s);
        const bh = await bx; // X first…
        expect(lm.query().pending).toMatchObject([{ mode: 'S' }]);
        await b!.call('release', bh);
        await c!.call('release', await cs); // …then S
      });
    },
    T,
  );

  it(
    'a waiting X is not starved by a stream of overlapping S requests from other workers',
    async () => {
      lm = new LockManager({ capacity: 64 });
      await withAgents(lm.handle, 3, async ([r1, r2, w]) => {
        const streams = Promise.all([
          r1!.call<number>('overlapStream', ['fair'], 'S', 4000, 100),
          r2!.call<number>('overlapStream', ['fair'], 'S', 4000, 100),
        ]);
        await eventually(() => lm.query().held.length > 0);
        const t0 = Date.now();
        const x = await w!.call<number>('acquire', ['fair'], 'X', { timeout: 20_000 });
        // Granted long before the readers stop (4 s): FIFO made them queue behind it. Without
        // FIFO their holds overlap for the whole run and X only gets in after they stop.
        expect(Date.now() - t0).toBeLessThan(2000);
        await w!.call('release', x);
        const counts = await streams;
        expect(counts[0]).toBeGreaterThan(0);
        expect(counts[1]).toBeGreaterThan(0);
      });
    },
    T,
  );

  it(
    'U prevents the S→X conversion deadlock that plain S readers run into',
    async () => {
      lm = new LockManager({ capacity: 64, deadlockTimeout: 50 });
      await withAgents(lm.handle, 2, async ([a, b]) => {
        // Control: two S readers both converting to X deadlock; one is the victim.
        const sa = await a!.call<number>('acquire', ['u'], 'S');
        const sb = await b!.call<number>('acquire', ['u'], 'S');
        const xa = a!.call<number>('acquire', ['u'], 'X').then((v) => ({ who: a!, v }), (e) => ({ who: a!, e }));
        const xb = b!.call<number>('acquire', ['u'], 'X').then((v) => ({ who: b!, v }), (e) => ({ who: b!, e }));
        // The victim settles first: the survivor cannot be granted before the victim lets go.
        const first = await Promise.race([xa, xb]);
        expect(first).toHaveProperty('e.name', 'DeadlockError');
        const victimIsA = first.who === a;
        await first.who.call('release', victimIsA ? sa : sb);
        const winner = (await (victimIsA ? xb : xa)) as { who: Agent; v: number };
        expect(winner.v).toBeTypeOf('number');
        await winner.who.call('release', winner.v);
        await winner.who.call('release', victimIsA ? sb : sa);
        // With U: the second updater waits at U (U conflicts with U), so no cycle can form.
        const ua = await a!.call<number>('acquire', ['u'], 'U');
        const r = await b!.call<number>('tryAcquire', ['u'], 'S'); // readers still get in
        expect(r).not.toBeNull();
        await b!.call('release', r);
        const ub = b!.call<number>('acquire', ['u'], 'U', { timeout: 5000 });
        await eventually(() => lm.query().pending.length === 1);
        const x = await a!.call<number>('acquire', ['u'], 'X', { timeout: 5000 });
        await a!.call('release', x);
        await a!.call('release', ua);
        const ubh = await ub;
        const bxh = await b!.call<number>('acquire', ['u'], 'X', { timeout: 5000 });
        await b!.call('release', bxh);
        await b!.call('release', ubh);
      });
    },
    T,
  );

  it(
    'an escalation ends while its owner keeps taking fine locks: another worker gets in (issue 13, item 4)',
    async () => {
      lm = new LockManager({ capacity: 256, escalationThreshold: 5 });
      await withAgents(lm.handle, 2, async ([walker, other]) => {
        // At most 6 rows held at a time (take the next, drop the oldest), past the threshold 5.
        const walkerId = await walker!.call<number>('ownerId');
        const walk = walker!.call<number>('walk', ['db', 't'], 'X', 3000, 6);
        // The walker's loop is busy walking: watch the table for its escalation.
        const escalated = (): boolean =>
          lm.query().held.some((x) => x.owner === walkerId && x.resource === '["db","t"]' && x.mode === 'X');
        await eventually(escalated, 2000);
        const t0 = Date.now();
        const h = await other!.call<number>('acquire', ['db', 't', 'other'], 'X', { timeout: 2500 });
        expect(Date.now() - t0).toBeLessThan(2000);
        await other!.call('release', h);
        expect(await walk).toBeGreaterThan(6);
        expect(await walker!.call<number>('escalations')).toBeGreaterThan(0);
      });
    },
    T,
  );

  it(
    'detects a two-owner deadlock and names every edge',
    async () => {
      lm = new LockManager({ capacity: 64, deadlockTimeout: 30 });
      await withAgents(lm.handle, 2, async ([a, b]) => {
        const [aId, bId] = [await a!.call<number>('ownerId'), await b!.call<number>('ownerId')];
        const a1 = await a!.call<number>('acquire', ['d', 1], 'X');
        const b2 = await b!.call<number>('acquire', ['d', 2], 'X');
        const pa = a!.call<number>('acquire', ['d', 2], 'X').then((v) => ({ v }), (e) => ({ e }));
        const pb = b!.call<number>('acquire', ['d', 1], 'X').then((v) => ({ v }), (e) => ({ e }));
        // The victim settles first: the survivor cannot be granted before the victim lets go.
        const first = (await Promise.race([pa.then((r) => ({ ...r, aLost: true })), pb.then((r) => ({ ...r, aLost: false }))])) as {
          e: { name: string; code: string; message: string };
          aLost: boolean;
        };
        expect(first.e.name).toBe('DeadlockError');
        expect(first.e.code).toBe('ERR_LOCK_DEADLOCK');
        expect(first.e.message).toContain(`owner ${aId} waits for X on ["d",2], blocked by owner ${bId} (holds X)`);
        expect(first.e.message).toContain(`owner ${bId} waits for X on ["d",1], blocked by owner ${aId} (holds X)`);
        const { aLost } = first;
        if (aLost) await a!.call('release', a1);
        else await b!.call('release', b2);
        const won = (await (aLost ? pb : pa)) as { v: number };
        expect(won.v).toBeTypeOf('number');
        await (aLost ? b! : a!).call('release', won.v);
        await (aLost ? b! : a!).call('release', aLost ? b2 : a1);
      });
    },
    T,
  );

  it(
    'detects a three-owner cycle',
    async () => {
      lm = new LockManager({ capacity: 64, deadlockTimeout: 30 });
      await withAgents(lm.handle, 3, async (agents) => {
        const ids = await Promise.all(agents.map((x) => x.call<number>('ownerId')));
        const first = await Promise.all(agents.map((x, k) => x.call<number>('acquire', ['c', k], 'X')));
        const second = agents.map((x, k) =>
          x.call<number>('acquire', ['c', (k + 1) % 3], 'X').then((v) => ({ v, k }), (e) => ({ e, k })),
        );
        const victim = (await Promise.race(second)) as { e: { name: string; message: string }; k: number };
        expect(victim.e.name).toBe('DeadlockError');
        for (let k = 0; k < 3; k++) {
          expect(victim.e.message).toContain(
            `owner ${ids[k]} waits for X on ["c",${(k + 1) % 3}], blocked by owner ${ids[(k + 1) % 3]} (holds X)`,
          );
        }
        await agents[victim.k]!.call('release', first[victim.k]);
        // The others finish in turn once each releases.
        let k = (victim.k + 2) % 3; // the one waiting for the victim's lock goes first
        for (let n = 0; n < 2; n++) {
          const r = (await second[k]) as { v: number };
          expect(r.v).toBeTypeOf('number');
          await agents[k]!.call('release', r.v);
          await agents[k]!.call('release', first[k]);
          k = (k + 2) % 3;
        }
      });
    },
    T,
  );

  it(
    'escalates many fine locks to one coarse lock, and retries a failed escalation later',
    async () => {
      lm = new LockManager({ capacity: 256, escalationThreshold: 32 });
      await withAgents(lm.handle, 2, async ([a, b]) => {
        const aId = await a!.call<number>('ownerId');
        const ids = await a!.call<number[]>('many', ['db', 'big'], 40, 'X');
        expect(await a!.call('escalations')).toBe(1);
        const q = lm.query();
        expect(q.held).toContainEqual({ resource: '["db","big"]', owner: aId, mode: 'X' });
        // The 32 fine locks it replaced were released; the 8 taken after it are fine locks (an
        // escalation covers only what it replaced, so it ends when they are released).
        expect(q.resources.filter((r) => r.resource.startsWith('["db","big",')).length).toBe(8);
        expect(await b!.call('tryAcquire', ['db', 'big', 1000], 'S')).toBeNull();
        expect(await b!.call('tryAcquire', ['db', 'big'], 'IS')).toBeNull();
        await a!.call('releaseMany', ids);
        // S escalation: readers elsewhere under the parent still get in, writers do not.
        const sids = await a!.call<number[]>('many', ['db', 'big'], 33, 'S');
        expect(await a!.call('escalations')).toBe(2);
        expect(lm.query().held).toContainEqual({ resource: '["db","big"]', owner: aId, mode: 'S' });
        const rd = await b!.call<number>('tryAcquire', ['db', 'big', 7], 'S');
        expect(rd).not.toBeNull();
        await b!.call('release', rd);
        expect(await b!.call('tryAcquire', ['db', 'big', 7], 'X')).toBeNull();
        await a!.call('releaseMany', sids);
        // Failed escalation: b's IS on the parent blocks X; a keeps its fine locks and retries.
        const bis = await b!.call<number>('acquire', ['db', 'big'], 'IS');
        const f1 = await a!.call<number[]>('many', ['db', 'big'], 32, 'X');
        expect(await a!.call('escalations')).toBe(2);
        expect(lm.query().resources.filter((r) => r.resource.startsWith('["db","big",')).length).toBe(32);
        await b!.call('release', bis);
        const f2 = await a!.call<number[]>('many', ['db', 'more'], 1, 'X'); // elsewhere: no retry
        expect(await a!.call('escalations')).toBe(2);
        // threshold/4 = 8 more fine locks under the parent trigger the retry.
        const f4: number[] = [];
        for (let k = 0; k < 8; k++) f4.push(await a!.call<number>('acquire', ['db', 'big', 100 + k], 'X'));
        expect(await a!.call('escalations')).toBe(3);
        expect(lm.query().resources.filter((r) => r.resource.startsWith('["db","big",')).length).toBe(0);
        await a!.call('releaseMany', [...f1, ...f2, ...f4]);
      });
    },
    T,
  );

  it(
    'forced hash collisions only over-serialize: distinct colliding paths exclude each other',
    async () => {
      lm = new LockManager({ capacity: 64, hashBits: 0 }); // every path has key 0
      await withAgents(lm.handle, 2, async ([a, b]) => {
        const h = await a!.call<number>('acquire', ['a', 1], 'X');
        expect(lm.query().resources.length).toBe(1); // ancestors and leaf share the entry
        expect(await b!.call('tryAcquire', ['b', 2], 'X')).toBeNull();
        expect(await b!.call('tryAcquire', ['c'], 'IS')).toBeNull();
        await a!.call('release', h);
        const s = await a!.call<number>('acquire', ['a', 1], 'S');
        const s2 = await b!.call<number>('tryAcquire', ['z', 9], 'S'); // S + IS on one entry: fine
        expect(s2).not.toBeNull();
        await b!.call('release', s2);
        await a!.call('release', s);
      });
    },
    T,
  );

  it(
    'a full table is a CapacityError and leaves the table intact',
    async () => {
      // fastPath: false: the IS/IX on ['r'] count against capacity in the main table here.
      lm = new LockManager({ capacity: 8, holderCapacity: 12, fastPath: false });
      await withAgents(lm.handle, 2, async ([a, b]) => {
        const hs: number[] = [];
        for (let k = 0; k < 7; k++) hs.push(await a!.call<number>('acquire', ['r', k], 'S'));
        const err = await a!.fails('acquire', ['r', 7], 'S');
        expect(err.name).toBe('CapacityError');
        expect(err.message).toContain('capacity');
        expect(lm.query().resources.length).toBe(8); // ['r'] and 7 rows, nothing half-made
        // Records: a has 8; b's IS on ['r'] and on rows 0, 1, 2 fill the 12; row 3 cannot.
        const err2 = await b!.fails('many', ['r'], 7, 'IS');
        expect(err2.name).toBe('CapacityError');
        expect(err2.message).toContain('holderCapacity');
        await b!.call('releaseAll');
        for (const h of hs) await a!.call('release', h);
        expect(lm.query().resources).toEqual([]);
        // Everything works again.
        const ok = await b!.call<number[]>('many', ['r'], 7, 'X');
        await b!.call('releaseMany', ok);
      });
    },
    T,
  );

  it(
    'timeouts and aborts withdraw the request cleanly',
    async () => {
      lm = new LockManager({ capacity: 64 });
      await withAgents(lm.handle, 1, async ([a]) => {
        const h = await a!.call<number>('acquire', ['t', 1], 'X');
        const t0 = Date.now();
        await expect(lm.acquireAsync(['t', 1], 'S', { timeout: 40 })).rejects.toMatchObject({ name: 'TimeoutError' });
        expect(Date.now() - t0).toBeGreaterThanOrEqual(35);
        expect(() => lm.acquire(['t', 1], 'S', { timeout: 20 })).toThrow(/not acquired within 20 ms/);
        const ac = new AbortController();
        const p = lm.acquireAsync(['t', 1], 'X', { signal: ac.signal });
        await eventually(() => lm.query().pending.length === 1);
        ac.abort(new Error('stop'));
        await expect(p).rejects.toThrow('stop');
        expect(lm.query().pending).toEqual([]);
        // Only a's two holds are left: the failed requests rolled back their intention locks.
        expect(lm.query().held.length).toBe(2);
        await a!.call('release', h);
      });
    },
    T,
  );

  it(
    'a terminated worker\'s locks are freed for its waiter without releaseAll (owner-death layer), all at once',
    async () => {
      lm = new LockManager({ capacity: 64 });
      const a = new Agent(lm.handle);
      try {
        await withAgents(lm.handle, 1, async ([b]) => {
          const aId = await a.call<number>('ownerId');
          await a.call('acquire', ['dead', 1], 'X');
          await a.call('acquire', ['dead', 2], 'S');
          const waiting = b!.call<number>('acquire', ['dead', 1], 'X', { timeout: 10_000 });
          await eventually(() => lm.query().pending.length === 1);
          await a.terminate();
          const h = await waiting;
          // The waiter released every record of the dead owner, not only the one it waited on.
          expect(lm.releaseAll(aId)).toBe(0);
          expect(lm.query().held.every((x) => x.owner !== aId)).toBe(true);
          await b!.call('release', h);
        });
      } finally {
        await a.terminate();
      }
    },
    T,
  );
});
