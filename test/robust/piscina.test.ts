/** Owner death with workers from a piscina pool, which replaces a worker that crashed. */
import { describe, expect, it } from 'vitest';
import { Piscina } from 'piscina';
import { Mutex } from '../../dist/index.js';

const filename = new URL('../fixtures/robust/piscina-task.mjs', import.meta.url).href;

describe('piscina', () => {
  it.each(['crash', 'crash-async'])('a task that %ses holding the lock: the next task gets it, told', async (action) => {
    const pool = new Piscina({ filename, minThreads: 2, maxThreads: 2 });
    try {
      const m = new Mutex({ name: 'pool-lock' });
      await expect(pool.run({ handle: m.handle, action })).rejects.toThrow();
      const results = await Promise.all([1, 2, 3, 4].map(() => pool.run({ handle: m.handle, action: 'lock' })));
      // Exactly the first owner after the death sees it (it repairs and clears the flag).
      expect(results.filter((r) => r.ownerDied).length).toBe(1);
      expect(m.isLocked()).toBe(false);
      expect(m.ownerDied).toBe(false);
    } finally {
      await pool.destroy();
    }
  });

  it('a task that throws holding the lock is not an owner death (the thread lives on)', async () => {
    const pool = new Piscina({ filename, minThreads: 1, maxThreads: 1 });
    try {
      const m = new Mutex();
      await expect(pool.run({ handle: m.handle, action: 'throw' })).rejects.toThrow('task failed');
      expect(m.isLocked()).toBe(true);
      expect(m.tryLock(200)).toBe(false);
      expect(m.ownerDied).toBe(false);
    } finally {
      await pool.destroy();
    }
  });
});
