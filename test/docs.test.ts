// The docs are part of the product: the generated API reference must build without broken
// links, and every relative link in the Markdown docs must point at a file that exists.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

function markdownFiles(): string[] {
  const files = ['README.md', 'examples/README.md', 'native-bench/README.md'];
  for (const f of readdirSync(join(root, 'docs'))) if (f.endsWith('.md')) files.push(`docs/${f}`);
  return files.filter((f) => existsSync(join(root, f)));
}

describe('docs', () => {
  it('every relative Markdown link resolves to a file in the repository', () => {
    const broken: string[] = [];
    for (const file of markdownFiles()) {
      const text = readFileSync(join(root, file), 'utf8').replace(/```[\s\S]*?```/g, '');
      for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        const target = m[1]!;
        if (/^[a-z]+:/i.test(target) || target.startsWith('#')) continue; // external or same-page
        const path = target.split('#')[0]!;
        if (!existsSync(join(root, dirname(file), path))) broken.push(`${file}: ${target}`);
      }
    }
    expect(broken).toEqual([]);
  });

  it('the API reference (TypeDoc) builds from the TSDoc comments: every public name documented, no broken links', () => {
    const typedoc = join(root, 'node_modules', 'typedoc', 'bin', 'typedoc');
    // --emit none: validate only (typedoc.json turns invalid links into errors).
    const out = execFileSync(process.execPath, [typedoc, '--emit', 'none'], { cwd: root, encoding: 'utf8' });
    expect(out).not.toMatch(/\[warning\]|\[error\]/);
  }, 60_000);
});
