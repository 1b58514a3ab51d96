/**
 * Lock-order verifier: enabling through SABLOCK_CHECK, the disabled state (nothing captured,
 * nothing reported), option checks and the class-table capacity limit. Each case runs in a child
 * process, so its environment and its shared state are its own.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

const DIST = new URL('../../dist/index.js', import.meta.url).href;

function node(script: string, env: Record<string, string | undefined> = {}): { stdout: string; stderr: string; status: number | null } {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script.replaceAll('$DIST', DIST)], {
    env: { ...process.env, SABLOCK_CHECK: undefined, ...env },
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { stdout: r.stdout, stderr: r.stderr, status: r.status };
}

/** Main thread starts two workers one after the other: AB, then BA; prints the reports as JSON. */
const AB_BA = `
import { Worker } from 'node:worker_threads';
import { lockcheck, Mutex } from '$DIST';
const a = new Mutex({ name: 'env.a' }), b = new Mutex();
const src = \`
  import { workerData as d } from 'node:worker_threads';
  import { Mutex } from '$DIST';
  const [x, y] = d.order.map((h) => Mutex.from(h));
  x.lock(); y.lock(); y.unlock(); x.unlock();
  const own = new Mutex(); own.lock(); own.unlock();
\`;
for (const order of [[a.handle, b.handle], [b.handle, a.handle], [b.handle, a.handle]]) {
  const w = new Worker(src, { eval: true, workerData: { order } });
  await new Promise((r) => w.once('exit', r));
}
console.log(JSON.stringify({ enabled: lockcheck.enabled, bClass: b.lockClass, reports: lockcheck.reports() }));
`;

describe('enabling', () => {
  it('SABLOCK_CHECK=1: the main thread enables at import and every worker shares its state; warns once', () => {
    const r = node(AB_BA, { SABLOCK_CHECK: '1' });
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout) as { enabled: boolean; bClass: string; reports: { kind: string; locks: string[]; threads: number[] }[] };
    expect(out.enabled).toBe(true);
    expect(out.bClass).toMatch(/^Mutex at .*:\d+:\d+$/); // unnamed: construction site
    expect(out.reports).toHaveLength(1);
    expect(out.reports[0]).toMatchObject({ kind: 'lock-order', locks: [out.bClass, 'env.a'] });
    expect(out.reports[0]!.threads).toHaveLength(2); // two different workers
    expect(r.stderr.match(/\[lock-order\]/g)).toHaveLength(1); // warned once, although seen twice
  });

  it('SABLOCK_CHECK=throw makes the offending worker call throw LockOrderError', () => {
    const r = node(AB_BA.replace('y.lock();', 'try { y.lock(); } catch (e) { console.log(e.name, e.report.kind); x.unlock(); process.exit(0); }'), {
      SABLOCK_CHECK: 'throw',
    });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^LockOrderError lock-order$/m);
  });

  it('disabled (the default): no construction sites, no handle fields, no reports, nothing printed', () => {
    const r = node(AB_BA);
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout) as { enabled: boolean; bClass: string; reports: unknown[] };
    expect(out).toEqual({ enabled: false, bClass: 'Mutex', reports: [] });
    expect(r.stderr).toBe('');
  });

  it('rejects bad options with TypeError/RangeError naming the option', () => {
    const r = node(`
      import { lockcheck } from '$DIST';
      const tries = [{ onViolation: 'loud' }, { deadlockTimeout: 0 }, { deadlockTimeout: '5' }, { holdStacks: 1 }, 7];
      for (const o of tries) { try { lockcheck.enable(o); console.log('accepted'); } catch (e) { console.log(e.name + ': ' + e.message); } }
      try { lockcheck.declareOrder(['x']); } catch (e) { console.log(e.name + ': ' + e.message); }
      console.log(lockcheck.enabled);
    `);
    expect(r.stdout.trim().split('\n')).toEqual([
      expect.stringMatching(/^TypeError: options\.onViolation must be/),
      expect.stringMatching(/^RangeError: options\.deadlockTimeout must be/),
      expect.stringMatching(/^TypeError: options\.deadlockTimeout must be a number/),
      expect.stringMatching(/^TypeError: options\.holdStacks must be a boolean/),
      expect.stringMatching(/^TypeError: options must be an object/),
      expect.stringMatching(/^Error: lockcheck\.declareOrder\(\) needs the verifier enabled/),
      'false',
    ]);
  });
});

describe('capacity', () => {
  it('a full class table is a clear CapacityError, and the verifier keeps working for known classes', () => {
    const r = node(
      `
      import { lockcheck, Mutex } from '$DIST';
      let err;
      let n = 0;
      for (; n < 2000; n++) {
        try { new Mutex({ name: 'cap' + n }).withLock(() => {}); } catch (e) { err = e; break; }
      }
      console.log(n, err?.name, err?.code);
      console.log(err?.message);
      const a = new Mutex({ name: 'cap1' }), b = new Mutex({ name: 'cap2' });
      a.withLock(() => b.withLock(() => {}));
      b.withLock(() => a.withLock(() => {}));
      console.log(lockcheck.reports().map((r) => r.kind).join(','));
    `,
      { SABLOCK_CHECK: 'silent' },
    );
    const [first, message, kinds] = r.stdout.trim().split('\n');
    expect(first).toBe('1024 CapacityError ERR_LOCK_CAPACITY');
    expect(message).toMatch(/class table is full \(1024 lock classes.*cannot add "cap1024"/);
    expect(kinds).toBe('lock-order');
  });
});
