/**
 * Lock escalation (SQL Server's): past a threshold of fine locks one owner holds under one parent
 * through this thread, one coarse lock on the parent replaces them.
 *
 * - The trigger is this thread's bookkeeping (`local.ts`): a parent's `children` are the distinct
 *   child resources held through it. Past `escalationThreshold` the request that crossed it tries,
 *   without waiting and without overtaking another owner's queued request (`polite`), to take S
 *   (if every fine lock below is IS/S) or X on the parent; on success the fine locks' shared
 *   records are released (`coverChildren`). A failed try is retried after `threshold / 4` more
 *   fine locks.
 * - Later requests below an escalated parent are taken in the table as usual; each time
 *   `threshold` of them accumulate they are folded into the escalation too, unless another owner
 *   waits on the parent. So the coarse hold is dropped when the last handle it replaced is
 *   released (`Requests.releaseLevel`), and while someone waits for the parent that happens
 *   within the fine locks already replaced, however many come after (issue 13, item 4).
 */
import { IX, MODE_COUNT, S, X } from './modes.js';
import type { LocalLock, OwnerState } from './local.js';
import { GRANTED, REFUSED, type Requests } from './requests.js';

/** Tries to escalate P's fine locks to one S or X hold on P; true if it did. */
export function tryEscalate(rq: Requests, st: OwnerState, P: LocalLock): boolean {
  // X if anything below was taken for writing (it put IX on P), else S.
  const target = P.shared[IX]! > 0 ? X : S;
  let got: unknown;
  try {
    got = rq.attemptCounted(P, target, { owner: st.owner, state: st, blocks: 0, polite: true }, true);
  } catch {
    got = REFUSED;
  }
  if (got !== GRANTED) {
    postpone(rq, P);
    return false;
  }
  P.escMode = target;
  coverChildren(rq, st, P);
  return true;
}

/**
 * Fine locks keep coming below an escalated parent: fold them into the escalation too (so the
 * table holds at most about `threshold` of them per parent), unless another owner waits on
 * the parent. Then they stay fine locks, and the coarse hold ends when the fine locks it
 * already replaced are released: it never outlasts them while someone waits for it.
 */
export function extendEscalation(rq: Requests, st: OwnerState, P: LocalLock): void {
  // Writes below an S escalation (IX on P since) are not covered by it: leave them fine.
  const covered = P.escMode === X || P.shared[IX] === 0;
  if (!covered || rq.othersWaitOn(P, st.owner)) {
    postpone(rq, P);
    return;
  }
  coverChildren(rq, st, P);
  P.nextEscalationAt = rq.threshold;
}

/** Like SQL Server: try again after `threshold / 4` more fine locks under P. */
function postpone(rq: Requests, P: LocalLock): void {
  P.nextEscalationAt = P.children.length + Math.max(1, rq.threshold >> 2);
}

/** The escalation hold on P replaces P's children's shared acquisitions (it covers them all). */
function coverChildren(rq: Requests, st: OwnerState, P: LocalLock): void {
  for (const C of P.children) {
    let n = 0;
    for (let m = 0; m < MODE_COUNT; m++) {
      const c = C.shared[m]!;
      if (c === 0) continue;
      let inTable = c;
      if (m <= IX) {
        for (; C.fast[m]! > 0; C.fast[m]!--) if (rq.fp.releaseWeak(st.owner, C, m)) inTable--;
      }
      if (inTable > 0) rq.sharedRelease(C, st.owner, m, inTable);
      C.shared[m] = 0;
      n += c;
    }
    C.sharedTotal = 0;
    C.esc += n;
    C.coveredBy = P;
    P.escRefsBelow += n;
  }
  for (const C of P.children) C.childAt = -1;
  P.children.length = 0;
}
