/**
 * sablock/postgres against a real server: request() and query() as the Web Locks interface,
 * fencing tokens, timeouts and aborts, the primitives, bad input, and what the server is left
 * with afterwards (no advisory lock of ours in pg_locks).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { DeadlockError, LockError, TimeoutError, lockcheck } from '../../dist/index.js';
import { createLocks, keyOf, type PgLockManager } from '../../dist/postgres.js';
import pg from 'pg';
import { startServer, until, type PgServer } from './server.js';

let server: PgServer;
const managers: PgLockManager[] = [];

function locks(options: Parameters<typeof createLocks>[1] = {}): PgLockManager {
  const m = createLocks({ connectionString: server.connectionString }, { lease: 3000, ...options });
  managers.push(m);
  return m;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

beforeAll(async () => {
  server = await startServer();
}, 30_000);

afterEach(async () => {
  await Promise.all(managers.splice(0).map((m) => m.close()));
  // Nothing of ours is left on the server once the managers are closed.
  await until('no advisory locks left', async () => (await server.advisoryLocks()).length === 0, 5000);
});

afterAll(async () => {
  await server?.stop();
});

describe('request()', () => {
  it('grants, holds until the callback settles, and returns its value; tokens grow with every grant', async () => {
    const l = locks();
    const tokens: bigint[] = [];
    for (let i = 0; i < 3; i++) {
      const v = await l.request('a', async (lock) => {
        expect(lock).not.toBeNull();
        expect(lock!.name).toBe('a');
        expect(lock!.mode).toBe('exclusive');
        expect(typeof lock!.token).toBe('bigint');
        expect(lock!.signal.aborted).toBe(false);
        expect(Object.prototype.toString.call(lock)).toBe('[object Lock]');
        tokens.push(lock!.token);
        expect((await server.advisoryLocks()).filter((x) => x.granted)).toHaveLength(1);
        return i * 10;
      });
      expect(v).toBe(i * 10);
    }
    expect(tokens[1]! > tokens[0]! && tokens[2]! > tokens[1]!).toBe(true);
    expect(await server.advisoryLocks()).toEqual([]);
  });

  it('exclusive requests from two managers never overlap; a waiter is granted when the holder releases', async () => {
    const a = locks();
    const b = locks();
    let inside = 0;
    let most = 0;
    const body = async () => {
      inside++;
      most = Math.max(most, inside);
      await sleep(20);
      inside--;
    };
    await Promise.all(Array.from({ length: 6 }, (_, i) => (i % 2 ? a : b).request('x', body)));
    expect(most).toBe(1);
  });

  it('shared holders overlap; an exclusive request waits for them, and shared ones queued behind it wait too (FIFO)', async () => {
    const a = locks();
    const b = locks();
    const order: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const s1 = a.request('rw', { mode: 'shared' }, async () => {
      order.push('s1');
      await gate;
    });
    const s2 = b.request('rw', { mode: 'shared' }, async () => {
      order.push('s2');
      await gate;
    });
    await until('both shared holders in', () => order.length === 2);
    const x = a.request('rw', async (lock) => {
      expect(lock!.mode).toBe('exclusive');
      order.push('x');
    });
    await until('the exclusive request queued', async () => (await server.advisoryLocks()).some((l) => !l.granted));
    const s3 = b.request('rw', { mode: 'shared' }, async () => void order.push('s3'));
    await sleep(100);
    expect(order.slice().sort()).toEqual(['s1', 's2']);
    const snap = await a.query();
    expect(snap.held.map((h) => [h.name, h.mode]).sort()).toEqual([['rw', 'shared'], ['rw', 'shared']]);
    expect(snap.pending.map((p) => p.mode)).toEqual(['exclusive', 'shared']);
    expect(new Set(snap.held.map((h) => h.clientId))).toEqual(new Set([a.clientId, b.clientId]));
    release();
    await Promise.all([s1, s2, x, s3]);
    expect(order.slice(2)).toEqual(['x', 's3']);
  });

  it('ifAvailable: null when taken, the lock when free', async () => {
    const a = locks();
    const b = locks();
    await a.request('ia', async () => {
      expect(await b.request('ia', { ifAvailable: true }, (lock) => lock)).toBeNull();
      expect(await b.request('other', { ifAvailable: true }, (lock) => lock?.name)).toBe('other');
    });
    expect(await b.request('ia', { ifAvailable: true }, (lock) => lock?.name)).toBe('ia');
  });

  it('timeout: TimeoutError (code ERR_LOCK_TIMEOUT) after about that long; the queue entry is gone', async () => {
    const a = locks();
    const b = locks();
    await a.request('t', async () => {
      const t0 = performance.now();
      const e = await b.request('t', { timeout: 150 }, () => 'never').catch((x: unknown) => x);
      const took = performance.now() - t0;
      expect(e).toBeInstanceOf(TimeoutError);
      expect((e as TimeoutError).code).toBe('ERR_LOCK_TIMEOUT');
      expect(took).toBeGreaterThanOrEqual(140);
      expect(took).toBeLessThan(2000);
      expect((await server.advisoryLocks()).filter((l) => !l.granted)).toEqual([]);
    });
  });

  it('signal: an abort while waiting rejects with its reason at once; the waiting session is dropped', async () => {
    const a = locks();
    const b = locks();
    await a.request('s', async () => {
      const ac = new AbortController();
      const p = b.request('s', { signal: ac.signal }, () => 'never');
      await until('the request queued', async () => (await server.advisoryLocks()).some((l) => !l.granted));
      const reason = new Error('stop');
      ac.abort(reason);
      expect(await p.catch((x: unknown) => x)).toBe(reason);
      await until('the queued request gone', async () => !(await server.advisoryLocks()).some((l) => !l.granted), 3000);
    });
    const ac = new AbortController();
    ac.abort(new Error('before'));
    await expect(b.request('s', { signal: ac.signal }, () => 1)).rejects.toThrow('before');
  });

  it('a pooled connection reused by many requests keeps no listeners of ours (no leak)', async () => {
    const a = locks({ poolSize: 1 });
    const warnings: string[] = [];
    const onWarning = (w: Error) => void warnings.push(w.name);
    process.on('warning', onWarning);
    try {
      for (let i = 0; i < 30; i++) await a.request('reuse', () => {});
      await sleep(10);
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings).not.toContain('MaxListenersExceededWarning');
  });

  it('the session kept after a request is not reused once the server ended it; with a pool of one, nothing is kept (query() never waits for it)', async () => {
    const a = locks({ lease: 4000 }); // a finished request's session is kept up to 1 s
    const pidOf = async (): Promise<number> => (await server.advisoryLocks())[0]!.pid;
    const first = await a.request('kept', () => pidOf());
    expect(await a.request('kept', () => pidOf())).toBe(first); // the kept session, again
    // End it while it is kept (it holds nothing): the next request runs on another session.
    await server.admin.query('SELECT pg_terminate_backend($1)', [first]);
    await until('the kept session is gone', async () => (await server.admin.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [first])).rowCount === 0);
    await sleep(200); // its socket's end reaches the client (loopback: at once; margin for a loaded machine)
    const second = await a.request('kept', () => pidOf());
    expect(second).not.toBe(first);
    // A pool of one: the connection goes back at once, so query() (on the pool) does not wait.
    const one = locks({ poolSize: 1, lease: 40_000 });
    await one.request('kept', () => {});
    const t = performance.now();
    await one.query();
    expect(performance.now() - t).toBeLessThan(700);
  });

  it('a task a callback left running is not nested in its session once the hold is released: the next request cannot take the same lock beside it', async () => {
    const a = locks();
    const done = deferred();
    let late: Promise<unknown> | undefined;
    await a.request('outer', () => {
      // Started inside the callback, so it runs in its async scope, but asks after the release.
      late = (async () => {
        await sleep(30);
        return a.request('late', () => done.promise);
      })();
    });
    await until('the late request holds its lock', async () => (await server.advisoryLocks()).length === 1);
    expect(await a.request('late', { ifAvailable: true }, (lock) => lock)).toBeNull();
    done.resolve();
    await late;
  });

  it('a task of a nested callback that outlives it still shares the session of the outer hold that is held: asking for that lock is refused (ERR_LOCK_RECURSIVE), not a wait on itself', async () => {
    const a = locks();
    const outcome = a.request('outer2', async () => {
      let late: Promise<unknown> | undefined;
      await a.request('inner2', () => {
        late = (async () => {
          await sleep(20); // inner2 is released by now, outer2 is still held
          return a.request('outer2', { timeout: 2000 }, () => 'granted');
        })();
      });
      return await late;
    });
    await expect(outcome).rejects.toMatchObject({ code: 'ERR_LOCK_RECURSIVE' });
  });

  it('query() does not wait for the session kept for the next request, with every other pooled connection busy', async () => {
    const a = locks({ poolSize: 2, lease: 40_000 }); // a kept session waits up to 1 s
    const release = deferred();
    const holding = a.request('busy', () => release.promise); // the pool's other connection
    await until('busy is held', async () => (await server.advisoryLocks()).length === 1);
    await a.request('kept', () => {}); // its session is kept
    const t = performance.now();
    await a.query();
    expect(performance.now() - t).toBeLessThan(700);
    release.resolve();
    await holding;
  });

  it('a manager forgets each session once it is handed back: on a caller\'s pool (reset first) and on its own (at most the kept one)', async () => {
    const pool = new pg.Pool({ connectionString: server.connectionString, max: 2 });
    try {
      const mine = createLocks({ pool }, { lease: 3000 });
      managers.push(mine);
      const own = locks();
      for (let i = 0; i < 20; i++) {
        await mine.request('forget', () => {});
        await own.request('forget', () => {});
      }
      // The caller's pool gets each connection back after a reset statement: wait for those.
      await until('every caller-pool session handed back', () => pool.idleCount === pool.totalCount);
      expect((mine as unknown as { _sessionCount(): number })._sessionCount()).toBe(0);
      expect((own as unknown as { _sessionCount(): number })._sessionCount()).toBeLessThanOrEqual(1);
    } finally {
      await Promise.all(managers.splice(0).map((m) => m.close()));
      await pool.end();
    }
  });

  it('a throwing callback rejects request() and releases the lock', async () => {
    const a = locks();
    await expect(a.request('th', () => { throw new Error('boom'); })).rejects.toThrow('boom');
    await expect(a.request('th', async () => { throw new Error('boom2'); })).rejects.toThrow('boom2');
    expect(await a.request('th', { ifAvailable: true }, (l) => l !== null)).toBe(true);
  });

  it("PostgreSQL's deadlock detector fails one of two crossed nested requests with DeadlockError (ERR_LOCK_DEADLOCK)", async () => {
    const a = locks({ lease: 9000 }); // heartbeat 3 s: nested waits last longer than deadlock_timeout
    const b = locks({ lease: 9000 });
    let bothIn = 0;
    const cross = (m: PgLockManager, first: string, second: string) =>
      m.request(first, async () => {
        bothIn++;
        await until('both outer locks held', () => bothIn === 2);
        return m.request(second, { timeout: 5000 }, () => 'ok');
      });
    const r = await Promise.allSettled([cross(a, 'd1', 'd2'), cross(b, 'd2', 'd1')]);
    const failed = r.filter((x) => x.status === 'rejected') as PromiseRejectedResult[];
    expect(failed).toHaveLength(1);
    expect(failed[0]!.reason).toBeInstanceOf(DeadlockError);
    expect(failed[0]!.reason.code).toBe('ERR_LOCK_DEADLOCK');
    expect(r.filter((x) => x.status === 'fulfilled').map((x) => (x as PromiseFulfilledResult<string>).value)).toEqual(['ok']);
  });

  it('a nested request for a lock its callback holds is refused (ERR_LOCK_RECURSIVE), not granted by the session', async () => {
    const a = locks();
    await a.request('n', async () => {
      const e = await a.request('n', () => 1).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(LockError);
      expect((e as LockError).code).toBe('ERR_LOCK_RECURSIVE');
      expect(await a.request('n', { ifAvailable: true }, (l) => l)).toBeNull();
      // Another name is fine, on the same session.
      expect(await a.request('n2', () => 2)).toBe(2);
    });
  });

  it('a name whose key is registered to another name is refused (ERR_LOCK_KEY_COLLISION), nothing stays held', async () => {
    const a = locks({ namespace: 'collide' });
    await a.request('warm-up', () => {}); // creates the table
    await server.admin.query('INSERT INTO sablock_fence (key, name) VALUES ($1, $2)', [keyOf('collide', 'victim').toString(), 'squatter']);
    const e = await a.request('victim', () => 1).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(LockError);
    expect((e as LockError).code).toBe('ERR_LOCK_KEY_COLLISION');
    expect((e as Error).message).toContain('squatter');
  });
});

describe('fencing tokens', () => {
  it('come from one sequence: every grant of any name, mode or primitive draws a larger one; an older fence table\'s tokens are overtaken', async () => {
    // A fence table from before the sequence: per-name counters in its rows, one far ahead.
    await server.admin.query('CREATE TABLE old_fence (key bigint PRIMARY KEY, name text NOT NULL, token bigint NOT NULL DEFAULT 0, permits integer)');
    await server.admin.query('INSERT INTO old_fence VALUES ($1, $2, 5000, NULL)', [keyOf('sablock', 'tok-a').toString(), 'tok-a']);
    const m = locks({ table: 'old_fence' });
    const seen: bigint[] = [];
    const note = async (l: { token: bigint } | null) => void seen.push(l!.token);
    await m.request('tok-a', note);
    await m.request('tok-b', { mode: 'shared' }, note);
    await m.mutex('tok-a').withLockAsync(note);
    await m.semaphore('tok-s', 2).withPermitsAsync(1, note);
    await m.request('tok-b', note);
    expect(seen[0]! > 5000n).toBe(true);
    for (let i = 1; i < seen.length; i++) expect(seen[i]! > seen[i - 1]!).toBe(true);
  });

  describe('are handed out only once the WAL covering them is on disk (sql.ts invariant 3)', () => {
    let other: pg.Client;
    let inserted = '';
    beforeAll(async () => {
      // A slow WAL writer: WAL another session inserted stays unflushed until someone commits a write.
      await server.admin.query("ALTER SYSTEM SET wal_writer_delay = '10s'");
      await server.admin.query('SELECT pg_reload_conf()');
      other = new pg.Client({ connectionString: server.connectionString });
      await other.connect();
      await other.query('CREATE TABLE IF NOT EXISTS wal_filler (n int)');
    });
    afterAll(async () => {
      await other?.end();
      await server.admin.query('ALTER SYSTEM RESET wal_writer_delay');
      await server.admin.query('SELECT pg_reload_conf()');
    });
    /** Another session's transaction inserts WAL and stays open; `fn` runs meanwhile. */
    async function withUnflushedWal<T>(fn: () => Promise<T>): Promise<T> {
      await other.query('BEGIN');
      try {
        await other.query('INSERT INTO wal_filler SELECT generate_series(1, 100)');
        inserted = (await server.admin.query('SELECT pg_current_wal_insert_lsn()::text AS lsn')).rows[0].lsn as string;
        const behind = await server.admin.query('SELECT pg_current_wal_flush_lsn() < $1::pg_lsn AS behind', [inserted]);
        expect(behind.rows[0].behind).toBe(true); // the situation the invariant is about
        return await fn();
      } finally {
        await other.query('ROLLBACK');
      }
    }
    /** In a callback (the token is out): the WAL inserted before the grant is flushed. */
    const flushedNow = async (): Promise<void> => {
      const r = await server.admin.query('SELECT pg_current_wal_flush_lsn() >= $1::pg_lsn AS flushed', [inserted]);
      expect(r.rows[0].flushed).toBe(true);
    };

    it.each([
      ['default sessions', {}],
      // Our sessions raise it: with it off, no commit would flush.
      ['sessions whose connection says synchronous_commit = off', { options: '-c synchronous_commit=off' }],
    ])('a fast grant, a semaphore grant and a grant after a wait in the queue: %s', async (_, extra) => {
      const m = createLocks({ connectionString: server.connectionString, ...extra }, { lease: 3000 });
      managers.push(m);
      await m.request('durable', () => {}); // registered (its first grant wrote and flushed the fence row)
      await m.semaphore('durable-s', 2).withPermitsAsync(1, () => {});
      await withUnflushedWal(() => m.request('durable', flushedNow));
      await withUnflushedWal(() => m.semaphore('durable-s', 2).withPermitsAsync(1, flushedNow));
      // The blocking path: queued behind a holder, granted when it lets go.
      const release = deferred();
      const holding = locks().request('durable', () => release.promise);
      await until('held elsewhere', async () => (await server.advisoryLocks()).some((l) => l.granted));
      await withUnflushedWal(async () => {
        const waiting = m.request('durable', flushedNow);
        await until('queued', async () => (await server.advisoryLocks()).some((l) => !l.granted));
        release.resolve();
        await Promise.all([holding, waiting]);
      });
    });

    it('the flush statement is bounded: with the fence row locked by another transaction, the grant times out or aborts, and lets the lock go', async () => {
      const m = locks();
      await m.request('durable-row', () => {});
      for (const how of ['timeout', 'abort'] as const) {
        // Another session locks the name's fence row: that leaves its own WAL unflushed, and the
        // grant's flush statement, which rewrites the row, must wait for it.
        await other.query('BEGIN');
        try {
          await other.query('SELECT * FROM sablock_fence WHERE name = $1 FOR UPDATE', ['durable-row']);
          let called = false;
          const ac = new AbortController();
          const t0 = performance.now();
          const options = how === 'timeout' ? { timeout: 300 } : { signal: ac.signal };
          if (how === 'abort') setTimeout(() => ac.abort(new Error('given up')), 300);
          const e = await m.request('durable-row', options, () => void (called = true)).catch((x: unknown) => x);
          expect(performance.now() - t0).toBeLessThan(3000);
          if (how === 'timeout') expect(e).toBeInstanceOf(TimeoutError);
          else expect((e as Error).message).toBe('given up');
          expect(called).toBe(false);
        } finally {
          await other.query('ROLLBACK');
        }
        await until('the lock let go', async () => (await server.advisoryLocks()).length === 0, 3000);
      }
    });

    it('a token that cannot be made durable is never handed out, and the lock is let go', async () => {
      const m = locks();
      await m.request('durable-kept', () => {});
      // A trigger that keeps the fence row as it is: the rewrite writes nothing, so flushes nothing.
      await server.admin.query('CREATE FUNCTION keep_row() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$');
      await server.admin.query('CREATE TRIGGER keep_row BEFORE UPDATE ON sablock_fence FOR EACH ROW EXECUTE FUNCTION keep_row()');
      try {
        let called = false;
        const e = await withUnflushedWal(() => m.request('durable-kept', () => void (called = true)).catch((x: unknown) => x));
        expect(e).toBeInstanceOf(LockError);
        expect((e as LockError).code).toBe('ERR_LOCK_STATE');
        expect(called).toBe(false);
        expect(await server.advisoryLocks()).toEqual([]);
      } finally {
        await server.admin.query('DROP TRIGGER keep_row ON sablock_fence');
        await server.admin.query('DROP FUNCTION keep_row()');
      }
    });
  });

  it('need an ordinary (logged) fence table: an UNLOGGED one is refused before any lock is taken', async () => {
    await server.admin.query('CREATE UNLOGGED TABLE unlogged_fence (key bigint PRIMARY KEY, name text NOT NULL, token bigint NOT NULL DEFAULT 0, permits integer)');
    const e = await locks({ table: 'unlogged_fence', setup: false }).request('u', () => {}).catch((x: unknown) => x);
    expect((e as Error).name).toBe('NotSupportedError');
    expect((e as Error).message).toMatch(/unlogged_fence"? must be a logged table.*UNLOGGED/);
  });

  it('need no superuser: a plain role with rights on the fence table and sequence takes locks (the WAL position functions are public)', async () => {
    await locks().request('plain-setup', () => {}); // the fence table and sequence exist
    await server.admin.query("CREATE ROLE plain LOGIN PASSWORD 'plain'");
    await server.admin.query('GRANT SELECT, INSERT, UPDATE ON sablock_fence TO plain');
    await server.admin.query('GRANT USAGE, SELECT ON SEQUENCE sablock_fence_token_seq TO plain');
    const m = createLocks({ connectionString: server.connectionString.replace('postgres:sablock@', 'plain:plain@') }, { lease: 3000, setup: false });
    managers.push(m);
    const tokens: bigint[] = [];
    for (let i = 0; i < 3; i++) await m.request('plain', (l) => void tokens.push(l!.token));
    expect(tokens[2]! > tokens[0]!).toBe(true);
  });
});

describe('primitives', () => {
  it('mutex: lockAsync guard with token and signal, await using, tryLock, withLockAsync, unlock()', async () => {
    const a = locks();
    const b = locks();
    const m = a.mutex('m');
    const mb = b.mutex('m');
    let first: bigint;
    {
      await using g = await m.lockAsync();
      first = g.token;
      expect(g.held).toBe(true);
      expect(await mb.tryLock()).toBeNull();
      expect(await mb.tryLockAsync(50)).toBeNull();
      await expect(mb.lockAsync({ timeout: 50 })).rejects.toBeInstanceOf(TimeoutError);
    }
    const g2 = await mb.tryLock(1000);
    expect(g2).not.toBeNull();
    expect(g2!.token > first).toBe(true);
    await mb.unlock();
    expect(g2!.held).toBe(false);
    await expect(mb.unlock()).rejects.toMatchObject({ code: 'ERR_LOCK_NOT_OWNER' });
    expect(await m.withLockAsync(async (g) => g.token > first)).toBe(true);
    // The mutex and request() are the same lock.
    await a.request('m', async () => {
      expect(await mb.tryLock()).toBeNull();
    });
  });

  it('rwlock: readers share, a writer excludes them', async () => {
    const a = locks();
    const b = locks();
    const ra = a.rwlock('rw2');
    const rb = b.rwlock('rw2');
    const r1 = await ra.readLockAsync();
    const r2 = await rb.readLockAsync();
    expect(r1.mode).toBe('shared');
    expect(await rb.tryWriteLock()).toBeNull();
    await ra.readUnlock();
    await r2.unlock();
    const w = await rb.writeLockAsync({ timeout: 2000 });
    expect(await ra.tryReadLock()).toBeNull();
    await rb.writeUnlock();
    expect(w.held).toBe(false);
    expect(await ra.withReadLockAsync(() => 'r')).toBe('r');
    expect(await ra.withWriteLockAsync(() => 'w')).toBe('w');
  });

  it('semaphore: never over its permits, weighted acquire, FIFO for a large request, release(n)', async () => {
    const a = locks();
    const b = locks();
    const sa = a.semaphore('sem', 3);
    const sb = b.semaphore('sem', 3);
    const g1 = await sa.acquireAsync(2);
    expect(g1.permits).toBe(2);
    const g2 = await sb.acquireAsync(1);
    expect(await sb.tryAcquire(1)).toBeNull();
    // A large request queues; a small one behind it does not overtake it.
    const big = sb.acquireAsync(3, { timeout: 5000 });
    await sleep(100);
    const small = sa.tryAcquire(1, 100);
    await g2.release();
    expect(await small).toBeNull();
    await sa.release(2);
    const gBig = await big;
    expect(gBig.permits).toBe(3);
    expect(gBig.token > g1.token).toBe(true);
    await sb.release(1);
    expect(gBig.permits).toBe(2);
    await gBig.release();
    // Counting under contention: never more than 3 inside.
    let inside = 0;
    let most = 0;
    await Promise.all(
      Array.from({ length: 9 }, (_, i) =>
        (i % 2 ? sa : sb).withPermitsAsync(1, async () => {
          inside++;
          most = Math.max(most, inside);
          await sleep(30);
          inside--;
        }, { timeout: 10_000 }),
      ),
    );
    expect(most).toBe(3);
    expect(() => b.semaphore('sem', 0)).toThrow(RangeError);
    await expect(b.semaphore('sem', 4).acquireAsync(1)).rejects.toThrow(/has 3 permits/);
    await expect(sa.acquireAsync(4)).rejects.toBeInstanceOf(RangeError);
  });
});

describe('hooks', () => {
  it('events on the sablock:* channels and lockcheck ordering, as for in-process locks', async () => {
    const a = locks({ name: 'pgtest' });
    const b = locks({ name: 'pgtest' });
    const seen: string[] = [];
    const on = (ch: string) => (m: unknown) => seen.push(`${ch}:${(m as { name: string }).name}`);
    const handlers = ['acquire', 'contended', 'release', 'timeout'].map((c) => [`sablock:${c}`, on(c)] as const);
    for (const [c, h] of handlers) subscribe(c, h);
    try {
      await a.request('ev', async () => {
        await b.request('ev', { timeout: 50 }, () => {}).catch(() => {});
      });
    } finally {
      for (const [c, h] of handlers) unsubscribe(c, h);
    }
    expect(seen).toEqual(['acquire:pgtest:ev', 'timeout:pgtest:ev', 'release:pgtest:ev']);

    const reports: { kind: string; locks: string[] }[] = [];
    lockcheck.enable({ onViolation: (r) => void reports.push(r) });
    try {
      await a.request('o1', () => a.request('o2', () => {}));
      await a.request('o2', () => a.request('o1', () => {}));
    } finally {
      lockcheck.disable?.();
    }
    expect(reports.some((r) => r.kind === 'lock-order' && r.locks.includes('pgtest:o1') && r.locks.includes('pgtest:o2'))).toBe(true);
  });
});

describe('bad input', () => {
  it('names, options, a closed manager: clear errors, nothing left on the server', async () => {
    const a = locks();
    const cb = () => 1;
    await expect(a.request(Symbol('x') as unknown as string, cb)).rejects.toBeInstanceOf(TypeError);
    await expect(a.request('-reserved', cb)).rejects.toMatchObject({ name: 'NotSupportedError' });
    await expect(a.request('nul\0', cb)).rejects.toBeInstanceOf(TypeError);
    await expect(a.request('x', { mode: 'upgrade' as 'shared' }, cb)).rejects.toThrow(/options.mode/);
    await expect(a.request('x', { timeout: -1 }, cb)).rejects.toBeInstanceOf(RangeError);
    await expect(a.request('x', { timeout: 'soon' as unknown as number }, cb)).rejects.toBeInstanceOf(TypeError);
    await expect(a.request('x', { signal: {} as AbortSignal }, cb)).rejects.toThrow(/options.signal/);
    await expect(a.request('x', { steal: true }, cb)).rejects.toMatchObject({ name: 'NotSupportedError' });
    await expect(a.request('x', { ifAvailable: true, timeout: 10 }, cb)).rejects.toMatchObject({ name: 'NotSupportedError' });
    await expect(a.request('x', 5 as unknown as object, cb)).rejects.toBeInstanceOf(TypeError);
    await expect(a.request('x', {}, 'nope' as unknown as () => void)).rejects.toBeInstanceOf(TypeError);
    expect(() => a.mutex(42 as unknown as string)).toThrow(TypeError);
    expect(() => a.semaphore('s', 1.5)).toThrow(RangeError);
    // The primitives' with* helpers check their callback before taking anything: a rejection, never a sync throw.
    const notFn = 'nope' as unknown as () => void;
    const rw = a.rwlock('wf');
    for (const call of [
      () => a.mutex('wf').withLockAsync(notFn),
      () => rw.withReadLockAsync(notFn),
      () => rw.withWriteLockAsync(notFn),
      () => a.semaphore('wfs', 2).withPermitsAsync(1, notFn),
    ]) {
      await expect(call()).rejects.toThrow(/fn must be a function/);
    }
    expect(() => createLocks({} as { connectionString: string })).toThrow(/connectionString/);
    expect(() => createLocks({ connectionString: server.connectionString }, { lease: 10 })).toThrow(RangeError);
    expect(() => createLocks({ connectionString: server.connectionString }, { lease: 1000, heartbeat: 600 })).toThrow(/heartbeat/);
    expect(() => createLocks({ connectionString: server.connectionString }, { table: 'x; DROP TABLE y' })).toThrow(RangeError);
    // A wrong server: a clear connection error, bounded.
    const bad = createLocks({ connectionString: `postgres://postgres:wrong@127.0.0.1:${server.port}/postgres` });
    await expect(bad.request('x', cb)).rejects.toMatchObject({ code: 'ERR_LOCK_CONNECTION' });
    await bad.close();
    // Closed: new requests and waiting ones fail with ERR_LOCK_CLOSED; held ones are let go.
    const c = locks();
    const waitGate = locks();
    let held!: AbortSignal;
    const holding = c.request('cl', async (lock) => {
      held = lock!.signal;
      await new Promise((r) => lock!.signal.addEventListener('abort', r));
    });
    await until('held', () => held !== undefined);
    const waiting = waitGate.request('cl', () => 1);
    await until('queued', async () => (await server.advisoryLocks()).some((l) => !l.granted));
    await waitGate.close();
    await expect(waiting).rejects.toMatchObject({ code: 'ERR_LOCK_CLOSED' });
    await c.close();
    expect(held.aborted).toBe(true);
    await expect(holding).rejects.toMatchObject({ name: 'AbortError' });
    await expect(c.request('cl', cb)).rejects.toMatchObject({ code: 'ERR_LOCK_CLOSED' });
    await expect(c.query()).rejects.toMatchObject({ code: 'ERR_LOCK_CLOSED' });
  });
});
