/**
 * The control block every worker cell shares with the main thread (Int32 words in one
 * SharedArrayBuffer), declared with the harness's `words` (test/harness/layout.mjs), the same way
 * as the tests' and the torture's control words. Each hot word sits on its own 128-byte line, so
 * the harness itself adds no false sharing to what is measured.
 */
import { rows, words } from '../../test/harness/layout.mjs';

export const LINE = 32; // Int32 words per 128-byte line
export const { GO, STOP, READY, DONE, PHASE, END: SLOTS } = words(
  {
    GO: 'round number the workers may start (main bumps it, then notifies; -1 ends the cell)',
    STOP: '1 = stop the current round (2 = the ping-pong worker 0 finished its last round trip)',
    READY: 'workers attached and waiting',
    DONE: 'workers finished the current round',
    PHASE: 'index of the scenario the next round runs',
  },
  { stride: LINE },
);
/** Per-worker result slots, one line each, from SLOTS: the first word of worker i's. */
export const slotOf = rows(SLOTS, LINE);
export const { S_OPS, S_OPS2, S_TORN, S_ERR, S_SINK } = words({
  S_OPS: 'operations this round',
  S_OPS2: 'second counter this round (writes)',
  S_TORN: 'torn reads / overlaps (cumulative)',
  S_ERR: '1: the loop threw',
  S_SINK: "the loops' result, kept observable",
});

export function controlBytes(threads) {
  return slotOf(threads) * 4;
}

/** Protected data: words the critical sections touch, on their own line, away from any lock. */
export const { DATA_A, DATA_B } = words({ DATA_A: 'counter / first field', DATA_B: 'holder mark / second field' }, { at: LINE });
/** Per-worker private data lines (disjoint-row scenarios) start here. */
export const DATA_ROWS = 4 * LINE;
export function dataBytes(threads) {
  return (DATA_ROWS + (threads + 1) * LINE) * 4;
}
