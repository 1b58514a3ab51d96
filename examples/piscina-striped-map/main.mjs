// Run: node examples/piscina-striped-map/main.mjs
// A piscina pool of 4 workers counts 200,000 key occurrences into one shared striped-lock map;
// the totals must match what a single thread counts.
import { Piscina } from 'piscina';
import { createMap, openMap } from './map.mjs';

const buffer = createMap();
const pool = new Piscina({ filename: new URL('./task.mjs', import.meta.url).href, maxThreads: 4, minThreads: 4 });

const expected = new Map();
const batches = [];
let seed = 42;
const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % 500);
for (let b = 0; b < 200; b++) {
  const keys = Array.from({ length: 1000 }, rand);
  for (const k of keys) expected.set(k, (expected.get(k) ?? 0) + 1);
  batches.push(keys);
}
const t0 = performance.now();
await Promise.all(batches.map((keys) => pool.run({ buffer, keys })));
const ms = performance.now() - t0;
await pool.destroy();

const got = openMap(buffer).entries();
let mismatches = 0;
for (const [k, v] of expected) if (got.get(k) !== v) mismatches++;
console.log(`${batches.length * 1000} increments over ${expected.size} keys in ${ms.toFixed(0)} ms, mismatches: ${mismatches}`);
process.exitCode = mismatches === 0 && got.size === expected.size ? 0 : 1;
