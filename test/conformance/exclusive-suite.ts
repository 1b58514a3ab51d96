/**
 * One behaviour suite for every exclusive lock (async-mutex's `mutexSuite` pattern): call
 * `exclusiveSuite('Mutex', Mutex, [SpinLock, TicketLock])` from a test file and the same tests
 * run against that class. "Another thread holds it" is a real worker (`RemoteThread`), so
 * ownership, timeouts and wakeups are checked across threads, not simulated.
 *
 * Time bounds: every test has its own vitest timeout and every cross-thread wait is `bounded`,
 * so a lost wakeup fails the test rather than hanging it; remote threads are terminated by
 * `await using` whatever happens.
 *
 * Other locks and lock views (RWLock's write side, a one-permit Semaphore, …) run the same suite
 * through adapters (adapters.ts) and a `SuiteProfile`: where they differ, the profile names the
 * difference (a capability the lock lacks, with the reason); cases that need it are skipped for
 * that lock with the reason in their name, and nothing is relaxed for the others.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { LockGuard, TimeoutError, type Handle, type PlacementOptions, type WaitOptions } from '../../dist/index.js';
import { bounded, delay, RemoteError, RemoteThread } from '../harness/remote.js';
import { expectLockError, rejection, state, thrown } from '../harness/expect.js';

/** What the suite needs of a guard (LockGuard; other locks' guards through their adapter). */
export interface SuiteGuard {
  readonly held: boolean;
  unlock(): void;
  [Symbol.dispose](): void;
  [Symbol.asyncDispose](): Promise<void>;
}

/** What the suite needs of a lock instance. */
export interface ExclusiveLockInstance {
  lock(): SuiteGuard;
  unlock(): void;
  tryLock(timeoutMs?: number): boolean;
  lockAsync(options?: WaitOptions): Promise<SuiteGuard>;
  isLocked(): boolean;
  withLock<T>(fn: () => T): T;
  withLockAsync<T>(fn: () => T | Promise<T>, options?: WaitOptions): Promise<T>;
  readonly handle: Handle;
  readonly name: string;
  readonly buffer: SharedArrayBuffer;
  readonly byteOffset: number;
}

/** What the suite needs of a lock class. */
export interface ExclusiveLockClass {
  new (options?: PlacementOptions): ExclusiveLockInstance;
  from(handle: Handle): ExclusiveLockInstance;
  readonly BYTE_LENGTH: number;
  readonly BYTE_ALIGNMENT: number;
}

/**
 * Cases a lock may lack, each skipped (with the profile's reason in its name) for a lock that
 * declares it missing:
 * - `recursionCheck`: lock()/tryLock(ms) by the holder throw ERR_LOCK_RECURSIVE.
 * - `perThreadOwnership`: a thread may release through any object attached to the lock (from(),
 *   a second construction at the same place), not only the one that acquired.
 * - `withHelpers`: withLock / withLockAsync.
 * - `placement`: the instance is the lock itself (placement, handles, BYTE_LENGTH), not a view.
 */
export type Capability = 'recursionCheck' | 'perThreadOwnership' | 'withHelpers' | 'placement';

/** How a lock other than Mutex/SpinLock/TicketLock meets the suite. Every field defaults to theirs. */
export interface SuiteProfile {
  /** Its handles' `kind` (also in placement errors and the worker's `info()`); default: the suite's kind. */
  handleKind?: string;
  /** The worker-side adapter module and its key for this lock (default: harness/adapters.mjs, kind). */
  remote?: { adapters: URL; kind: string };
  /** The class of what lock()/lockAsync() return, seen through `unwrapGuard` (default LockGuard). */
  guardClass?: abstract new (...args: never[]) => unknown;
  /** The library's own guard behind an adapter's guard (default: the guard itself). */
  unwrapGuard?: (g: SuiteGuard) => unknown;
  /** LockError code of unlock() by a thread that does not hold it (default ERR_LOCK_NOT_OWNER). */
  notOwnerCode?: string;
  /** Capabilities the lock lacks, each with the reason. */
  lacks?: Partial<Record<Capability, string>>;
}

/** A use of the suite's shared remote thread for one test. */
interface RemoteLease {
  call<T = unknown>(op: string, ...args: unknown[]): Promise<T>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Timing slack for "within tolerance": the machine is shared and oversubscribed. */
const SLACK_MS = 500;
/** Per-test bound. */
const T = 15_000;

export function exclusiveSuite(
  kind: string,
  Lock: ExclusiveLockClass,
  others: { kind: string; Lock: ExclusiveLockClass }[],
  profile: SuiteProfile = {},
): void {
  const handleKind = profile.handleKind ?? kind;
  const remoteKind = profile.remote?.kind ?? kind;
  const remoteOptions = profile.remote ? { adapters: profile.remote.adapters } : {};
  const guardClass = profile.guardClass ?? LockGuard;
  const unwrapGuard = profile.unwrapGuard ?? ((g: SuiteGuard) => g);
  const notOwnerCode = profile.notOwnerCode ?? 'ERR_LOCK_NOT_OWNER';
  const expectGuard = (g: SuiteGuard): void => {
    expect(unwrapGuard(g)).toBeInstanceOf(guardClass);
  };
  /** `it`, or `it.skip` with the reason when the lock lacks one of `needs`. */
  const itNeeds = (needs: Capability[], name: string, fn: () => unknown, timeout?: number): void => {
    const missing = needs.find((c) => profile.lacks?.[c] !== undefined);
    if (missing === undefined) it(name, fn, timeout);
    else it.skip(`${name} [n/a for ${kind}: no ${missing}: ${profile.lacks![missing]}]`, fn, timeout);
  };
  // One remote thread serves every test of this suite (spawning is slow on a loaded machine):
  // each test attaches it to its own lock. A test that leaves a call unanswered there (a blocked
  // lock(), a pending lockAsync) gets the thread terminated when its lease ends.
  let shared: RemoteThread | undefined;
  const remote = async (m: ExclusiveLockInstance): Promise<RemoteLease> => {
    if (shared === undefined || !shared.alive) shared = await RemoteThread.start(remoteKind, m.handle, remoteOptions);
    else await shared.call('attach', remoteKind, m.handle);
    const t = shared;
    return {
      call: (op, ...args) => t.call(op, ...args),
      async [Symbol.asyncDispose]() {
        if (t.pending > 0) {
          if (shared === t) shared = undefined;
          await t.close();
        }
      },
    };
  };
  afterAll(async () => {
    await shared?.close();
    shared = undefined;
  });

  describe(`${kind}: basic locking`, () => {
    it('lock/unlock/isLocked in one thread; fresh (zeroed) lock is free', () => {
      const m = new Lock();
      expect(m.isLocked()).toBe(false);
      const g = m.lock();
      expectGuard(g);
      expect(g.held).toBe(true);
      expect(m.isLocked()).toBe(true);
      m.unlock();
      expect(m.isLocked()).toBe(false);
      m.lock();
      m.unlock();
      expect(m.isLocked()).toBe(false);
    });

    it('tryLock() takes a free lock and returns false on a held one, without waiting', () => {
      const m = new Lock();
      expect(m.tryLock()).toBe(true);
      expect(m.isLocked()).toBe(true);
      expect(m.tryLock()).toBe(false); // held by this thread: false, not an error
      m.unlock();
      expect(m.tryLock(0)).toBe(true);
      m.unlock();
      expect(m.tryLock(Infinity)).toBe(true);
      m.unlock();
    });

    it('tryLock() is false while another thread holds it, true once released', async () => {
      const m = new Lock();
      await using t = await remote(m);
      await t.call('lock');
      expect(m.isLocked()).toBe(true);
      const t0 = performance.now();
      expect(m.tryLock()).toBe(false);
      expect(performance.now() - t0).toBeLessThan(SLACK_MS);
      await t.call('unlock');
      expect(m.isLocked()).toBe(false);
      expect(m.tryLock()).toBe(true);
      expect(await t.call('tryLock')).toBe(false);
      expect(await t.call('isLocked')).toBe(true);
      m.unlock();
    }, T);

    it('lock() blocks (in another thread) until the holder releases', async () => {
      // The blocked party is the worker, so a lost wakeup fails this test (bounded call)
      // instead of freezing the test runner's thread.
      const m = new Lock();
      await using t = await remote(m);
      m.lock();
      const theirs = t.call('lock');
      await delay(50);
      expect(await state(theirs)).toBe('pending');
      m.unlock();
      await theirs;
      expect(m.isLocked()).toBe(true);
      expect(m.tryLock()).toBe(false);
      await t.call('unlock');
      expect(m.isLocked()).toBe(false);
    }, T);
  });

  describe(`${kind}: timed tryLock`, () => {
    it('tryLock(ms) times out within tolerance while another thread holds it', async () => {
      const m = new Lock();
      await using t = await remote(m);
      await t.call('lock');
      for (const ms of [0, 20, 80]) {
        const t0 = performance.now();
        expect(m.tryLock(ms)).toBe(false);
        const el = performance.now() - t0;
        expect(el).toBeGreaterThanOrEqual(ms - 1);
        expect(el).toBeLessThan(ms + SLACK_MS);
      }
      expect(await t.call('isLocked')).toBe(true);
      await t.call('unlock');
    }, T);

    it('tryLock(ms) succeeds when the holder releases in time', async () => {
      const m = new Lock();
      await using t = await remote(m);
      await t.call('lock');
      const released = t.call('unlockAfter', 50);
      const t0 = performance.now();
      expect(m.tryLock(5_000)).toBe(true);
      const el = performance.now() - t0;
      expect(el).toBeGreaterThanOrEqual(20);
      expect(el).toBeLessThan(5_000);
      await released;
      expect(m.isLocked()).toBe(true);
      expect(await t.call('tryLock')).toBe(false);
      m.unlock();
    }, T);
  });

  describe(`${kind}: lockAsync`, () => {
    it('resolves at once when free, to a guard', async () => {
      const m = new Lock();
      const g = await m.lockAsync();
      expectGuard(g);
      expect(m.isLocked()).toBe(true);
      g.unlock();
      expect(m.isLocked()).toBe(false);
      const g2 = await m.lockAsync({ timeout: 0 });
      g2.unlock();
    });

    it('waits without blocking the event loop and resolves when another thread releases', async () => {
      const m = new Lock();
      await using t = await remote(m);
      await t.call('lock');
      let ticks = 0;
      const iv = setInterval(() => ticks++, 2);
      try {
        const p = m.lockAsync();
        await delay(60);
        expect(await state(p)).toBe('pending');
        // The loop ran while we waited (a blocked loop would fire no tick). At least one tick, not
        // five: on loaded cores the 2 ms interval may fire only once or twice in 60 ms (a flake seen
        // once in a helper's loop at load 8-11).
        expect(ticks).toBeGreaterThan(0);
        await t.call('unlock');
        const g = await bounded(p, 5_000, 'lockAsync after release');
        expect(m.isLocked()).toBe(true);
        expect(await t.call('tryLock')).toBe(false);
        g.unlock();
      } finally {
        clearInterval(iv);
      }
    }, T);

    it('the holding thread may wait asynchronously; it gets the lock when it releases it', async () => {
      const m = new Lock();
      m.lock();
      const p = m.lockAsync();
      expect(await state(p)).toBe('pending');
      m.unlock();
      const g = await bounded(p, 5_000, 'lockAsync by the (former) holder');
      expect(m.isLocked()).toBe(true);
      g.unlock();
      expect(m.isLocked()).toBe(false);
    }, T);

    it('rejects with TimeoutError (code ERR_LOCK_TIMEOUT) within tolerance', async () => {
      const m = new Lock();
      await using t = await remote(m);
      await t.call('lock');
      for (const timeout of [0, 40]) {
        const t0 = performance.now();
        const e = await rejection(m.lockAsync({ timeout }));
        const el = performance.now() - t0;
        expect(e).toBeInstanceOf(TimeoutError);
        expect((e as TimeoutError).code).toBe('ERR_LOCK_TIMEOUT');
        expect((e as TimeoutError).lock).toBe(m.name);
        expect(el).toBeGreaterThanOrEqual(timeout - 1);
        expect(el).toBeLessThan(timeout + SLACK_MS);
      }
      // The timed-out waits left nothing behind: a release reaches the next waiter.
      const p = m.lockAsync();
      await t.call('unlock');
      (await bounded(p, 5_000, 'lockAsync after timeouts')).unlock();
      expect(m.isLocked()).toBe(false);
    }, T);

    it('succeeds within its timeout when released in time', async () => {
      const m = new Lock();
      await using t = await remote(m);
      await t.call('lock');
      const p = m.lockAsync({ timeout: 5_000 });
      await delay(30);
      await t.call('unlock');
      const g = await bounded(p, 6_000, 'lockAsync with timeout');
      g.unlock();
    }, T);
  });

  describe(`${kind}: abort`, () => {
    it('an already-aborted signal rejects with its reason (free or held)', async () => {
      const m = new Lock();
      const reason = new Error('stop');
      expect(await rejection(m.lockAsync({ signal: AbortSignal.abort(reason) }))).toBe(reason);
      expect(m.isLocked()).toBe(false);
      const e = await rejection(m.lockAsync({ signal: AbortSignal.abort() }));
      expect((e as Error).name).toBe('AbortError');
      m.lock();
      expect(await rejection(m.lockAsync({ signal: AbortSignal.abort(reason) }))).toBe(reason);
      m.unlock();
      expect(m.isLocked()).toBe(false);
    });

    it('aborting while waiting rejects with the reason; the next waiter (same thread) still gets the lock', async () => {
      const m = new Lock();
      await using t = await remote(m);
      await t.call('lock');
      const ac = new AbortController();
      const reason = new Error('give up');
      const aborted = m.lockAsync({ signal: ac.signal });
      const next = m.lockAsync();
      await delay(30);
      ac.abort(reason);
      expect(await rejection(aborted)).toBe(reason);
      expect(await state(next)).toBe('pending');
      await t.call('unlock');
      const g = await bounded(next, 5_000, 'waiter behind an aborted one (lost wakeup?)');
      expect(m.isLocked()).toBe(true);
      g.unlock();
      expect(await t.call('tryLock')).toBe(true);
      await t.call('unlock');
    }, T);

    it('aborting while waiting does not strand a waiter in another thread', async () => {
      const m = new Lock();
      await using t = await remote(m);
      m.lock();
      const ac = new AbortController();
      const aborted = m.lockAsync({ signal: ac.signal });
      await delay(20); // our aborted waiter queues first
      const theirs = t.call('lockAsync');
      await delay(50);
      ac.abort();
      expect(((await rejection(aborted)) as Error).name).toBe('AbortError');
      m.unlock();
      await theirs; // bounded by RemoteThread.call
      expect(m.isLocked()).toBe(true);
      expect(m.tryLock()).toBe(false);
      await t.call('unlock');
      expect(m.tryLock()).toBe(true);
      m.unlock();
    }, T);

    it('aborting after many waits leaves the lock usable (repeat)', async () => {
      const m = new Lock();
      await using t = await remote(m);
      for (let round = 0; round < 5; round++) {
        await t.call('lock');
        const acs = [new AbortController(), new AbortController()];
        const gone = acs.map((ac) => m.lockAsync({ signal: ac.signal, timeout: 10_000 }));
        const stays = m.lockAsync();
        await delay(5);
        for (const ac of acs) ac.abort();
        for (const p of gone) await rejection(p);
        await t.call('unlock');
        (await bounded(stays, 5_000, `round ${round}: waiter behind aborted ones`)).unlock();
      }
      expect(m.isLocked()).toBe(false);
    }, T);
  });

  describe(`${kind}: withLock, withLockAsync, guards`, () => {
    itNeeds(['withHelpers'], 'withLock returns the value, holds during fn, unlocks on return and on throw', () => {
      const m = new Lock();
      expect(m.withLock(() => m.isLocked())).toBe(true);
      expect(m.withLock(() => 42)).toBe(42);
      expect(m.isLocked()).toBe(false);
      const err = new Error('inside');
      expect(thrown(() => m.withLock(() => { throw err; }))).toBe(err);
      expect(m.isLocked()).toBe(false);
      expect(thrown(() => m.withLock(42 as unknown as () => void))).toBeInstanceOf(TypeError);
      expect(m.isLocked()).toBe(false);
    });

    itNeeds(['withHelpers'], 'withLockAsync returns the awaited value, unlocks on rejection, honours timeout', async () => {
      const m = new Lock();
      expect(await m.withLockAsync(async () => { await delay(1); return m.isLocked() ? 'held' : 'free'; })).toBe('held');
      expect(m.isLocked()).toBe(false);
      const err = new Error('async inside');
      expect(await rejection(m.withLockAsync(async () => { await delay(1); throw err; }))).toBe(err);
      expect(m.isLocked()).toBe(false);
      await using t = await remote(m);
      await t.call('lock');
      let ran = false;
      const e = await rejection(m.withLockAsync(() => { ran = true; }, { timeout: 20 }));
      expect(e).toBeInstanceOf(TimeoutError);
      expect(ran).toBe(false);
      await t.call('unlock');
      expect(m.isLocked()).toBe(false);
    }, T);

    it('`using` releases at the end of the block, also on throw', () => {
      const m = new Lock();
      {
        using g = m.lock();
        expect(g.held).toBe(true);
        expect(m.isLocked()).toBe(true);
      }
      expect(m.isLocked()).toBe(false);
      expect(
        thrown(() => {
          using _g = m.lock();
          throw new Error('in block');
        }),
      ).toBeInstanceOf(Error);
      expect(m.isLocked()).toBe(false);
    });

    it('`await using` releases at the end of the block', async () => {
      const m = new Lock();
      {
        await using g = await m.lockAsync();
        expect(g.held).toBe(true);
        expect(m.isLocked()).toBe(true);
      }
      expect(m.isLocked()).toBe(false);
    });

    it('Symbol.dispose / Symbol.asyncDispose called explicitly release once', async () => {
      const m = new Lock();
      const g = m.lock();
      g[Symbol.dispose]();
      expect(m.isLocked()).toBe(false);
      expect(g.held).toBe(false);
      const g2 = await m.lockAsync();
      await g2[Symbol.asyncDispose]();
      expect(m.isLocked()).toBe(false);
      await g2[Symbol.asyncDispose](); // again: no-op, no throw
      g[Symbol.dispose]();
    });

    it('releasing a guard twice is a no-op and never releases a later acquisition', () => {
      const m = new Lock();
      const g = m.lock();
      g.unlock();
      expect(() => g.unlock()).not.toThrow();
      expect(g.held).toBe(false);
      const g2 = m.lock();
      g.unlock(); // stale guard
      g[Symbol.dispose]();
      expect(m.isLocked()).toBe(true);
      expect(g2.held).toBe(true);
      g2.unlock();
      expect(m.isLocked()).toBe(false);
    });
  });

  describe(`${kind}: ownership`, () => {
    it(`unlock() of a free lock throws LockError ${notOwnerCode}`, () => {
      const m = new Lock();
      const e = thrown(() => m.unlock());
      expectLockError(e, notOwnerCode);
      expect((e as Error).message).toContain(m.name);
      expect(m.isLocked()).toBe(false);
      // and the lock still works
      m.lock();
      m.unlock();
    });

    it(`unlock() by a thread that does not hold it throws ${notOwnerCode} and changes nothing`, async () => {
      const m = new Lock({ name: 'owned-elsewhere' });
      await using t = await remote(m);
      await t.call('lock');
      const e = thrown(() => m.unlock());
      expectLockError(e, notOwnerCode);
      expect((e as Error).message).toContain('owned-elsewhere');
      expect(m.isLocked()).toBe(true);
      expect(m.tryLock()).toBe(false);
      await t.call('unlock'); // the real owner still can
      expect(m.isLocked()).toBe(false);
      // the other way round
      m.lock();
      const re = await rejection(t.call('unlock'));
      expect(re).toBeInstanceOf(RemoteError);
      expect((re as RemoteError).code).toBe(notOwnerCode);
      expect((re as RemoteError).remoteName).toBe('LockError');
      expect(m.isLocked()).toBe(true);
      m.unlock();
    }, T);

    itNeeds(['recursionCheck'], 'lock() / tryLock(ms) by the holder throw ERR_LOCK_RECURSIVE; tryLock() returns false', async () => {
      const m = new Lock();
      m.lock();
      // tryLock(ms) is bounded by its timeout even if the check were missing.
      expectLockError(thrown(() => m.tryLock(10)), 'ERR_LOCK_RECURSIVE');
      expectLockError(thrown(() => m.tryLock(0)), 'ERR_LOCK_RECURSIVE');
      expect(m.tryLock()).toBe(false);
      expect(m.isLocked()).toBe(true);
      m.unlock();
      expect(m.isLocked()).toBe(false);
      expectLockError(thrown(() => m.unlock()), notOwnerCode);
      // lock() by the holder: checked in a worker, where a missing check would only hang that
      // worker (and fail this bounded call) instead of the test runner.
      await using t = await remote(m);
      await t.call('lock');
      const e = await rejection(t.call('lock'));
      expect(e).toBeInstanceOf(RemoteError);
      expect((e as RemoteError).code).toBe('ERR_LOCK_RECURSIVE');
      expect((e as RemoteError).remoteName).toBe('LockError');
      expect(await t.call('isLocked')).toBe(true);
      expect(m.tryLock()).toBe(false);
      await t.call('unlock');
      expect(m.isLocked()).toBe(false);
    }, T);
  });

  describe(`${kind}: handles and placement`, () => {
    itNeeds(['placement'], 'BYTE_LENGTH / BYTE_ALIGNMENT', () => {
      expect(Lock.BYTE_ALIGNMENT).toBe(4);
      expect(Number.isInteger(Lock.BYTE_LENGTH)).toBe(true);
      expect(Lock.BYTE_LENGTH % Lock.BYTE_ALIGNMENT).toBe(0);
      expect(Lock.BYTE_LENGTH).toBeGreaterThanOrEqual(8);
      const m = new Lock();
      expect(m.buffer.byteLength).toBeGreaterThanOrEqual(Lock.BYTE_LENGTH);
      expect(m.byteOffset).toBe(0);
    });

    itNeeds(['placement', 'perThreadOwnership'], 'the handle is a plain structured-cloneable object; from(clone) is the same lock', () => {
      const m = new Lock({ name: 'accounts' });
      const h = m.handle;
      expect(Object.getPrototypeOf(h)).toBe(Object.prototype);
      expect(h).toMatchObject({ kind: handleKind, byteOffset: 0, name: 'accounts' });
      const clone = structuredClone(h);
      const same = Lock.from(clone);
      expect(same.name).toBe('accounts');
      m.lock();
      expect(same.isLocked()).toBe(true);
      expect(same.tryLock()).toBe(false);
      // Ownership is per thread, not per object: this thread holds it through either view.
      same.unlock();
      expect(m.isLocked()).toBe(false);
    });

    itNeeds(['placement'], 'from(handle) in a worker attaches to the same lock, with its name and class', async () => {
      const sab = new SharedArrayBuffer(Lock.BYTE_LENGTH * 4);
      const m = new Lock({ name: 'accounts', buffer: sab, byteOffset: Lock.BYTE_LENGTH });
      await using t = await remote(m);
      expect(await t.call('info')).toMatchObject({
        instanceOf: [handleKind],
        className: handleKind, // the built class keeps its name (not esbuild's `_Mutex`)
        name: 'accounts',
        byteOffset: Lock.BYTE_LENGTH,
        handleKind,
      });
      m.lock();
      expect(await t.call('isLocked')).toBe(true);
      expect(await t.call('tryLock')).toBe(false);
      m.unlock();
      expect(await t.call('tryLock')).toBe(true);
      expect(m.isLocked()).toBe(true);
      expect(m.tryLock()).toBe(false);
      await t.call('unlock');
      expect(m.isLocked()).toBe(false);
    }, T);

    itNeeds(['placement', 'perThreadOwnership'], "placement at an offset in a caller's buffer; neighbours do not interfere; nothing outside is written", () => {
      const L = Lock.BYTE_LENGTH;
      const sab = new SharedArrayBuffer(16 + 3 * L + 16);
      const bytes = new Uint8Array(sab);
      const a = new Lock({ buffer: sab, byteOffset: 16 });
      const b = new Lock({ buffer: sab, byteOffset: 16 + L });
      const c = new Lock({ buffer: sab, byteOffset: 16 + 2 * L });
      expect([a.byteOffset, b.byteOffset, c.byteOffset]).toEqual([16, 16 + L, 16 + 2 * L]);
      expect(a.handle.buffer).toBe(sab);
      a.lock();
      expect([a.isLocked(), b.isLocked(), c.isLocked()]).toEqual([true, false, false]);
      expect(b.tryLock()).toBe(true);
      expect([a.isLocked(), b.isLocked(), c.isLocked()]).toEqual([true, true, false]);
      a.unlock();
      expect([a.isLocked(), b.isLocked(), c.isLocked()]).toEqual([false, true, false]);
      c.lock();
      b.unlock();
      c.unlock();
      expect([a.isLocked(), b.isLocked(), c.isLocked()]).toEqual([false, false, false]);
      expect(bytes.subarray(0, 16).every((x) => x === 0)).toBe(true);
      expect(bytes.subarray(16 + 3 * L).every((x) => x === 0)).toBe(true);
      // Constructing again at a place attaches to the lock already there.
      const a2 = new Lock({ buffer: sab, byteOffset: 16 });
      a.lock();
      expect(a2.isLocked()).toBe(true);
      a2.unlock();
      // A placement overlapping a neighbour is refused; the last place that fits in a free region works.
      expect(() => new Lock({ buffer: sab, byteOffset: 16 + 2 * L + 4 })).toThrow(/byteOffset/);
      const tail = new SharedArrayBuffer(16 + L);
      const last = new Lock({ buffer: tail, byteOffset: tail.byteLength - L });
      last.lock();
      last.unlock();
    });

    itNeeds(['placement'], 'bad placements throw TypeError/RangeError naming the argument, and write nothing', () => {
      const L = Lock.BYTE_LENGTH;
      const sab = new SharedArrayBuffer(4 * L);
      const bytes = new Uint8Array(sab);
      const cases: [PlacementOptions | unknown, typeof TypeError | typeof RangeError, RegExp][] = [
        [{ buffer: new ArrayBuffer(4 * L) }, TypeError, /options\.buffer.*SharedArrayBuffer/],
        [{ buffer: new Uint8Array(sab) }, TypeError, /options\.buffer/],
        [{ buffer: sab, byteOffset: 2 }, RangeError, /options\.byteOffset.*multiple of 4/],
        [{ buffer: sab, byteOffset: -4 }, RangeError, /options\.byteOffset/],
        [{ buffer: sab, byteOffset: Number.NaN }, RangeError, /options\.byteOffset/],
        [{ buffer: sab, byteOffset: 1.5 }, RangeError, /options\.byteOffset/],
        [{ buffer: sab, byteOffset: Infinity }, RangeError, /options\.byteOffset/],
        [{ buffer: sab, byteOffset: 3 * L + 4 }, RangeError, /options\.byteOffset/],
        [{ buffer: sab, byteOffset: 4 * L }, RangeError, /options\.byteOffset/],
        [{ buffer: sab, byteOffset: '8' }, TypeError, /options\.byteOffset/],
        [{ byteOffset: 8 }, TypeError, /byteOffset.*buffer/],
        ['options', TypeError, /options/],
        [{ name: '' }, TypeError, /options\.name/],
        [{ name: 5 }, TypeError, /options\.name/],
      ];
      for (const [options, Err, message] of cases) {
        const e = thrown(() => new Lock(options as PlacementOptions));
        expect(e, `new ${kind}(${String(JSON.stringify(options))})`).toBeInstanceOf(Err);
        expect((e as Error).message).toMatch(message);
      }
      expect(bytes.every((x) => x === 0)).toBe(true);
    });

    itNeeds(['placement'], 'placing it where another kind (or foreign data) lives is a TypeError that changes nothing', () => {
      for (const other of others) {
        const sab = new SharedArrayBuffer(512);
        const o = new other.Lock({ buffer: sab, byteOffset: 8 });
        const before = new Uint8Array(sab).slice();
        const e = thrown(() => new Lock({ buffer: sab, byteOffset: 8 }));
        expect(e).toBeInstanceOf(TypeError);
        expect((e as Error).message).toMatch(new RegExp(`byteOffset.*${other.kind}`));
        expect(new Uint8Array(sab)).toEqual(before);
        o.lock(); // the other lock is intact
        o.unlock();
      }
      const sab = new SharedArrayBuffer(512);
      new Int32Array(sab)[2] = 0x12345678; // foreign data at byteOffset 8
      expect(thrown(() => new Lock({ buffer: sab, byteOffset: 8 }))).toBeInstanceOf(TypeError);
      expect(new Int32Array(sab)[2]).toBe(0x12345678);
    });

    itNeeds(['placement'], 'bogus handles throw TypeError/RangeError and write nothing', () => {
      const L = Lock.BYTE_LENGTH;
      const sab = new SharedArrayBuffer(8 * L);
      const m = new Lock({ buffer: sab, byteOffset: 0 });
      const h = m.handle;
      const before = new Uint8Array(sab).slice();
      const cases: [unknown, typeof TypeError | typeof RangeError, RegExp][] = [
        [null, TypeError, /handle/],
        [undefined, TypeError, /handle/],
        [42, TypeError, /handle/],
        ['Mutex', TypeError, /handle/],
        [{}, TypeError, /handle\.kind/],
        [{ ...h, kind: 'Nope' }, TypeError, /handle\.kind/],
        [{ ...h, buffer: new ArrayBuffer(8 * L) }, TypeError, /handle\.buffer/],
        [{ ...h, buffer: undefined }, TypeError, /handle\.buffer/],
        [{ ...h, byteOffset: undefined }, TypeError, /handle\.byteOffset/],
        [{ ...h, byteOffset: 2 }, RangeError, /handle\.byteOffset/],
        [{ ...h, byteOffset: -4 }, RangeError, /handle\.byteOffset/],
        [{ ...h, byteOffset: 8 * L }, RangeError, /handle\.byteOffset/],
        // forged offset: well-formed, in range, but nothing lives there (zeros)
        [{ ...h, byteOffset: 4 * L }, TypeError, /handle.*nothing/],
        [{ ...h, name: '' }, TypeError, /handle\.name/],
      ];
      for (const [handle, Err, message] of cases) {
        const e = thrown(() => Lock.from(handle as Handle));
        expect(e, `${kind}.from(${String(JSON.stringify(handle))})`).toBeInstanceOf(Err);
        expect((e as Error).message).toMatch(message);
      }
      expect(new Uint8Array(sab)).toEqual(before);
    });

    itNeeds(['placement'], 'a handle of one kind is rejected by the other classes, even forged to their kind', () => {
      // A roomy buffer, so that a forged handle passes the range check and meets the tag check.
      const m = new Lock({ buffer: new SharedArrayBuffer(256), byteOffset: 0 });
      for (const other of others) {
        expect(thrown(() => other.Lock.from(m.handle))).toBeInstanceOf(TypeError);
        const forged = { ...m.handle, kind: other.kind } as unknown as Handle;
        const e = thrown(() => other.Lock.from(forged));
        expect(e).toBeInstanceOf(TypeError);
        expect((e as Error).message).toMatch(new RegExp(`holds a ${handleKind}`));
        const theirs = new other.Lock();
        expect(thrown(() => Lock.from(theirs.handle))).toBeInstanceOf(TypeError);
      }
      m.lock();
      m.unlock();
    });
  });

  describe(`${kind}: bad timeouts and options`, () => {
    const bad: [unknown, typeof TypeError | typeof RangeError][] = [
      [-1, RangeError],
      [Number.NaN, RangeError],
      ['10', TypeError],
      [null, TypeError],
    ];

    it('tryLock(bad) throws naming timeoutMs, also when the lock is free (and does not take it)', () => {
      const m = new Lock();
      for (const [ms, Err] of bad) {
        const e = thrown(() => m.tryLock(ms as number));
        expect(e, `tryLock(${String(ms)}) on a free lock`).toBeInstanceOf(Err);
        expect((e as Error).message).toMatch(/timeoutMs/);
        expect(m.isLocked()).toBe(false);
      }
    });

    it('tryLock(bad) throws naming timeoutMs while another thread holds it', async () => {
      const m = new Lock();
      await using t = await remote(m);
      await t.call('lock');
      for (const [ms, Err] of bad) {
        const e = thrown(() => m.tryLock(ms as number));
        expect(e, `tryLock(${String(ms)}) on a held lock`).toBeInstanceOf(Err);
        expect((e as Error).message).toMatch(/timeoutMs/);
      }
      await t.call('unlock');
    }, T);

    itNeeds(['withHelpers'], 'lockAsync / withLockAsync reject bad options with TypeError/RangeError naming them', async () => {
      const m = new Lock();
      const cases: [unknown, typeof TypeError | typeof RangeError, RegExp][] = [
        [{ timeout: -1 }, RangeError, /options\.timeout/],
        [{ timeout: Number.NaN }, RangeError, /options\.timeout/],
        [{ timeout: '5' }, TypeError, /options\.timeout/],
        [{ signal: {} }, TypeError, /options\.signal/],
        [{ signal: 'abort' }, TypeError, /options\.signal/],
        [5, TypeError, /options/],
      ];
      for (const [options, Err, message] of cases) {
        const e = await rejection(m.lockAsync(options as WaitOptions));
        expect(e, `lockAsync(${String(JSON.stringify(options))})`).toBeInstanceOf(Err);
        expect((e as Error).message).toMatch(message);
        expect(m.isLocked()).toBe(false);
        const e2 = await rejection(m.withLockAsync(() => 1, options as WaitOptions));
        expect(e2).toBeInstanceOf(Err);
        expect(m.isLocked()).toBe(false);
      }
      expect(await rejection(m.withLockAsync(5 as unknown as () => void))).toBeInstanceOf(TypeError);
      expect(m.isLocked()).toBe(false);
    });
  });
}
