/**
 * Bounded, adaptive spinning, shared by every primitive.
 *
 * Spinning only pays when the holder is running on another core and releases soon. On a machine
 * with more runnable threads than cores the holder may be descheduled, and every spin is wasted
 * time slice, so the budget is small, spinning stops as soon as anyone is parked (the lock is
 * clearly contended: join the queue), and it adapts: a thread whose recent spins mostly failed
 * spins less next time (like glibc's adaptive mutex, which tracks a running average).
 *
 * Spinning only loads the word (test-and-test-and-set): loads keep the cache line shared, a CAS
 * would bounce it between cores on every iteration.
 */

let sink = 0;

/** Burns roughly `n` short iterations without touching shared memory (JS has no PAUSE). */
export function relax(n: number): void {
  let s = sink;
  for (let k = 0; k < n; k++) s = (s + k) | 0;
  // Storing to a module variable keeps the loop from being optimized away.
  sink = s;
}

/** Per-thread adaptive spin budget for one family of locks. */
export class SpinBudget {
  /** Current budget in probes; moves between `min` and `max`. */
  limit: number;
  constructor(
    readonly min: number,
    readonly max: number,
  ) {
    this.limit = max;
  }
  /** Spinning acquired the lock after `used` probes: allow a little more next time. */
  succeeded(used: number): void {
    const l = this.limit + ((2 * used + 8 - this.limit) >> 3);
    this.limit = l > this.max ? this.max : l < this.min ? this.min : l;
  }
  /** Spinning ran out of budget and had to park: spin less next time. */
  failed(): void {
    const l = this.limit - (this.limit >> 2);
    this.limit = l < this.min ? this.min : l;
  }
}

/**
 * Spins on a[i] with exponential backoff between loads while `keepSpinning(state)` holds and the
 * budget lasts. Returns the last state read; the caller re-checks it. The budget grows when
 * spinning ended on a state that `isWin(state)` accepts (the holder let go soon) and shrinks when
 * it ran out or ended for another reason (somebody parked).
 */
export function spinWhile(
  a: Int32Array,
  i: number,
  keepSpinning: (state: number) => boolean,
  isWin: (state: number) => boolean,
  budget: SpinBudget,
  maxBackoff = 64,
): number {
  const limit = budget.limit;
  let backoff = 1;
  for (let probe = 0; probe < limit; probe++) {
    // Load-only probe: cheap on the cache line while the holder works.
    const s = Atomics.load(a, i);
    if (!keepSpinning(s)) {
      if (isWin(s)) budget.succeeded(probe);
      else budget.failed();
      return s;
    }
    relax(backoff);
    if (backoff < maxBackoff) backoff <<= 1;
  }
  budget.failed();
  return Atomics.load(a, i);
}
