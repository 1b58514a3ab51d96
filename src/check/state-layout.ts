/**
 * Where everything lives in the verifier's shared state (state.ts): the regions of its one
 * `SharedArrayBuffer`, and the named words of its header, edge records and thread slots.
 *
 * ## Regions (Int32 words unless noted)
 * | region | size | content |
 * |--------|------|---------|
 * | header | 32 words | counters and settings, `H_*` below |
 * | classes | MAX_CLASSES × 2 | name offset, name length (bytes in `names`) |
 * | class hash | CLASS_HASH_SLOTS | class id + 1, open addressing on the name's hash; 0 = empty |
 * | edge bitmaps | 4 × MAX_CLASSES² bits | one bitmap per edge type (held S/E × new R/N, see `order.ts`) |
 * | declared | MAX_CLASSES² bits | declared order: bit (a, b) = "a must be taken before b" |
 * | edges | MAX_EDGES × 6 | from, to, types seen, flags, first-seen thread, stack ref (edges past MAX_EDGES: bits only, counted) |
 * | edge hash | EDGE_HASH_SLOTS | edge id + 1 keyed by (from, to); 0 = empty |
 * | report keys | REPORT_KEY_SLOTS × 2 | two 32-bit hashes of each distinct violation's key |
 * | threads | MAX_THREADS × THREAD_WORDS | per-thread slot: id, waits-for entry, held classes |
 * | names (bytes) | NAME_BYTES | UTF-8 class names |
 * | stacks (bytes) | STACK_BYTES | UTF-8 stacks, append-only: [u32 length][bytes] |
 * | reports (bytes) | REPORT_BYTES | UTF-8 JSON reports, append-only: [u32 length][bytes] |
 * | thread stacks (bytes) | MAX_THREADS × THREAD_STACK_BYTES | a blocked thread's wait stack |
 *
 * Invariants and memory ordering: state.ts.
 */

export const MAGIC = 0x5ab1_c4ec;
export const MAX_CLASSES = 1024;
export const CLASS_HASH_SLOTS = 2048;
export const MAX_EDGES = 16384;
export const EDGE_HASH_SLOTS = 32768;
export const REPORT_KEY_SLOTS = 4096;
export const MAX_THREADS = 256;
/** Held classes a thread slot lists (deeper nesting is counted, not listed). */
export const SLOT_HELD = 16;
export const NAME_BYTES = 128 * 1024;
export const STACK_BYTES = 2 * 1024 * 1024;
export const REPORT_BYTES = 2 * 1024 * 1024;
export const THREAD_STACK_BYTES = 4096;

// Header words.
export const H_MAGIC = 0;
export const H_TABLE_LOCK = 1;
export const H_CLASSES = 2;
export const H_NAME_USED = 3;
export const H_EDGES = 4;
export const H_STACK_USED = 5;
export const H_REPORTS = 6;
export const H_REPORT_USED = 7;
export const H_REPORTS_DROPPED = 8;
/** onViolation for threads that cannot run the enabling thread's function: 0 warn, 1 throw, 2 silent. */
export const H_MODE = 9;
/** Milliseconds a thread waits before it looks for a waits-for cycle. */
export const H_DEADLOCK_MS = 10;
/** 1 when every acquisition records its stack (option `holdStacks`). */
export const H_HOLD_STACKS = 11;
export const H_STACKS_DROPPED = 12;
/** Distinct edges (from, to) seen after the edge table was full: bits set, no record (no thread, no stack). */
export const H_EDGES_DROPPED = 13;
export const HEADER_WORDS = 32;

// Edge record words.
export const E_FROM = 0;
export const E_TO = 1;
/** Bit set of the edge types seen (1 << type). */
export const E_TYPES = 2;
/** Bit 0: edge lies on a reported cycle (highlighted by toDot). */
export const E_FLAGS = 3;
export const E_THREAD = 4;
export const E_STACK = 5;
export const EDGE_WORDS = 6;

// Thread slot words.
export const T_ID = 0;
/** Class id + 1 this thread waits for; 0 = not waiting. */
export const T_WAIT_CLASS = 1;
/** Owner id of the lock it waits for (0 unknown). */
export const T_WAIT_OWNER = 2;
/** Raised at every wait start and end, so a watchdog can tell one wait from the next. */
export const T_WAIT_SEQ = 3;
/** 1 if the wait is shared-mode. */
export const T_WAIT_SHARED = 4;
/** Whole milliseconds (Date.now() − 1.7e12, fits Int32 for decades) when the wait began. */
export const T_WAIT_SINCE = 5;
/** Bytes of this thread's wait stack in its thread-stack area (0 = none yet for this wait). */
export const T_STACK_LEN = 6;
/** waitSeq the stored stack belongs to. */
export const T_STACK_SEQ = 7;
export const T_HELD_COUNT = 8;
export const T_HELD = 9;
export const THREAD_WORDS = T_HELD + SLOT_HELD;

export const BITMAP_WORDS = (MAX_CLASSES * MAX_CLASSES) >>> 5;
export const O_CLASSES = HEADER_WORDS;
export const O_CLASS_HASH = O_CLASSES + MAX_CLASSES * 2;
export const O_BITMAPS = O_CLASS_HASH + CLASS_HASH_SLOTS;
export const O_DECLARED = O_BITMAPS + 4 * BITMAP_WORDS;
export const O_EDGES = O_DECLARED + BITMAP_WORDS;
export const O_EDGE_HASH = O_EDGES + MAX_EDGES * EDGE_WORDS;
export const O_REPORT_KEYS = O_EDGE_HASH + EDGE_HASH_SLOTS;
export const O_THREADS = O_REPORT_KEYS + REPORT_KEY_SLOTS * 2;
export const WORDS = O_THREADS + MAX_THREADS * THREAD_WORDS;
export const B_NAMES = WORDS * 4;
export const B_STACKS = B_NAMES + NAME_BYTES;
export const B_REPORTS = B_STACKS + STACK_BYTES;
export const B_THREAD_STACKS = B_REPORTS + REPORT_BYTES;
export const TOTAL_BYTES = B_THREAD_STACKS + MAX_THREADS * THREAD_STACK_BYTES;

export const TIME_BASE = 1_700_000_000_000;
