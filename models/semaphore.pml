/*
 * semaphore.pml: the counting semaphore of src/raw/semaphore.ts (Semaphore's raw layer).
 *
 * Mirrors (words table, wake policy and invariants 1-5 at the top of src/raw/semaphore.ts):
 *   acquireSlow / acquireAsyncSlow: read SEQ, step() (renewHead, tryTake with the HEAD gate,
 *   claimHead once starving, clearHead), deadline / throwIfOver, announceSleep (SLEEPERS,
 *   WEIGHTED), one sleep on SEQ (sleepDeadline), retractSleep;
 *   release (CAS COUNT += n, bump SEQ, read SLEEPERS, wake n if only unit sleepers and no head,
 *   else all); clearHead; forwardAbandonedWake (FORWARD: wake all).
 * Not modelled: trackOwners/owner death (reapDeadPermits), the lease running out (the head here
 * never dies or stalls, so its lease stays fresh), MAX checks of release (callers release what
 * they took). SEQ wraps modulo 8 here.
 *
 * Switch for the old code (bug 3): OLD_UNBOUNDED: a sleeper with no head in sight and no
 * trackOwners sleeps without a bound (sleepDeadline returned the caller's deadline, Infinity).
 * Fixed: every sleep is a bounded slice, after which the waiter re-checks the count.
 * Configurations: NOABORT (no aborted waits; with OLD_UNBOUNDED the wake protocol alone, with
 * unbounded sleeps), default (weighted: task 2 asks for 2 of 2 permits, tasks 0, 1 for one; timed
 * and abortable waiters), UNIT (1 permit, every request 1: the wake-n policy; the bug 3 scene).
 * Properties: 0 <= COUNT <= MAX and permits held + COUNT == MAX (asserts), no invalid end state
 * (nobody asleep forever while permits are free), with -DNP no non-progress cycle under weak
 * fairness.
 */
#define NT 3
#define NTHR 3
#define NA 5
#define THR(t) (t)
#define COUNT 0
#define SEQ 1
#define SLEEPERS 2
#define WEIGHTED 3
#define HEAD 4
#define SEQMOD 8
#ifdef UNIT
#define MAXP 1
#define NEED(t) 1
#else
#define MAXP 2
#define NEED(t) ((t) == 2 -> 2 : 1)
#endif

#define K_SYNC 0
#define K_TIMED 1
#define K_ABORT 3

#include "futex.pml"

byte held;       /* permits held by tasks */

inline FORWARD(t, a) {
  fx_notify(SEQ, ALL, fn);     /* the swallowed notify may have been a release's only wake */
  fn = 0
}

#include "fwd.pml"

/* clearHead(token): token -> 0 by CAS; then bump SEQ and wake every sleeper */
inline clearHead(tok, b, n) {
  d_step { b = (mem[HEAD] == tok); if :: b -> mem[HEAD] = 0 :: else -> skip fi }
  if
  :: b ->
     d_step { mem[SEQ] = (mem[SEQ] + 1) % SEQMOD }
     if :: mem[SEQ+1] != 0 -> fx_notify(SEQ, ALL, n) :: else -> skip fi   /* SLEEPERS */
  :: else -> skip
  fi;
  b = false; n = 0
}

/* tryTake(n, token), one step (a CAS loop from loaded values) */
inline tryTake(need, tok, ok) {
  d_step {
    ok = (mem[COUNT] >= need && !(mem[HEAD] != 0 && mem[HEAD] != tok));
    if :: ok -> mem[COUNT] = mem[COUNT] - need; held = held + need :: else -> skip fi
  }
}

proctype Task(byte t) {
  byte it, kind, r, n, need, seq, tok;
  bool ok, b, bnd, starving;
  need = NEED(t);
  TOKEN(t);
  for (it : 1 .. 1) {
    /* task 0: acquireAsync with a signal; once aborted, the same thread then blocks in acquire()
       (the bug 3 scene). Tasks 1, 2: blocking acquire() or tryAcquire(n, ms). */
    if
#ifdef NOABORT
    :: t == 0 -> kind = K_SYNC     /* NOABORT: the wake protocol alone, no leftovers */
#else
    :: t == 0 -> kind = K_ABORT
#endif
    :: t != 0 -> kind = K_SYNC
    :: t != 0 -> kind = K_TIMED
    fi;
loop:
    skip;
    seq = mem[SEQ];                                   /* SEQ before the check (invariant 2) */
    /* step(): renewHead, tryTake, claimHead once starving */
    if :: tok != 0 && mem[HEAD] != tok -> tok = 0 :: else -> skip fi;
    tryTake(need, tok, ok);
    if
    :: ok -> if :: tok != 0 -> clearHead(tok, b, n); tok = 0 :: else -> skip fi; goto took
    :: else -> skip
    fi;
    if
    :: tok == 0 && starving ->
       d_step { if :: mem[HEAD] == 0 -> mem[HEAD] = t + 1; tok = t + 1 :: else -> skip fi }   /* claimHead (lease fresh) */
       if
       :: tok != 0 ->
          tryTake(need, tok, ok);
          if :: ok -> clearHead(tok, b, n); tok = 0; goto took :: else -> skip fi
       :: else -> skip
       fi
    :: else -> skip
    fi;
    /* deadline passed / throwIfOver: a head that gives up opens the gate */
    if
    :: kind == K_TIMED -> if :: goto gaveup :: skip fi
    :: else -> skip
    fi;
    /* announceSleep */
    d_step { mem[SLEEPERS]++ }
    if :: need > 1 -> d_step { mem[WEIGHTED]++ } :: else -> skip fi;
    /* sleepDeadline: the head renews, gated sleepers re-check the lease; else the caller's deadline */
#ifdef OLD_UNBOUNDED
    bnd = (tok != 0 || mem[HEAD] != 0 || kind == K_TIMED);
#else
    bnd = true;
#endif
    if
    :: kind != K_ABORT -> fx_wait(t, SEQ, seq, bnd, r)
    :: else -> fx_wait_async(t, SEQ, seq, bnd, true, r)
    fi;
    /* retractSleep */
    if :: need > 1 -> d_step { mem[WEIGHTED]-- } :: else -> skip fi;
    d_step { mem[SLEEPERS]--; bnd = false }
    if
    :: r == R_ABORTED ->     /* rejects; a head opens the gate; then a blocking acquire() */
       if :: tok != 0 -> clearHead(tok, b, n); tok = 0 :: else -> skip fi;
       d_step { kind = K_SYNC; starving = false; r = 0 }
       goto loop
    :: else -> skip
    fi;
    if :: starving = true :: skip fi;                 /* waited longer than FAIR_AFTER_MS */
    r = 0;
    goto loop;
took:
    skip;
    d_step { assert(held <= MAXP && held + mem[COUNT] == MAXP); seq = 0; r = 0; starving = false }
    /* release(n): CAS COUNT += n, bump SEQ, read SLEEPERS, wake by the policy */
    d_step { mem[COUNT] = mem[COUNT] + need; held = held - need; assert(mem[COUNT] <= MAXP) }
    d_step { mem[SEQ] = (mem[SEQ] + 1) % SEQMOD }
    if
    :: mem[SLEEPERS] != 0 ->
       d_step { b = (mem[HEAD] == 0 && mem[WEIGHTED] == 0); if :: b -> seq = need :: else -> seq = ALL fi }
       fx_notify(SEQ, seq, n)      /* unit sleepers only: one per permit; else everyone re-checks */
    :: else -> skip
    fi;
    goto next;
gaveup:
    skip;
    if :: tok != 0 -> clearHead(tok, b, n); tok = 0 :: else -> skip fi;
next:
    skip;
    d_step { seq = 0; r = 0; n = 0; ok = false; b = false; starving = false; kind = 0 }
  }
  UNTOKEN(t)
}

init {
  atomic {
    mem[COUNT] = MAXP;
    run Task(0); run Task(1); run Task(2);
    run Fwd(0); run Fwd(1); run Fwd(2);
  }
}
