/**
 * One owner-death suite for every lock that recovers from a dead holder (pthread robust-mutex
 * semantics, API.md "Exclusive locks", docs/robustness.md): a holder thread is terminated inside
 * its critical section; the next acquirer, sync or async, parked before the death or arriving
 * after it, gets in and is told (`ownerDied`), exactly one thread at a time; the flag stays for
 * later owners until a repair (`markConsistent()`); and a holder that is alive, however long it
 * stays inside, is never reaped (the negative control).
 *
 * The subject is a scoped critical section (`holdAsync(fn)`, optional `tryHold(ms, fn)`), so a
 * lock with lock()/unlock() and SeqLock's `write(fn)` run the same cases. Every thread is a real
 * worker (test/harness/remote.ts: `holdFor` holds, enters the named control slots of
 * test/harness/slots.mjs, stays inside, leaves); every wait is bounded, so a waiter that is never
 * let in fails its test instead of hanging it; the main thread never blocks without a timeout.
 */
import { describe, expect, it } from 'vitest';
import { TimeoutError, type WaitOptions } from '../../dist/index.js';
import { bounded, delay, RemoteThread } from '../harness/remote.js';
import { ENTRIES, INSIDE, newSlots, OVERLAPS, release, SAW_OWNER_DIED, enter, leave } from '../harness/slots.mjs';
import { rejection, until } from '../harness/expect.js';

/** What `tryHold` returns when it did not take the lock. */
export const NOT_TAKEN = Symbol('not taken');

/** What the suite needs of a lock: a scoped critical section and the `ownerDied` flag. */
export interface DeathTarget {
  readonly name: string;
  readonly handle: unknown;
  /** The lock's flag (read outside any hold too). */
  readonly ownerDied: boolean;
  /**
   * Waits on the event loop, runs `fn` holding the lock, releases, returns `fn`'s value. `fn` gets
   * what the guard says of `ownerDied` (undefined: this lock's guard does not say).
   */
  holdAsync<T>(fn: (guardOwnerDied: boolean | undefined) => T, options?: WaitOptions): Promise<T>;
  /** Plain (`ms` undefined) or timed blocking try around `fn`; NOT_TAKEN if not taken. Absent: no try. */
  tryHold?<T>(ms: number | undefined, fn: () => T): T | typeof NOT_TAKEN;
  /** Declares the data repaired; called inside a hold. Absent: `ownerDied` is never cleared. */
  markConsistent?(): void;
}

/** One lock (or lock view) for the suite. */
export interface DeathSubject {
  kind: string;
  make(name: string): DeathTarget;
  /** Worker-side adapter module and key (test/conformance/remote-adapters.mjs). */
  remote: { adapters: URL; kind: string };
  /** What the subject lacks, with the reason; cases needing it are skipped with the reason. */
  lacks?: Partial<Record<'tryHold' | 'repair' | 'guardFlag' | 'flag', string>>;
}

/** What `lockAsync()`-style locks need to be a DeathTarget. */
export interface RobustLock {
  readonly name: string;
  readonly handle: unknown;
  readonly ownerDied?: boolean;
  lockAsync(options?: WaitOptions): Promise<{ unlock(): void; readonly ownerDied?: boolean }>;
  tryLock(timeoutMs?: number): boolean;
  unlock(): void;
  markConsistent?(): void;
}

/** A lock with lock/unlock as a DeathTarget (releases through the guard it got). */
export function lockTarget(l: RobustLock, repairable: boolean): DeathTarget {
  const t: DeathTarget = {
    get name() {
      return l.name;
    },
    get handle() {
      return l.handle;
    },
    get ownerDied() {
      return l.ownerDied === true;
    },
    async holdAsync(fn, options) {
      const g = await l.lockAsync(options);
      try {
        return fn(typeof g.ownerDied === 'boolean' ? g.ownerDied : undefined);
      } finally {
        g.unlock();
      }
    },
    tryHold(ms, fn) {
      if (!l.tryLock(ms)) return NOT_TAKEN;
      try {
        return fn();
      } finally {
        l.unlock();
      }
    },
  };
  if (repairable) t.markConsistent = () => l.markConsistent!();
  return t;
}

/** Generous bound from the holder's exit to a waiter inside (shared, loaded 2-core machine). */
const BOUND_MS = 5_000;
/** Per-test bound. */
const T = 30_000;
/** How long a dying holder would stay inside (it is terminated long before). */
const FOREVER_MS = 600_000;

export function ownerDeathSuite(s: DeathSubject): void {
  const start = (target: DeathTarget): Promise<RemoteThread> =>
    RemoteThread.start(s.remote.kind, target.handle, { adapters: s.remote.adapters });

  /** A thread inside the lock that stays there (until terminated, or for `ms`). */
  async function holder(target: DeathTarget, ms = FOREVER_MS): Promise<{ t: RemoteThread; done: Promise<{ ownerDied: boolean }>; slots: Int32Array }> {
    const slots = newSlots();
    const t = await start(target);
    const done = t.callWithin<{ ownerDied: boolean }>(ms + 30_000, 'holdFor', ms, slots.buffer);
    done.catch(() => {}); // a terminated holder's call rejects; awaited only where it is expected to finish
    await until(() => Atomics.load(slots, INSIDE) === 1, 10_000, `${s.kind}: holder inside`);
    return { t, done, slots };
  }

  const needs = (need: keyof NonNullable<DeathSubject['lacks']> | undefined, name: string, fn: () => Promise<void>): void => {
    const reason = need === undefined ? undefined : s.lacks?.[need];
    if (reason === undefined) it(name, fn, T);
    else it.skip(`${name} [n/a for ${s.kind}: ${reason}]`, fn, T);
  };

  // A lock that frees a dead owner's hold without a flag (the LockManager) runs the same cases
  // with "is told" read as "the flag stays false": entry, exclusion and the bound still hold.
  const died = s.lacks?.flag === undefined;
  const title = died ? `${s.kind}: owner death` : `${s.kind}: owner death [no ownerDied flag: ${s.lacks!.flag}]`;

  describe(title, () => {
    needs(undefined, 'a waiter blocked in another thread before the holder died gets in within the bound and is told', async () => {
      const target = s.make(`death-${s.kind}`);
      const h = await holder(target);
      await using _h = h.t;
      await using waiter = await start(target);
      const slots = newSlots();
      const got = waiter.callWithin<{ ownerDied: boolean }>(BOUND_MS + 10_000, 'holdFor', 0, slots.buffer);
      await delay(100); // let it park behind the holder
      expect(Atomics.load(slots, ENTRIES)).toBe(0);
      expect(target.ownerDied).toBe(false);
      const exitAt = performance.now();
      await h.t.close();
      expect((await got).ownerDied).toBe(died);
      expect(performance.now() - exitAt).toBeLessThan(BOUND_MS);
      expect([Atomics.load(slots, ENTRIES), Atomics.load(slots, OVERLAPS), Atomics.load(slots, INSIDE)]).toEqual([1, 0, 0]);
      expect(target.ownerDied).toBe(died);
    });

    needs(undefined, 'an async waiter here, parked before the death, gets in within the bound and is told (lock and guard)', async () => {
      const target = s.make(`death-${s.kind}`);
      const h = await holder(target);
      await using _h = h.t;
      let inside = false;
      const p = target.holdAsync((guardDied) => {
        inside = true;
        return { lock: target.ownerDied, guard: guardDied };
      }, { timeout: 20_000 });
      p.catch(() => {});
      await delay(50);
      expect(inside).toBe(false);
      const exitAt = performance.now();
      await h.t.close();
      const seen = await bounded(p, BOUND_MS + 5_000, `${s.kind}: async waiter after the holder died`);
      expect(performance.now() - exitAt).toBeLessThan(BOUND_MS);
      expect(seen.lock).toBe(died);
      if (s.lacks?.guardFlag === undefined) expect(seen.guard).toBe(true);
      else expect(seen.guard).toBeUndefined();
    });

    needs('tryHold', 'a plain try after the death (nobody waiting) takes over at once and is told', async () => {
      const target = s.make(`death-${s.kind}`);
      const h = await holder(target);
      await using _h = h.t;
      expect(target.tryHold!(undefined, () => 'in')).toBe(NOT_TAKEN); // held by a live thread
      await h.t.close();
      // The death is published by the time terminate() resolves; a plain try reaps it once.
      expect(target.tryHold!(undefined, () => target.ownerDied)).toBe(died);
      expect(target.ownerDied).toBe(died);
    });

    needs('repair', 'ownerDied stays set for every later owner until one calls markConsistent()', async () => {
      const target = s.make(`death-${s.kind}`);
      const h = await holder(target);
      await using _h = h.t;
      await h.t.close();
      for (let i = 0; i < 3; i++) {
        expect(await target.holdAsync(() => target.ownerDied, { timeout: BOUND_MS })).toBe(true);
      }
      await using other = await start(target);
      expect((await other.call<{ ownerDied: boolean }>('holdFor', 0, newSlots().buffer)).ownerDied).toBe(true);
      await target.holdAsync(() => target.markConsistent!(), { timeout: BOUND_MS });
      expect(target.ownerDied).toBe(false);
      expect(await target.holdAsync((g) => [target.ownerDied, g ?? false], { timeout: BOUND_MS })).toEqual([false, false]);
      expect(await other.call('ownerDied')).toBe(false);
    });

    if (s.lacks?.repair !== undefined && died) {
      it(`ownerDied, once set, stays set (${s.lacks.repair})`, async () => {
        const target = s.make(`death-${s.kind}`);
        const h = await holder(target);
        await using _h = h.t;
        await h.t.close();
        for (let i = 0; i < 3; i++) {
          expect(await target.holdAsync(() => target.ownerDied, { timeout: BOUND_MS })).toBe(true);
        }
        expect(target.ownerDied).toBe(true);
      }, T);
    }

    needs(undefined, 'after the death, waiters in two other threads and one here each get in once, one at a time', async () => {
      const target = s.make(`death-${s.kind}`);
      const slots = newSlots();
      const h = await holder(target);
      await using _h = h.t;
      await using w1 = await start(target);
      await using w2 = await start(target);
      const remote = [w1, w2].map((w) => w.callWithin<{ ownerDied: boolean }>(BOUND_MS + 10_000, 'holdFor', 20, slots.buffer));
      const here = target.holdAsync(() => {
        enter(slots, target.ownerDied);
        leave(slots);
      }, { timeout: 20_000 });
      here.catch(() => {});
      await delay(100);
      expect(Atomics.load(slots, ENTRIES)).toBe(0);
      await h.t.close();
      const results = await Promise.all(remote);
      await bounded(here, BOUND_MS + 5_000, `${s.kind}: async waiter among three`);
      expect(results.every((r) => r.ownerDied === died)).toBe(true);
      expect(Atomics.load(slots, ENTRIES)).toBe(3);
      expect(Atomics.load(slots, SAW_OWNER_DIED)).toBe(died ? 3 : 0);
      expect(Atomics.load(slots, OVERLAPS)).toBe(0);
      expect(Atomics.load(slots, INSIDE)).toBe(0);
    });

    needs(undefined, 'a live holder is never reaped, however long it stays inside (negative control)', async () => {
      const target = s.make(`death-${s.kind}`);
      // Alive but running nothing (blocked in Atomics.wait) until told: only death may free it.
      const h = await holder(target, 20_000);
      await using _h = h.t;
      if (target.tryHold !== undefined) {
        expect(target.tryHold(undefined, () => 'in')).toBe(NOT_TAKEN);
        const t0 = performance.now();
        expect(target.tryHold(300, () => 'in')).toBe(NOT_TAKEN);
        expect(performance.now() - t0).toBeGreaterThanOrEqual(299);
      }
      const e = await rejection(target.holdAsync(() => 'in', { timeout: 300 }));
      expect(e).toBeInstanceOf(TimeoutError);
      // Still inside: the checks above ran while it held (else they proved nothing).
      expect(Atomics.load(h.slots, INSIDE)).toBe(1);
      expect(target.ownerDied).toBe(false);
      release(h.slots);
      expect((await h.done).ownerDied).toBe(false);
      expect([Atomics.load(h.slots, ENTRIES), Atomics.load(h.slots, INSIDE)]).toEqual([1, 0]);
      expect(await target.holdAsync((g) => [target.ownerDied, g ?? false], { timeout: BOUND_MS })).toEqual([false, false]);
      expect(target.ownerDied).toBe(false);
    });
  });
}
