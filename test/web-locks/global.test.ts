/**
 * The global `locks`: made by the first thread that imports sablock and found by every worker
 * started after that, through worker_threads environment data (nothing passed), nested workers
 * included; a process whose main thread never imported sablock gives each worker its own. What
 * keeps a thread alive: a waiting request does; a held lock or a bare import does not.
 *
 * This file imports sablock only from src (not dist, which the workers load): which copy
 * published the global first is part of what is checked, so helpers.ts avoids dist too.
 */
import { describe, expect, it } from 'vitest';
import { once } from 'node:events';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { locks, WebLocks } from '../../src/index.js';
import { spawner } from '../harness/spawn.js';
import { clientsOf, deferred, sleep, unique, until, wall, within, withClients } from './helpers.js';

const GLOBAL = new URL('../fixtures/web-locks/global.mjs', import.meta.url);
const spawn = spawner(GLOBAL, 10_000);

/** Takes `name` on the global `locks` and holds it until the returned release is called. */
async function holdHere(name: string): Promise<{ release: () => void; done: Promise<unknown> }> {
  const granted = deferred();
  const hold = deferred();
  const done = locks.request(name, () => (granted.resolve(), hold.promise));
  await within(granted.promise, 2_000, `hold of ${name}`);
  return { release: () => hold.resolve(), done };
}

const myClientId = (): Promise<string> => {
  const probe = unique('probe');
  return locks.request(probe, async () => (await locks.query()).held.find((l) => l.name === probe)!.clientId);
};

describe('the global locks', () => {
  it('is a ready WebLocks', async () => {
    expect(locks).toBeInstanceOf(WebLocks);
    expect(await locks.request(unique(), (lock) => lock!.mode)).toBe('exclusive');
  });

  it('is shared with a worker started after the import, with nothing passed to it', async () => {
    const res = unique();
    await withClients(async (start) => {
      const w = start(); // no handle: the worker uses the `locks` it finds
      const here = await holdHere(res);
      const probe = await w.request(res, { ifAvailable: true });
      expect((await w.granted(probe)).lock).toBeNull();
      await w.release(probe);

      const [mine, theirs] = [await myClientId(), await w.clientId()];
      expect(mine).not.toBe(theirs);
      expect(clientsOf((await w.query()).held, res)).toEqual([mine]);

      const queued = await w.request(res);
      await w.queued(res, theirs);
      expect(clientsOf((await locks.query()).pending, res)).toEqual([theirs]);
      here.release();
      await w.granted(queued);
      expect(await locks.request(res, { ifAvailable: true }, (lock) => lock)).toBeNull();
      await w.release(queued);
      await w.outcome(queued);
      expect(await locks.request(res, { ifAvailable: true }, (lock) => lock !== null)).toBe(true);
    });
  });

  it('is shared with a worker started by a worker that never imported sablock itself', async () => {
    const res = unique();
    const here = await holdHere(res);
    try {
      const { got, held } = await spawn({ role: 'nest', name: res }).done;
      expect(got).toBe(false);
      expect(clientsOf(held, res)).toEqual([await myClientId()]);
    } finally {
      here.release();
    }
  });

  it('a process whose main thread never imported sablock gives each worker its own', async () => {
    const script = new URL('../fixtures/web-locks/own-instance.mjs', import.meta.url);
    const { stdout } = await promisify(execFile)(process.execPath, [script.pathname], { timeout: 15_000 });
    const out = JSON.parse(stdout);
    expect(out.error).toBeUndefined();
    expect(out.got).toBe(true);
  });
});

describe('what keeps a thread alive', () => {
  it('a waiting request does: a worker whose top-level await waits for a held lock finishes once granted', async () => {
    const res = unique();
    const here = await holdHere(res);
    const w = spawn({ role: 'wait', name: res });
    let exitCode: number | undefined;
    w.worker.once('exit', (code) => (exitCode = code));
    await until(async () => (await locks.query()).pending.some((l) => l.name === res), 5_000, 'the worker queued');
    await sleep(300);
    expect(exitCode).toBeUndefined(); // still waiting, not exited
    const releasedAt = wall();
    here.release();
    const { at } = await w.done;
    expect(at).toBeGreaterThanOrEqual(releasedAt - 1);
    const [code] = await within(exitCode === undefined ? once(w.worker, 'exit') : Promise.resolve([exitCode]), 5_000, 'the worker exit');
    expect(code).toBe(0);
  });

  it('a held lock does not: a worker holding one ends when its script does, and the lock is freed', async () => {
    const res = unique();
    const w = spawn({ role: 'hold', name: res });
    const exited = once(w.worker, 'exit');
    expect(await w.firstMessage).toBe('held');
    await within(exited, 5_000, 'the holding worker ending on its own');
    const t0 = performance.now();
    expect(await within(locks.request(res, () => 'freed'), 2_000, 'the lock after its holder ended')).toBe('freed');
    expect(performance.now() - t0).toBeLessThan(2_000);
  });

  it('a bare import does not: a worker that only imports sablock ends at once', async () => {
    const w = spawn({ role: 'bare' });
    const exited = once(w.worker, 'exit');
    expect(await w.firstMessage).toBe('imported');
    const [code] = await within(exited, 3_000, 'the worker ending on its own');
    expect(code).toBe(0);
  });
});
