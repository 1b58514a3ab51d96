/*
 * mutex.pml: the raw exclusive lock word of Mutex, SpinLock and the lock manager's words.
 *
 * Mirrors src/raw/mutex.ts (state word table and invariants 1-6 at the top of that file):
 *   fast path (word-lock.ts lock(): CAS 0 -> me) ......................... FAST
 *   acquireOrPrepareToPark: take a free word, or a HANDOFF word once parked (re-arming PARKED);
 *     takeOverFromDead (owner-death.ts takeOverIfDead); else publish PARKED (| FAIR if starving)
 *   lockSlow / lockAsyncSlow: deadline or throwIfOver before each sleep; sleeps of one
 *     ROBUST_SLICE_MS slice (sliceEnd); waitAsync with an AbortSignal (abort -> leftover)
 *   unlockSlow: FAIR -> HANDOFF|PARKED + wake(1), revertHandoff if it woke nobody;
 *     else free (keep OWNER_DIED) + wake(1) if PARKED
 *   revertHandoff; forwardAbandonedWake (FORWARD below: the aborted lockAsync's onAbandonedWake)
 * SpinLock (src/spinlock.ts) is this word with fairAfterMs = Infinity: -DSPINLOCK (FAIR never set).
 * Spinning (spinWhile) only delays and is left out: the step after it re-reads the word.
 *
 * Reduction used in every model here: a retry loop "load; compute from the value; CAS from it,
 * else retry" with only local computation between the load and the CAS is one atomic step (a
 * failed CAS has no effect and the loop re-reads). Every other Atomics call is its own step.
 *
 * Configurations:
 *   -DNOSLICE: untimed sleeps unbounded and no aborts: the wake protocol alone (no slice rescues)
 *   default : every sleep a slice, timed and aborted waiters, the forwarders of aborted waits
 *   -DDEATH : task 0 may die in its critical section; published dead only once it stopped
 *   -DOLD_DEATH_EARLY (with DEATH): bug 2, old code: the death is published while the owner still
 *             runs (its critical section and unlock): a waiter takes over -> two owners.
 * Properties: mutual exclusion and "only the owner releases" (asserts), no invalid end state (no
 * task asleep forever, -DNOSLICE), and with -DNP no non-progress cycle under weak fairness (every
 * task finishes its ITERS(t) acquisitions or gives up).
 */
#define NT 3
#define NTHR 3
#define NA 1
#define THR(t) (t)
/* acquisitions per task: task 0 makes two (so a releaser can come back and barge), the others one */
#ifdef ONE_EACH
#define ITERS(t) 1
#else
#define ITERS(t) ((t) == 0 -> 2 : 1)
#endif

#define OWNER 7
#define PARKED 8
#define FAIR 16
#define HANDOFF 32
#define DIED 64
#define isFree(s) (((s) & (OWNER | HANDOFF)) == 0)

#define K_SYNC 0
#define K_TIMED 1
#define K_ASYNC 2
#define K_ABORT 3

#include "futex.pml"

byte incs;          /* tasks in their critical section */
bool dead[NT+1];    /* published dead, by owner id */

/* revertHandoff: a HANDOFF nobody will claim -> free (keep OWNER_DIED), then wake one. */
inline revertHandoff(n, b) {
  d_step { b = ((mem[0] & HANDOFF) != 0); if :: b -> mem[0] = mem[0] & DIED :: else -> skip fi }
  if :: b -> fx_notify(0, 1, n) :: else -> skip fi;
  b = false
}

/* forwardAbandonedWake: revert a handoff the aborted waiter swallowed, or re-issue the wake-one. */
inline FORWARD(t, a) {
  fseen = ((mem[0] & HANDOFF) != 0);
  if
  :: fseen -> revertHandoff(fn, fs)
  :: else -> fx_notify(0, 1, fn)
  fi;
  fseen = 0; fn = 0
}

#include "fwd.pml"

proctype Task(byte t) {
  byte me = t + 1;
  byte it, kind, r, n;
  int w;
  bool parked, starving, b;
  TOKEN(t);
  for (it : 1 .. ITERS(t)) {
    /* The waiter kinds. Without slices: blocking (unbounded) or timed. With slices a blocking
       lock() is a timed wait that does not give up, and a lockAsync() without a signal is an
       abortable one that is not aborted, so the two kinds below cover all four. */
    if
#ifdef NOSLICE
    :: kind = K_SYNC
#else
    :: kind = K_ABORT
#endif
    :: kind = K_TIMED
    fi;
    /* The fast paths (CAS 0 -> me; unlock CAS me -> 0) are the first iteration of the slow paths
       below with the same effect, so they are left out. */
slow:
#ifdef SPINLOCK
    starving = false;
#else
    if
    :: parked -> if :: starving = true :: starving = false fi   /* now - parkedSince > fairAfterMs */
    :: else -> starving = false
    fi;
#endif
    /* acquireOrPrepareToPark, one step (see the reduction above); w = 0: taken */
    d_step {
      if
      :: isFree(mem[0]) || (parked && (mem[0] & HANDOFF) != 0) ->
         mem[0] = me | (mem[0] & DIED) | (parked -> PARKED : 0); w = 0
      :: else ->
         if
         :: dead[mem[0] & OWNER] ->     /* takeOverFromDead: keep PARKED|FAIR */
            mem[0] = (mem[0] & (PARKED | FAIR)) | me | DIED | (parked -> PARKED : 0); w = 0
         :: else ->
            mem[0] = mem[0] | PARKED | (starving -> FAIR : 0); w = mem[0]
         fi
      fi
    }
    if :: w == 0 -> goto locked :: else -> skip fi;
    /* deadline passed / throwIfOver */
    if
    :: kind == K_TIMED || kind == K_ABORT -> if :: goto gaveup :: skip fi
    :: else -> skip
    fi;
    /* one sleep */
    if
    :: kind == K_SYNC ->
#ifdef NOSLICE
       fx_wait(t, 0, w, false, r)
#else
       fx_wait(t, 0, w, true, r)
#endif
    :: kind == K_TIMED -> fx_wait(t, 0, w, true, r)
    :: kind == K_ASYNC ->
#ifdef NOSLICE
       fx_wait_async(t, 0, w, false, false, r)
#else
       fx_wait_async(t, 0, w, true, false, r)
#endif
    :: kind == K_ABORT -> fx_wait_async(t, 0, w, true, true, r);
       if :: r == R_ABORTED -> goto gaveup :: else -> skip fi
    fi;
    d_step { parked = true; w = 0; r = 0 }
    goto slow;

locked:
    skip;
    d_step { w = 0; r = 0; parked = false; starving = false; incs++ }
    assert(incs == 1);                 /* mutual exclusion */
#ifdef DEATH
    if
    :: t == 0 ->
       if
       :: d_step { incs--; running[THR(t)] = 255; dead[me] = true } -> goto died  /* stopped, then published */
#ifdef OLD_DEATH_EARLY
       :: dead[me] = true              /* old: published from its own 'exit' listener, still running */
#endif
       :: skip
       fi
    :: else -> skip
    fi;
#endif
    incs--;
    /* unlockSlow, one step: not the owner -> it returns false and the API throws */
    d_step {
      assert((mem[0] & OWNER) == me && (mem[0] & HANDOFF) == 0);
      b = ((mem[0] & FAIR) != 0);
      if
      :: b -> mem[0] = HANDOFF | PARKED | (mem[0] & DIED); w = 1
      :: else -> w = mem[0] & PARKED; mem[0] = mem[0] & DIED
      fi
    }
    if
    :: b -> fx_notify(0, 1, n);          /* wake the head of the FIFO to claim the handoff */
       if :: n == 0 -> revertHandoff(n, b) :: else -> skip fi
    :: !b && w != 0 -> fx_notify(0, 1, n)
    :: else -> skip
    fi;
    goto next;
gaveup:
    skip;
next:
    skip;
    d_step { w = 0; r = 0; n = 0; parked = false; starving = false; kind = 0; b = false }
  }
  UNTOKEN(t);
#ifdef DEATH
died:
#endif
  skip
}

init {
  atomic {
    run Task(0); run Task(1); run Task(2);
#ifndef NOSLICE
    run Fwd(0); run Fwd(1); run Fwd(2);
#endif
  }
}
