/**
 * The invariant test: a plain (non-atomic) counter read, awaited over, and written back inside
 * exclusive requests from several workers — more than the 2 cores — ends exact, with no two
 * holders ever inside at once; shared readers beside them never see it change under them.
 */
import { describe, expect, it } from 'vitest';
import { WebLocks } from '../../src/index.js';
import { spawner } from '../harness/spawn.js';
import { ENTRIES, INSIDE, OVERLAPS } from '../harness/slots.mjs';
import { unique, within } from './helpers.js';

const spawn = spawner(new URL('../fixtures/web-locks/counter.mjs', import.meta.url), 20_000);
/** counter.mjs's start slot (after slots.mjs's own). */
const GO = 5;

interface Result {
  ops: number;
  torn: number;
}

async function run(writers: number, readers: number, durationMs: number) {
  const locks = new WebLocks();
  const name = unique('counter');
  const counter = new Int32Array(new SharedArrayBuffer(4));
  const slots = new Int32Array(new SharedArrayBuffer(4 * 8));
  const roles = [...Array(writers).fill('writer'), ...Array(readers).fill('reader')] as string[];
  const ws = roles.map((role) => spawn({ mode: role, role, handle: locks.handle, name, counter: counter.buffer, slots: slots.buffer, durationMs }));
  await within(Promise.all(ws.map((w) => w.firstMessage)), 10_000, 'workers ready');
  Atomics.store(slots, GO, 1);
  Atomics.notify(slots, GO);
  const results = (await Promise.all(ws.map((w) => w.done))) as Result[];
  return { locks, counter, slots, roles, results };
}

describe('exclusive requests from several workers over a plain counter', () => {
  it('6 writers (3 per core): the count is exact, nobody was ever inside with another', async () => {
    const { locks, counter, slots, results } = await run(6, 0, 1_000);
    const total = results.reduce((s, r) => s + r.ops, 0);
    for (const [k, r] of results.entries()) expect(r.ops, `writer ${k} got in`).toBeGreaterThan(0);
    expect(counter[0]).toBe(total);
    expect(Atomics.load(slots, ENTRIES)).toBe(total);
    expect(Atomics.load(slots, OVERLAPS)).toBe(0);
    expect(Atomics.load(slots, INSIDE)).toBe(0);
    expect(await locks.query()).toEqual({ held: [], pending: [] });
  });

  it('4 writers and 3 shared readers: exact count, no overlap, no reader saw a change during its hold', async () => {
    const { counter, slots, roles, results } = await run(4, 3, 1_000);
    const writes = results.filter((_, k) => roles[k] === 'writer').reduce((s, r) => s + r.ops, 0);
    const reads = results.filter((_, k) => roles[k] === 'reader');
    for (const [k, r] of results.entries()) expect(r.ops, `${roles[k]} ${k} got in`).toBeGreaterThan(0);
    expect(counter[0]).toBe(writes);
    expect(Atomics.load(slots, OVERLAPS)).toBe(0);
    expect(reads.reduce((s, r) => s + r.torn, 0)).toBe(0);
  });
});
