/*
 * seqlock.pml: the sequence lock of src/raw/seqlock.ts and src/seqlock.ts.
 *
 * Mirrors: writers take LOCK (a raw mutex word: one atomic test-and-set here, its protocol is
 * mutex.pml's), beginWrite (SEQ += 1, odd), plain data writes, endWrite (SEQ += 1, even), unlock.
 * Readers (SeqLock #readOptimistic): up to TRIES runs of beginRead (load SEQ; odd: a failed try,
 * the bounded spin is left out), plain data reads, validateRead (SEQ unchanged); then the locked
 * fallback (#readLocked: take LOCK, #repairSequence, read, unlock).
 * The data is two plain words a writer stores one after the other (a torn read sees them differ).
 * Tasks: 0 and 1 write (task 0 twice), task 2 reads twice.
 * Properties: every accepted optimistic read and every locked read sees a consistent snapshot
 * (both words from the same write; assert); the writers' mutual exclusion (assert); no invalid end
 * state; with -DNP no non-progress cycle under weak fairness (a reader finishes within TRIES runs
 * plus the fallback).
 */
#define NT 3
#define NTHR 3
#define NA 2
#define THR(t) (t)
#define SEQ 0
#define LOCK 1
#define TRIES 2

#include "futex.pml"
inline FORWARD(t, a) { skip }
#include "fwd.pml"

byte d1, d2, wincs;

proctype Task(byte t) {
  byte it, k, s, v1, v2;
  if
  :: t < 2 ->
     for (it : 1 .. (t == 0 -> 2 : 1)) {
       d_step { mem[LOCK] == 0 -> mem[LOCK] = t + 1; wincs++ }
       assert(wincs == 1);
       d_step { mem[SEQ]++ }                  /* beginWrite: odd */
       d1 = t * 2 + it;                       /* plain writes, one at a time */
       d2 = t * 2 + it;
       d_step { mem[SEQ]++ }                  /* endWrite: even */
       d_step { wincs--; mem[LOCK] = 0 }
     }
  :: else ->
     for (it : 1 .. 2) {
       k = 0;
       do
       :: k < TRIES ->
          s = mem[SEQ];                       /* beginRead */
          if
          :: (s & 1) != 0 -> k++              /* the writer is still inside: a failed try */
          :: else ->
             v1 = d1; v2 = d2;                /* the read callback: plain reads */
             if
             :: mem[SEQ] == s -> assert(v1 == v2); break   /* validateRead: accepted */
             :: else -> k++
             fi
          fi
       :: k >= TRIES ->                       /* #readLocked */
          d_step { mem[LOCK] == 0 -> mem[LOCK] = t + 1 }
          if :: (mem[SEQ] & 1) != 0 -> mem[SEQ]++ :: else -> skip fi;   /* #repairSequence */
          v1 = d1; v2 = d2;
          assert(v1 == v2);
          mem[LOCK] = 0;
          break
       od;
       skip;
       d_step { k = 0; s = 0; v1 = 0; v2 = 0 }
     }
  fi
}

init { atomic { run Task(0); run Task(1); run Task(2) } }
