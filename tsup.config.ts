import { defineConfig, type Options } from 'tsup';

const common = {
  target: 'node20',
  platform: 'node',
  splitting: false,
  // No keepNames: it wraps every function expression and arrow the library creates in an
  // `Object.defineProperty(fn, 'name', …)` call, also the closures a contended wait creates each
  // time (core/park.ts `Parking`), which cost some 1–2 µs of CPU per wait (Semaphore wake-up round
  // trip 15.3 → 11 µs, lock-manager hot row at 2 workers ~0.9 → ~1.4 M grants/s, same run). Names
  // stay right without it as long as no public class names itself inside its own body (esbuild then
  // emits `var Mutex = class _Mutex`): each `from` calls a helper written after its class.
  // test/smoke.test.ts checks every export's name.
  keepNames: false,
} as const;

/**
 * `sablock/postgres` imports the core only through `src/index.ts` (`'../index.js'`); this keeps
 * that import external, pointing at the core bundle beside it, so both entry points share one
 * module instance (one `TimeoutError` class, one verifier and stats state) and the core is not
 * copied into dist/postgres.*. Any other import of a core file from src/postgres fails the build.
 */
const coreExternal: NonNullable<Options['esbuildPlugins']>[number] = {
  name: 'sablock-core-external',
  setup(build) {
    const core = build.initialOptions.format === 'cjs' ? './index.cjs' : './index.js';
    build.onResolve({ filter: /^\.\.?\// }, (args) => {
      if (!/[\\/]src[\\/]postgres$/.test(args.resolveDir)) return undefined;
      if (args.path === '../index.js') return { path: core, external: true };
      if (args.path.startsWith('./')) return undefined;
      return { errors: [{ text: `src/postgres may import the core only through '../index.js', not '${args.path}'` }] };
    });
  },
};

export default defineConfig([
  {
    ...common,
    // sablock/postgres beside the core: pg stays external (an optional peer dependency), and so
    // does the core (above).
    entry: { index: 'src/index.ts', postgres: 'src/postgres/index.ts' },
    format: ['esm', 'cjs'],
    dts: true,
    clean: true,
    sourcemap: true,
    external: ['pg'],
    esbuildPlugins: [coreExternal],
    define: { __SABLOCK_HOOKS__: 'true' },
  },
  {
    // Benchmark-only build without the verifier/observe branches on the lock fast paths, to
    // measure what those branches cost when off (npm run bench, suite lockcheck). Not published.
    ...common,
    entry: ['src/index.ts'],
    format: ['esm'],
    outDir: 'native-bench/build/nohooks',
    clean: true,
    define: { __SABLOCK_HOOKS__: 'false' },
  },
]);
