/**
 * core/holders.ts: per-thread hold slots that let a counted primitive (read holds, permits) give
 * back what a dead thread held. Unit semantics in one thread, then real workers terminated while
 * holding. (Imports the module from src: it is internal, for primitives to build on.)
 */
import { describe, expect, it } from 'vitest';
import { addHold, dropHold, heldBy, holdersByteLength, reapDeadHolds } from '../../src/core/holders.js';
import { withActors } from './helpers.js';

const SLOTS = 4;
const fixture = new URL('../fixtures/robust/slot-holder.mjs', import.meta.url);

describe('holder slots', () => {
  it('add, drop, reuse, and a full table', () => {
    const a = new Int32Array(new SharedArrayBuffer(holdersByteLength(SLOTS) + 8));
    const base = 2; // behind two words of someone else's state, which must stay untouched
    a[0] = 7;
    a[1] = 9;
    expect(addHold(a, base, SLOTS, 11, 2)).toBe(0);
    expect(addHold(a, base, SLOTS, 12, 1)).toBe(1);
    expect(addHold(a, base, SLOTS, 11, 3)).toBe(0); // same thread, same slot
    expect(heldBy(a, base, SLOTS, 11)).toBe(5);
    expect(dropHold(a, base, SLOTS, 11, 5)).toBe(true);
    expect(heldBy(a, base, SLOTS, 11)).toBe(0);
    expect(addHold(a, base, SLOTS, 13, 1)).toBe(0); // slot 0 was freed and is reused
    expect(addHold(a, base, SLOTS, 14, 1)).toBe(2);
    expect(addHold(a, base, SLOTS, 15, 1)).toBe(3);
    expect(addHold(a, base, SLOTS, 16, 1)).toBe(-1); // full: untracked
    expect(dropHold(a, base, SLOTS, 16, 1)).toBe(false);
    expect(reapDeadHolds(a, base, SLOTS)).toBe(0); // nobody here is dead
    expect([a[0], a[1]]).toEqual([7, 9]);
  });

  it('gives back exactly what terminated workers held, once, and nothing of the living', async () => {
    const buf = new SharedArrayBuffer(holdersByteLength(SLOTS));
    const a = new Int32Array(buf);
    await withActors(async (spawn) => {
      const doomed1 = spawn({ buf, base: 0, slots: SLOTS, n: 3 }, fixture);
      const doomed2 = spawn({ buf, base: 0, slots: SLOTS, n: 2 }, fixture);
      const living = spawn({ buf, base: 0, slots: SLOTS, n: 5 }, fixture);
      for (const w of [doomed1, doomed2, living]) expect((await w.next()).type).toBe('held');
      expect(reapDeadHolds(a, 0, SLOTS)).toBe(0);
      await doomed1.kill();
      await doomed2.kill();
      expect(reapDeadHolds(a, 0, SLOTS)).toBe(5);
      expect(reapDeadHolds(a, 0, SLOTS)).toBe(0);
      expect(heldBy(a, 0, SLOTS, living.worker.threadId + 1)).toBe(5);
      // The reaped slots are free again.
      expect(addHold(a, 0, SLOTS, 1, 1)).toBeGreaterThanOrEqual(0);
      expect(addHold(a, 0, SLOTS, 99_999, 1)).toBeGreaterThanOrEqual(0);
    });
  });
});
