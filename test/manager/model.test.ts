/**
 * Model check: random tryAcquire/release sequences by several owners against a reference model of
 * multi-granularity locking written independently of src/manager (per owner and path, a multiset
 * of held modes; a request is grantable iff at every level its mode is compatible with every mode
 * another owner holds there). With only tryAcquire nobody ever waits, so FIFO plays no part and
 * the model is exact. With hashBits 0 every path shares one entry: the model then compares
 * against every other owner's holds anywhere.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { LockManager, type LockMode, type ResourceLock } from '../../dist/index.js';

const MODES: LockMode[] = ['IS', 'IX', 'S', 'SIX', 'U', 'X'];
const OK: Record<LockMode, string> = { IS: 'YYYYYN', IX: 'YYNNNN', S: 'YNYNYN', SIX: 'YNNNNN', U: 'YNYNNN', X: 'NNNNNN' };
const compatible = (held: LockMode, req: LockMode): boolean => OK[held][MODES.indexOf(req)] === 'Y';
const intention = (m: LockMode): LockMode => (m === 'IS' || m === 'S' ? 'IS' : 'IX');

type Op = { kind: 'acq'; owner: number; path: readonly (string | number)[]; mode: LockMode } | { kind: 'rel'; pick: number };

const pathArb: fc.Arbitrary<readonly (string | number)[]> = fc.oneof(
  fc.constant<readonly (string | number)[]>(['db']),
  fc.constantFrom<readonly (string | number)[]>(['db', 'a'], ['db', 'b']),
  fc.tuple(fc.constantFrom('a', 'b'), fc.integer({ min: 0, max: 2 })).map(([t, k]): readonly (string | number)[] => ['db', t, k]),
);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('acq' as const), owner: fc.integer({ min: 0, max: 2 }), path: pathArb, mode: fc.constantFrom(...MODES) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('rel' as const), pick: fc.nat() }) },
);

function run(ops: Op[], hashBits: number, mixed = false): void {
  const lm = new LockManager({ capacity: 64, hashBits, escalationThreshold: 0 });
  // mixed: every other request goes through a second view of the same table without the fast
  // path, so main-table and fast-path holds of one owner and key meet.
  const plain = LockManager.from({ ...lm.handle, fastPath: false });
  const owners = [lm.newOwner(), lm.newOwner(), lm.newOwner()];
  // Model: live acquisitions, each = the (prefix, mode) levels it took.
  const live: { owner: number; levels: [string, LockMode][]; h: ResourceLock }[] = [];
  const holdsOfOthers = (owner: number, key: string | null): LockMode[] =>
    live.filter((a) => a.owner !== owner).flatMap((a) => a.levels.filter(([p]) => key === null || p === key).map(([, m]) => m));
  for (const op of ops) {
    if (op.kind === 'acq') {
      const owner = owners[op.owner]!;
      const levels: [string, LockMode][] = op.path.map((_, k) => [
        JSON.stringify(op.path.slice(0, k + 1)),
        k === op.path.length - 1 ? op.mode : intention(op.mode),
      ]);
      const want = levels.every(([p, m]) => holdsOfOthers(owner, hashBits === 0 ? null : p).every((h) => compatible(h, m)));
      const h = (mixed && (op.owner + op.path.length) % 2 === 1 ? plain : lm).tryAcquire(op.path, op.mode, { owner });
      expect(h !== null).toBe(want);
      if (h) live.push({ owner, levels, h });
    } else if (live.length > 0) {
      const [a] = live.splice(op.pick % live.length, 1);
      a!.h.release();
    }
    if (hashBits === 64) {
      // The table agrees with the model on who holds what (as mode sets per owner and path).
      const got = lm
        .query()
        .resources.flatMap((r) => r.holders.map((h) => `${r.resource} ${h.owner} ${h.modes.join('+')}`))
        .sort();
      const model = new Map<string, Set<LockMode>>();
      for (const a of live) for (const [p, m] of a.levels) {
        const k = `${p} ${a.owner}`;
        if (!model.has(k)) model.set(k, new Set());
        model.get(k)!.add(m);
      }
      const want = [...model].map(([k, s]) => `${k} ${MODES.filter((m) => s.has(m)).join('+')}`).sort();
      expect(got).toEqual(want);
    }
  }
  for (const a of live) a.h.release();
  expect(lm.query().resources).toEqual([]);
}

describe('LockManager against a reference model', () => {
  it('distinct keys: grants exactly what the MGL model grants; holdings match', () => {
    fc.assert(fc.property(fc.array(opArb, { maxLength: 60 }), (ops) => run(ops, 64)), { numRuns: 200 });
  });
  it('fast-path and main-table views of one table mixed: grants and holdings match the model', () => {
    fc.assert(fc.property(fc.array(opArb, { maxLength: 60 }), (ops) => run(ops, 64, true)), { numRuns: 200 });
  });
  it('one shared entry (hashBits 0): grants only what is compatible with every other hold', () => {
    fc.assert(fc.property(fc.array(opArb, { maxLength: 60 }), (ops) => run(ops, 0)), { numRuns: 300 });
  });
});
