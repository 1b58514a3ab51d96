/**
 * The control block every worker cell shares with the main thread (Int32 words in one
 * SharedArrayBuffer). Each hot word sits on its own 128-byte line, so the harness itself adds no
 * false sharing to what is measured.
 */
export const LINE = 32; // Int32 words per 128-byte line
export const GO = 0; // round number the workers may start (main bumps it, then notifies)
export const STOP = 1 * LINE; // 1 = stop the current round
export const READY = 2 * LINE; // workers attached and waiting
export const DONE = 3 * LINE; // workers finished the current round
export const PHASE = 4 * LINE; // index of the scenario the next round runs
export const SLOTS = 5 * LINE; // per-worker result slots, one line each
// Slot words: ops this round, second counter this round (writes), torn reads (cumulative)
export const S_OPS = 0;
export const S_OPS2 = 1;
export const S_TORN = 2;
export const S_ERR = 3;

export function controlBytes(threads) {
  return (SLOTS + threads * LINE) * 4;
}

/** Protected data: words the critical sections touch, on their own line, away from any lock. */
export const DATA_A = LINE;
export const DATA_B = LINE + 1;
/** Per-worker private data lines (disjoint-row scenarios) start here. */
export const DATA_ROWS = 4 * LINE;
export function dataBytes(threads) {
  return (DATA_ROWS + (threads + 1) * LINE) * 4;
}
