/**
 * The unit of work inside and outside critical sections, shared by every JS scenario. One unit is
 * one step of a 32-bit LCG (x = x * 1103515245 + 12345), exactly what native-bench/c/locks.c runs,
 * so "inside=100" costs the same in a JS row and a C row.
 */
export function work(x, n) {
  for (let i = 0; i < n; i++) x = (Math.imul(x, 1103515245) + 12345) | 0;
  return x;
}
