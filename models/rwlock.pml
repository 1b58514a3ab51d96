/*
 * rwlock.pml: the reader-writer lock of src/raw/rwlock.ts (RWLock's raw layer).
 *
 * Mirrors (state word table and invariants 1-8 at the top of src/raw/rwlock.ts):
 *   readStep (BLOCKS_READERS / BLOCKS_PARKED_READERS, publish READERS_WAITING) ..... READ
 *   readUnlock + afterReaderLeft ............................................. RUNLOCK
 *   writeStep (take unlocked / parked+HANDOFF, publish WRITERS_WAITING|WRITER_STARVING,
 *     read WRITER_NOTIFY, re-check STATE) ......................................... WRITE
 *   writeUnlock, abandonWrite, wakeWriter, wakeWriterOrReaders, revertHandoff,
 *   forwardWriterWake / forwardReaderWake (FORWARD), staleReservations (isReservedForWriter; the
 *   reader's recheck after a timed-out slice: a reservation seen as the very same word at the end
 *   of two slices in a row is released: HANDOFF by revertHandoff + wakeWriterOrReaders(false), a
 *   free word with only READERS_WAITING by wakeWriterOrReaders(true)), park / parkAsync with
 *   parking() (every sleep bounded by RECHECK_MS; -DNOSLICE: unbounded, as with
 *   SABLOCK_RW_RECHECK_MS huge).
 * Not modelled: the upgradable read lock and upgrade/downgrade, owner death (reapDeadOwners), the
 * spin phases, MAX_READERS.
 * WRITER_NOTIFY wraps modulo SEQMOD (8) here, 2^32 in the code.
 *
 * Switches for the old code (negative controls, bugs of issue 12):
 *   OLD_HANDOFF_SPIN (bug 1): writeStep's re-check `(again & HANDOFF) !== 0` -> continue, also for
 *     a writer that has not slept (it may not claim): it spins. Fixed: only a writer that has
 *     slept retries (to claim); one that has not sleeps on WRITER_NOTIFY, and whoever clears
 *     HANDOFF (clearStaleHandoff, forwardWriterWake, wakeWriterOrReaders' revert) then runs
 *     wakeWriterOrReaders.
 *   OLD_PARKED_READER (bug 4): a reader uses BLOCKS_PARKED_READERS (ignores WRITERS_WAITING)
 *     after any sleep, also one that merely timed out. Fixed: only if its last sleep ended with a
 *     notify ('ok').
 *   OLD_CLEAR_HANDOFF (the first re-check, clearStaleHandoff): after one slice that ran out a
 *     reader clears HANDOFF at once (it takes a woken writer's fresh turn: with BUG4, forever) and
 *     leaves READERS_WAITING on a free word alone (with AW: readers stuck for ever). Fixed:
 *     staleReservations.
 * Configurations: default (3 threads: writer, writer, reader; timed and abortable waiters; safety
 * and -DNP progress), NOSLICE (wake protocol alone), BUG1 (one thread, three async writer tasks),
 * BUG4 (one writer, two readers that loop forever: LTL <> writer got in, under weak fairness, with
 * the slice assumption stated at `ropen` below), AW (the torture's scene: thread 1 runs an
 * abortable writeLockAsync, then a blocking read; threads 0 and 2 one blocking read each: the
 * last read release can wake the async writer, which is aborted, and its thread then blocks in its
 * read, so the leftover's forwarding never runs).
 */
#define NA 2                 /* 0 STATE, 1 WRITER_NOTIFY */
#define NT 3
#ifdef BUG1
#define NTHR 1
#define THR(t) 0
#else
#define NTHR 3
#define THR(t) (t)
#endif

#define READERS 3
#define WRITE_LOCKED 8
#define READERS_WAITING 16
#define WRITERS_WAITING 32
#define WRITER_STARVING 64
#define HANDOFF 128
#define SEQMOD 8
#define STATE_SLEEPERS READERS_WAITING
#define BLOCKS_READERS (WRITE_LOCKED | WRITERS_WAITING | READERS_WAITING | HANDOFF)
#define BLOCKS_PARKED_READERS (WRITE_LOCKED | HANDOFF)
#define isUnlocked(s) (((s) & (READERS | WRITE_LOCKED | HANDOFF)) == 0)

#define K_SYNC 0
#define K_TIMED 1
#define K_ASYNC 2
#define K_ABORT 3

#define R_ROLE 0
#define W_ROLE 1
#ifdef BUG1
#define ROLE(t) W_ROLE
#elif defined(AW)
#define ROLE(t) ((t) == 1 && it == 1 -> W_ROLE : R_ROLE)   /* thread 1: an async writer, then a read */
#elif defined(BUG4)
#define ROLE(t) ((t) == 0 -> W_ROLE : R_ROLE)
#elif defined(ROLES_WRR)
#define ROLE(t) ((t) == 0 -> W_ROLE : R_ROLE)
#else
#define ROLE(t) ((t) == 2 -> R_ROLE : W_ROLE)
#endif

#ifdef BUG1
#define ITERS 2              /* a writer that comes back finds the handoff */
#elif defined(AW)
#define ITERS ((t) == 1 -> 2 : 1)
#else
#define ITERS 1
#endif

#include "futex.pml"

byte readers, writers;      /* holders, for the RW invariant */
#ifdef BUG4
/* Slices are long next to steps (BUG4 only, where weak fairness is assumed for an LTL check): a
   reservation for a woken writer (the CAS in wakeWriterOrReaders that wakes one) is "open" until
   its writer has run its next writeStep, or until it is reverted; a reader that first sighted a
   reserved word while reservation rgen was open cannot end its next slice while that one is
   still open. That is: the chain "release reserves, notifies, the woken writer runs" takes less
   than one RECHECK_MS slice. Weak fairness alone would let the readers' slice timers fire twice
   while the woken writer takes no step, which is a writer descheduled for a whole slice: the
   case staleReservations gives up on by design (it then loses its turn). */
byte rgen;                  /* the last reservation's number, 1..7 */
bool ropen;                 /* it is open: its writer has not run yet */
#define RESERVE ropen = true; rgen = rgen % 7 + 1
#define UNRESERVE ropen = false
#ifdef ANY_SLICE
#define SLICE_MAY_END true   /* -DANY_SLICE: without the assumption (the LTL check then fails) */
#else
#define SLICE_MAY_END (rpg == 0 || !ropen || rgen != rpg)
#endif
#else
#define RESERVE skip
#define UNRESERVE skip
#define SLICE_MAY_END true
#endif
bool wdone;                 /* BUG4: the writer got in */
bool wparked, wstarving;    /* BUG4: the writer has slept; it has slept longer than FAIR_AFTER_MS */

/* wakeWriter: bump WRITER_NOTIFY, then wake one writer; n = how many woke. */
inline wakeWriter(n) {
  d_step { mem[1] = (mem[1] + 1) % SEQMOD }
  fx_notify(1, 1, n)
}

/* wakeWriterOrReaders(s, preferReaders): one loop iteration per CAS (s may be stale: the CASes are
   from s, as in the code). */
inline wakeWriterOrReaders(s, prefer, seen, n, smg, ho) {
  do
  :: smg = (((s) & STATE_SLEEPERS) != 0 && ((s) & BLOCKS_PARKED_READERS) == 0 && (prefer || ((s) & WRITERS_WAITING) == 0));
     if
     :: !smg && ((s) & WRITERS_WAITING) != 0 && isUnlocked(s) ->
        ho = (((s) & WRITER_STARVING) != 0);
        d_step {   /* CAS from s (BUG4: the reservation opens with it) */
          seen = mem[0];
          if
          :: seen == s -> mem[0] = (ho -> (((s) & ~(WRITERS_WAITING | WRITER_STARVING)) | HANDOFF) : ((s) & ~WRITERS_WAITING)); RESERVE
          :: else -> skip
          fi
        }
        if
        :: seen != s -> s = seen
        :: else ->
           wakeWriter(n);
           if
           :: n > 0 -> break
           :: else ->
              /* no writer was asleep: undo the handoff; the loop then wakes whoever may go */
              UNRESERVE;
              if :: ho -> d_step { mem[0] = mem[0] & ~HANDOFF } :: else -> skip fi;
              s = mem[0]; prefer = true
           fi
        fi
     :: smg ->
        CAS(0, s, (s) & ~STATE_SLEEPERS, seen);
        if
        :: seen != s -> s = seen
        :: else ->
           fx_notify(0, ALL, n);      /* wake every STATE sleeper */
           if
           :: n == 0 && ((s) & WRITERS_WAITING) != 0 -> s = mem[0]; prefer = false
           :: else -> break
           fi
        fi
     :: else -> break
     fi
  od;
  seen = 0; n = 0; smg = false; ho = false
}

/* revertHandoff, and (fixed) wake the writers sleeping behind the handoff. */
inline clearHandoffAndWake(s, prefer, seen, n, smg, ho) {
  d_step { ho = ((mem[0] & HANDOFF) != 0); mem[0] = mem[0] & ~HANDOFF; s = mem[0] }
#ifndef OLD_HANDOFF_SPIN
  if :: ho -> prefer = false; wakeWriterOrReaders(s, prefer, seen, n, smg, ho) :: else -> skip fi;
#endif
  s = 0; ho = false
}

/* isReservedForWriter: HANDOFF, or a free word whose only bits are STATE sleeper bits */
#define isReservedForWriter(s) (((s) & HANDOFF) != 0 || (((s) & STATE_SLEEPERS) != 0 && ((s) & (READERS | WRITE_LOCKED | WRITERS_WAITING)) == 0))

/* staleReservations, after a reader's slice ran out: a reservation is released only when this
   reader sees the very same word at the end of two slices in a row (rseen: the word of the last
   sighting, 0 = none; rpg: the open reservation at that sighting, BUG4 only). */
inline staleReservations(s, prefer, seen, n, smg, ho) {
  s = mem[0];
  if
  :: !isReservedForWriter(s) -> rseen = 0
  :: else ->
     if
     :: s != rseen -> d_step { rseen = s; rpg = 0;
#ifdef BUG4
                               if :: ropen -> rpg = rgen :: else -> skip fi
#endif
                             }   /* first sighting: give its writer a whole slice */
     :: else ->
        d_step { rseen = 0; rpg = 0 }
        UNRESERVE;
        if
        :: (s & HANDOFF) != 0 ->
           d_step { mem[0] = mem[0] & ~HANDOFF }             /* revertHandoff */
           s = mem[0]; prefer = false; wakeWriterOrReaders(s, prefer, seen, n, smg, ho)
        :: else ->
           prefer = true; wakeWriterOrReaders(s, prefer, seen, n, smg, ho)
        fi
     fi
  fi;
  s = 0; prefer = false
}

/* forwardWriterWake (address 1) / forwardReaderWake (address 0) */
inline FORWARD(t, a) {
  if
  :: a == 1 ->
     wakeWriter(fn);
     if
     :: fn == 0 ->
        d_step { mem[0] = mem[0] & ~HANDOFF; fs = mem[0] }
        fb1 = true; wakeWriterOrReaders(fs, fb1, fseen, fn, fb2, fb3)
     :: else -> skip
     fi
  :: else ->
     fs = mem[0]; fb1 = false; wakeWriterOrReaders(fs, fb1, fseen, fn, fb2, fb3)
  fi;
  fs = 0; fb1 = false
}

#include "fwd.pml"

proctype Task(byte t) {
  byte it, kind, r, n;
  int s, w, seen, rseen;
  byte rpg;
  bool parked, pf, starving, prefer, smg, ho, acq;
  TOKEN(t);
#if defined(BUG4)
  do :: true ->          /* BUG4: readers loop forever, the writer makes one acquisition */
#else
  for (it : 1 .. ITERS) {
#endif
    if
#if defined(BUG1)
    :: kind = K_ASYNC
#elif defined(AW)
    :: ROLE(t) == W_ROLE -> kind = K_ABORT   /* writeLockAsync({ signal }) */
    :: else -> kind = K_SYNC                 /* readLock(): a blocking read, in slices */
#elif defined(BUG4) || defined(NOSLICE)
    :: kind = K_SYNC
#else
    :: kind = K_TIMED
    :: kind = K_ABORT
#endif
#if defined(NOSLICE)
    :: kind = K_TIMED
#endif
    fi;
    if
    :: ROLE(t) == R_ROLE -> goto read
    :: else -> goto write
    fi;

read:
    skip;
    /* readStep, one step (a CAS loop from a loaded value); pf: may ignore the waiting bits */
    d_step {
      s = mem[0];
      if
      :: (s & (pf -> BLOCKS_PARKED_READERS : BLOCKS_READERS)) == 0 -> mem[0] = s + 1; w = 0
      :: else -> mem[0] = s | READERS_WAITING; w = mem[0]
      fi;
      s = 0
    }
    if :: w == 0 -> goto rlocked :: else -> skip fi;
    if :: kind == K_TIMED || kind == K_ABORT -> if :: goto gaveup :: skip fi   /* deadline / throwIfOver: a reader leaves its bit */
       :: else -> skip fi;
    if
    :: kind == K_SYNC ->
#if defined(NOSLICE)
       fx_wait(t, 0, w, false, r)
#else
       fx_wait(t, 0, w, SLICE_MAY_END, r)
#endif
    :: kind == K_TIMED -> fx_wait(t, 0, w, true, r)
    :: kind == K_ASYNC -> fx_wait_async(t, 0, w, true, false, r)
    :: kind == K_ABORT -> fx_wait_async(t, 0, w, true, true, r);
       if :: r == R_ABORTED -> goto gaveup :: else -> skip fi
    fi;
#ifdef OLD_CLEAR_HANDOFF
    /* old clearStaleHandoff: a slice that ran out clears HANDOFF at once (it cannot tell a stale
       HANDOFF from one a release set an instant ago) and leaves READERS_WAITING on a free word */
    if :: r == R_TIMEDOUT -> clearHandoffAndWake(s, prefer, seen, n, smg, ho) :: else -> skip fi;
#else
    if :: r == R_TIMEDOUT -> staleReservations(s, prefer, seen, n, smg, ho) :: else -> skip fi;
#endif
#ifdef OLD_PARKED_READER
    pf = true;
#else
    pf = (r == R_OK);
#endif
    d_step { w = 0; r = 0 }
    goto read;

rlocked:
    skip;
    d_step { pf = false; readers++; assert(writers == 0) }
    d_step { readers-- }
    /* readUnlock: sub 1, then afterReaderLeft */
    d_step { mem[0] = mem[0] - 1; s = mem[0] }
    if
    :: (s & (WRITERS_WAITING | STATE_SLEEPERS)) != 0 -> prefer = false; wakeWriterOrReaders(s, prefer, seen, n, smg, ho)
    :: else -> skip
    fi;
    goto next;

write:
    skip;
#ifdef BUG4
    /* BUG4: the writer's writeStep and its sleep are one step (no window between publishing
       WRITERS_WAITING and sleeping, see the README), its sleeps are unbounded, and WRITER_STARVING
       comes from the Clock process (time passes: weak fairness makes it fire). */
    atomic {
      d_step {
        UNRESERVE;         /* the woken writer runs: its reservation is decided now */
        s = mem[0];
        if
        :: isUnlocked(s) || (parked && (s & HANDOFF) != 0) ->
           mem[0] = (s & ~HANDOFF) | WRITE_LOCKED | (parked -> WRITERS_WAITING : 0); acq = true
        :: else ->
           mem[0] = s | WRITERS_WAITING | (wstarving -> WRITER_STARVING : 0); acq = false
        fi;
        s = 0; w = mem[1]
      }
      if :: acq -> goto wlocked :: else -> skip fi;
      fx_wait(t, 1, w, false, r)
    }
    d_step { parked = true; wparked = true; w = 0; r = 0 }
    goto write;
#endif
    /* writeStep */
    if
    :: parked -> if :: starving = true :: starving = false fi   /* slept longer than FAIR_AFTER_MS */
    :: else -> starving = false
    fi;
wloop:
    skip;
    d_step {
      s = mem[0];
      if
      :: isUnlocked(s) || (parked && (s & HANDOFF) != 0) ->
         mem[0] = (s & ~HANDOFF) | WRITE_LOCKED | (parked -> WRITERS_WAITING : 0); acq = true
      :: else ->
         mem[0] = s | WRITERS_WAITING | (starving -> WRITER_STARVING : 0); acq = false
      fi;
      s = 0
    }
    if :: acq -> goto wlocked :: else -> skip fi;
    w = mem[1];                   /* read the counter, then re-check STATE */
    s = mem[0];
    if
    :: isUnlocked(s) || (s & WRITERS_WAITING) == 0 -> s = 0; goto wloop
#ifdef OLD_HANDOFF_SPIN
    :: (s & HANDOFF) != 0 -> s = 0; goto wloop
#else
    :: parked && (s & HANDOFF) != 0 -> s = 0; goto wloop
#endif
    :: else -> s = 0
    fi;
    if :: kind == K_TIMED || kind == K_ABORT -> if :: goto wgaveup :: skip fi
       :: else -> skip fi;
    if
    :: kind == K_SYNC ->
#if defined(NOSLICE)
       fx_wait(t, 1, w, false, r)
#else
       fx_wait(t, 1, w, true, r)
#endif
    :: kind == K_TIMED -> fx_wait(t, 1, w, true, r)
    :: kind == K_ASYNC ->
#if defined(NOSLICE) || defined(BUG1)
       fx_wait_async(t, 1, w, false, false, r)
#else
       fx_wait_async(t, 1, w, true, false, r)
#endif
    :: kind == K_ABORT -> fx_wait_async(t, 1, w, true, true, r);
       if :: r == R_ABORTED -> goto wgaveup :: else -> skip fi
    fi;
    d_step { parked = true; w = 0; r = 0 }
    goto write;

wgaveup:
    skip;
    /* abandonWrite */
    d_step { s = mem[0]; mem[0] = mem[0] & ~(WRITERS_WAITING | WRITER_STARVING) }
    if
    :: (s & WRITERS_WAITING) != 0 ->
       wakeWriter(n);
       if
       :: n == 0 -> s = mem[0]; prefer = true; wakeWriterOrReaders(s, prefer, seen, n, smg, ho)
       :: else -> skip
       fi
    :: else -> skip
    fi;
    goto next;

wlocked:
    skip;
    d_step { parked = false; starving = false; writers++; assert(writers == 1 && readers == 0) }
#ifdef BUG4
    wdone = true;
#endif
#ifdef BUG1
    UNTOKEN(t); TOKEN(t);      /* the async critical section awaits: the thread's other tasks run */
#endif
    d_step { writers-- }
    /* writeUnlock: clear WRITE_LOCKED; wake by the waiting bits */
    d_step { mem[0] = mem[0] - WRITE_LOCKED; s = mem[0] }
    prefer = true; wakeWriterOrReaders(s, prefer, seen, n, smg, ho);
#ifdef BUG4
    goto done;
#endif
    goto next;
gaveup:
    skip;
next:
    skip;
#ifdef BUG1
    UNTOKEN(t); TOKEN(t);      /* the task awaits something else between two acquisitions */
#endif
    d_step { s = 0; w = 0; r = 0; n = 0; seen = 0; rseen = 0; rpg = 0; parked = false; pf = false; starving = false; prefer = false; kind = 0 }
#if defined(BUG4)
  od;
done:
#else
  }
#endif
  UNTOKEN(t)
}

#ifdef BUG4
/* time passes: a writer that has slept eventually has slept longer than FAIR_AFTER_MS */
active proctype Clock() {
end:
  do
  :: atomic { wparked && !wstarving -> wstarving = true }
  od
}
ltl writer_gets_in { <> wdone }
#endif

init {
  atomic {
    run Task(0); run Task(1); run Task(2);
#if !defined(NOSLICE) && !defined(BUG1) && !defined(BUG4)
    run Fwd(0); run Fwd(1); run Fwd(2);
#endif
  }
}
