import { defineConfig } from 'tsup';

const common = {
  entry: ['src/index.ts'],
  target: 'node20',
  platform: 'node',
  splitting: false,
  // Keep class names: esbuild otherwise emits `_Mutex` for classes that refer to themselves.
  keepNames: true,
} as const;

export default defineConfig([
  {
    ...common,
    format: ['esm', 'cjs'],
    dts: true,
    clean: true,
    sourcemap: true,
    define: { __SABLOCK_HOOKS__: 'true' },
  },
  {
    // Benchmark-only build without the verifier/observe branches on the lock fast paths, to
    // measure what those branches cost when off (npm run bench, suite lockcheck). Not published.
    ...common,
    format: ['esm'],
    outDir: 'native-bench/build/nohooks',
    clean: true,
    define: { __SABLOCK_HOOKS__: 'false' },
  },
]);
