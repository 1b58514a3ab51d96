/**
 * The torture suite, short: every primitive under 2 × cores workers with random operations, stutter
 * and holder kills for ~35 s must show no violation, no hang and recover every killed holder; the
 * same harness must catch a deliberately broken lock within a few seconds (negative control).
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const script = fileURLToPath(new URL('../../scripts/torture.mjs', import.meta.url));

interface Summary {
  operations: number;
  violations: number;
  hangs: number;
  holderKills: number;
  recoveries: number;
  unrecovered: number;
  messages: string[];
}

function torture(args: string[], budgetMs: number): { status: number | null; summary: Record<string, Summary> } {
  const json = join(mkdtempSync(join(tmpdir(), 'torture-')), 'out.json');
  const r = spawnSync(process.execPath, [script, ...args, '--quiet', '--json', json], {
    timeout: budgetMs,
    encoding: 'utf8',
  });
  if (r.error) throw r.error;
  return { status: r.status, summary: JSON.parse(readFileSync(json, 'utf8')).summary };
}

describe('torture', () => {
  it('35 s over every primitive: no violation, no hang, every killed holder recovered', () => {
    const { status, summary } = torture(['--seconds', '35'], 100_000);
    for (const [kind, s] of Object.entries(summary)) {
      expect(s.violations, `${kind}: ${s.messages.join('; ')}`).toBe(0);
      expect(s.hangs, `${kind}: ${s.messages.join('; ')}`).toBe(0);
      expect(s.unrecovered, kind).toBe(0);
      expect(s.operations, kind).toBeGreaterThan(1000);
    }
    for (const kind of ['Mutex', 'SpinLock', 'TicketLock', 'RWLock', 'Semaphore', 'SeqLock']) {
      expect(summary[kind]!.holderKills, kind).toBeGreaterThan(0);
      expect(summary[kind]!.recoveries, kind).toBeGreaterThanOrEqual(summary[kind]!.holderKills);
    }
    expect(status).toBe(0);
  }, 120_000);

  it('catches a deliberately broken lock', () => {
    const { status, summary } = torture(['--seconds', '4', '--kinds', 'BrokenLock', '--broken'], 40_000);
    expect(summary.BrokenLock!.violations).toBeGreaterThan(0);
    expect(status).toBe(1);
  }, 60_000);
});
