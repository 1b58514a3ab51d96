// The raw RWLock state machine (src/raw/rwlock.ts), one thread, word by word: the state-word
// table of its header, checked transition by transition. Contention is tested with real workers
// in test/rwlock*.test.ts and test/robust/; this pins the encoding those rely on.
import { describe, expect, it } from 'vitest';
import {
  downgrade,
  READERS_MASK,
  readUnlock,
  RW_WORDS,
  tryReadLock,
  tryUpgradableRead,
  tryUpgrade,
  tryWriteLock,
  upgradableUnlock,
  writeUnlock,
} from '../../src/raw/rwlock.js';

const WRITE_LOCKED = 1 << 25;
const UPGRADABLE = 1 << 24;
const fresh = () => new Int32Array(new SharedArrayBuffer(4 * (1 + RW_WORDS)));

describe('raw RWLock state word', () => {
  it('readers count in the low bits and exclude a writer; the last one out frees the word', () => {
    const a = fresh();
    expect(tryReadLock(a, 0)).toBe(true);
    expect(tryReadLock(a, 0)).toBe(true);
    expect(a[0]! & READERS_MASK).toBe(2);
    expect(tryWriteLock(a, 0)).toBe(false);
    readUnlock(a, 0);
    expect(tryWriteLock(a, 0)).toBe(false);
    readUnlock(a, 0);
    expect(a[0]).toBe(0);
  });

  it('a writer sets WRITE_LOCKED with no readers and excludes everyone', () => {
    const a = fresh();
    expect(tryWriteLock(a, 0)).toBe(true);
    expect(a[0]).toBe(WRITE_LOCKED);
    expect(tryReadLock(a, 0)).toBe(false);
    expect(tryUpgradableRead(a, 0)).toBe(false);
    expect(tryWriteLock(a, 0)).toBe(false);
    writeUnlock(a, 0);
    expect(a[0]).toBe(0);
  });

  it('the upgradable hold counts as a reader, admits readers, excludes a second upgradable and writers', () => {
    const a = fresh();
    expect(tryUpgradableRead(a, 0)).toBe(true);
    expect(a[0]).toBe(UPGRADABLE | 1);
    expect(tryReadLock(a, 0)).toBe(true);
    expect(tryUpgradableRead(a, 0)).toBe(false);
    expect(tryWriteLock(a, 0)).toBe(false);
    // Not while another reader is inside.
    expect(tryUpgrade(a, 0)).toBe(false);
    readUnlock(a, 0);
    expect(tryUpgrade(a, 0)).toBe(true);
    expect(a[0]).toBe(WRITE_LOCKED);
    // And back: downgrade leaves one plain read hold.
    downgrade(a, 0);
    expect(a[0]).toBe(1);
    readUnlock(a, 0);
    expect(tryUpgradableRead(a, 0)).toBe(true);
    upgradableUnlock(a, 0);
    expect(a[0]).toBe(0);
  });

  it('reads only the word at its index: two locks side by side do not interfere', () => {
    const a = new Int32Array(new SharedArrayBuffer(8 * (1 + RW_WORDS)));
    const j = 1 + RW_WORDS;
    expect(tryWriteLock(a, 0)).toBe(true);
    expect(tryReadLock(a, j)).toBe(true);
    expect(a[0]).toBe(WRITE_LOCKED);
    expect(a[j]).toBe(1);
    writeUnlock(a, 0);
    readUnlock(a, j);
    expect(Array.from(a).every((v) => v === 0)).toBe(true);
  });
});
