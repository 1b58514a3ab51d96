/**
 * Named words of a shared Int32Array, declared one way for every control block that threads
 * share: the tests' control slots (`slots.mjs`) and stress counters (`counters.mjs`), the
 * torture's control block and per-primitive regions (`scripts/torture.mjs`) and the benchmark's
 * padded control block (`native-bench/lib/layout.mjs`). piscina's `src/symbols.ts` pattern: a
 * thread reads `ctl[STOP]`, never `ctl[1]`, and each word's meaning stands next to its name.
 *
 *   const C = words({ GO: 'round the workers may start', STOP: '1: end the round' }, { stride: 32 });
 *   // C.GO === 0, C.STOP === 32, C.END === 64 (the first word after them)
 *   const slotOf = rows(C.END, 32); // slotOf(w, k): word k of worker w's row, after the header
 *
 * Layouts are plain numbers once declared: a hot loop indexes with a constant, as before.
 */

/**
 * Offsets of the words named by `meanings`' keys, in declaration order: `at`, `at + stride`, …;
 * `END` is the first word after the last. `stride` > 1 puts each word on a line of its own
 * (padding against false sharing, as the benchmark does).
 */
export function words(meanings, { at = 0, stride = 1 } = {}) {
  const layout = {};
  let next = at;
  for (const name of Object.keys(meanings)) {
    if (name === 'END') throw new RangeError("words(): 'END' is the layout's own end, not a word name");
    layout[name] = next;
    next += stride;
  }
  layout.END = next;
  return Object.freeze(layout);
}

/** Rows of `stride` words from `base` (one per worker, slot or resource): word `k` of row `i`. */
export function rows(base, stride) {
  return (i, k = 0) => base + stride * i + k;
}
