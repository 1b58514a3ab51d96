import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import * as esm from '../dist/index.js';
import * as pgEsm from '../dist/postgres.js';

const { Mutex } = esm;

const require = createRequire(import.meta.url);

/** Exports whose name is on purpose not their export name (aliases, anonymous helpers). */
const RENAMED = new Map<string, string>([
  ['_parseWaitOptions', 'parseWaitOptions'],
  ['_readWebLockArgs', 'readRequestArgs'],
]);

/** The exported functions and classes of a module whose `.name` is not the name they are exported as. */
function misnamed(mod: Record<string, unknown>): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(mod)) {
    if (typeof v !== 'function' || v.name === '') continue;
    if (v.name !== (RENAMED.get(k) ?? k)) out.push(`${k} is named ${v.name}`);
  }
  return out;
}

describe('smoke', () => {
  it('locks and unlocks in one thread', () => {
    const m = new Mutex();
    expect(m.isLocked()).toBe(false);
    m.lock();
    expect(m.isLocked()).toBe(true);
    m.unlock();
    expect(m.isLocked()).toBe(false);
  });

  it('every exported class and function of the built package carries its own name (ESM and CJS)', () => {
    // The bundle is built without esbuild's keepNames (tsup.config.ts); a class that names itself
    // in its own body would then be emitted as `_Mutex` (in stack traces, util.inspect, errors).
    expect(misnamed(esm)).toEqual([]);
    expect(misnamed(pgEsm)).toEqual([]);
    expect(misnamed(require('../dist/index.cjs'))).toEqual([]);
    expect(misnamed(require('../dist/postgres.cjs'))).toEqual([]);
    expect(esm.Mutex.name).toBe('Mutex');
    expect(String(new esm.Mutex().constructor.name)).toBe('Mutex');
  });
});
