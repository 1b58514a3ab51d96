/**
 * Lock modes of the hierarchical lock manager and their algebra (Gray, Lorie, Putzolu & Traiger,
 * "Granularity of Locks and Degrees of Consistency in a Shared Data Base", 1976; U from System R /
 * SQL Server's update lock).
 *
 * A mode is a small integer (its bit in a mode mask is `1 << mode`). An owner's hold on a resource
 * is a *mask* of the modes it holds (with a count each); two owners are compatible when every mode
 * one holds is compatible with every mode the other holds or asks for. For the conflict check, the
 * union of held modes is exact: holding {S, IX} conflicts with exactly what SIX conflicts with.
 *
 * | held \ req | IS | IX | S | SIX | U | X |
 * |---|---|---|---|---|---|---|
 * | IS  | Y | Y | Y | Y | Y | N |
 * | IX  | Y | Y | N | N | N | N |
 * | S   | Y | N | Y | N | Y | N |
 * | SIX | Y | N | N | N | N | N |
 * | U   | Y | N | Y | N | N | N |
 * | X   | N | N | N | N | N | N |
 *
 * U is compatible with S and IS but not with another U: two readers that both mean to update take
 * U, so only one of them gets it and the S→X conversion deadlock cannot happen. A U or SIX leaf
 * takes IX on the ancestors (it may write below), IS and S take IS.
 */

/** A lock mode name. */
export type LockMode = 'IS' | 'IX' | 'S' | 'SIX' | 'U' | 'X';

export const IS = 0;
export const IX = 1;
export const S = 2;
export const SIX = 3;
export const U = 4;
export const X = 5;
export const MODE_COUNT = 6;

/** Mode number → name. */
export const MODE_NAMES: readonly LockMode[] = ['IS', 'IX', 'S', 'SIX', 'U', 'X'];

const bit = (m: number): number => 1 << m;

/** CONFLICTS[m]: mask of the modes that conflict with m (the table above, row by row). */
export const CONFLICTS: readonly number[] = [
  /* IS  */ bit(X),
  /* IX  */ bit(S) | bit(SIX) | bit(U) | bit(X),
  /* S   */ bit(IX) | bit(SIX) | bit(X),
  /* SIX */ bit(IX) | bit(S) | bit(SIX) | bit(U) | bit(X),
  /* U   */ bit(IX) | bit(SIX) | bit(U) | bit(X),
  /* X   */ 0b111111,
];

/** COVERS[m]: mask of the modes m implies (the lattice order, used for least upper bounds). */
const COVERS: readonly number[] = [
  /* IS  */ bit(IS),
  /* IX  */ bit(IS) | bit(IX),
  /* S   */ bit(IS) | bit(S),
  /* SIX */ bit(IS) | bit(IX) | bit(S) | bit(SIX),
  /* U   */ bit(IS) | bit(S) | bit(U),
  /* X   */ 0b111111,
];

/** Strength order to search for the least upper bound. */
const BY_STRENGTH = [IS, IX, S, U, SIX, X];

/** True if a request for `mode` conflicts with any mode in `heldMask`. */
export function conflicts(mode: number, heldMask: number): boolean {
  return (CONFLICTS[mode]! & heldMask) !== 0;
}

/** Least upper bound of the modes in a non-empty mask (IX ⊔ S = SIX, U ⊔ IX = X). */
export function lubOfMask(mask: number): number {
  for (const m of BY_STRENGTH) if ((COVERS[m]! & mask) === mask) return m;
  return X;
}

/** True if holding `held` already grants everything `wanted` would. */
export function covers(held: number, wanted: number): boolean {
  return (COVERS[held]! & bit(wanted)) !== 0;
}

/** The intention mode ancestors need for a request of `mode` below them. */
export function intentionFor(mode: number): number {
  return mode === IS || mode === S ? IS : IX;
}

/** Names of the modes in a mask, weakest first. */
export function maskNames(mask: number): LockMode[] {
  const out: LockMode[] = [];
  for (let m = 0; m < MODE_COUNT; m++) if ((mask & bit(m)) !== 0) out.push(MODE_NAMES[m]!);
  return out;
}

/** Parses a mode name; TypeError naming `name` otherwise. */
export function parseMode(mode: unknown, name = 'mode'): number {
  const i = MODE_NAMES.indexOf(mode as LockMode);
  if (i < 0) {
    throw new TypeError(`${name} must be one of ${MODE_NAMES.map((m) => `'${m}'`).join(', ')}, got ${String(mode)}`);
  }
  return i;
}
