/** Median and spread of a few rounds. Spread = half the range, in % of the median. */
export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function spread(xs) {
  if (xs.length < 2) return 0;
  const m = median(xs);
  return m === 0 ? 0 : ((Math.max(...xs) - Math.min(...xs)) / 2 / m) * 100;
}

/**
 * Warm-up as every suite does it on fresh code: runs `round()` (resolving to a rate, or a time per
 * operation) at least once, and again until two rounds in a row agree within 20 % or `ms` has
 * passed: some code (a lock table, say) takes far longer than one short round to reach its
 * compiled steady state. Resolves to the number of rounds run.
 */
export async function warmUp(round, ms) {
  const start = performance.now();
  let n = 0;
  for (let prev = null; ; ) {
    const x = await round();
    n++;
    if (performance.now() - start >= ms) break;
    if (prev !== null && Math.abs(x - prev) <= 0.2 * Math.max(x, prev)) break;
    prev = x;
  }
  return n;
}
