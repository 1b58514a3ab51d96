/**
 * LockManager in one thread: API surface, argument checks, placement, explicit owners (several
 * owners per thread, so deadlocks can be built with acquireAsync), bookkeeping edge cases.
 */
import { describe, expect, it } from 'vitest';
import { CapacityError, DeadlockError, LockError, LockManager, TimeoutError } from '../../dist/index.js';

const clean = (lm: LockManager): void => expect(lm.query().resources).toEqual([]);

describe('LockManager basics', () => {
  it('places itself in a caller buffer at an offset and attaches from a handle', () => {
    const n = LockManager.byteLengthFor({ capacity: 32 });
    expect(LockManager.BYTE_ALIGNMENT).toBe(4);
    expect(n % 4).toBe(0);
    const sab = new SharedArrayBuffer(64 + n);
    const lm = new LockManager({ capacity: 32, buffer: sab, byteOffset: 64, name: 'accounts' });
    expect(() => new LockManager({ capacity: 32, buffer: sab, byteOffset: 64 + 4 })).toThrow(RangeError);
    expect(() => new LockManager({ capacity: 31, buffer: sab, byteOffset: 64 })).toThrow(/different shape/);
    const h = lm.acquire(['a', 1], 'X');
    const other = LockManager.from(lm.handle);
    expect(other.name).toBe('accounts');
    expect(other.capacity).toBe(32);
    expect(other.query().held.length).toBe(2);
    const o = other.newOwner();
    expect(other.tryAcquire(['a', 1], 'S', { owner: o })).toBeNull();
    h.release();
    other.tryAcquire(['a', 1], 'S', { owner: o })!.release();
    clean(lm);
    expect(() => LockManager.from({ ...lm.handle, capacity: 64 } as never)).toThrow(RangeError);
    expect(() => LockManager.from({ ...lm.handle, kind: 'Mutex' } as never)).toThrow(TypeError);
    expect(() => LockManager.from({ ...lm.handle, hashBits: 3 } as never)).toThrow(/do not match/);
  });

  it('checks its arguments', () => {
    const lm = new LockManager({ capacity: 8 });
    expect(() => new LockManager({ capacity: 0 })).toThrow(RangeError);
    expect(() => new LockManager({ capacity: 1.5 })).toThrow(/options.capacity/);
    expect(() => new LockManager({ deadlockTimeout: -1 })).toThrow(/deadlockTimeout/);
    expect(() => new LockManager({ escalationThreshold: -1 })).toThrow(/escalationThreshold/);
    expect(() => new LockManager({ hashBits: 65 })).toThrow(/hashBits/);
    expect(() => lm.acquire('db' as never, 'X')).toThrow(TypeError);
    expect(() => lm.acquire([], 'X')).toThrow(/at least one/);
    expect(() => lm.acquire(['a', 1.5], 'X')).toThrow(/path\[1\]/);
    expect(() => lm.acquire(['a', {} as never], 'X')).toThrow(TypeError);
    expect(() => lm.acquire(['a'], 'W' as never)).toThrow(/mode must be one of/);
    expect(() => lm.acquire(['a'], 'X', { owner: 0 })).toThrow(/options.owner/);
    expect(() => lm.acquire(['a'], 'X', { timeout: -5 })).toThrow(/timeout/);
    expect(() => lm.release({} as never)).toThrow(TypeError);
    expect(() => lm.releaseAll(-1)).toThrow(RangeError);
    clean(lm);
  });

  it('releases with `using`, once, and tells numbers from strings', () => {
    const lm = new LockManager({ capacity: 16 });
    {
      using h = lm.acquire(['t', 42], 'X');
      expect(h.held).toBe(true);
      expect(h.path).toEqual(['t', 42]);
      expect(lm.tryAcquire(['t', '42'], 'X', { owner: lm.newOwner() })).not.toBeNull(); // another resource
      lm.releaseAll(lm.query().held.find((x) => x.owner !== h.owner)!.owner);
    }
    clean(lm);
    const h = lm.acquire(['t'], 'S');
    h.release();
    h.release(); // no-op
    expect(h.held).toBe(false);
    clean(lm);
  });

  it('reports the least upper bound of held modes', () => {
    const lm = new LockManager({ capacity: 16 });
    const a = lm.acquire(['r'], 'IX');
    const b = lm.acquire(['r'], 'U');
    expect(lm.query().held[0]!.mode).toBe('X');
    a.release();
    const c = lm.acquire(['r'], 'S');
    expect(lm.query().resources[0]!.holders[0]).toMatchObject({ mode: 'U', modes: ['S', 'U'] });
    b.release();
    c.release();
    clean(lm);
  });

  it('explicit owners: several per thread, conflicting with each other, never with themselves', async () => {
    const lm = new LockManager({ capacity: 16 });
    const [t1, t2] = [lm.newOwner(), lm.newOwner()];
    expect(t1).not.toBe(t2);
    const x1 = lm.acquire(['acct', 1], 'X', { owner: t1 });
    const x1again = lm.acquire(['acct', 1], 'X', { owner: t1 }); // own lock: no conflict
    expect(lm.tryAcquire(['acct', 1], 'IS', { owner: t2 })).toBeNull();
    const p = lm.acquireAsync(['acct', 1], 'S', { owner: t2 });
    x1.release();
    expect(lm.query().pending.length).toBe(1);
    x1again.release();
    (await p).release();
    clean(lm);
  });

  it('two requests of one owner waiting on one resource both get through', async () => {
    const lm = new LockManager({ capacity: 16 });
    const [t1, t2] = [lm.newOwner(), lm.newOwner()];
    const x = lm.acquire(['r'], 'X', { owner: t2 });
    const a = lm.acquireAsync(['r'], 'S', { owner: t1 });
    const b = lm.acquireAsync(['r'], 'X', { owner: t1 });
    await new Promise((r) => setTimeout(r, 20));
    x.release();
    const [ha, hb] = await Promise.all([a, b]);
    expect(lm.query().held[0]).toMatchObject({ owner: t1, mode: 'X' });
    ha.release();
    hb.release();
    clean(lm);
  });

  it('finds a deadlock between two owners of one thread, with a per-request deadlockTimeout', async () => {
    const lm = new LockManager({ capacity: 16, deadlockTimeout: 60_000 });
    const [t1, t2] = [lm.newOwner(), lm.newOwner()];
    const a = lm.acquire(['a'], 'X', { owner: t1 });
    const b = lm.acquire(['b'], 'X', { owner: t2 });
    const p1 = lm.acquireAsync(['b'], 'X', { owner: t1, deadlockTimeout: 20 });
    const p2 = lm.acquireAsync(['a'], 'X', { owner: t2, deadlockTimeout: 20 });
    const settle = (p: Promise<unknown>): Promise<unknown> => p.then((v) => v, (e: unknown) => e);
    // The victim settles first: the survivor cannot be granted before the victim lets go.
    const r = await Promise.race([settle(p1), settle(p2)]);
    expect(r).toBeInstanceOf(DeadlockError);
    const err = r as DeadlockError & { cycle: { owner: number; blockedBy: number }[] };
    expect(err.cycle.map((e) => [e.owner, e.blockedBy]).sort()).toEqual([
      [t1, t2],
      [t2, t1],
    ].sort());
    // Release the victim's lock; the survivor finishes.
    const victim = err.cycle[0]!.owner;
    (victim === t1 ? a : b).release();
    const won = await (victim === t1 ? p2 : p1);
    await settle(victim === t1 ? p1 : p2);
    won.release();
    (victim === t1 ? b : a).release();
    clean(lm);
  });

  it('counts a FIFO queue position as a waits-for edge (soft edge) in a cycle', async () => {
    const lm = new LockManager({ capacity: 16, deadlockTimeout: Infinity });
    const [a, h, w] = [lm.newOwner(), lm.newOwner(), lm.newOwner()];
    const aq = lm.acquire(['q'], 'X', { owner: a });
    const hr = lm.acquire(['r'], 'S', { owner: h });
    const wx = lm.acquireAsync(['r'], 'X', { owner: w }); // waits for h's S
    const hq = lm.acquireAsync(['q'], 'X', { owner: h }); // waits for a's X
    await new Promise((r) => setTimeout(r, 10));
    // a's S is compatible with h's S but queues behind w's X: a → w → h → a.
    const err = await lm.acquireAsync(['r'], 'S', { owner: a, deadlockTimeout: 20 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeadlockError);
    const msg = (err as Error).message;
    expect(msg).toContain(`owner ${a} waits for S on ["r"], blocked by owner ${w} (waits ahead for X)`);
    expect(msg).toContain(`owner ${w} waits for X on ["r"], blocked by owner ${h} (holds S)`);
    expect(msg).toContain(`owner ${h} waits for X on ["q"], blocked by owner ${a} (holds X)`);
    aq.release();
    const hqh = await hq;
    hqh.release();
    hr.release();
    (await wx).release();
    clean(lm);
  });

  it('deadlockTimeout: Infinity never checks; the timeout ends the wait', async () => {
    const lm = new LockManager({ capacity: 16, deadlockTimeout: Infinity });
    const [t1, t2] = [lm.newOwner(), lm.newOwner()];
    const a = lm.acquire(['a'], 'X', { owner: t1 });
    const b = lm.acquire(['b'], 'X', { owner: t2 });
    const p1 = lm.acquireAsync(['b'], 'X', { owner: t1, timeout: 60 });
    const p2 = lm.acquireAsync(['a'], 'X', { owner: t2, timeout: 60 });
    // Both handlers at once: p2 may reject while p1 is still awaited (an unhandled rejection in CI).
    await Promise.all([expect(p1).rejects.toBeInstanceOf(TimeoutError), expect(p2).rejects.toBeInstanceOf(TimeoutError)]);
    a.release();
    b.release();
    clean(lm);
  });

  it('releaseAll(owner) ends a transaction; its handles become no-ops; in-flight requests fail', async () => {
    // No deadlock check to rescue a missed wakeup: the withdrawn request must be woken at once.
    const lm = new LockManager({ capacity: 16, deadlockTimeout: 600_000 });
    const [t1, t2] = [lm.newOwner(), lm.newOwner()];
    const h1 = lm.acquire(['db', 1], 'X', { owner: t1 });
    lm.acquire(['db', 2], 'S', { owner: t1 });
    const blocker = lm.acquire(['db', 3], 'X', { owner: t2 });
    const pending = lm.acquireAsync(['db', 3], 'S', { owner: t1 });
    await new Promise((r) => setTimeout(r, 10));
    expect(lm.releaseAll(t1)).toBe(4);
    blocker.release();
    await expect(pending).rejects.toMatchObject({ code: 'ERR_LOCK_STATE' });
    expect(h1.held).toBe(false);
    h1.release();
    clean(lm);
    expect(lm.releaseAll(t1)).toBe(0);
  }, 5_000);

  it('CapacityError leaves no half-made entries, and escalation can be turned off', () => {
    // fastPath: false: the intention locks on ['p'] count against the main table's capacity here.
    const lm = new LockManager({ capacity: 3, escalationThreshold: 0, fastPath: false });
    const h = lm.acquire(['p', 1], 'S');
    const h2 = lm.acquire(['p', 2], 'S');
    expect(() => lm.acquire(['q', 1], 'S')).toThrow(CapacityError);
    expect(lm.query().resources.length).toBe(3);
    h.release();
    h2.release();
    clean(lm);
    const big = new LockManager({ capacity: 64, escalationThreshold: 0 });
    const hs = Array.from({ length: 40 }, (_, k) => big.acquire(['p', k], 'X'));
    expect(big.escalations).toBe(0);
    hs.forEach((x) => x.release());
    clean(big);
  });

  it('escalation keeps working across release and re-acquire (bookkeeping stays balanced)', () => {
    const lm = new LockManager({ capacity: 128, escalationThreshold: 8 });
    for (let round = 0; round < 3; round++) {
      const hs = Array.from({ length: 12 }, (_, k) => lm.acquire(['t', 'rows', k], round === 1 ? 'S' : 'X'));
      // ['t'], ['t','rows'], and the 4 rows taken after the escalation (at 8): an escalation
      // covers only the fine locks it replaced.
      expect(lm.query().resources.length).toBe(6);
      // Re-acquiring a covered row takes it in the table again.
      const again = lm.acquire(['t', 'rows', 3], 'IS');
      expect(lm.query().resources.length).toBe(7);
      again.release();
      hs.slice(0, 6).forEach((x) => x.release());
      expect(lm.query().resources.length).toBe(6);
      expect(lm.query().held).toContainEqual(expect.objectContaining({ resource: '["t","rows"]', mode: round === 1 ? 'S' : 'X' }));
      hs.slice(6, 8).forEach((x) => x.release());
      // The last fine lock it stands for is gone: the coarse lock with it.
      expect(lm.query().held.find((h) => h.resource === '["t","rows"]')?.mode).toBe(round === 1 ? 'IS' : 'IX');
      hs.slice(8).forEach((x) => x.release());
      clean(lm);
    }
    expect(lm.escalations).toBe(3);
  });

  it('fine locks keep coming below an escalation: folded into it, the table stays small', () => {
    const lm = new LockManager({ capacity: 128, escalationThreshold: 8 });
    const hs = Array.from({ length: 100 }, (_, k) => lm.acquire(['t', 'rows', k], 'X'));
    expect(lm.escalations).toBe(1);
    // ['t'], ['t','rows'], and fewer than 8 fine rows not folded in yet.
    expect(lm.query().resources.length).toBeLessThan(2 + 8);
    hs.forEach((h) => h.release());
    clean(lm);
  });

  it('names resources by their path (truncated to nameBytes) or by key', async () => {
    const short = new LockManager({ capacity: 8, nameBytes: 8 });
    const h = short.acquire(['a-long-name'], 'S');
    expect(short.query().resources[0]!.resource).toBe('["a-l…');
    h.release();
    const none = new LockManager({ capacity: 8, nameBytes: 0 });
    const h2 = none.acquire(['x'], 'S');
    const o = none.newOwner();
    const p = none.acquireAsync(['x'], 'X', { owner: o });
    await new Promise((r) => setTimeout(r, 30));
    const q = none.query().resources[0]!;
    expect(q.resource).toMatch(/^key [0-9a-f]{16}$/);
    expect(q.waiters[0]!.waitingMs).toBeGreaterThanOrEqual(20);
    h2.release();
    (await p).release();
    clean(none);
  });

  it('rejects an already aborted signal before touching the table', async () => {
    const lm = new LockManager({ capacity: 8 });
    const ac = new AbortController();
    ac.abort(new Error('nope'));
    expect(() => lm.acquire(['a'], 'X', { signal: ac.signal })).toThrow('nope');
    await expect(lm.acquireAsync(['a'], 'X', { signal: ac.signal })).rejects.toThrow('nope');
    // Nothing was queued or created: the table is as empty as before.
    expect(lm.query().resources).toEqual([]);
    clean(lm);
  });
  it('keys paths as the hash of their canonical text (incremental hashing, escapes included)', () => {
    // Expected keys computed by hashing JSON.stringify(prefix) (the pre-incremental code).
    const lm = new LockManager({ capacity: 64 });
    const tricky = ['a"b', 'c\\d', '\u0001', 'é😀', '\ud800', -7, 9007199254740991, '', '42'];
    const hs = [lm.acquire(['db', 't', 42], 'X'), lm.acquire(tricky, 'X')];
    const keys = new Map(lm.query().resources.map((r) => [r.resource, r.key]));
    expect(keys.get('["db"]')).toBe('253c7a6bb9913ef7');
    expect(keys.get('["db","t"]')).toBe('9537adc5e878a327');
    expect(keys.get('["db","t",42]')).toBe('bf4dee5d0af179c1');
    expect(keys.get(JSON.stringify(tricky.slice(0, 2)))).toBe('e5155c4b2fceef55');
    expect(keys.get(JSON.stringify(tricky.slice(0, 6)))).toBe('a0cb94ac6eb34312');
    expect(keys.get(JSON.stringify(tricky.slice(0, 7)))).toBe('24d51f5a8eb2c1b2');
    hs.forEach((h) => h.release());
    clean(lm);
  });

  it('reuses cached per-path bookkeeping across many distinct paths (pruned) without drift', () => {
    const lm = new LockManager({ capacity: 64, escalationThreshold: 8 });
    for (let k = 0; k < 10_000; k++) lm.acquire(['t', k % 3, k], k % 2 ? 'X' : 'S').release();
    clean(lm);
    // Escalation still counts from zero on bookkeeping that went idle and came back.
    for (let round = 0; round < 2; round++) {
      const hs = Array.from({ length: 9 }, (_, k) => lm.acquire(['t', 1, k], 'X'));
      // ['t'], ['t',1], and row 8, taken after the escalation at 8 rows.
      expect(lm.query().resources.length).toBe(3);
      hs.forEach((h) => h.release());
      clean(lm);
    }
    expect(lm.escalations).toBe(2);
  });
  it('entries and records freed in one partition serve requests in any other (no false CapacityError)', () => {
    // 2 entries, 2 records: every path below lands in some partition; the freed ones sit on that
    // partition's free list until an allocation elsewhere finds the pool empty and drains them.
    const lm = new LockManager({ capacity: 2, holderCapacity: 2, fastPath: false });
    for (let k = 0; k < 200; k++) {
      const h = lm.acquire(['r', k], 'X');
      expect(() => lm.tryAcquire(['other', k], 'X')).toThrow(CapacityError);
      h.release();
    }
    clean(lm);
    const a = lm.acquire(['x'], 'S');
    const b = lm.acquire(['y'], 'S');
    expect(() => lm.acquire(['z'], 'S')).toThrow(CapacityError);
    a.release();
    b.release();
    clean(lm);
  });
});
