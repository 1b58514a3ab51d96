/**
 * The lock manager hashes paths incrementally (parent state + one component); the key must be
 * exactly the reference definition, the hashes of the path's canonical text (src/manager/hash.ts).
 */
import { describe, expect, it } from 'vitest';
import { hashPart, keyOf, keyOfState, pathText, ROOT_HASH, type ResourcePath } from '../../src/manager/hash.js';

const PATHS: ResourcePath[] = [
  ['db'],
  ['db', 't', 42],
  ['db', 'accounts', -7, 'x'],
  ['', 0, Number.MAX_SAFE_INTEGER],
  ['quote"d', 'back\\slash', 'new\nline', 'tab\t'],
  ['ünïcødé', '日本', 'emoji 😀', 'lone \ud800 surrogate'],
  ['42', 42],
];

describe('path keys', () => {
  it('incremental keys equal the reference key of the canonical text, every prefix, every hashBits', () => {
    for (const path of PATHS) {
      for (const bits of [64, 48, 33, 32, 8, 1]) {
        let s = ROOT_HASH;
        for (let n = 1; n <= path.length; n++) {
          s = hashPart(s, path[n - 1]!);
          expect(keyOfState(s, bits), `${pathText(path, n)} @${bits}`).toEqual(keyOf(pathText(path, n), bits));
        }
      }
    }
  });

  it('a number and its string are different resources; truncation forces collisions', () => {
    expect(keyOf(pathText(['42']), 64)).not.toEqual(keyOf(pathText([42]), 64));
    const [lo, hi] = keyOf(pathText(['db', 't', 1]), 4);
    expect(hi).toBe(0);
    expect(lo >>> 0).toBeLessThan(16);
  });
});
