/*
 * condition.pml: the condition variable of src/raw/condition.ts, with its lock.
 *
 * Mirrors src/raw/condition.ts (invariants 1-6 at its top): prepareWait (read SEQ, W++ while holding
 * the lock), unlock, sleep / sleepAsync (core/park.ts; slices of WAKE_SLICE_MS; wait: Atomics.wait,
 * waitAsync: waitAsyncUntil with a signal) with afterSleep after each slice, takeGrant, finishWait
 * (W--, cap G <= W), relock (invariant 3); notify (add min(n, W - G) to G, bump SEQ, read W,
 * wake(count)); forwardAbandonedWake (FORWARD: the aborted waitAsync's onAbandonedWake: wake one if W != 0).
 * WAITERS is split: mem[WAITERS] is W, `grants` is G; a CAS loop over both is one step.
 * afterSleep: a sleep ended by a notify ('ok'), or a first sleep that found SEQ moved
 * ('not-equal'), returns and takes a grant if one is left; a slice that ran out with SEQ moved
 * (or a later 'not-equal') sets `moved`, re-reads SEQ and sleeps on; a slice that ran out with SEQ
 * unmoved after `moved` takes a grant if one is left and returns, else sleeps on.
 * The lock is one atomic test-and-set here (its own protocol is mutex.pml's).
 * Use: two consumers (tasks 0 and 2: lock; while (items == 0) wait; items--; unlock) and one
 * producer (task 1: two times lock; items++; notify(1); unlock). Task 0 may use waitAsync with a
 * signal that aborts; the aborted wait rejects after relocking, and the consumer then waits
 * again with the blocking wait (the bug 3 scene: its leftover may swallow a notify, and its
 * thread, blocked in wait, never forwards it).
 * SEQ wraps modulo 8 here.
 *
 * Switches for the old code: OLD_UNBOUNDED (bug 3): wait() sleeps without a bound (and takes no
 * grant). OLD_SPURIOUS (the first fix of bug 3): after a slice that ran out, return (as a spurious
 * wake-up) if SEQ moved since the read.
 * -DCOUNT: one notify(1) once both consumers sleep, no aborted waiter: assert that at most one
 * wait ends (by a notify or a grant), under the fairness assumption stated at `chain` below.
 * Properties: no invalid end state (no consumer asleep forever while an item is there), the
 * lock's mutual exclusion (assert), with -DNP no non-progress cycle under weak fairness (a
 * consumer that sleeps in slices for ever while an item is there is such a cycle).
 */
#define NT 3
#define NTHR 3
#define NA 3
#define THR(t) (t)
#define SEQ 0
#define WAITERS 1
#define LOCK 2
#define SEQMOD 8

#ifdef COUNT
/* -DCOUNT: notify(1) with every waiter asleep (when it locks) ends at most one wait. Fairness
   assumption: the chain "the notify grants, bumps SEQ, wakes one waiter, which takes its grant"
   (chain) completes before another waiter's quiet slice after seeing SEQ moved (`moved`) ends,
   i.e. neither the notifier nor the woken waiter is descheduled for a whole WAKE_SLICE_MS (if one
   is, the other waiter takes the grant too: one spurious return, as invariant 5 says). ng[t]: t
   was woken by a notify and has not taken its grant yet. */
bool ng[3];
bool chain;
#define NOTIFY_HOOK(w) if :: w < NT -> ng[w] = true :: else -> skip fi
#ifdef ANY_SLICE
#define SLICE_OK(t) true     /* -DANY_SLICE: without the assumption (the assertion then fails) */
#else
#define SLICE_OK(t) (!moved || !chain)
#endif
byte ended;                  /* waits ended by a notify or a grant */
#define ENDED d_step { ended++; assert(ended <= 1) }
#else
#define SLICE_OK(t) true
#define ENDED skip
#endif
#include "futex.pml"

byte items, incs;
byte grants;                 /* G, the high half of WAITERS (mem[WAITERS] is W) */

inline FORWARD(t, a) {
  if :: mem[WAITERS] != 0 -> fx_notify(SEQ, 1, fn) :: else -> skip fi;   /* pass the wake on */
  fn = 0
}

#include "fwd.pml"

inline lock(t) {
  d_step { mem[LOCK] == 0 -> mem[LOCK] = t + 1; incs++ }
}
inline unlock(t) {
  d_step { assert(mem[LOCK] == t + 1); incs--; mem[LOCK] = 0 }
}
inline lockAsync(t) {
  UNTOKEN(t);
  d_step { mem[LOCK] == 0 && running[THR(t)] == 0 -> mem[LOCK] = t + 1; incs++; running[THR(t)] = t + 1 }
}

/* takeGrant: one CAS loop (one step): take a grant if one is left */
inline takeGrant(took) {
  d_step { took = (grants > 0); if :: took -> grants-- :: else -> skip fi;
#ifdef COUNT
           if :: ng[t] -> chain = false :: else -> skip fi; ng[t] = false
#endif
  }
}

proctype Task(byte t) {
  byte it, r, n, seq;
  bool async, slept, moved, took;
  TOKEN(t);
  if
  :: t == 1 ->
#ifdef COUNT
     for (it : 1 .. 1) {              /* the producer: one notify(1), when both consumers sleep */
#else
     for (it : 1 .. 2) {              /* the producer */
#endif
#ifdef COUNT
       atomic { wst[0] == W_QUEUED && wst[2] == W_QUEUED -> lock(t) }
#else
       lock(t);
#endif
       items++;
       /* notify(1): grant min(1, W - G) (a CAS loop), bump SEQ, then read WAITERS (invariant 2) */
       d_step {
#ifdef COUNT
         chain = (mem[WAITERS] > grants);
#endif
         if :: mem[WAITERS] > grants -> grants++ :: else -> skip fi
       }
       d_step { mem[SEQ] = (mem[SEQ] + 1) % SEQMOD }
       if :: mem[WAITERS] != 0 -> fx_notify(SEQ, 1, n) :: else -> skip fi;
#ifdef COUNT
       if :: n == 0 -> chain = false :: else -> skip fi;
#endif
       unlock(t)
     }
  :: else ->                          /* a consumer */
#ifdef COUNT
     async = false;                   /* no aborted waiter */
#else
     if :: t == 0 -> async = true :: else -> async = false fi;
#endif
     lock(t);
     do
     :: items > 0 -> break
     :: else ->
        /* prepareWait: read SEQ under the lock, WAITERS++; then unlock */
        d_step { seq = mem[SEQ]; mem[WAITERS]++ }
        unlock(t);
#ifdef OLD_UNBOUNDED
        if
        :: async -> fx_wait_async(t, SEQ, seq, false, true, r)
        :: else -> fx_wait(t, SEQ, seq, false, r)
        fi;
#else
        /* sleep / sleepAsync: slices of WAKE_SLICE_MS, each followed by afterSleep */
        d_step { slept = false; moved = false }
        do
        :: if
           :: async -> fx_wait_async(t, SEQ, seq, true, true, r)
           :: else -> fx_wait(t, SEQ, seq, SLICE_OK(t), r)
           fi;
           if
           :: r == R_ABORTED -> break                 /* rejects: finishWait, relock, throw */
           :: r == R_OK || (r == R_NOTEQUAL && !slept) -> takeGrant(took); ENDED; break   /* notified */
#ifdef OLD_SPURIOUS
           :: r == R_TIMEDOUT ->                      /* the first fix: return if SEQ moved */
              if :: mem[SEQ] != seq -> ENDED; break :: else -> skip fi
           :: r == R_NOTEQUAL && slept -> ENDED; break
#else
           :: r == R_TIMEDOUT && mem[SEQ] == seq ->  /* a quiet slice */
              slept = true;
              if
              :: moved -> takeGrant(took); moved = false;
                 if :: took -> ENDED; break :: else -> skip fi   /* a wakeup went astray: take its grant */
              :: else -> skip
              fi
           :: r == R_TIMEDOUT && mem[SEQ] != seq -> slept = true; moved = true; seq = mem[SEQ]   /* sleep on */
           :: r == R_NOTEQUAL && slept -> moved = true; seq = mem[SEQ]
#endif
           fi;
           r = 0
        od;
        skip;
#endif
        d_step { mem[WAITERS]--; if :: grants > mem[WAITERS] -> grants = mem[WAITERS] :: else -> skip fi }   /* finishWait: cap G */
        if
        :: async ->
           lockAsync(t);
           if :: r == R_ABORTED -> async = false :: else -> skip fi   /* rejected; then wait() */
        :: else -> lock(t)
        fi;
        d_step { r = 0; seq = 0; slept = false; moved = false; took = false }
     od;
     assert(incs == 1);
     items--;
     unlock(t)
  fi;
  UNTOKEN(t)
}

init {
  atomic {
    run Task(0); run Task(1); run Task(2);
    run Fwd(0); run Fwd(1); run Fwd(2);
  }
}
