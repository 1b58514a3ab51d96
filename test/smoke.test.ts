import { describe, expect, it } from 'vitest';
import { Mutex } from '../dist/index.js';

describe('smoke', () => {
  it('locks and unlocks in one thread', () => {
    const m = new Mutex();
    expect(m.isLocked()).toBe(false);
    m.lock();
    expect(m.isLocked()).toBe(true);
    m.unlock();
    expect(m.isLocked()).toBe(false);
  });
});
