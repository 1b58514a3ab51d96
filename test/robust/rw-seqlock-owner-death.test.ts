/**
 * SeqLock: a writer terminated in the middle of `write` leaves the sequence odd and the writers'
 * lock naming a dead thread. Readers must not spin forever on the odd sequence: they fall back to
 * the writers' lock, which is taken over from the dead writer (raw mutex), and whoever takes it
 * over makes the sequence even again before reading or writing, and is told (`ownerDied`).
 */
import { describe, expect, it } from 'vitest';
import { SeqLock } from '../../dist/index.js';
import { withActors, sleep } from './helpers.js';

const SEQ_ACTOR = new URL('../fixtures/robust/seq-actor.mjs', import.meta.url);
const BOUND_MS = 2_000;
type Done = { type: string; value?: number[]; inside?: boolean; ownerDied: boolean; at: number };

describe('SeqLock: writer dies mid-write', () => {
  it('sync and async readers and writers behind it finish; the sequence is even again', async () => {
    const sl = new SeqLock({ dataByteLength: 8, name: 'robust-seq' });
    await withActors(async (spawn) => {
      const dying = spawn({ handle: sl.handle, role: 'dying-writer' }, SEQ_ACTOR);
      expect((await dying.next()).type).toBe('inside');
      expect(sl.isWriting()).toBe(true);
      const actors = [
        spawn({ handle: sl.handle, role: 'reader', how: 'sync' }, SEQ_ACTOR),
        spawn({ handle: sl.handle, role: 'reader', how: 'async' }, SEQ_ACTOR),
        spawn({ handle: sl.handle, role: 'writer', how: 'sync' }, SEQ_ACTOR),
        spawn({ handle: sl.handle, role: 'writer', how: 'async' }, SEQ_ACTOR),
      ];
      for (const a of actors) expect((await a.next()).type).toBe('ready');
      await sleep(150);
      const exitAt = await dying.kill();
      for (const a of actors) {
        const got = await a.next<Done>();
        expect(got.ownerDied).toBe(true);
        expect(got.at - exitAt).toBeLessThan(BOUND_MS);
        // A reader sees either the dead writer's half update or a complete later write.
        if (got.value) expect([[1, 0], [2, 2]]).toContainEqual(got.value);
        if (got.inside !== undefined) expect(got.inside).toBe(true);
      }
    });
    expect(sl.isWriting()).toBe(false);
    expect(sl.sequence() % 2).toBe(0);
    expect(sl.read((v) => [v.getInt32(0), v.getInt32(4)])).toEqual([2, 2]);
    // The flag persists until a writer repairs the data and says so.
    expect(sl.ownerDied).toBe(true);
    expect(() => sl.markConsistent()).toThrow();
    sl.write(() => sl.markConsistent());
    expect(sl.ownerDied).toBe(false);
    const seq = sl.sequence();
    sl.write((v) => v.setInt32(0, 3));
    expect(sl.sequence()).toBe(seq + 2);
  }, 30_000);

  it('a plain read after the death (nobody waiting before) returns the half update, not a hang', async () => {
    const sl = new SeqLock({ dataByteLength: 8 });
    await withActors(async (spawn) => {
      const dying = spawn({ handle: sl.handle, role: 'dying-writer' }, SEQ_ACTOR);
      await dying.next();
      await dying.kill();
    });
    expect(sl.read((v) => [v.getInt32(0), v.getInt32(4)])).toEqual([1, 0]);
    expect(sl.ownerDied).toBe(true);
    expect(sl.isWriting()).toBe(false);
  }, 20_000);
});
