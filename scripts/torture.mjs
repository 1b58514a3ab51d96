#!/usr/bin/env node
// Lock torture (in the spirit of Linux's locktorture), run after `npm run build`:
//
//   npm run torture -- --minutes 10            # or --seconds 45
//   node scripts/torture.mjs --broken --seconds 5   # adds a deliberately broken lock: must fail
//
//   npm run torture -- --seed 1234 --kinds RWLock --roles mix   # replay a run's random choices
//
// Every primitive (Mutex, SpinLock, TicketLock, RWLock, Semaphore, SeqLock, Condition, and the
// named kinds LockManager and WebLocks) runs under 2 × cores workers of its own (--workers N to change), each
// doing a random mix of sync / try / timed / async / async-with-timeout / aborted / withLock
// operations with random hold and gap times, in stutter phases (run a few seconds, pause, run
// again). Workers are 'plain' (one operation at a time), 'mix' (several concurrent async tasks,
// some aborted or timed, plus blocking acquisitions of the same thread between them, and "abort an
// async wait, then block at once") or 'nest' (a plain worker with lock-holding workers of its
// own). Every random choice comes from a seeded PRNG (--seed; printed at the start and on every
// failure); thread scheduling is not replayed. Kills also include process.exit() inside a critical
// section, with or without a late 'exit' listener that releases, and nested kills (a nest stopped
// while one of its children holds). Condition runs as a bounded producer/consumer queue. Each primitive's
// invariant is checked inside every critical section (an atomic "inside" counter and a pair of
// plainly written fields that must agree). For primitives that recover from owner death the main
// thread also terminates workers: holders inside their critical section ("holder kills", the
// worker is told to sleep there at its next acquisition) and, for the word locks, workers at any
// random moment ("blind kills"). Each kill is replaced by a fresh worker. The first owner after a
// death sees ownerDied, repairs the fields, calls markConsistent() and records the time, which
// gives the recovery latency from the 'exit' event. RWLock (a writer mid-write or a reader),
// Semaphore (created with trackOwners, a permit holder) and SeqLock (a writer mid-write) have
// their holders killed too: the recovery time is when a live thread reaped the dead holder's hold
// (the `sablock:owner-died` event) or, for SeqLock, first saw `ownerDied`; readers that see
// `ownerDied` skip the data checks (the dead writer's half-done update is published as it was),
// and a writer that sees it repairs the fields and calls markConsistent(). A watchdog reports a
// hang when a primitive makes no progress for 5 s while running.
// The named kinds lock hot resources in X and S: the LockManager a tree of paths (['db'],
// ['db','t'], rows ['db','t',k], ...; blocking acquire, timed, tryAcquire, acquireAsync with
// timeouts and aborts), WebLocks three names (exclusive, shared, ifAvailable, timeout, aborted
// signals, and steals on two of them). Exclusion is checked through owner tokens in shared memory
// (namedChecker): a holder robbed by a steal may overlap lawfully, and its request must reject
// with an AbortError. Their kills add requests stopped while queued behind the main thread's
// hold and process.exit() right after a release that handed over; the main thread queues a probe
// behind each victim, so the recovery time is the owner-death bound. After the run, query() must
// show nothing held or pending.
//
// Prints per primitive: operations, violations, hangs, fairness (min / mean per-worker op rate),
// kills and recoveries with p50 / p99 / max latency. Exit code 1 on any violation, hang or
// unrecovered holder kill. --json FILE also writes the figures as JSON.
//
// It runs on the tests' harness (test/harness/): workers, the nests' children included, are
// started and terminated through workers.mjs (a crash is a violation; exits are expected, kills
// being the point), the main thread's bounded waits are bounds.mjs's (poll, settlesWithin), and
// every shared Int32 layout below (control block, per-slot rows, regions, per-resource rows, the
// Condition queue, the token table) is declared with layout.mjs's words()/rows().
import { isMainThread, workerData, parentPort, threadId } from 'node:worker_threads';
import { parseArgs } from 'node:util';
import { availableParallelism } from 'node:os';
import { writeFileSync } from 'node:fs';
import { randomInt } from 'node:crypto';
import diagnosticsChannel from 'node:diagnostics_channel';
import { poll, settlesWithin, sleep } from '../test/harness/bounds.mjs';
import { rows, words } from '../test/harness/layout.mjs';
import { Workers } from '../test/harness/workers.mjs';
import * as sablock from '../dist/index.js';

const wall = () => performance.timeOrigin + performance.now();

// ---- seeded random choices ----------------------------------------------------------------------
// Every random choice of the torture (main thread and workers) comes from mulberry32, seeded from
// --seed (or a fresh seed, printed). Each worker gets its own seed derived from the run's seed and
// its slot, so a replay makes the same choices in every thread; thread scheduling is not replayed.
function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
// A well-mixed 32-bit seed for stream `k` of a run seeded with `seed` (splitmix32's finalizer).
function deriveSeed(seed, k) {
  let z = (seed + Math.imul(k + 1, 0x9e3779b9)) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}
let random = mulberry32(0); // replaced by the run's (or the worker's) seeded generator
const rand = (n) => Math.floor(random() * n);

// ---- shared layout --------------------------------------------------------------------------
// Declared with the test harness's words()/rows() (test/harness/layout.mjs), like the tests' and
// the benchmark's control words.
// ctl (Int32): the run's words, then from SLOT_BASE one row per worker slot.
const { PHASE, STOP } = words({
  PHASE: '1 run, 0 pause (the stutter; notified on every change)',
  STOP: '1: every worker leaves its loop and exits',
});
const SLOT_BASE = 16;
const MAX_SLOTS = 4096;
const SLOT_CTL = words({ KILL_REQ: 'the kill request to serve (KILL_*)', DYING: 'its answer (DYING_*)' });
const slotCtl = rows(SLOT_BASE, SLOT_CTL.END);
const killReq = (slot) => slotCtl(slot, SLOT_CTL.KILL_REQ);
const dying = (slot) => slotCtl(slot, SLOT_CTL.DYING);
const CTL_WORDS = slotCtl(MAX_SLOTS);
// slotWords (Int32): one row per slot, written by the worker in it (read by kills and the named checks).
const SLOT_WORDS = words({
  THREAD: 'its thread id (named kinds)',
  NODE: '1 + the resource it sits in for a kill (named kinds)',
  SIN: 'bit n: it counts itself inside S on resource n (diagnostics)',
  HANDOVER: 'a handover victim\'s last step (HANDOVER_STEPS; a hung handover kill names it)',
});
const HANDOVER_STEPS = ['none', 'told to go on', 'its section done, releasing', 'request settled', 'calling process.exit()'];
const slotWord = rows(0, SLOT_WORDS.END);
// Per-primitive region (Int32): the invariant fields and counters.
const { INSIDE, X, Y, HOLDER, VIOL, REPAIRS, READERS, DEAD, UPGRADABLE } = words({
  INSIDE: 'writers/holders inside (Atomics.add on entry must return 0)',
  X: 'plain field written first inside ...',
  Y: '... and this one last: X === Y whenever nobody is inside',
  HOLDER: 'slot of the last holder (plain write inside the critical section)',
  VIOL: 'violations seen',
  REPAIRS: 'owner-death repairs done',
  READERS: 'readers inside (RWLock)',
  DEAD: 'slot of the last holder asked to die (RWLock, Semaphore, SeqLock), for the recovery time',
  UPGRADABLE: 'upgradable readers inside (RWLock)',
});
// Counters of the mixes (reported per primitive).
const { ABORTED, TIMEDOUT, BLOCK_AFTER_ABORT, REFUSED, STALE } = words(
  {
    ABORTED: 'async waits that ended by their signal',
    TIMEDOUT: 'async waits that ended by their timeout',
    BLOCK_AFTER_ABORT: 'blocking acquisitions right after this thread abandoned an async wait',
    REFUSED: "TicketLock lock() refused behind the thread's own async ticket; RWLock upgrade() refused beside the thread's own read (both documented)",
    STALE: 'Condition: a consumer slept past STALE_MS while an item was queued (a violation)',
  },
  { at: UPGRADABLE + 1 },
);
// LockManager and WebLocks (the named kinds).
const { OWN_DEADLOCK, STEALS, ROBBED, NULLS, ABORT_DEADLOCK } = words(
  {
    OWN_DEADLOCK: 'LockManager: DeadlockErrors whose cycle runs through a task of a thread stopped in a blocking acquire',
    STEALS: 'WebLocks: steal requests made',
    ROBBED: 'WebLocks: requests rejected with an AbortError after their callback ran (stolen)',
    NULLS: 'WebLocks: ifAvailable requests whose callback got null',
    ABORT_DEADLOCK: 'LockManager: of OWN_DEADLOCK, refused blocking acquires right after the thread abandoned an async wait',
  },
  { at: STALE + 1 },
);
// Per resource (LockManager path, WebLocks name) of the named kinds: a row of N_WORDS words from N_BASE.
const N_BASE = 32;
const N_WORDS = 128;
const { N_XOWN, N_SIN, N_FX, N_FY, N_XDONE, N_DEADS, N_STEALS, N_XENT, N_STOLEN } = words({
  N_XOWN: "token of the X holder inside (0: none; REPAIRING while a dead one's pair is repaired)",
  N_SIN: 'S holders inside (a dying one leaves it and names itself in N_DEADS)',
  N_FX: 'plain pair written by X holders: FX first ...',
  N_FY: '... FY last (equal whenever no X holder is inside)',
  N_XDONE: 'X sections completed (Atomics): equals FY at the end where no steal can happen',
  N_DEADS: 'token of an S holder asked to die holding (until an X entrant finds it dead)',
  N_STEALS: 'steal requests begun on it (bumped before request(), so before the holds are taken)',
  N_XENT: 'X entries (ordinals: an S holder on a name with steals judges each that came during its hold, by N_XLOG)',
  N_STOLEN: 'steal requests done (bumped after request() returned: the holds were taken by then)',
});
// N_XLOG + (k mod XLOG): the token of X entry number k (N_XENT), stored right after it drew k.
const N_XLOG = 64;
const XLOG = 64;
const N_MAX = 8;
const nodeWord = rows(N_BASE, N_WORDS); // nodeWord(n, k): word k of resource n
const REGION_WORDS = nodeWord(N_MAX);
// Kill requests (ctl killReq(slot)). Served inside a critical section: die holding (sleep until
// terminated), process.exit() holding, process.exit() with a late 'exit' listener that releases.
// Served at the top of the loop, holding nothing: park (then be terminated or told to exit).
const KILL_HOLDING = 1;
const KILL_EXIT = 2;
const KILL_EXIT_LATE = 3;
const KILL_PARK = 4;
const KILL_EXIT_NOW = 5;
// Named kinds only. Served inside a critical section: wait for KILL_GO, finish, release (a release
// that hands the resource over to the main thread's queued probe), then process.exit() at once.
const KILL_HANDOVER = 6;
const KILL_GO = 7;
// Served at the top of a plain worker's loop: queue an X request behind the main thread's hold
// and be stopped there; the request word is KILL_QUEUED | variant << 4 | resource << 8.
const KILL_QUEUED = 8;
// Answers (ctl dying(slot)).
const DYING_INSIDE = 1;
const DYING_PARKED = 2;
const DYING_RELEASED = 3; // the late exit listener released
const DYING_RELEASE_FAILED = 4; // ... and the release threw
const DYING_QUEUED = 5; // about to queue its request (KILL_QUEUED)
// Condition's bounded queue (Int32 words, then from Q_WORDS Q_CAP item ids, then Q_CAP Float64 put times).
const { Q_HEAD, Q_COUNT, Q_NEXT_ID, Q_PUT_N, Q_PUT_SUM, Q_TAKE_N, Q_TAKE_SUM } = words({
  Q_HEAD: 'index of the oldest item',
  Q_COUNT: 'items queued',
  Q_NEXT_ID: 'ids given out so far (the next one is one more)',
  Q_PUT_N: 'items put',
  Q_PUT_SUM: 'sum of the ids put',
  Q_TAKE_N: 'items taken',
  Q_TAKE_SUM: 'sum of the ids taken',
});
const Q_WORDS = 8;
const Q_CAP = 4;
const Q_BYTES = (Q_WORDS + Q_CAP) * 4 + Q_CAP * 8;
const WAIT_MS = 1500; // a Condition waiter's bounded wait
const STALE_MS = 1000; // ... which must not sleep this long while an item is queued

/**
 * Whether this thread's hold of `lock` (an RWLock or a tracking Semaphore) is recorded in its 8
 * holder slots (`(owner id, holds)` pairs starting `offset` words after the state word; see
 * raw/rwlock.ts READ_HOLDERS and raw/semaphore.ts HOLDERS). With more holder threads than slots a
 * hold is untracked, and a dead untracked holder's hold is never given back (docs/robustness.md,
 * "Limits"): such a holder is not offered as a kill victim.
 */
function heldInSlots(lock, offset) {
  const w = new Int32Array(lock.buffer);
  const slots = (lock.byteOffset >> 2) + 1 + offset;
  for (let k = 0; k < 8; k++) if (Atomics.load(w, slots + 2 * k) === threadId + 1 && w[slots + 2 * k + 1] > 0) return true;
  return false;
}

// ---- named resources: LockManager paths and WebLocks names ----------------------------------
// The LockManager runs on a small tree of hot paths (X and S on rows, tables and the root, with
// the intention modes on the ancestors taken by the manager); WebLocks on three names, two of
// which see steals. `parent` gives the tree: a holder of X on a path conflicts with every holder
// (X or S) on it, on its ancestors and on its descendants; a holder of S with every X holder there.
const LM_NODES = [
  { path: ['db'], parent: -1, weight: 1 },
  { path: ['db', 't'], parent: 0, weight: 3 },
  { path: ['db', 't', 0], parent: 1, weight: 8 },
  { path: ['db', 't', 1], parent: 1, weight: 8 },
  { path: ['db', 't', 2], parent: 1, weight: 4 },
  { path: ['db', 'u'], parent: 0, weight: 2 },
  { path: ['db', 'u', 0], parent: 5, weight: 6 },
];
const WL_NODES = [
  { name: 'a', parent: -1, weight: 4, steal: true },
  { name: 'b', parent: -1, weight: 2, steal: true },
  { name: 'c', parent: -1, weight: 4, steal: false },
];
const NODES = { LockManager: LM_NODES, WebLocks: WL_NODES };
const nodeName = (nd) => (nd.path ? JSON.stringify(nd.path) : `'${nd.name}'`);
// The main thread's slots, one per named kind (its probes and holds write tokens too).
const MAIN_SLOT = { LockManager: 4095, WebLocks: 4094 };
const FIRST_MAIN_SLOT = 4094;
const REPAIRING = -1;
// Token baselines (tokBuf): per slot TOK_ENTRIES pairs (sequence, full steal baseline), for the
// token with that sequence modulo TOK_ENTRIES.
const TOK_ENTRIES = 64;
const TOK_PAIR = words({
  TOK_SEQ: "the token's sequence",
  TOK_BASE: "its request's steal baseline (+1 for its own steal)",
  TOK_STATE: 'where its entrant is: TOK_TENTATIVE, TOK_HELD, TOK_ROBBED or TOK_LEFT',
  TOK_XENT: "an X entrant's ordinal in its resource's N_XENT (the N_XLOG entry it wrote)",
});
// TOK_STATE. An X entrant publishes its token before it knows whether a steal robbed it on the
// way in (`settle` in namedChecker): TENTATIVE until then; HELD once it knows it was not; ROBBED
// if it was (it takes its token back and overlaps lawfully); LEFT once a HELD holder exits. A
// token seen after its holder withdrew it (ROBBED) or left (LEFT) is no conflict: a robbed
// entrant's give-back can put a token back into N_XOWN after its holder's exit.
const TOK_TENTATIVE = 1, TOK_HELD = 2, TOK_ROBBED = 3, TOK_LEFT = 4;
const tokRow = rows(0, TOK_PAIR.END);
const tokWord = (slot, seq, k) => tokRow(slot * TOK_ENTRIES + (seq % TOK_ENTRIES), k);
// A holder's token in N_XOWN / N_DEADS: a sequence (19 bits) and its slot (12 bits). Its
// request's steal baseline (see namedChecker) is in the token table, not in the token: a robbed
// holder may keep its token published for seconds (its request rejected, its thread parked or
// stopped before its callback ends), and a few bits of a count would wrap meanwhile.
const tokenSlot = (t) => t & 0xfff;
const tokenSeq = (t) => t >>> 12;

/**
 * The invariant checks of the named kinds, shared by the workers and the main thread's probes.
 * `R` is the kind's region, `slots` the per-slot words (thread id, resource of a kill), `toks` the
 * token table (TOK_ENTRIES), `slot` the caller's, `violation` reports, `recovered(slot)` is called
 * once by the first entrant that finds a dead holder's token.
 *
 * Entry: an X holder exchanges its token into N_XOWN of its resource, then looks at the tokens and
 * S counts of every related resource; an S holder counts itself in N_SIN, then looks at the
 * tokens. With sequentially consistent Atomics, of two conflicting holders the later one sees the
 * earlier. A token found is judged: a dead holder's (recovery: the winner of one CAS repairs its
 * half-written pair and records the time), a holder that a steal may have robbed, or an entry by
 * a stealer; anything else is two conflicting holders at once. On names without steals the plain
 * pair FX/FY must be intact at every entry and FY must equal N_XDONE at the end.
 *
 * Steals (WebLocks). A stealer bumps N_STEALS before its request() and N_STOLEN after it (the
 * steal is granted inside request()). A request's baseline is N_STOLEN read before it starts: a
 * steal that robs it is granted during its hold, so it was not done at the baseline, and it had
 * begun (N_STEALS) by any later moment. Hence "N_STEALS now = baseline (+1 for its own steal)"
 * proves the hold was not robbed so far. An entrant for which that fails at entry may be robbed
 * already (its callback still runs, as the spec says): it publishes nothing (others may overlap
 * it lawfully), and its own findings count only if its request resolves (`ctx.found`). An X
 * entrant that finds S holders on a name with steals cannot tell who was robbed: those S holders
 * check themselves (N_XENT moved during their hold while their request resolved).
 */
function namedChecker(kind, R, slots, toks, slot, violation, recovered, diag = { slot: () => '', table: () => '' }) {
  const nodes = NODES[kind];
  const anc = (n) => (nodes[n].parent < 0 ? [] : [nodes[n].parent, ...anc(nodes[n].parent)]);
  const related = nodes.map((_, n) => [n, ...anc(n), ...nodes.map((_, d) => d).filter((d) => anc(d).includes(n))]);
  const w = nodeWord;
  const stealable = (n) => nodes[n].steal === true;
  let seq = 0;
  const begun = (n) => Atomics.load(R, w(n, N_STEALS));
  // An S holder counts itself in N_SIN of its resource, and marks it in its slot (for reports).
  const countReader = (n) => {
    Atomics.add(R, w(n, N_SIN), 1);
    Atomics.or(slots, slotWord(slot, SLOT_WORDS.SIN), 1 << n);
  };
  const uncountReader = (n) => {
    Atomics.sub(R, w(n, N_SIN), 1);
    Atomics.and(slots, slotWord(slot, SLOT_WORDS.SIN), ~(1 << n));
  };
  // The slots marked inside S on m, for a report: slot (thread, dead or not, what the killer asked).
  const readersOn = (m) => {
    const out = [];
    for (let q = 0; q < slots.length / SLOT_WORDS.END; q++) {
      if ((Atomics.load(slots, slotWord(q, SLOT_WORDS.SIN)) & (1 << m)) === 0) continue;
      const th = Atomics.load(slots, slotWord(q, SLOT_WORDS.THREAD));
      out.push(`${q}(thread ${th}${sablock.isThreadDead(th) ? ' DEAD' : ''}${diag.slot(q)})`);
    }
    return out.join(' ');
  };
  const alive = (t) => !sablock.isThreadDead(Atomics.load(slots, slotWord(tokenSlot(t), SLOT_WORDS.THREAD)));
  // Did an X entrant that was not robbed on its way in enter resource n between ordinals `from`
  // and `to` (an S holder's entry and exit)? Each is judged by its token in N_XLOG: a robbed one
  // (ROBBED) overlaps lawfully; one not yet logged or settled is waited for (bounded).
  const nap = new Int32Array(new SharedArrayBuffer(4));
  const xEntered = (n, from, to) => {
    if (to - from > XLOG) return true; // the log wrapped: too many to tell, count it
    for (let k = from; k < to; k++) {
      const until = Date.now() + 5000;
      let t = 0;
      for (;;) {
        t = Atomics.load(R, w(n, N_XLOG + (k % XLOG)));
        // Logged under k (its token's ordinal says so), or not yet: its entrant is between the two stores.
        if (t > 0 && Atomics.load(toks, tokWord(tokenSlot(t), tokenSeq(t), TOK_PAIR.TOK_XENT)) === k) break;
        if (Date.now() > until) return true;
        if (!isMainThread) Atomics.wait(nap, 0, 0, 1); // let its thread run
      }
      const st = settled(t); // 0: its entry was reused by a later token of its slot (unknown)
      if (st === TOK_HELD || st === TOK_LEFT) return true;
    }
    return false;
  };
  // Token t's TOK_STATE once its entrant has settled (TOK_STATE), or 0 if its entry was reused by
  // a later token of that slot (unknown). A TENTATIVE entrant settles within a few loads, unless
  // its thread is descheduled or dies there: wait for it (bounded). No cycle: only a later X
  // entrant of the same name (it exchanged after t was published) or t's displaced holder at its
  // exit waits for t, and t itself waits only for tokens published before its own.
  const settled = (t) => {
    const k = tokWord(tokenSlot(t), tokenSeq(t), TOK_PAIR.TOK_STATE);
    const until = Date.now() + 5000;
    for (;;) {
      // The state first, then the sequence: a state read from a reused entry is caught by the second.
      const st = Atomics.load(toks, k);
      if (Atomics.load(toks, tokWord(tokenSlot(t), tokenSeq(t), TOK_PAIR.TOK_SEQ)) !== tokenSeq(t)) return 0;
      if (st !== TOK_TENTATIVE || !alive(t) || Date.now() > until) return st;
      // Let its thread run (2 cores, oversubscribed); the main thread may not block.
      if (!isMainThread) Atomics.wait(toks, k, TOK_TENTATIVE, 1);
    }
  };
  // Judges token t found in word k of resource m by an entrant on n (`won`: it took the word by
  // exchange). Returns whether m's pair may be checked now.
  const judge = (ctx, m, k, t, won) => {
    const { n, mode, steal } = ctx;
    if (t === 0) return true;
    if (t === REPAIRING) return false; // another entrant repairs a dead holder's pair (a related resource)
    if (!alive(t)) {
      if (k === N_DEADS) {
        if (Atomics.compareExchange(R, w(m, N_DEADS), t, 0) === t) recovered(tokenSlot(t));
        return true;
      }
      // One winner repairs the dead X holder's half-done update (FX written, FY not) and records.
      if (won || Atomics.compareExchange(R, w(m, N_XOWN), t, REPAIRING) === t) {
        R[w(m, N_FX)] = R[w(m, N_FY)];
        recovered(tokenSlot(t));
        if (!won) Atomics.compareExchange(R, w(m, N_XOWN), REPAIRING, 0);
        return true;
      }
      return false;
    }
    // Alive: lawful only if a steal may have robbed it since its baseline, or if this entrant is
    // the stealer. A baseline overwritten by a later token of that slot: unknown, lawful.
    if (steal) return false;
    // Withdrawn by a robbed entrant, or left by its holder (a give-back may restore it after the
    // exit): no conflict. Only stealable names have entrants that withdraw.
    const st = stealable(m) ? settled(t) : TOK_HELD;
    if (st === 0 || st === TOK_ROBBED || st === TOK_LEFT) return false;
    const base = Atomics.load(toks, tokWord(tokenSlot(t), tokenSeq(t), TOK_PAIR.TOK_BASE));
    const now = begun(m);
    if (Atomics.load(toks, tokWord(tokenSlot(t), tokenSeq(t), TOK_PAIR.TOK_SEQ)) !== tokenSeq(t) || now !== base) return false;
    const what = k === N_DEADS ? 'an S holder told to die there (still alive)' : 'an X holder';
    ctx.report(
      `${mode} granted on ${nodeName(nodes[n])} while ${what} of slot ${tokenSlot(t)} was inside on ${nodeName(nodes[m])}` +
        (stealable(m) ? ` (no steal begun since its request: ${now})` : '') +
        // For the one who reads the report: what the killer had asked of that holder, if anything.
        ` [holder thread ${Atomics.load(slots, slotWord(tokenSlot(t), SLOT_WORDS.THREAD))}${diag.slot(tokenSlot(t))}; table now: ${diag.table()}]`,
    );
    return false;
  };
  const pairCheck = (ctx, m) => {
    if (stealable(m)) return; // a robbed writer may still be writing
    const x = R[w(m, N_FX)];
    const y = R[w(m, N_FY)];
    if (x !== y) ctx.report(`torn pair on ${nodeName(nodes[m])} (entering ${nodeName(nodes[ctx.n])}): FX=${x} FY=${y}`);
  };
  return {
    nodes,
    w,
    /** A request's steal baseline, read before it starts. */
    baseline: (n) => Atomics.load(R, w(n, N_STOLEN)),
    /** A steal request on n: call `request` (which returns its promise) between the two bumps. */
    stealing(n, request) {
      Atomics.add(R, w(n, N_STEALS), 1);
      try {
        return request();
      } finally {
        Atomics.add(R, w(n, N_STOLEN), 1);
      }
    },
    /** Steals begun on n so far. */
    begun,
    /**
     * Entering a hold of `mode` ('X' or 'S') on resource n, granted to a request with steal
     * baseline `base` (`steal`: granted by a steal).
     */
    enter(n, mode, steal = false, base = 0) {
      const own = steal ? 1 : 0;
      const suspect = begun(n) !== base + own; // maybe robbed before it got here
      seq = (seq % 0x7ffff) + 1;
      // Its baseline first, then the token is published (exchange below): whoever reads the token reads this.
      Atomics.store(toks, tokWord(slot, seq, TOK_PAIR.TOK_SEQ), seq);
      Atomics.store(toks, tokWord(slot, seq, TOK_PAIR.TOK_BASE), base + own);
      // Suspect at the start: it publishes nothing, and counts as withdrawn.
      Atomics.store(toks, tokWord(slot, seq, TOK_PAIR.TOK_STATE), suspect ? TOK_ROBBED : TOK_TENTATIVE);
      if (mode === 'X') {
        // Every X entrant, first: its ordinal, then its token in the log under it. An S holder that
        // sees N_XENT move during its hold judges those entrants by their tokens' states, so a
        // robbed straggler (it may enter long after it was robbed) is told from an intruder.
        const k = Atomics.add(R, w(n, N_XENT), 1);
        Atomics.store(toks, tokWord(slot, seq, TOK_PAIR.TOK_XENT), k);
        Atomics.store(R, w(n, N_XLOG + (k % XLOG)), (seq << 12) | slot);
      }
      // Findings are held back until the end: a steal that begins while this entrant looks (its
      // thread may be descheduled between any two of these steps) may rob it, and then what it
      // finds is lawful (see `settle` below).
      const held = [];
      const ctx = {
        n,
        mode,
        steal,
        base,
        suspect,
        tok: (seq << 12) | slot,
        entryBegun: begun(n),
        x: 0,
        xent: 0,
        found: [],
        report: null,
      };
      ctx.report = suspect ? (m) => ctx.found.push(m) : (m) => held.push(m);
      // Not suspect at the start: look again once everything is read. A steal begun since then may
      // have robbed this entrant before it published (its callback runs on, as the spec says): it
      // is suspect after all, takes back what it published, and its findings count only if its
      // request resolves. Otherwise they are violations.
      const state = tokWord(slot, seq, TOK_PAIR.TOK_STATE);
      const settle = (undo) => {
        if (suspect) return;
        if (begun(n) === base + own) {
          // Not robbed on the way in; wake whoever waits for this token to settle.
          Atomics.store(toks, state, TOK_HELD);
          Atomics.notify(toks, state);
          ctx.report = violation;
          for (const m of held) violation(m);
          return;
        }
        ctx.suspect = true;
        ctx.report = (m) => ctx.found.push(m);
        ctx.found.push(...held);
        // Withdrawn before the give-back: whoever finds this token from now on (a holder it
        // displaced, at its exit) knows it for a robbed entrant's; wake those waiting to know.
        Atomics.store(toks, state, TOK_ROBBED);
        Atomics.notify(toks, state);
        undo();
      };
      ctx.state = state;
      if (mode === 'X') {
        const prev = suspect ? Atomics.load(R, w(n, N_XOWN)) : Atomics.exchange(R, w(n, N_XOWN), ctx.tok);
        for (const m of related[n]) {
          const t = m === n ? prev : Atomics.load(R, w(m, N_XOWN));
          let ok = judge(ctx, m, N_XOWN, t, m === n && !suspect);
          const d = Atomics.load(R, w(m, N_DEADS));
          if (d !== 0) judge(ctx, m, N_DEADS, d, false);
          const sin = Atomics.load(R, w(m, N_SIN));
          if (sin > 0 && !stealable(m)) {
            ctx.report(`X granted on ${nodeName(nodes[n])} while ${sin} S holder(s) were inside on ${nodeName(nodes[m])} [S inside: ${readersOn(m)}] [table now: ${diag.table()}]`);
            ok = false;
          }
          if (ok) pairCheck(ctx, m);
        }
        // Robbed while it looked: give the word back to the holder it displaced (if nobody came since).
        settle(() => Atomics.compareExchange(R, w(n, N_XOWN), ctx.tok, prev));
        // Its own update: FX now, FY at exit (a holder that dies between leaves them torn).
        ctx.x = R[w(n, N_FY)];
        R[w(n, N_FX)] = ctx.x + 1;
      } else {
        if (!suspect) countReader(n);
        ctx.xent = Atomics.load(R, w(n, N_XENT));
        for (const m of related[n]) if (judge(ctx, m, N_XOWN, Atomics.load(R, w(m, N_XOWN)), false)) pairCheck(ctx, m);
        settle(() => uncountReader(n));
      }
      return ctx;
    },
    /**
     * Leaving it (before the release). Returns { intruded: someone conflicting entered meanwhile,
     * robbed: a steal was granted during the hold (begun after entry, done by now) }.
     */
    exit(ctx) {
      const { n, mode, tok } = ctx;
      const robbed = Atomics.load(R, w(n, N_STOLEN)) > ctx.entryBegun;
      if (mode === 'X') {
        R[w(n, N_FY)] = ctx.x + 1;
        Atomics.add(R, w(n, N_XDONE), 1);
        // Taken by a later entrant: that entrant judged it (a steal, or a violation it reported);
        // unless that entrant was robbed on the way in (it withdraws, and may give the word back).
        let intruded = false;
        if (!ctx.suspect) {
          const c = Atomics.compareExchange(R, w(n, N_XOWN), tok, 0);
          intruded = c !== tok && !(c > 0 && stealable(n) && settled(c) === TOK_ROBBED);
          // Left: a give-back that restores this token later restores a token of nobody inside.
          Atomics.store(toks, ctx.state, TOK_LEFT);
        }
        return { intruded, robbed };
      }
      const intruded = !ctx.suspect && xEntered(n, ctx.xent, Atomics.load(R, w(n, N_XENT)));
      if (!ctx.suspect) uncountReader(n);
      return { intruded, robbed };
    },
    /** A dying S holder: out of N_SIN, named in N_DEADS for the X entrant that finds it dead. */
    leaveReader(ctx) {
      if (ctx.suspect) return;
      uncountReader(ctx.n);
      Atomics.store(R, w(ctx.n, N_DEADS), ctx.tok);
    },
    /** A resource by weight. */
    pick(random) {
      let r = random() * nodes.reduce((s, nd) => s + nd.weight, 0);
      for (let n = 0; n < nodes.length; n++) if ((r -= nodes[n].weight) < 0) return n;
      return nodes.length - 1;
    },
  };
}

// ---- a deliberately broken lock (negative control) -----------------------------------------
// Test-then-set with a gap: two threads can both see it free and both enter.
class BrokenLock {
  constructor(buffer) {
    this.a = new Int32Array(buffer ?? new SharedArrayBuffer(4));
  }
  get handle() {
    return { buffer: this.a.buffer };
  }
  static from(h) {
    return new BrokenLock(h.buffer);
  }
  lock() {
    for (let n = 0; Atomics.load(this.a, 0) !== 0; n++) if (n > 64) Atomics.wait(this.a, 0, 1, 0.05);
    for (let k = 0; k < 200; k++); // the race window
    Atomics.store(this.a, 0, 1); // BROKEN: not a compare-and-swap
    return { ownerDied: false, unlock: () => this.unlock() };
  }
  unlock() {
    Atomics.store(this.a, 0, 0);
  }
  tryLock() {
    return Atomics.load(this.a, 0) === 0 ? (this.lock(), true) : false;
  }
  async lockAsync() {
    return this.lock();
  }
  withLock(fn) {
    this.lock();
    try {
      return fn();
    } finally {
      this.unlock();
    }
  }
  get ownerDied() {
    return false;
  }
  markConsistent() {}
}

// ---- adapters: how to create, attach and exercise each primitive ---------------------------
const ADAPTERS = {
  Mutex: { available: () => typeof sablock.Mutex === 'function', robust: true, blindKill: true, exclusive: true },
  SpinLock: { available: () => typeof sablock.SpinLock === 'function', robust: true, blindKill: true, exclusive: true },
  // TicketLock: holder kills only, and never of a 'mix' worker: its other tasks may wait with
  // tickets, and a thread that dies queued is skipped only while at most 8 wait at once (the
  // QUEUED entries; docs/robustness.md "Limits"), which the mix workers' tasks exceed.
  TicketLock: { available: () => typeof sablock.TicketLock === 'function', robust: true, blindKill: false, exclusive: true, killMixers: false },
  BrokenLock: { available: () => true, robust: false, blindKill: false, exclusive: true, broken: true },
  // Holder kills only: a kill at a random moment could land between a take and its record (a
  // documented leak, docs/robustness.md), which the torture would then report as a hang.
  RWLock: { available: () => typeof sablock.RWLock === 'function', robust: true, blindKill: false },
  Semaphore: { available: () => typeof sablock.Semaphore === 'function', robust: true, blindKill: false },
  SeqLock: { available: () => typeof sablock.SeqLock === 'function', robust: true, blindKill: false, lateRelease: false },
  // A bounded producer/consumer queue over a Mutex and two Conditions; no kills (a dead producer's
  // half-done put has nobody to repair it), every other mix.
  Condition: { available: () => typeof sablock.Condition === 'function', robust: false, blindKill: false },
  // Named kinds: X and S holds on hot resources (LockManager: a tree of paths; WebLocks: names,
  // with steals), checked through owner tokens in shared memory (namedChecker). Kills: holders
  // (terminated, process.exit(), a late release for the LockManager, nested), requests queued
  // behind the main thread's hold, and a release that hands over followed at once by
  // process.exit(). No blind kills: a worker terminated inside a table update takes the manager
  // out of service, by design (docs/lock-manager.md, "Invalid use and limits"). No late release
  // for WebLocks: its release runs when the callback settles, never in an 'exit' listener.
  LockManager: { available: () => typeof sablock.LockManager === 'function', robust: true, blindKill: false, named: true },
  WebLocks: { available: () => typeof sablock.WebLocks === 'function', robust: true, blindKill: false, named: true, lateRelease: false },
};
const SEM_PERMITS = 2;

function createPrimitive(kind) {
  if (kind === 'BrokenLock') return new BrokenLock().handle;
  // trackOwners: permits are recorded per thread, so a dead holder's permit comes back.
  if (kind === 'Semaphore') return new sablock.Semaphore(SEM_PERMITS, { name: 'torture-Semaphore', trackOwners: true }).handle;
  if (kind === 'SeqLock') return new sablock.SeqLock({ dataByteLength: 16, name: 'torture-SeqLock' }).handle;
  if (kind === 'Condition') {
    return {
      mutex: new sablock.Mutex({ name: 'torture-Condition-mutex' }).handle,
      notEmpty: new sablock.Condition({ name: 'torture-notEmpty' }).handle,
      notFull: new sablock.Condition({ name: 'torture-notFull' }).handle,
    };
  }
  // A short deadlock check: a mix thread's blocking acquire behind its own task is refused after it.
  if (kind === 'LockManager') return new sablock.LockManager({ name: 'torture-LockManager', capacity: 256, deadlockTimeout: 200 }).handle;
  if (kind === 'WebLocks') return new sablock.WebLocks({ name: 'torture-WebLocks', capacity: 64 }).handle;
  return new sablock[kind]({ name: `torture-${kind}` }).handle;
}

function attachPrimitive(kind, handle) {
  if (kind === 'BrokenLock') return BrokenLock.from(handle);
  if (kind === 'Condition') {
    return { mutex: sablock.Mutex.from(handle.mutex), notEmpty: sablock.Condition.from(handle.notEmpty), notFull: sablock.Condition.from(handle.notFull) };
  }
  return sablock[kind].from(handle);
}

// ---- worker ---------------------------------------------------------------------------------
// Roles (chosen by the main thread's PRNG when it spawns a worker):
// - 'plain': one operation at a time, any kind (sync, try, timed, async, aborted, withLock).
// - 'mix': several concurrent async tasks (some aborted at random moments, some timed) while the
//   thread itself does blocking and timed acquisitions between their turns, and "abandon then
//   block": start an async wait, abort it (it stays in V8's FIFO wait list for the address), then
//   block in a sync acquisition at once.
// - 'nest': a 'plain' worker that first starts 1–2 lock-holding workers of its own ('child').
// Every worker can also be told to die (kill requests below), at its next acquisition or at the
// top of its loop.
async function workerMain() {
  const { kind, slot, role, seed, handle, region, ctlBuf, opsBuf, repairBuf, failBuf, condBuf, slotBuf, tokBuf, childSlots } = workerData;
  random = mulberry32(seed);
  const lock = attachPrimitive(kind, handle);
  const R = new Int32Array(region);
  const ctl = new Int32Array(ctlBuf);
  const ops = new Int32Array(opsBuf);
  const fails = new Int32Array(failBuf);
  const repairAt = new Float64Array(repairBuf);
  const slotWords = new Int32Array(slotBuf); // per slot: thread id, resource of a kill (named kinds)
  const nap = new Int32Array(new SharedArrayBuffer(4));
  let reported = 0;
  const violation = (msg) => {
    Atomics.add(R, VIOL, 1);
    if (reported++ < 3) parentPort.postMessage({ type: 'violation', kind, msg: `${msg} (seed ${seed}, ${role} worker ${slot})` });
  };
  const count = (i) => Atomics.add(R, i, 1);
  const busy = (n) => {
    let s = 0;
    for (let k = 0; k < n; k++) s = (s + k) | 0;
    return s;
  };
  const turn = () => new Promise((res) => setImmediate(res));
  const hold = async () => {
    const r = random();
    if (r < 0.6) return;
    if (r < 0.9) busy(rand(2000));
    else if (r < 0.97) Atomics.wait(nap, 0, 0, random()); // sleep up to 1 ms holding it
    else await turn(); // an event-loop turn holding it
  };
  const stopped = () => Atomics.load(ctl, STOP) !== 0;
  // Holds this thread has right now (all its tasks together). A blocking acquisition runs only
  // when it is 0 (one thread's blocking lock() behind its own task's hold could only deadlock),
  // and a kill request is served only by a sole holder (its `leave` undoes only its own counts).
  let localHolds = 0;

  // ---- kill requests ----
  // The previous owner died inside: repair its half-done update, then declare consistency.
  const repairAfterDeath = () => {
    Atomics.store(R, INSIDE, 0);
    R[Y] = R[X];
    repairAt[R[HOLDER]] = wall();
    Atomics.add(R, REPAIRS, 1);
    lock.markConsistent();
  };
  // A late `exit` listener (the issue-12 bug-2 family): registered at start, it runs when this
  // thread calls process.exit() inside a critical section with a release pending: it blocks a
  // few ms (the lock is still held by a thread that runs JavaScript: nobody may take it over),
  // then finishes the critical section and releases, and says so in dying(slot).
  let lateRelease = null;
  process.on('exit', () => {
    if (!lateRelease) return;
    Atomics.wait(nap, 0, 0, 1 + rand(5));
    try {
      lateRelease();
      Atomics.store(ctl, dying(slot), DYING_RELEASED);
    } catch (e) {
      Atomics.add(R, VIOL, 1); // no postMessage from a dying thread: the main thread reports it
      Atomics.store(ctl, dying(slot), DYING_RELEASE_FAILED);
    }
  });
  // Called inside a critical section. `leave` undoes what the data checks count for this holder
  // (a holder that dies keeps its hold but no longer counts as inside); `finish` completes the
  // section and releases (for the late-exit release; absent where the API cannot release from
  // outside a callback).
  const dieIfAsked = (leave, finish) => {
    const req = Atomics.load(ctl, killReq(slot));
    if (req < KILL_HOLDING || req > KILL_EXIT_LATE || localHolds > 1) return;
    if (req === KILL_EXIT_LATE && finish) {
      lateRelease = finish;
      Atomics.store(ctl, dying(slot), DYING_INSIDE);
      process.exit(0);
    }
    leave?.();
    Atomics.store(R, DEAD, slot);
    Atomics.store(ctl, dying(slot), DYING_INSIDE);
    Atomics.notify(ctl, dying(slot));
    if (req !== KILL_HOLDING) process.exit(0); // process.exit() inside the critical section
    for (;;) Atomics.wait(nap, 0, 0);
  };
  // At the top of a loop, holding nothing: park (ack in dying(slot)) until withdrawn (request back
  // to 0) or told to exit.
  const parkIfAsked = () => {
    if (Atomics.load(ctl, killReq(slot)) !== KILL_PARK) return;
    Atomics.store(ctl, dying(slot), DYING_PARKED);
    Atomics.notify(ctl, dying(slot));
    for (;;) {
      const v = Atomics.load(ctl, killReq(slot));
      if (v === KILL_EXIT_NOW) process.exit(0);
      if (v !== KILL_PARK) break;
      Atomics.wait(ctl, killReq(slot), v, 1000);
    }
    Atomics.store(ctl, dying(slot), 0);
  };

  // RWLock and Semaphore: the thread that reaps a dead holder publishes sablock:owner-died (in its
  // own thread); that moment is the recovery.
  if (kind === 'RWLock' || kind === 'Semaphore') {
    diagnosticsChannel.subscribe(sablock.CHANNELS.ownerDied, (m) => {
      if (m.lock === lock) repairAt[Atomics.load(R, DEAD)] = wall();
    });
  }
  const timeoutOrAbort = (e) => e?.name === 'TimeoutError' || e?.name === 'AbortError';
  // Options for one async wait: none, a timeout, or a signal aborted at a random moment (in the
  // same turn, a microtask later, or by a timer). Returns the options and a cleanup.
  const asyncOptions = () => {
    const r = random();
    if (r < 0.4) return { opts: undefined, done: () => {} };
    if (r < 0.7) return { opts: { timeout: rand(5) }, done: () => {} };
    const ac = new AbortController();
    const how = rand(3);
    let timer;
    if (how === 0) timer = setTimeout(() => ac.abort(), rand(5));
    else if (how === 1) queueMicrotask(() => ac.abort());
    else timer = setImmediate(() => ac.abort());
    return { opts: { signal: ac.signal }, done: () => (clearTimeout(timer), clearImmediate(timer)) };
  };
  // Runs an async acquisition with random options; null when it timed out or was aborted.
  const awaitWith = async (start) => {
    const { opts, done } = asyncOptions();
    try {
      return await start(opts);
    } catch (e) {
      if (e?.name === 'AbortError') count(ABORTED);
      else if (e?.name === 'TimeoutError') count(TIMEDOUT);
      else throw e;
      return null;
    } finally {
      done();
    }
  };
  // "Abandon then block": start an async wait with a signal, let it queue, abort it, and block in
  // a sync acquisition at once (the aborted waitAsync stays in V8's FIFO list for the address; a
  // wake-up it swallows must not leave the blocked acquisition asleep). `start(opts)` returns the
  // async acquisition's promise; `onResult(r)` runs the section if it got in before the abort;
  // `block()` is the sync acquisition (run only when this thread holds nothing).
  // `holds`: a result is a hold (counted in localHolds from the moment it arrives).
  const abandonThenBlock = async (start, onResult, block, holds = true) => {
    const ac = new AbortController();
    let result = null;
    let settled = false;
    const p = start({ signal: ac.signal }).then(
      (r) => {
        settled = true;
        result = r;
        if (holds && r !== null) localHolds++; // null: it ended without the lock (LockManager: a refused deadlock)
      },
      (e) => {
        settled = true;
        if (e?.name === 'AbortError') count(ABORTED);
        else throw e;
      },
    );
    // After a timer every microtask has run: if it got in, `settled` says so.
    await sleep(rand(3));
    let blocked = false;
    if (!settled) {
      ac.abort();
      if (localHolds === 0) {
        count(BLOCK_AFTER_ABORT);
        blocked = true;
        await block();
      }
    }
    await p;
    if (result !== null) {
      if (holds) localHolds--; // the section counts it from here
      await onResult(result);
    }
    return blocked || result !== null;
  };
  // TicketLock's lock() refuses (ERR_LOCK_RECURSIVE) while a lockAsync() ticket of this thread
  // waits: expected in a mix, counted.
  // RWLock: upgrade() refuses while another task of this thread holds a read. The section checks
  // localHolds first, but a read granted by another thread's hand-over counts for this thread
  // before its task's continuation counts it (seen once in CI: "upgrade() by thread 44, which
  // holds a plain read lock as well").
  const refused = (e) => {
    if ((kind === 'TicketLock' || kind === 'RWLock') && e?.code === 'ERR_LOCK_RECURSIVE') {
      count(REFUSED);
      return true;
    }
    return false;
  };

  // ---- exclusive locks (Mutex, SpinLock, TicketLock, BrokenLock) ----
  // The critical section and its invariant; releases with `unlock`.
  const exclusive = async (died, unlock) => {
    localHolds++;
    let x;
    try {
      if (died) repairAfterDeath();
      if (Atomics.add(R, INSIDE, 1) !== 0) violation('two holders inside at once');
      x = R[X];
      if (R[Y] !== x) violation(`torn pair: X=${x} Y=${R[Y]}`);
      R[HOLDER] = slot;
      // Dies inside, before its update: the next owner repairs from HOLDER. A late release
      // completes the update first.
      dieIfAsked(undefined, () => {
        R[X] = x + 1;
        R[Y] = x + 1;
        Atomics.sub(R, INSIDE, 1);
        unlock();
      });
      R[X] = x + 1;
      await hold();
      R[Y] = x + 1;
      Atomics.sub(R, INSIDE, 1);
    } finally {
      localHolds--;
    }
    unlock();
  };
  const exSync = async (op) => {
    switch (op) {
      case 'lock': {
        const g = lock.lock();
        await exclusive(g.ownerDied, () => g.unlock());
        return true;
      }
      case 'try':
      case 'tryMs': {
        if (!(op === 'try' ? lock.tryLock() : lock.tryLock(rand(5)))) return false;
        await exclusive(lock.ownerDied, () => lock.unlock());
        return true;
      }
      case 'with': {
        // Sync body: withLock does not await.
        lock.withLock(() => {
          const died = lock.ownerDied;
          if (died) repairAfterDeath();
          if (Atomics.add(R, INSIDE, 1) !== 0) violation('two holders inside at once (withLock)');
          const x = R[X];
          if (R[Y] !== x) violation(`torn pair: X=${x} Y=${R[Y]}`);
          R[HOLDER] = slot;
          R[X] = x + 1;
          busy(rand(500));
          R[Y] = x + 1;
          Atomics.sub(R, INSIDE, 1);
        });
        return true;
      }
    }
    return false;
  };
  const exAsync = async () => {
    const g = await awaitWith((opts) => lock.lockAsync(opts));
    if (!g) return false;
    await exclusive(g.ownerDied, () => g.unlock());
    return true;
  };
  const EX_SYNC = ['lock', 'lock', 'try', 'tryMs', 'with'];
  const exclusivePrim = {
    any: () => (random() < 0.45 ? exAsync() : exSync(EX_SYNC[rand(EX_SYNC.length)])),
    async: exAsync,
    sync: () => exSync(EX_SYNC[rand(EX_SYNC.length)]),
    abandon: () =>
      abandonThenBlock(
        (opts) => lock.lockAsync(opts),
        (g) => exclusive(g.ownerDied, () => g.unlock()),
        () => exSync(random() < 0.7 ? 'lock' : 'tryMs'),
      ),
  };

  // ---- RWLock: read, write, upgradable (optionally upgraded) ----
  const writeSection = async (unlock) => {
    localHolds++;
    let x;
    try {
      if (lock.ownerDied) {
        // A writer died mid-write (or a reader died): undo its half-done update, then declare it.
        Atomics.store(R, INSIDE, 0);
        R[Y] = R[X];
        Atomics.add(R, REPAIRS, 1);
        lock.markConsistent();
      }
      if (Atomics.add(R, INSIDE, 1) !== 0) violation('two writers inside');
      if (Atomics.load(R, READERS) !== 0) violation('writer inside with readers');
      if (Atomics.load(R, UPGRADABLE) !== 0) violation('writer inside with an upgradable holder');
      x = R[X];
      R[X] = x + 1;
      // Dies with X written and Y not: a torn pair for the next writer to repair.
      dieIfAsked(undefined, () => {
        R[Y] = x + 1;
        Atomics.sub(R, INSIDE, 1);
        unlock();
      });
      await hold();
      R[Y] = x + 1;
      Atomics.sub(R, INSIDE, 1);
    } finally {
      localHolds--;
    }
    unlock();
  };
  const readChecks = (what) => {
    // Until a writer repairs it, a dead writer's update may be half done (and INSIDE still 1).
    if (lock.ownerDied) return;
    if (Atomics.load(R, INSIDE) !== 0) violation(`${what} inside with a writer`);
    if (R[X] !== R[Y]) violation(`${what} saw a torn pair X=${R[X]} Y=${R[Y]}`);
  };
  // Whether this thread's read hold is recorded in the RWLock's holder slots (raw/rwlock.ts:
  // READ_HOLDERS, 8 pairs (owner id, holds) after the 6 words that follow the state word). With
  // more reader threads than slots a read is untracked, and a dead untracked reader's hold is
  // never given back (docs/robustness.md, "Limits"): such a reader is not offered as a victim.
  const readTracked = () => heldInSlots(lock, 6);
  const readSection = async (unlock) => {
    localHolds++;
    try {
      Atomics.add(R, READERS, 1);
      readChecks('reader');
      // A dying reader leaves the data alone: out of READERS, but it keeps its read hold.
      if (readTracked()) dieIfAsked(
        () => Atomics.sub(R, READERS, 1),
        () => {
          Atomics.sub(R, READERS, 1);
          unlock();
        },
      );
      await hold();
      Atomics.sub(R, READERS, 1);
    } finally {
      localHolds--;
    }
    unlock();
  };
  // Upgradable read: excludes writers and other upgradable holders, not readers; half the time it
  // upgrades (sync, timed or async) and writes.
  const upgradableSection = async (g) => {
    localHolds++;
    let upgraded = false;
    try {
      if (Atomics.add(R, UPGRADABLE, 1) !== 0) violation('two upgradable holders');
      readChecks('upgradable reader');
      await hold();
      Atomics.sub(R, UPGRADABLE, 1);
      // Not while another task of this thread holds a read: upgrade() refuses that (it would wait
      // for its own thread's reader), documented.
      const r = localHolds === 1 ? random() : 1;
      if (r < 0.25) upgraded = (g.upgrade(), true);
      else if (r < 0.4) upgraded = lock.tryUpgrade(rand(5));
      else if (r < 0.5) upgraded = (await awaitWith((opts) => lock.upgradeAsync(opts))) !== null;
    } catch (e) {
      g.unlock();
      throw e;
    } finally {
      localHolds--;
    }
    // Upgraded: the same guard now releases the write lock.
    if (upgraded) await writeSection(() => g.unlock());
    else g.unlock();
  };
  const rwSync = async () => {
    const r = random();
    if (r < 0.3) {
      const t = random();
      if (t < 0.6) return writeSection(((g) => () => g.unlock())(lock.writeLock())).then(() => true);
      if (!lock.tryWriteLock(rand(5))) return false;
      await writeSection(() => lock.writeUnlock());
      return true;
    }
    if (r < 0.4) {
      if (random() < 0.6) await upgradableSection(lock.upgradableReadLock());
      else {
        if (!lock.tryUpgradableReadLock(rand(5))) return false;
        // Released through the lock (no guard): an upgrade goes through the lock too.
        await upgradableSection({ upgrade: () => lock.upgrade(), unlock: () => (lock.isWriteLocked() ? lock.writeUnlock() : lock.upgradableReadUnlock()) });
      }
      return true;
    }
    if (random() < 0.6) {
      const g = lock.readLock();
      await readSection(() => g.unlock());
      return true;
    }
    if (!lock.tryReadLock(rand(5))) return false;
    await readSection(() => lock.readUnlock());
    return true;
  };
  const rwAsync = async () => {
    const r = random();
    const g = await awaitWith((opts) =>
      r < 0.3 ? lock.writeLockAsync(opts) : r < 0.4 ? lock.upgradableReadLockAsync(opts) : lock.readLockAsync(opts),
    );
    if (!g) return false;
    if (r < 0.3) await writeSection(() => g.unlock());
    else if (r < 0.4) await upgradableSection(g);
    else await readSection(() => g.unlock());
    return true;
  };
  const rwPrim = {
    any: () => (random() < 0.4 ? rwAsync() : rwSync()),
    async: rwAsync,
    sync: rwSync,
    abandon: () => {
      const r = random();
      return abandonThenBlock(
        (opts) => (r < 0.4 ? lock.writeLockAsync(opts) : r < 0.55 ? lock.upgradableReadLockAsync(opts) : lock.readLockAsync(opts)),
        (g) => (r < 0.4 ? writeSection(() => g.unlock()) : r < 0.55 ? upgradableSection(g) : readSection(() => g.unlock())),
        rwSync,
      );
    },
  };

  // ---- Semaphore (trackOwners) ----
  const permitSection = async (release) => {
    localHolds++;
    try {
      if (Atomics.add(R, INSIDE, 1) >= SEM_PERMITS) violation(`more than ${SEM_PERMITS} permits out`);
      // A dying holder is no longer counted inside; its permit must come back through trackOwners
      // (only a recorded one can: raw/semaphore.ts HOLDERS, 9 words after the state word).
      if (heldInSlots(lock, 9)) dieIfAsked(
        () => Atomics.sub(R, INSIDE, 1),
        () => {
          Atomics.sub(R, INSIDE, 1);
          release();
        },
      );
      await hold();
      Atomics.sub(R, INSIDE, 1);
    } finally {
      localHolds--;
    }
    release();
  };
  const semSync = async () => {
    if (random() < 0.6) {
      const g = lock.acquire(1);
      await permitSection(() => g.release());
      return true;
    }
    if (!lock.tryAcquire(1, rand(5))) return false;
    await permitSection(() => lock.release(1));
    return true;
  };
  const semAsync = async () => {
    const g = await awaitWith((opts) => lock.acquireAsync(1, opts));
    if (!g) return false;
    await permitSection(() => g.release());
    return true;
  };
  const semPrim = {
    any: () => (random() < 0.4 ? semAsync() : semSync()),
    async: semAsync,
    sync: semSync,
    abandon: () =>
      abandonThenBlock(
        (opts) => lock.acquireAsync(1, opts),
        (g) => permitSection(() => g.release()),
        semSync,
      ),
  };

  // ---- SeqLock ----
  // The first thread to see a dead SeqLock writer's ownerDied records the recovery time.
  const seenDeath = () => {
    const d = Atomics.load(R, DEAD);
    if (repairAt[d] === 0) repairAt[d] = wall();
  };
  const writeBody = (v) => (view) => {
    if (lock.ownerDied) {
      // The previous writer died mid-write: make the record consistent, then declare it.
      seenDeath();
      view.setInt32(8, -view.getInt32(0));
      Atomics.add(R, REPAIRS, 1);
      lock.markConsistent();
    }
    view.setInt32(0, v);
    localHolds++;
    try {
      dieIfAsked(); // dies with half a record written (no late release: write() owns the release)
    } finally {
      localHolds--;
    }
    busy(rand(500));
    view.setInt32(8, -v);
  };
  // ownerDied is read inside the callback, after the sequence read, so a validated run that saw it
  // false cannot have read the dead writer's half record (it is published only after the flag is set).
  const readBody = (view) => [lock.ownerDied, view.getInt32(0), view.getInt32(8)];
  const checkRead = ([died, a, b]) => {
    if (died) seenDeath();
    else if (a !== -b) violation(`torn seqlock read ${a} / ${b}`);
  };
  const seqSync = async () => {
    if (random() < 0.2) lock.write(writeBody(rand(1 << 30)));
    else checkRead(lock.read(readBody));
    return true;
  };
  const seqAsync = async () => {
    const write = random() < 0.2;
    const r = await awaitWith((opts) => (write ? lock.writeAsync(writeBody(rand(1 << 30)), opts) : lock.readAsync(readBody, opts)));
    if (r === null) return false;
    if (!write) checkRead(r);
    return true;
  };
  const seqPrim = {
    any: () => (random() < 0.3 ? seqAsync() : seqSync()),
    async: seqAsync,
    sync: seqSync,
    abandon: () => {
      const write = random() < 0.5;
      return abandonThenBlock(
        (opts) => (write ? lock.writeAsync(writeBody(rand(1 << 30)), opts).then(() => null) : lock.readAsync(readBody, opts)),
        async (r) => checkRead(r),
        seqSync,
        false,
      );
    },
  };

  // ---- Condition: a bounded queue over a Mutex and two Conditions ----
  const condPrim = kind === 'Condition' ? conditionPrim() : null;
  function conditionPrim() {
    const { mutex, notEmpty, notFull } = lock;
    const q = new Int32Array(condBuf, 0, Q_WORDS + Q_CAP);
    const putAt = new Float64Array(condBuf, (Q_WORDS + Q_CAP) * 4, Q_CAP);
    // Under the mutex: the queue's count stays in [0, Q_CAP].
    const checkCount = () => {
      const n = q[Q_COUNT];
      if (n < 0 || n > Q_CAP) violation(`queue count ${n} outside [0, ${Q_CAP}]`);
      return n;
    };
    const put = () => {
      const id = Atomics.add(q, Q_NEXT_ID, 1) + 1;
      q[Q_WORDS + ((q[Q_HEAD] + q[Q_COUNT]) % Q_CAP)] = id;
      putAt[(q[Q_HEAD] + q[Q_COUNT]) % Q_CAP] = wall();
      q[Q_COUNT]++;
      Atomics.add(q, Q_PUT_N, 1);
      Atomics.add(q, Q_PUT_SUM, id);
      notEmpty.notify(1);
    };
    const take = () => {
      const id = q[Q_WORDS + q[Q_HEAD]];
      q[Q_HEAD] = (q[Q_HEAD] + 1) % Q_CAP;
      q[Q_COUNT]--;
      Atomics.add(q, Q_TAKE_N, 1);
      Atomics.add(q, Q_TAKE_SUM, id);
      notFull.notify(1);
    };
    // The age of the item a waiter could have had: the oldest item (consumer) or, for a
    // producer, 0 when the queue is full.
    const staleCheck = (consumer, waitedFrom, timedOut) => {
      if (!timedOut) return;
      const n = q[Q_COUNT];
      if (consumer ? n === 0 : n === Q_CAP) return;
      // An item (or a slot) has been available since `since`, and this waiter slept through it.
      const since = consumer ? Math.max(waitedFrom, putAt[q[Q_HEAD]]) : waitedFrom;
      const t = wall() - since;
      if (consumer && t > STALE_MS) {
        count(STALE);
        violation(`lost wake-up: a consumer slept ${t.toFixed(0)} ms while an item was queued`);
      }
    };
    // Take when the queue is fuller, put when it is emptier (a racy read, only a bias), so waits
    // happen but the threads are rarely all consumers of an empty queue at once.
    const pickConsumer = () => random() < (Atomics.load(q, Q_COUNT) + 0.5) / (Q_CAP + 1);
    // One put or take, sync (blocking or timed waits); a wait that times out ends it.
    const sync = async () => {
      const consumer = pickConsumer();
      const cond = consumer ? notEmpty : notFull;
      const blocked = () => (consumer ? checkCount() === 0 : checkCount() === Q_CAP);
      const g = mutex.lock();
      localHolds++;
      try {
        while (blocked()) {
          if (stopped() || Atomics.load(ctl, PHASE) === 0) return false;
          const from = wall();
          const ok = cond.wait(mutex, WAIT_MS);
          staleCheck(consumer, from, !ok);
          if (!ok) return false;
        }
        if (consumer) take();
        else put();
        return true;
      } finally {
        localHolds--;
        g.unlock();
      }
    };
    // One put or take on the event loop: waitAsync with no option, a timeout or a signal aborted at
    // a random moment (an aborted waitAsync relocks, then throws; it stays queued and forwards).
    const async = async () => {
      const consumer = pickConsumer();
      const cond = consumer ? notEmpty : notFull;
      const blocked = () => (consumer ? checkCount() === 0 : checkCount() === Q_CAP);
      const g = await mutex.lockAsync();
      localHolds++;
      try {
        while (blocked()) {
          if (stopped() || Atomics.load(ctl, PHASE) === 0) return false;
          const { opts, done } = asyncOptions();
          const from = wall();
          let ok;
          localHolds--; // not held while it waits
          try {
            ok = await cond.waitAsync(mutex, opts ?? { timeout: WAIT_MS });
          } catch (e) {
            if (e?.name !== 'AbortError') throw e;
            count(ABORTED);
            ok = true;
          } finally {
            localHolds++;
            done();
          }
          if (!ok) count(TIMEDOUT);
          // Only a wait with the full bound says anything about lost wake-ups.
          if (opts === undefined) staleCheck(consumer, from, !ok);
          if (!ok) return false;
        }
        if (consumer) take();
        else put();
        return true;
      } finally {
        localHolds--;
        g.unlock();
      }
    };
    // Abandon then block: a task starts a waitAsync on an empty queue and aborts it; the thread
    // then blocks in a sync take at once.
    const abandon = async () => {
      const g = await mutex.lockAsync();
      if (checkCount() !== 0) {
        g.unlock();
        return sync();
      }
      const ac = new AbortController();
      let settled = false;
      // It relocks before it settles, in every case: held again from then on.
      const p = notEmpty.waitAsync(mutex, { signal: ac.signal }).then(
        () => ((settled = true), localHolds++),
        (e) => {
          settled = true;
          localHolds++;
          if (e?.name !== 'AbortError') throw e;
          count(ABORTED);
        },
      );
      await sleep(rand(3));
      if (!settled) ac.abort();
      await p;
      localHolds--;
      g.unlock();
      if (localHolds === 0) {
        count(BLOCK_AFTER_ABORT);
        return sync();
      }
      return true;
    };
    return { any: () => (random() < 0.5 ? async() : sync()), async, sync, abandon };
  }

  // ---- LockManager and WebLocks: hot resources, X and S ----
  const named = ADAPTERS[kind].named === true;
  // For a violation report: the shared table as this thread sees it at that moment.
  const tableView = kind === 'WebLocks' ? sablock.LockManager.from(handle.manager) : kind === 'LockManager' ? lock : null;
  const tableNow = () => {
    try {
      const who = (x) => `${x.mode}:${x.owner}@${x.thread ?? '?'}`;
      return JSON.stringify(tableView.query().resources.map((r) => [r.resource, r.holders.map(who), r.waiters.map(who)]));
    } catch (e) {
      return `query() failed: ${e?.message}`;
    }
  };
  const chk = named ? namedChecker(kind, R, slotWords, new Int32Array(tokBuf), slot, violation, (s) => repairAt[s] === 0 && (repairAt[s] = wall()), { slot: (s) => `, kill request ${Atomics.load(ctl, killReq(s))}, dying ${Atomics.load(ctl, dying(s))}`, table: tableNow }) : null;
  if (named) Atomics.store(slotWords, slotWord(slot, SLOT_WORDS.THREAD), threadId);
  // Inside a critical section, for a handover kill: say so, wait for KILL_GO, then finish; the
  // caller releases and calls process.exit() right after the release.
  const handoverIfAsked = (n) => {
    if (Atomics.load(ctl, killReq(slot)) !== KILL_HANDOVER || localHolds > 1) return false;
    Atomics.store(slotWords, slotWord(slot, SLOT_WORDS.NODE), n + 1);
    Atomics.store(ctl, dying(slot), DYING_INSIDE);
    Atomics.notify(ctl, dying(slot));
    while (Atomics.load(ctl, killReq(slot)) === KILL_HANDOVER) Atomics.wait(ctl, killReq(slot), KILL_HANDOVER, 1000);
    handoverStep(1);
    return true;
  };
  // Inside a handover section, its request not yet settled (steps 1 and 2).
  let handoverPending = false;
  const handoverStep = (k) => {
    handoverPending = k === 1 || k === 2;
    Atomics.store(slotWords, slotWord(slot, SLOT_WORDS.HANDOVER), k);
  };
  // The critical section of a hold of `mode` ('X' or 'S') on resource n, in three steps: in
  // (checks, then a kill request served holding it), the hold, out (checks; then `release`, for
  // the LockManager: WebLocks releases when the callback settles). Returns { ctx, handover, intruded }.
  // This thread's S sections still open (a mix thread has several at once): a handover exit
  // takes the others down mid-section, and each must leave the S count as a dying reader does.
  const openReaders = new Set();
  const exitAfterHandover = () => {
    handoverStep(4);
    for (const c of openReaders) chk.leaveReader(c);
    process.exit(0);
  };
  const sectionIn = (n, mode, release, steal, base) => {
    const ctx = chk.enter(n, mode, steal, base);
    if (mode === 'S') openReaders.add(ctx);
    Atomics.store(slotWords, slotWord(slot, SLOT_WORDS.NODE), n + 1); // the resource of a kill
    // Dies holding: an X holder with FX written and FY not (its token stays in N_XOWN); an S
    // holder leaves N_SIN and names itself in N_DEADS. A late release (LockManager) finishes first.
    dieIfAsked(
      mode === 'S' ? () => chk.leaveReader(ctx) : undefined,
      release && (() => (chk.exit(ctx), release())),
    );
    return { ctx, handover: handoverIfAsked(n), intruded: false, robbed: false };
  };
  const sectionOut = (s, release) => {
    Object.assign(s, chk.exit(s.ctx));
    openReaders.delete(s.ctx);
    if (s.handover) handoverStep(2);
    if (release) {
      release();
      if (s.handover) exitAfterHandover(); // right after a release that handed the resource over
    }
    return s;
  };
  const namedSection = async (n, mode, release, steal = false, base = 0) => {
    localHolds++;
    let s;
    try {
      s = sectionIn(n, mode, release, steal, base);
      await hold();
    } finally {
      localHolds--;
    }
    return sectionOut(s, release);
  };
  // The same within one turn (a Web Locks callback that returns a plain value).
  const namedSectionSync = (n, mode, steal, base) => {
    localHolds++;
    let s;
    try {
      s = sectionIn(n, mode, undefined, steal, base);
      busy(rand(500));
    } finally {
      localHolds--;
    }
    return sectionOut(s, undefined);
  };
  const lmPath = (n) => LM_NODES[n].path;
  // Rows mostly X or S, tables X less often, the root mostly S.
  const lmMode = (n) => (random() < (LM_NODES[n].path.length === 3 ? 0.5 : LM_NODES[n].path.length === 2 ? 0.35 : 0.2) ? 'X' : 'S');
  // Every request here takes one path, levels root first, and no owner holds two: no cycle of
  // lock waits alone can form. A cycle can only run through a task edge (docs/lock-manager.md): a
  // thread stopped in a blocking acquire behind one of its own async requests, which holds or waits
  // ahead there. A mix thread does that by design (its blocking line runs while its tasks wait);
  // a plain thread does it in "abandon then block": an aborted acquireAsync gives back what it was
  // granted (levels, or the leaf a release handed it) only in its await continuation, which the
  // blocked thread cannot run (scripts/repro-lm-abort-then-block.mjs). Any member of such a
  // cycle may be the victim. A DeadlockError with no task edge is a violation.
  let blockingAfterAbort = false;
  const ownDeadlock = (e) => {
    if (!(e instanceof sablock.DeadlockError) || !e.cycle?.some((edge) => edge.thread !== undefined)) return false;
    count(OWN_DEADLOCK);
    if (blockingAfterAbort) count(ABORT_DEADLOCK);
    return true;
  };
  const lmSync = async () => {
    const n = chk.pick(random);
    const mode = lmMode(n);
    const r = random();
    let h;
    try {
      if (r < 0.5) h = lock.acquire(lmPath(n), mode);
      else if (r < 0.75) h = lock.acquire(lmPath(n), mode, { timeout: rand(5) });
      else h = lock.tryAcquire(lmPath(n), mode);
    } catch (e) {
      if (e?.name === 'TimeoutError' || ownDeadlock(e)) return false;
      throw e;
    }
    if (h === null) return false;
    if (h.mode !== mode) violation(`acquire(${JSON.stringify(lmPath(n))}, ${mode}) returned a lock of mode ${h.mode}`);
    await namedSection(n, mode, random() < 0.5 ? () => h.release() : () => lock.release(h));
    return true;
  };
  const lmAsync = async () => {
    const n = chk.pick(random);
    const mode = lmMode(n);
    let h;
    try {
      h = await awaitWith((opts) => lock.acquireAsync(lmPath(n), mode, opts));
    } catch (e) {
      if (ownDeadlock(e)) return false;
      throw e;
    }
    if (!h) return false;
    await namedSection(n, mode, () => h.release());
    return true;
  };
  const lmPrim = {
    any: () => (random() < 0.45 ? lmAsync() : lmSync()),
    async: lmAsync,
    sync: lmSync,
    abandon: () => {
      const n = chk.pick(random);
      const mode = lmMode(n);
      return abandonThenBlock(
        (opts) => lock.acquireAsync(lmPath(n), mode, opts).catch((e) => (ownDeadlock(e) ? null : Promise.reject(e))),
        (h) => namedSection(n, mode, () => h.release()),
        () => {
          // lmSync's blocking acquire runs (and throws) before its first await.
          blockingAfterAbort = true;
          try {
            return lmSync();
          } finally {
            blockingAfterAbort = false;
          }
        },
      );
    },
  };

  // One Web Locks request on a random name: exclusive or shared; ifAvailable, a timeout, a signal
  // aborted at a random moment, or (names with steals) a steal; a sync or async callback.
  // `extra` adds options (abandon-then-block's signal). Checks what the request settles with (see
  // namedChecker for the steal counts): a holder robbed by a steal (one granted during its
  // callback) must see its request reject with an AbortError, and such a rejection needs a steal
  // that may have been granted during its hold; a holder someone conflicting entered beside must
  // have been robbed; findings of an entrant that may have been robbed before it entered count
  // only if its request resolves.
  const wlRequest = async (extra) => {
    const n = chk.pick(random);
    const nd = WL_NODES[n];
    const opts = {};
    let done = () => {};
    let steal = false;
    const r = random();
    if (extra) Object.assign(opts, extra);
    else if (r < 0.15) opts.ifAvailable = true;
    else if (nd.steal && r < 0.18) steal = opts.steal = true;
    else {
      const a = asyncOptions();
      Object.assign(opts, a.opts);
      done = a.done;
    }
    const mode = steal || random() < 0.5 ? 'exclusive' : 'shared';
    if (mode === 'shared' || random() < 0.5) opts.mode = mode; // 'exclusive' is the default
    const m = mode === 'exclusive' ? 'X' : 'S';
    const base = chk.baseline(n);
    let entered = false;
    let out;
    const after = (o) => ((out = o), 'v');
    const cb = (l) => {
      if (l === null) {
        if (!opts.ifAvailable) violation(`callback got null without ifAvailable on '${nd.name}'`);
        count(NULLS);
        return 'null';
      }
      if (l.name !== nd.name || l.mode !== mode) violation(`callback got lock ${l.name}/${l.mode} for a request of '${nd.name}'/${mode}`);
      entered = true;
      // A plain value: held for this turn only (released as the callback returns); a promise:
      // held across event-loop turns.
      if (random() < 0.4) return after(namedSectionSync(n, m, steal, base));
      return (section = namedSection(n, m, undefined, steal, base).then(after));
    };
    let section; // the callback's section, while it runs across turns
    let err = null;
    let value;
    try {
      if (steal) count(STEALS);
      value = await (steal ? chk.stealing(n, () => lock.request(nd.name, opts, cb)) : lock.request(nd.name, opts, cb));
    } catch (e) {
      err = e;
    } finally {
      done();
    }
    // A steal may rob a handover victim while it waits for the go-ahead: its request rejects then,
    // before its section ends (the spec's order). It still exits once that section is done: the
    // killer waits for it (a hung handover kill, 1 in 59 such kills, was this).
    if (err !== null && out === undefined && section !== undefined && handoverPending) await section.catch(() => {});
    if (out?.handover) {
      handoverStep(3);
      exitAfterHandover(); // right after the release handed the name over (or right after a steal took it)
    }
    const what = `request of '${nd.name}' (${mode}${steal ? ', steal' : ''})`;
    if (err === null) {
      for (const f of out?.ctx.found ?? []) violation(`${f} (found by an entrant that may have been robbed; its request resolved)`);
      if (out?.robbed) violation(`${what} resolved although a steal was granted during its callback`);
      else if (out?.intruded) violation(`${what} resolved although a conflicting holder entered during its callback`);
      if (value !== (entered ? 'v' : 'null')) violation(`${what} resolved with ${String(value)}`);
      return value === 'v';
    }
    if (err?.name === 'AbortError') {
      if (entered) {
        // Robbed: a steal other than its own begun by now that was not done at the baseline.
        if (chk.begun(n) - base - (steal ? 1 : 0) <= 0) violation(`${what} rejected with an AbortError after its callback ran, with no steal that could have robbed it`);
        count(ROBBED);
        return true;
      }
      if (!opts.signal?.aborted) violation(`${what} rejected with an AbortError; no signal aborted, callback not called`);
      count(ABORTED);
      return false;
    }
    if (err?.name === 'TimeoutError' && !entered && opts.timeout !== undefined) {
      count(TIMEDOUT);
      return false;
    }
    throw err;
  };
  const wlPrim = {
    any: () => wlRequest(),
    async: () => wlRequest(),
    // The thread line of a mix worker: an ifAvailable request (never waits).
    sync: () => wlRequest({ ifAvailable: true }),
    // Abandon then block: a request with a signal, aborted while it waits; the thread then blocks
    // for a few ms (Web Locks has no blocking request: its event loop stops, as in a sync section).
    abandon: async () => {
      const ac = new AbortController();
      let settled = false;
      const p = wlRequest({ signal: ac.signal }).finally(() => (settled = true));
      await sleep(rand(3));
      if (!settled) {
        ac.abort();
        count(BLOCK_AFTER_ABORT);
        Atomics.wait(nap, 0, 0, 1 + rand(4));
      }
      return p;
    },
  };
  // A KILL_QUEUED request, at the top of a plain worker's loop: queue an X request behind the
  // main thread's hold, say so, and stay there until stopped: blocked in acquire() (LockManager),
  // on an idle event loop, with the thread blocked, or calling process.exit() a moment later. A
  // request granted before the death (the main thread's release handed it over) is held until then.
  const queuedIfAsked = async () => {
    const req = Atomics.load(ctl, killReq(slot));
    if ((req & 0xf) !== KILL_QUEUED) return;
    const variant = (req >> 4) & 0xf;
    const n = req >> 8;
    Atomics.store(slotWords, slotWord(slot, SLOT_WORDS.NODE), n + 1);
    Atomics.store(ctl, dying(slot), DYING_QUEUED);
    Atomics.notify(ctl, dying(slot));
    const park = () => {
      for (;;) Atomics.wait(nap, 0, 0);
    };
    if (kind === 'LockManager' && variant === 0) {
      lock.acquire(lmPath(n), 'X');
      park();
    }
    setInterval(() => {}, 1000); // keeps the event loop alive while the request waits
    if (kind === 'LockManager') lock.acquireAsync(lmPath(n), 'X').then(park, () => {});
    else lock.request(WL_NODES[n].name, () => (park(), new Promise(() => {}))).catch(() => {});
    if (variant === 2) park();
    if (variant === 3) setTimeout(() => process.exit(0), rand(20));
    await new Promise(() => {});
  };

  const prim = ADAPTERS[kind].exclusive
    ? exclusivePrim
    : { RWLock: rwPrim, Semaphore: semPrim, SeqLock: seqPrim, Condition: condPrim, LockManager: lmPrim, WebLocks: wlPrim }[kind];
  const one = async (op) => {
    try {
      if (await op()) Atomics.add(ops, slot, 1);
      else Atomics.add(fails, slot, 1);
    } catch (e) {
      if (refused(e)) Atomics.add(fails, slot, 1);
      else violation(`unexpected ${e?.name}: ${e?.message}`);
    }
  };
  // Gap between operations: mostly none, sometimes a little work or an event-loop turn.
  const gap = async () => {
    const g = random();
    if (g < 0.3) busy(rand(3000));
    else if (g < 0.35) await turn();
  };

  // ---- nested workers: a 'nest' worker's own lock-holding children ----
  const children = [];
  if (role === 'nest') {
    const crew = new Workers();
    for (const childSlot of childSlots) {
      const child = crew.start(
        new URL(import.meta.url),
        { ...workerData, slot: childSlot, role: 'child', seed: deriveSeed(seed, childSlot), childSlots: [] },
        {
          exitOk: true, // it dies with its nest
          onMessage: (m) => m.type === 'violation' && parentPort.postMessage(m), // its end is not the nest's
          onFailure: (e) => violation(`child worker ${childSlot} crashed: ${e?.message}`),
        },
      );
      children.push(child.exited);
    }
  }

  if (role === 'mix') {
    // Several async tasks; each waits for the run phase on the event loop.
    const task = async () => {
      while (!stopped()) {
        while (Atomics.load(ctl, PHASE) === 0 && !stopped()) await Atomics.waitAsync(ctl, PHASE, 0, 100).value;
        await one(random() < 0.2 ? prim.abandon : prim.async);
        await gap();
        await turn(); // let the other tasks and the thread's sync line run
      }
    };
    const tasks = Array.from({ length: 2 + rand(3) }, task);
    // The thread's own line: between the tasks' turns, blocking and timed acquisitions.
    while (!stopped()) {
      while (Atomics.load(ctl, PHASE) === 0 && !stopped()) Atomics.wait(ctl, PHASE, 0, 100);
      await sleep(rand(3));
      if (localHolds === 0) await one(random() < 0.3 ? prim.abandon : prim.sync);
    }
    await Promise.all(tasks);
  } else {
    while (!stopped()) {
      parkIfAsked();
      if (named) await queuedIfAsked();
      // Stutter: sleep while the main thread has paused everyone.
      while (Atomics.load(ctl, PHASE) === 0 && !stopped()) Atomics.wait(ctl, PHASE, 0, 100);
      await one(random() < 0.1 ? prim.abandon : prim.any);
      await gap();
    }
  }
  await Promise.all(children);
  parentPort.postMessage({ done: true });
}

// ---- main -----------------------------------------------------------------------------------
const HELP = `usage: node scripts/torture.mjs [options]   (npm run torture -- [options])
  --minutes N | --seconds N   how long (default 1 minute)
  --workers N                 top-level workers per primitive (default 2 x cores)
  --kinds A,B                 primitives (default all: ${Object.keys(ADAPTERS).filter((k) => k !== 'BrokenLock').join(', ')})
  --roles A,B                 worker roles to use (default plain,mix,nest)
  --kills A,B                 kill types to use, where a primitive has them (default all: holder,
                              blind, exit, late, nested, queued, handover)
  --seed N                    seed of every random choice (default: a fresh one, printed)
  --broken                    add a deliberately broken lock (the run must fail)
  --json FILE                 write the figures as JSON
  --quiet                     print nothing
A failing run prints its seed; --seed N replays the same random choices (roles, operations,
options, hold and gap times, abort moments, kill order). It does not replay thread scheduling, so
a replay reaches the same interleavings only with some luck: run it a few times.
Exit code 1 on any violation, hang or unrecovered kill.`;

async function main() {
  const { values } = parseArgs({
    options: {
      minutes: { type: 'string' },
      seconds: { type: 'string' },
      workers: { type: 'string' },
      kinds: { type: 'string' },
      seed: { type: 'string' },
      roles: { type: 'string' },
      kills: { type: 'string' },
      broken: { type: 'boolean', default: false },
      json: { type: 'string' },
      quiet: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(HELP);
    return;
  }
  const seed = values.seed !== undefined ? Number(values.seed) >>> 0 : randomInt(2 ** 32 - 1);
  if (values.seed !== undefined && !/^\d+$/.test(values.seed)) throw new RangeError(`--seed must be an unsigned integer, got ${values.seed}`);
  random = mulberry32(seed);
  const seconds = values.seconds ? Number(values.seconds) : Number(values.minutes ?? 1) * 60;
  const KILL_TYPES = ['holder', 'blind', 'exit', 'late', 'nested', 'queued', 'handover'];
  const killTypes = values.kills?.split(',');
  for (const k of killTypes ?? []) if (!KILL_TYPES.includes(k)) throw new RangeError(`--kills: unknown kill type ${k} (one of ${KILL_TYPES.join(', ')})`);
  const cores = availableParallelism();
  const perKind = values.workers ? Number(values.workers) : 2 * cores;
  let kinds = values.kinds
    ? values.kinds.split(',')
    : Object.keys(ADAPTERS).filter((k) => k !== 'BrokenLock' && ADAPTERS[k].available());
  if (values.broken && !kinds.includes('BrokenLock')) kinds.push('BrokenLock');
  const log = (...a) => values.quiet || console.log(...a);
  log(`sablock torture: seed ${seed} (replay with --seed ${seed})`);

  const ctlBuf = new SharedArrayBuffer(CTL_WORDS * 4);
  const opsBuf = new SharedArrayBuffer(MAX_SLOTS * 4);
  const failBuf = new SharedArrayBuffer(MAX_SLOTS * 4);
  const repairBuf = new SharedArrayBuffer(MAX_SLOTS * 8);
  const ctl = new Int32Array(ctlBuf);
  const ops = new Int32Array(opsBuf);
  const fails = new Int32Array(failBuf);
  const repairAt = new Float64Array(repairBuf);
  const slotBuf = new SharedArrayBuffer(slotWord(MAX_SLOTS) * 4);
  const slotWords = new Int32Array(slotBuf);
  const tokBuf = new SharedArrayBuffer(tokRow(MAX_SLOTS * TOK_ENTRIES) * 4);
  Atomics.store(ctl, PHASE, 1);

  const prims = {};
  for (const kind of kinds) {
    if (!ADAPTERS[kind]?.available()) throw new RangeError(`--kinds: unknown or unavailable primitive ${kind}`);
    let handle;
    try {
      handle = createPrimitive(kind);
    } catch (e) {
      log(`${kind}: skipped (setup failed: ${e.message})`);
      continue;
    }
    prims[kind] = {
      kind,
      handle,
      region: new SharedArrayBuffer(REGION_WORDS * 4),
      condBuf: new SharedArrayBuffer(Q_BYTES),
      workers: new Map(), // slot -> { w, born, died }
      retired: [], // { slot, born, died }
      messages: [],
      roles: { plain: 0, mix: 0, nest: 0, child: 0 },
      kills: 0,
      holderKills: 0,
      blindKills: 0,
      exitKills: 0, // process.exit() inside the critical section
      lateExitReleases: 0, // process.exit() inside, released by a late 'exit' listener
      nestedKills: 0, // a nest worker terminated or exited while a child held the lock
      unrecovered: 0,
      latencies: [],
      hangs: 0,
      lastOps: 0,
      stalledMs: 0,
      queuedKills: 0, // named kinds: a request terminated (or exited) while queued behind the main thread's hold
      handoverKills: 0, // named kinds: process.exit() right after a release that handed over
      tableLeft: null, // named kinds: what query() showed after every worker exited (null: nothing)
      stolenBeforeDeath: 0, // the probe got in while the victim lived: nothing to recover (see killOnce)
      probeDeadlocks: 0, // LockManager: the main thread's request was a deadlock victim and asked again
      latencyByKill: {}, // kill type -> recovery times (ms)
    };
    if (ADAPTERS[kind].named) {
      const P = prims[kind];
      // The main thread takes part too (holds for queued kills, probes): through its own view, with
      // the same checks (slot MAIN_SLOT). `table` is the lock manager underneath, for query().
      P.lock = attachPrimitive(kind, handle);
      P.table = kind === 'WebLocks' ? sablock.LockManager.from(handle.manager) : P.lock;
      P.chk = namedChecker(kind, new Int32Array(P.region), slotWords, new Int32Array(tokBuf), MAIN_SLOT[kind], (msg) => fail(P, `main thread: ${msg}`), (s) => {
        if (repairAt[s] === 0) repairAt[s] = wall();
      });
    }
  }
  kinds = Object.keys(prims);
  let nextSlot = 0;
  // Slots from FIRST_MAIN_SLOT on are the main thread's (named kinds' tokens).
  const slotsLeft = (n) => nextSlot + n <= FIRST_MAIN_SLOT;
  // Roles: the first workers of a primitive are one of each, then random.
  const roles = (values.roles ?? 'plain,mix,nest').split(',');
  for (const r of roles) if (!['plain', 'mix', 'nest'].includes(r)) throw new RangeError(`--roles: unknown role ${r}`);
  const pickRole = (p, k) => {
    const r = random();
    const role = k < 3 ? ['plain', 'mix', 'nest'][k] : r < 0.45 ? 'plain' : r < 0.8 ? 'mix' : 'nest';
    // The broken lock (a test-then-set spin) is not owner-aware: a second task of its holder's
    // thread would spin for ever in lockAsync. Plain workers only: it controls the invariant check.
    if (ADAPTERS[p.kind].broken) return 'plain';
    return roles.includes(role) ? role : roles[k % roles.length];
  };
  // Every worker of the run (their children are their nests'), terminated at the end.
  const crew = new Workers();
  const spawn = (p, role) => {
    if (!slotsLeft(role === 'nest' ? 3 : 1)) return;
    const slot = nextSlot++;
    const childSlots = role === 'nest' ? Array.from({ length: 1 + rand(2) }, () => nextSlot++) : [];
    p.roles[role]++;
    p.roles.child += childSlots.length;
    const started = crew.start(
      new URL(import.meta.url),
      {
        kind: p.kind,
        slot,
        role,
        seed: deriveSeed(seed, slot),
        childSlots,
        handle: p.handle,
        region: p.region,
        condBuf: p.condBuf,
        ctlBuf,
        opsBuf,
        repairBuf,
        slotBuf,
        tokBuf,
        failBuf,
      },
      {
        exitOk: true, // killing workers is the point; a worker that never stops is caught at the end
        onMessage: (m) => {
          if (m.type !== 'violation') return;
          p.messages.push(m.msg);
          log(`  ! ${p.kind} (worker ${slot}): ${m.msg}`);
        },
        onFailure: (e) => {
          p.messages.push(`worker ${slot} crashed: ${e?.message} (seed ${seed})`);
          log(`  ! ${p.kind} (worker ${slot}) crashed: ${e?.stack ?? e}`);
          Atomics.add(new Int32Array(p.region), VIOL, 1);
        },
      },
    );
    const w = started.worker;
    const rec = { w, slot, role, childSlots, threadId: w.threadId, born: performance.now(), died: 0, exitAt: 0 };
    rec.exited = started.exited; // one listener, however often it is picked
    // Its op rate counts from when it started running (startup is slow on a loaded machine).
    w.once('online', () => (rec.born = performance.now()));
    w.once('exit', () => {
      rec.exitAt = wall();
      rec.died = performance.now();
    });
    p.workers.set(slot, rec);
  };
  for (const p of Object.values(prims)) for (let k = 0; k < perKind; k++) spawn(p, pickRole(p, k));

  const waitWord = async (a, i, pred, ms) => {
    const end = performance.now() + ms;
    for (;;) {
      const v = Atomics.load(a, i);
      if (pred(v)) return true;
      const left = end - performance.now();
      if (left <= 0) return false;
      // Sleep on the event loop until the word changes (or a short while).
      await Atomics.waitAsync(a, i, v, Math.min(left, 20)).value;
    }
  };
  const retire = (p, rec) => {
    p.workers.delete(rec.slot);
    p.retired.push(rec);
  };
  const slotsOf = (r) => [r.slot, ...r.childSlots];
  const opsOf = (p) => {
    let s = 0;
    for (const r of [...p.workers.values(), ...p.retired]) for (const x of slotsOf(r)) s += Atomics.load(ops, x);
    return s;
  };
  const request = (slot, v) => {
    Atomics.store(ctl, killReq(slot), v);
    Atomics.notify(ctl, killReq(slot));
  };
  // Withdraws a request that was not served yet; true if it was still pending.
  const withdraw = (slot, v) => Atomics.compareExchange(ctl, killReq(slot), v, 0) === v;
  // Asks `slot` to serve kill request `req` inside its critical section and waits until it is
  // there; false (request withdrawn) if it never got there.
  const askInside = async (slot, req) => {
    if (await waitWord(ctl, dying(slot), (v) => v !== 0 && v !== DYING_PARKED, 3000)) return true;
    // Withdraw the request if it never got there (paused, or starved by timeouts).
    if (withdraw(slot, req)) return false;
    return waitWord(ctl, dying(slot), (v) => v !== 0 && v !== DYING_PARKED, 10_000);
  };

  // Killer: one kill at a time over the robust primitives, each primitive cycling through its kill
  // kinds: a holder terminated in its critical section, a worker terminated at a random moment
  // (Mutex, SpinLock), process.exit() inside the critical section, process.exit() inside with a
  // late 'exit' listener that releases, and a nest worker stopped (terminated or process.exit())
  // while one of its children sits in its critical section.
  // The named kinds add: a plain worker stopped while its request waits behind the main thread's
  // hold (the release that follows hands over to a dead or dying waiter, before or after its death
  // is published), and a holder that calls process.exit() right after a release that handed over.
  const killKinds = (p) => {
    const all = [
      'holder',
      ...(ADAPTERS[p.kind].blindKill ? ['blind'] : []),
      'exit',
      ...(ADAPTERS[p.kind].lateRelease === false ? [] : ['late']),
      'nested',
      ...(ADAPTERS[p.kind].named ? ['queued', 'handover'] : []),
    ];
    const some = all.filter((k) => killTypes === undefined || killTypes.includes(k));
    return some.length > 0 ? some : all;
  };
  const start = performance.now();
  const end = start + seconds * 1000;
  let running = true;
  const fail = (p, msg) => {
    p.messages.push(`${msg} (seed ${seed})`);
    log(`  ! ${p.kind}: ${msg} (seed ${seed})`);
    Atomics.add(new Int32Array(p.region), VIOL, 1);
  };
  // ---- the main thread's part in the named kinds ----
  // Holds resource n in X (an async request: the main thread never blocks), with the workers'
  // checks; resolves to its release once granted (after `onGranted`), or null if not granted within
  // `ms`. A WebLocks hold robbed by a worker's steal is released as usual (the release frees nothing).
  // A LockManager request may be the victim of a cycle through a stopped thread's own task (see
  // ownDeadlock in the worker): it asks again, at the back of the queue.
  const mainHold = async (p, n, ms, onGranted) => {
    if (p.kind === 'LockManager') {
      const until = performance.now() + ms;
      for (;;) {
        let h;
        try {
          h = await p.lock.acquireAsync(LM_NODES[n].path, 'X', { timeout: Math.max(1, until - performance.now()) });
        } catch (e) {
          if (e?.name === 'TimeoutError') return null;
          if (e instanceof sablock.DeadlockError && e.cycle?.some((edge) => edge.thread !== undefined)) {
            p.probeDeadlocks++;
            continue;
          }
          throw e;
        }
        const ctx = p.chk.enter(n, 'X');
        onGranted?.();
        return () => (p.chk.exit(ctx), h.release());
      }
    }
    const base = p.chk.baseline(n);
    return new Promise((resolve, reject) => {
      p.lock
        .request(WL_NODES[n].name, { timeout: ms }, () => {
          const ctx = p.chk.enter(n, 'X', false, base);
          onGranted?.();
          return new Promise((done) => resolve(() => (p.chk.exit(ctx), done())));
        })
        .then(
          () => {},
          (e) => {
            if (e?.name === 'TimeoutError') resolve(null);
            else if (e?.name !== 'AbortError') reject(e);
          },
        );
    });
  };
  // A probe: an X request on n queued now (typically behind a victim), released as soon as it is
  // granted; `at` is when. It makes sure a waiter is there when the victim dies, so the recovery
  // time is the owner-death bound and not the time until some worker next asks.
  // `tid`: the victim's thread; `alive` says whether it had not died yet when the probe got in.
  const startProbe = (p, n, tid) => {
    const pr = { at: 0, alive: false };
    const granted = () => {
      pr.at = wall();
      pr.alive = !sablock.isThreadDead(tid);
    };
    pr.done = mainHold(p, n, 15_000, granted).then(
      (release) => release?.(),
      (e) => fail(p, `main thread's probe on ${nodeName(NODES[p.kind][n])}: ${e?.name}: ${e?.message}`),
    );
    return pr;
  };
  // Whether a request of thread `tid` waits anywhere in the table (query(), within `ms`).
  const waitQueued = async (p, tid, ms) => {
    const queued = () => p.table.query().resources.some((r) => r.waiters.some((w) => w.owner === tid + 1 || w.thread === tid));
    return (await poll(queued, ms, 5)) === true;
  };
  // The table as query() shows it, for messages.
  const tableText = (p) => {
    try {
      const snap = p.table.query();
      // A Web Locks hold of a fast word (or its record) has a thread's owner id (below 2^28).
      const who = (x) => `${x.mode}:${x.thread !== undefined ? `t${x.thread}` : `o${x.owner}`}${x.owner < 0x1000_0000 ? '(fast)' : ''}`;
      return snap.resources.map((r) => `${r.resource} held [${r.holders.map(who)}] waiting [${r.waiters.map(who)}]`).join('; ') || 'empty';
    } catch (e) {
      return `query() failed: ${e?.message}`;
    }
  };

  const killOnce = async (p) => {
    const types = killKinds(p);
    let type = types[p.kills % types.length];
    const all = [...p.workers.values()];
    const nests = all.filter((r) => r.role === 'nest' && r.childSlots.length > 0);
    if (type === 'nested' && nests.length === 0) type = 'holder';
    // Holder-style kills pick a top-level worker without children (a nest's children could die
    // holding uncounted read holds or permits with it).
    const plain = all.filter((r) => r.role !== 'nest' && (r.role !== 'mix' || ADAPTERS[p.kind].killMixers !== false));
    const pool = type === 'blind' ? all : type === 'nested' ? nests : type === 'queued' ? all.filter((r) => r.role === 'plain') : plain;
    const rec = pool[rand(pool.length)];
    if (!rec) return;
    const exited = rec.exited;
    let watch = rec.slot; // whose hold must be recovered
    const named = ADAPTERS[p.kind].named;
    let probe = null; // named kinds: the main thread's request queued behind the victim
    let from = 0; // what the recovery time counts from, if not the victim's exit
    // The resource the victim sat in, told by the victim (named kinds).
    const vnode = (slot) => Atomics.load(slotWords, slotWord(slot, SLOT_WORDS.NODE)) - 1;
    if (type === 'queued') {
      // Hold a row (WebLocks: the name without steals), have the victim queue behind it and show in
      // query(), queue a probe behind the victim, then stop the victim and release: before its
      // death is published (the release may hand over to it) or after.
      const n = p.kind === 'WebLocks' ? 2 : [2, 3, 4, 6][rand(4)];
      let release = await mainHold(p, n, 3000);
      if (!release) return;
      // LockManager: 0 blocked in acquire(); both: 1 an idle event loop, 2 the thread blocked, 3 process.exit() a moment later.
      const variant = p.kind === 'LockManager' ? rand(4) : 1 + rand(3);
      const req = KILL_QUEUED | (variant << 4) | (n << 8);
      request(rec.slot, req);
      if (!(await waitWord(ctl, dying(rec.slot), (v) => v === DYING_QUEUED, 3000)) && withdraw(rec.slot, req)) {
        release();
        return;
      }
      if (!(await waitQueued(p, rec.threadId, 1000))) p.messages.push(`queued kill: worker ${rec.slot}'s request never showed in query() (seed ${seed})`);
      rec.victim = true;
      repairAt[rec.slot] = 0;
      probe = startProbe(p, n, rec.threadId);
      let releasedAt = 0;
      const letGo = () => {
        release();
        releasedAt = wall();
      };
      if (variant !== 3) {
        const t = rec.w.terminate();
        if (random() < 0.5) letGo(); // before the death is published
        step(p, 'queued: terminate()');
        await t;
      }
      step(p, 'queued: the victim to exit');
      await exited;
      if (releasedAt === 0) letGo();
      // From the later of its death and the release (the probe waits behind both).
      from = Math.max(rec.exitAt, releasedAt);
    } else if (type === 'handover') {
      // The victim waits in its critical section; queue a probe behind it, let it finish: its
      // release hands over (to the probe or to whoever queued first) and it exits at once.
      request(rec.slot, KILL_HANDOVER);
      if (!(await askInside(rec.slot, KILL_HANDOVER))) return;
      rec.victim = true;
      repairAt[rec.slot] = 0;
      probe = startProbe(p, vnode(rec.slot), rec.threadId);
      await sleep(1 + rand(5));
      from = wall();
      request(rec.slot, KILL_GO);
    } else if (type === 'blind') {
      await sleep(rand(50));
      step(p, 'blind: terminate()');
      await rec.w.terminate();
    } else if (type === 'nested') {
      // Park the nest and its other children at the top of their loops (holding nothing), then
      // ask one child to die in its critical section, then stop the nest: its children die with it.
      const victim = rec.childSlots[rand(rec.childSlots.length)];
      const others = slotsOf(rec).filter((s) => s !== victim);
      for (const s of others) request(s, KILL_PARK);
      const parked = await Promise.all(others.map((s) => waitWord(ctl, dying(s), (v) => v === DYING_PARKED, 3000)));
      let inside = parked.every(Boolean);
      if (inside) {
        request(victim, KILL_HOLDING);
        inside = await askInside(victim, KILL_HOLDING);
      }
      if (!inside) {
        for (const s of others) request(s, 0); // unpark
        return;
      }
      watch = victim;
      repairAt[victim] = 0;
      if (named) probe = startProbe(p, vnode(victim), Atomics.load(slotWords, slotWord(victim, SLOT_WORDS.THREAD))); // the thread id the child wrote
      step(p, 'nested: terminate() or exit of the nest');
      if (random() < 0.5) await rec.w.terminate();
      else request(rec.slot, KILL_EXIT_NOW); // process.exit() from the parked nest
    } else {
      const req = type === 'holder' ? KILL_HOLDING : type === 'exit' ? KILL_EXIT : KILL_EXIT_LATE;
      request(rec.slot, req);
      if (!(await askInside(rec.slot, req))) return;
      rec.victim = true; // it sat in its critical section waiting to die: no fair op rate
      repairAt[rec.slot] = 0;
      if (named && type !== 'late') probe = startProbe(p, vnode(rec.slot), rec.threadId);
      step(p, `${type}: terminate() or the victim's own exit`);
      if (type === 'holder') await rec.w.terminate();
    }
    // A handover victim says how far it got (the step a hung handover kill stopped at).
    const handoverAt = () => `; victim's last step: ${HANDOVER_STEPS[Atomics.load(slotWords, slotWord(rec.slot, SLOT_WORDS.HANDOVER))]}`;
    step(p, `${type}: the victim to exit`, type === 'handover' ? handoverAt : undefined);
    await exited;
    retire(p, rec);
    spawn(p, rec.role);
    p.kills++;
    if (type === 'blind') p.blindKills++;
    else if (type === 'holder') p.holderKills++;
    else if (type === 'exit') p.exitKills++;
    else if (type === 'nested') p.nestedKills++;
    else if (type === 'queued') p.queuedKills++;
    else if (type === 'handover') p.handoverKills++;
    if (type === 'late') {
      // Released by its late exit listener: nothing to recover, and the release must have worked.
      const d = Atomics.load(ctl, dying(rec.slot));
      if (d === DYING_RELEASED) p.lateExitReleases++;
      else fail(p, `worker ${rec.slot}: the late exit listener ${d === DYING_RELEASE_FAILED ? 'threw on its release' : 'did not release'}`);
      return;
    }
    // A holder kill must be repaired by the next owner; a blind kill only if it held the lock. A
    // dead reader's or permit holder's hold blocks nobody at once: it is reaped when a writer or a
    // sleeper next needs it (docs/robustness.md), which with paused, parked and killed writers can
    // take a while on a loaded machine, so those get longer.
    const lazy = p.kind === 'RWLock' || p.kind === 'Semaphore';
    const bound = type === 'blind' ? 1000 : lazy ? 15_000 : 5000;
    // Named kinds: recovered when an entrant found the dead holder's token (repairAt: after the
    // death was published, which may precede this thread's 'exit' listener by a moment) or the
    // probe got in. A probe that got in while the victim still lived had nothing to recover
    // (counted, no time): the victim's hold was stolen (WebLocks), or its queued request still
    // waited on an ancestor, in a mode compatible with the probe's (LockManager).
    const got = () => (repairAt[watch] !== 0 ? repairAt[watch] : probe?.at ?? 0);
    await poll(() => got() !== 0, bound, 2);
    const at = got();
    if (at !== 0 && repairAt[watch] === 0 && probe?.alive && type !== 'handover') p.stolenBeforeDeath++;
    else if (at !== 0) {
      const ms = Math.max(0, at - (from || rec.exitAt));
      p.latencies.push(ms);
      (p.latencyByKill[type] ??= []).push(ms);
    }
    else if (type !== 'blind') {
      p.unrecovered++;
      p.messages.push(
        `${type} kill of worker ${watch} (role ${rec.role}, thread ${rec.threadId}) not recovered within ${bound / 1000} s (seed ${seed}); ` +
          (named ? `table: ${tableText(p)}` : lockWords(p)),
      );
    }
    step(p, `${type}: the main thread's probe to finish`);
    await probe?.done;
  };
  // What the kill in progress waits for (a kill that never ends names it: see the killer).
  const step = (p, what, more) => {
    p.killStep = what;
    p.killMore = more;
  };
  // For an unrecovered kill's message: the lock's state word, the words after it and its holder
  // slots (owner id = threadId + 1, count), as the main thread sees them then.
  const lockWords = (p) => {
    const h = p.handle;
    if (!(h?.buffer instanceof SharedArrayBuffer)) return 'no words';
    const w = new Int32Array(h.buffer);
    const at = (h.byteOffset ?? 0) >> 2;
    const n = p.kind === 'RWLock' ? 23 : p.kind === 'Semaphore' ? 26 : 4;
    const words = [];
    for (let k = 0; k < n && at + k < w.length; k++) words.push(`0x${(Atomics.load(w, at + k) >>> 0).toString(16)}`);
    return `words ${words.join(' ')}`;
  };
  const killer = (async () => {
    const robust = Object.values(prims).filter((p) => ADAPTERS[p.kind].robust);
    if (robust.length === 0) return;
    let n = 0;
    while (running) {
      await sleep(300 + rand(700));
      if (!running || !slotsLeft(3)) break;
      const p = robust[n++ % robust.length];
      p.killStep = 'choosing';
      // Bounded: a kill that hangs is a finding (what it waited for), not a run that never ends.
      if (!(await settlesWithin(killOnce(p), 30_000))) {
        p.hangs++;
        p.messages.push(`a kill did not finish within 30 s, waiting for ${p.killStep}${p.killMore?.() ?? ''}${stateOf(p)} (seed ${seed})`);
        break; // its victim may be left in any state: no more kills
      }
    }
  })();

  // Stutter and watchdog.
  let phaseEnd = performance.now() + 2000 + rand(2000);
  let nextReport = performance.now() + 10_000;
  let lastTick = performance.now();
  while (performance.now() < end) {
    await sleep(250);
    const t = performance.now();
    if (t >= phaseEnd) {
      const run = Atomics.load(ctl, PHASE) === 0;
      // Flip run/pause and wake the paused workers.
      Atomics.store(ctl, PHASE, run ? 1 : 0);
      Atomics.notify(ctl, PHASE);
      phaseEnd = t + (run ? 2000 + rand(2000) : 300 + rand(700));
    }
    // Running time without progress, summed over run phases (a run phase lasts at most 4 s, so a
    // count reset at every phase change would never reach 5 s).
    const dt = t - lastTick;
    lastTick = t;
    for (const p of Object.values(prims)) {
      const o = opsOf(p);
      if (o !== p.lastOps) {
        p.lastOps = o;
        p.stalledMs = 0;
      } else if (Atomics.load(ctl, PHASE) === 1 && (p.stalledMs += dt) > 5000) {
        p.hangs++;
        p.messages.push(`no progress for 5 s of running at ${((t - start) / 1000).toFixed(1)} s${stateOf(p)} (seed ${seed})`);
        p.stalledMs = 0;
      }
    }
    if (t >= nextReport && !values.quiet) {
      nextReport = t + 10_000;
      log(
        `[${((t - start) / 1000).toFixed(0)} s] ` +
          Object.values(prims)
            .map((p) => `${p.kind} ${opsOf(p)} ops ${Atomics.load(new Int32Array(p.region), VIOL)} viol`)
            .join(', '),
      );
    }
  }
  running = false;
  await killer;
  // Stop: everyone leaves its loop; whoever does not exit within 10 s is hung.
  Atomics.store(ctl, PHASE, 1);
  Atomics.store(ctl, STOP, 1);
  Atomics.notify(ctl, PHASE);
  const stopAt = performance.now();
  await Promise.all(
    Object.values(prims).flatMap((p) =>
      [...p.workers.values()].map(async (rec) => {
        if (await settlesWithin(rec.exited, Math.max(0, 10_000 - (performance.now() - stopAt)))) return;
        p.hangs++;
        p.messages.push(`${rec.role} worker ${rec.slot} did not finish within 10 s of stop${stateOf(p)}`);
      }),
    ),
  );
  await crew.terminateAll(); // the hung ones
  for (const p of Object.values(prims)) for (const rec of p.workers.values()) if (!rec.died) rec.died = performance.now();

  // A primitive's state words, for a hang report.
  function stateOf(p) {
    if (ADAPTERS[p.kind].named) return ` (table: ${tableText(p)})`;
    const h = p.kind === 'Condition' ? p.handle.mutex : p.handle;
    if (!h?.buffer) return '';
    const a = new Int32Array(h.buffer, h.byteOffset ?? 0, Math.min(40, (h.buffer.byteLength - (h.byteOffset ?? 0)) >> 2));
    return ` (state words ${[...a].map((v) => '0x' + (v >>> 0).toString(16)).join(' ')})`;
  }
  // Named kinds once every worker exited: the table is empty (query() releases dead owners first:
  // nothing held or pending may be left), and on resources without steals every completed X
  // section's update is in FY (a lost update would leave FY behind N_XDONE).
  async function tableFigures(p) {
    const R = new Int32Array(p.region);
    try {
      const left = p.table.query().resources.length > 0 ? tableText(p) : null;
      let web = null;
      if (p.kind === 'WebLocks') {
        const q = await p.lock.query();
        if (q.held.length + q.pending.length > 0) web = JSON.stringify(q);
      }
      if (left !== null || web !== null) {
        p.tableLeft = left ?? web;
        fail(p, `not empty after every worker exited: ${left ?? ''}${web ? ` query(): ${web}` : ''}`);
      }
    } catch (e) {
      p.tableLeft = `query() failed: ${e?.message}`;
      fail(p, `final query() failed: ${e?.stack ?? e}`);
    }
    const lost = [];
    NODES[p.kind].forEach((nd, n) => {
      if (nd.steal) return;
      const fy = R[nodeWord(n, N_FY)];
      const done = Atomics.load(R, nodeWord(n, N_XDONE));
      if (fy !== done) lost.push(`${nodeName(nd)}: FY ${fy}, X sections ${done}`);
    });
    if (lost.length) fail(p, `lost X updates: ${lost.join('; ')}`);
  }
  // Condition's queue once every worker stopped: every item put was taken once or is still queued
  // (count and sum of the ids: a lost item lowers both sides' match, a duplicate raises `taken`).
  function queueFigures(p) {
    const q = new Int32Array(p.condBuf, 0, Q_WORDS + Q_CAP);
    let leftSum = 0;
    for (let k = 0; k < q[Q_COUNT]; k++) leftSum = (leftSum + q[Q_WORDS + ((q[Q_HEAD] + k) % Q_CAP)]) | 0;
    const f = { put: q[Q_PUT_N], taken: q[Q_TAKE_N], left: q[Q_COUNT] };
    if (f.put !== f.taken + f.left || q[Q_PUT_SUM] !== ((q[Q_TAKE_SUM] + leftSum) | 0)) {
      Atomics.add(new Int32Array(p.region), VIOL, 1);
      p.messages.push(`queue lost or duplicated items: put ${f.put}, taken ${f.taken}, left ${f.left}, id sums ${q[Q_PUT_SUM]} vs ${(q[Q_TAKE_SUM] + leftSum) | 0} (seed ${seed})`);
    }
    return f;
  }
  for (const p of Object.values(prims)) if (ADAPTERS[p.kind].named) await tableFigures(p);
  // Report.
  const q = (xs, f) => (xs.length ? xs[Math.min(xs.length - 1, Math.floor(f * xs.length))] : NaN);
  const summary = {};
  log(`\nsablock torture: ${seconds} s, ${perKind} workers per primitive, ${cores} cores, node ${process.version}`);
  for (const p of Object.values(prims)) {
    const all = [...p.retired, ...p.workers.values()];
    // Fairness over workers that were not asked to die holding (they idle until terminated).
    const rates = all
      .filter((r) => !r.victim && r.died - r.born > 1000)
      .map((r) => Atomics.load(ops, r.slot) / ((r.died - r.born) / 1000));
    const mean = rates.reduce((a, b) => a + b, 0) / (rates.length || 1);
    const min = rates.length ? Math.min(...rates) : 0;
    const lat = [...p.latencies].sort((a, b) => a - b);
    const R = new Int32Array(p.region);
    const queue = p.kind === 'Condition' ? queueFigures(p) : undefined;
    const s = {
      operations: opsOf(p),
      violations: Atomics.load(new Int32Array(p.region), VIOL),
      hangs: p.hangs,
      fairness: { minOpsPerSec: min, meanOpsPerSec: mean, minOverMean: mean ? min / mean : 0 },
      holderKills: p.holderKills,
      blindKills: p.blindKills,
      recoveries: lat.length + p.stolenBeforeDeath,
      unrecovered: p.unrecovered,
      repairs: Atomics.load(new Int32Array(p.region), REPAIRS),
      recoveryMs: { p50: q(lat, 0.5), p99: q(lat, 0.99), max: lat[lat.length - 1] ?? NaN },
      // The mixes.
      roles: p.roles,
      exitKills: p.exitKills,
      lateExitReleases: p.lateExitReleases,
      nestedKills: p.nestedKills,
      abortedWaits: Atomics.load(R, ABORTED),
      timedOutWaits: Atomics.load(R, TIMEDOUT),
      blockAfterAbort: Atomics.load(R, BLOCK_AFTER_ABORT),
      refusedBehindOwnTicket: Atomics.load(R, REFUSED),
      ...(queue ? { queue } : {}),
      ...(ADAPTERS[p.kind].named
        ? {
            queuedKills: p.queuedKills,
            handoverKills: p.handoverKills,
            stolenBeforeDeath: p.stolenBeforeDeath,
            ownTaskDeadlocks: Atomics.load(R, OWN_DEADLOCK),
            abortDeadlocks: Atomics.load(R, ABORT_DEADLOCK),
            probeDeadlocks: p.probeDeadlocks,
            recoveryByKill: Object.fromEntries(
              Object.entries(p.latencyByKill).map(([k, xs]) => {
                const v = [...xs].sort((a, b) => a - b);
                return [k, { n: v.length, p50: q(v, 0.5), max: v[v.length - 1] }];
              }),
            ),
            steals: Atomics.load(R, STEALS),
            robbed: Atomics.load(R, ROBBED),
            ifAvailableNull: Atomics.load(R, NULLS),
            tableLeft: p.tableLeft,
          }
        : {}),
      messages: p.messages.slice(0, 10),
      workers: all.map((r) => ({
        slot: r.slot,
        ops: Atomics.load(ops, r.slot),
        fails: Atomics.load(fails, r.slot),
        lifeMs: Math.round(r.died - r.born),
        killed: p.retired.includes(r),
        victim: r.victim === true,
      })),
    };
    summary[p.kind] = s;
    const f = (x) => (Number.isNaN(x) ? '-' : x.toFixed(1));
    log(
      `${p.kind.padEnd(11)} ops ${String(s.operations).padStart(9)}  violations ${s.violations}  hangs ${s.hangs}  ` +
        `fairness min/mean ${f(min)}/${f(mean)} ops/s (${(s.fairness.minOverMean * 100).toFixed(0)}%)  ` +
        `kills holder ${s.holderKills} blind ${s.blindKills}  recovered ${s.recoveries} (unrecovered ${s.unrecovered})  ` +
        `recovery p50 ${f(s.recoveryMs.p50)} p99 ${f(s.recoveryMs.p99)} max ${f(s.recoveryMs.max)} ms`,
    );
    log(
      `${''.padEnd(11)} mixes: workers plain ${p.roles.plain} mix ${p.roles.mix} nest ${p.roles.nest} (+${p.roles.child} children)  ` +
        `waits aborted ${s.abortedWaits} timed out ${s.timedOutWaits}  blocking after an abandoned wait ${s.blockAfterAbort}` +
        (s.refusedBehindOwnTicket ? `  lock() refused behind own ticket ${s.refusedBehindOwnTicket}` : '') +
        `  kills exit ${s.exitKills} late-exit releases ${s.lateExitReleases} nested ${s.nestedKills}` +
        (s.queue ? `  queue put ${s.queue.put} taken ${s.queue.taken} left ${s.queue.left}` : ''),
    );
    if (ADAPTERS[p.kind].named) {
      log(
        `${''.padEnd(11)} kills queued ${s.queuedKills} handover ${s.handoverKills}` +
          (p.kind === 'WebLocks'
            ? `  steals ${s.steals} robbed ${s.robbed}  ifAvailable null ${s.ifAvailableNull}`
            : `  deadlocks through a blocked thread's own task ${s.ownTaskDeadlocks} (blocking right after an abandoned wait ${s.abortDeadlocks})`) +
          `  probe in before the victim died ${s.stolenBeforeDeath}` +
          `  table after exit: ${s.tableLeft ?? 'empty'}`,
      );
      // From the victim's exit (holder, exit, nested), from the later of its exit and the main
      // thread's release (queued), from the go-ahead to release (handover) to the next holder in.
      log(
        `${''.padEnd(11)} recovery by kill (n, p50 / max ms):` +
          Object.entries(s.recoveryByKill)
            .map(([k, v]) => ` ${k} ${v.n}, ${f(v.p50)} / ${f(v.max)}`)
            .join(';'),
      );
    }
    for (const m of s.messages) log(`    ${p.kind}: ${m}`);
  }
  const failed = Object.values(summary).some((s) => s.violations > 0 || s.hangs > 0 || s.unrecovered > 0);
  log(failed ? `FAIL (seed ${seed}: replay the random choices with --seed ${seed})` : `PASS (seed ${seed})`);
  if (values.json) writeFileSync(values.json, JSON.stringify({ seed, seconds, perKind, cores, summary, failed }, null, 2));
  process.exit(failed ? 1 : 0);
}

if (isMainThread) await main();
else await workerMain();
