/*
 * condition.pml: the condition variable of src/condition.ts, with its lock.
 *
 * Mirrors src/condition.ts: prepareWait (read SEQ, WAITERS++ while holding the lock), unlock,
 * sleep on SEQ (wait: Atomics.wait; waitAsync: waitAsyncUntil with a signal), finishWait
 * (WAITERS--), relock (invariant 3); notifyRaw (bump SEQ, read WAITERS, wake(count));
 * #forward (FORWARD: the aborted waitAsync's onAbandonedWake: wake one if WAITERS != 0).
 * The lock is one atomic test-and-set here (its own protocol is mutex.pml's).
 * Use: two consumers (tasks 0 and 2: lock; while (items == 0) wait; items--; unlock) and one
 * producer (task 1: two times lock; items++; notify(1); unlock). Task 0 may use waitAsync with a
 * signal that aborts; the aborted wait rejects after relocking, and the consumer then waits
 * again with the blocking wait (the bug 3 scene).
 * SEQ wraps modulo 8 here.
 *
 * Switch for the old code (bug 3): OLD_UNBOUNDED: wait() sleeps without a bound. Fixed: it sleeps
 * in bounded slices; after a slice that timed out it returns (as a spurious wake-up) if SEQ moved
 * since its read, else it sleeps again.
 * Properties: no invalid end state (no consumer asleep forever while an item is there), the
 * lock's mutual exclusion (assert), with -DNP no non-progress cycle under weak fairness.
 */
#define NT 3
#define NTHR 3
#define NA 3
#define THR(t) (t)
#define SEQ 0
#define WAITERS 1
#define LOCK 2
#define SEQMOD 8

#include "futex.pml"

byte items, incs;

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

proctype Task(byte t) {
  byte it, r, n, seq;
  bool async;
  TOKEN(t);
  if
  :: t == 1 ->
     for (it : 1 .. 2) {              /* the producer */
       lock(t);
       items++;
       /* notifyRaw(1): bump SEQ, then read WAITERS (invariant 2) */
       d_step { mem[SEQ] = (mem[SEQ] + 1) % SEQMOD }
       if :: mem[WAITERS] != 0 -> fx_notify(SEQ, 1, n) :: else -> skip fi;
       unlock(t)
     }
  :: else ->                          /* a consumer */
     if :: t == 0 -> async = true :: else -> async = false fi;
     lock(t);
     do
     :: items > 0 -> break
     :: else ->
        /* prepareWait: read SEQ under the lock, WAITERS++; then unlock */
        d_step { seq = mem[SEQ]; mem[WAITERS]++ }
        unlock(t);
        if
        :: async ->
           fx_wait_async(t, SEQ, seq, false, true, r);
           d_step { mem[WAITERS]-- }                 /* finishWait */
           lockAsync(t);
           if :: r == R_ABORTED -> async = false :: else -> skip fi   /* rejected; then wait() */
        :: else ->
#ifdef OLD_UNBOUNDED
           fx_wait(t, SEQ, seq, false, r);
#else
           do       /* bounded slices: a slice that ran out returns only if SEQ moved */
           :: fx_wait(t, SEQ, seq, true, r);
              if :: r != R_TIMEDOUT || mem[SEQ] != seq -> break :: else -> skip fi
           od;
           skip;
#endif
           d_step { mem[WAITERS]-- }                 /* finishWait */
           lock(t)
        fi;
        d_step { r = 0; seq = 0 }
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
