/**
 * How sablock/postgres is packaged: the core never loads pg or the postgres code; the postgres
 * bundle imports the core bundle beside it (one module instance: one TimeoutError class, one
 * verifier), for ESM and CommonJS alike, through the package's `exports`.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const dist = (f: string) => readFileSync(`${ROOT}dist/${f}`, 'utf8');

describe('packaging', () => {
  it('the core bundles neither pg nor the postgres code; the postgres bundles import the core instead of copying it', () => {
    for (const f of ['index.js', 'index.cjs']) {
      expect(dist(f)).not.toMatch(/from ["']pg["']|require\(["']pg["']\)|pg_advisory/);
    }
    expect(dist('postgres.js')).toMatch(/from "\.\/index\.js"/);
    expect(dist('postgres.cjs')).toMatch(/require\("\.\/index\.cjs"\)/);
    for (const f of ['postgres.js', 'postgres.cjs']) expect(dist(f)).not.toMatch(/class (SablockError|TimeoutError|LockManager)\b/);
  });

  it("'sablock/postgres' resolves through the package exports, in ESM and CommonJS, sharing the core's classes", () => {
    const esm = `import { createLocks, PgLocks } from 'sablock/postgres'; import { TimeoutError } from 'sablock';
      const l = createLocks({ connectionString: 'postgres://127.0.0.1:1/x' }); console.log(typeof createLocks, l instanceof PgLocks, typeof TimeoutError); await l.close();`;
    expect(execFileSync(process.execPath, ['--input-type=module', '-e', esm], { cwd: ROOT, encoding: 'utf8' }).trim()).toBe('function true function');
    const cjs = `const { createLocks } = require('sablock/postgres'); const core = require('sablock');
      const l = createLocks({ connectionString: 'postgres://127.0.0.1:1/x' }); l.request('x', { timeout: -1 }, () => {}).catch((e) => console.log(e instanceof RangeError, typeof core.TimeoutError)).then(() => l.close());`;
    expect(execFileSync(process.execPath, ['-e', cjs], { cwd: ROOT, encoding: 'utf8' }).trim()).toBe('true function');
  });
});
