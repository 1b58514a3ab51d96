/*
 * ticketlock.pml: the FIFO ticket lock of src/raw/ticketlock.ts, with owner and queued-waiter reaping.
 *
 * Mirrors src/raw/ticketlock.ts (word table and invariants 1-7 at its top):
 *   lock(): Atomics.add(NEXT), served at once (or OWNER) or #lockContended:
 *     enqueue (claim QUEUED entry, asleep = 0, ticket), waitForTurn (asleep: SLEEPERS++ and
 *     entry asleep = 1; slot value, then SERVING; sleep one ROBUST slice on the slot; reapDead),
 *     awake, served (or OWNER, then free the entry)
 *   unlock(): CAS OWNER me -> 0, serveNext (add SERVING; if SLEEPERS: bump+wake the served slot
 *     and the next one)
 *   reapDeadOwner (load OWNER; if dead: load SERVING = its turn; CAS OWNER -> OWNER_DIED;
 *     serveNext(turn): CAS SERVING turn -> turn+1, invariant 6)
 *   reapDeadWaiter (OWNER empty, entry of SERVING names a dead thread with that ticket: CAS the
 *     entry to -1, re-check SERVING and OWNER, take back SLEEPERS, serveNext(serving), free the entry)
 *   lockTicketAsync (lockAsync without timeout or signal: a ticket, awaited on the event loop;
 *     notePendingTicket +1 at the ticket, -1 after served)
 *   lock()'s hasPendingTicket refusal (ERR_LOCK_RECURSIVE before taking a ticket while a
 *     lockAsync() ticket of the same thread is pending).
 * Switches for the old code (controls): OLD_SERVE_ADD: reapers serve with an add like the holder
 *   (the double serve of issue 12's first suspect); OLD_SELF_LOCK: lock() does not refuse (the
 *   self-deadlock of the second suspect).
 * Not modelled: timed/abortable waiters (pollUntil, pollAsync: they take no ticket), the spin
 * of the thread next in line, the verifier paths, ticket wrap-around, entry reuse (tickets < 8).
 *
 * Death: with -DDEATH task 0 may die (published only once it stopped) after its ticket was
 * served: in its critical section (owner death), or between Atomics.or(OWNER) and clearing its
 * QUEUED entry in served (issue 12's first TicketLock suspect); or while asleep in the queue.
 * Configurations: DEATH (3 threads; tasks 0 and 2 lock() once, task 1 twice), SELF (issue 12's second suspect: task 0
 * and task 1 share a thread; task 0 has a pending lockAsync() ticket, then task 1 (same thread)
 * calls lock(), which refuses, and task 1 then uses lockAsync(); task 2 holds the lock first;
 * EVENT_LOOP_FIFO, see futex.pml).
 * Properties: mutual exclusion; a waiting ticket is never passed over (SERVING never moves past
 * the ticket of a thread still waiting for it: assert); with -DNP no non-progress cycle under
 * weak fairness.
 */
#define NT 3
#ifdef SELF
#define NTHR 2
#define THR(t) ((t) == 2 -> 1 : 0)
#else
#define NTHR 3
#define THR(t) (t)
#endif
#define NEXT 0
#define SERVING 1
#define OWNER 2
#define SLEEPERS 3
#define SLOT0 4
#define NA 8
#define OWNER_MASK 7
#define OWNER_DIED 8
#define SLOT(k) (SLOT0 + ((k) & 3))

#ifdef SELF
#define EVENT_LOOP_FIFO      /* two async tasks of one thread: see futex.pml */
#endif
#include "futex.pml"

inline FORWARD(t, a) { skip }        /* no abortable ticket waits */
#include "fwd.pml"

byte incs;
byte pend[NTHR];                      /* a thread's pending lockAsync() tickets (pendingTickets) */
bool dead[NT+1];
short eo[8];                          /* QUEUED entries: owner (0 free, -1 being reaped) */
byte et[8], ea[8];                    /* ticket, asleep */

/* serveNext(): the holder's release: add to SERVING; then wake */
inline serveNext(nx, n) {
  d_step { mem[SERVING]++; nx = mem[SERVING] }
  wakeServed(nx, n)
}

/* serveNext(turn): a reaper serves the next ticket only from exactly `turn` (invariant 6); ok:
   whether this CAS won. -DOLD_SERVE_ADD: the old code, an add like the holder's. */
inline serveTurn(turn, nx, n, ok) {
#ifdef OLD_SERVE_ADD
  d_step { mem[SERVING]++; nx = mem[SERVING]; ok = true }
#else
  d_step { ok = (mem[SERVING] == turn); if :: ok -> mem[SERVING] = turn + 1; nx = turn + 1 :: else -> skip fi }
#endif
  if :: ok -> wakeServed(nx, n) :: else -> skip fi;
  ok = false
}

/* the rest of serveNext: wake the served slot and the one after it */
inline wakeServed(nx, n) {
  if
  :: mem[SLEEPERS] != 0 ->
     d_step { mem[SLOT(nx)]++ }  fx_notify(SLOT(nx), ALL, n);
     d_step { mem[SLOT(nx+1)]++ } fx_notify(SLOT(nx+1), ALL, n)
  :: else -> skip
  fi;
  nx = 0; n = 0
}

/* reapDead: reapDeadOwner, else reapDeadWaiter */
inline reapDead(b, sv, o, nx, n) {
#ifdef OLD_SERVE_ADD
  d_step {   /* old reapDeadOwner: CAS from the dead owner's value to OWNER_DIED, then add */
    b = ((mem[OWNER] & OWNER_MASK) != 0 && dead[mem[OWNER] & OWNER_MASK]);
    if :: b -> mem[OWNER] = OWNER_DIED :: else -> skip fi
  }
#else
  /* reapDeadOwner: load OWNER; if it names a dead thread, load SERVING (its turn), then CAS
     OWNER from the loaded value to OWNER_DIED; the winner serves from exactly that turn */
  d_step { o = mem[OWNER]; b = ((o & OWNER_MASK) != 0 && dead[o & OWNER_MASK]) }
  if
  :: b ->
     sv = mem[SERVING];
     d_step { b = (mem[OWNER] == o); if :: b -> mem[OWNER] = OWNER_DIED :: else -> skip fi }
  :: else -> skip
  fi;
#endif
  if
  :: b -> serveTurn(sv, nx, n, b); b = true
  :: else ->
     if
     :: (mem[OWNER] & OWNER_MASK) != 0 -> skip          /* a holder: the owner path's business */
     :: else ->
        sv = mem[SERVING];
        o = eo[sv];
        if
        :: o > 0 && dead[o] && et[sv] == sv ->
           d_step { b = (eo[sv] == o); if :: b -> eo[sv] = -1 :: else -> skip fi }   /* CAS o -> -1 */
           if
           :: b ->
              if
              :: mem[SERVING] == sv ->
                 if
                 :: (mem[OWNER] & OWNER_MASK) == 0 ->
                    if :: ea[sv] == 1 -> d_step { mem[SLEEPERS]-- } :: else -> skip fi;
                    serveTurn(sv, nx, n, b)
                 :: else -> skip
                 fi
              :: else -> skip
              fi;
              eo[sv] = 0
           :: else -> skip
           fi
        :: else -> skip
        fi
     fi
  fi;
  b = false; sv = 0; o = 0
}

proctype Task(byte t) {
  byte me = t + 1;
  byte tk, seen, r, n, nx, sv, it;
  short o;
  bool b, sleeping, async;
#ifdef SELF
  if
  :: t == 2 -> TOKEN(t); goto locked   /* task 2 holds the lock already (set up by init) */
  :: t == 0 -> async = true            /* lockAsync(): a ticket, awaited */
  :: t == 1 -> (mem[NEXT] == 2)        /* lock() after task 0's lockAsync() took its ticket */
  fi;
#endif
  TOKEN(t);
#ifndef SELF
again:
  skip;
#endif
#if defined(SELF) && !defined(OLD_SELF_LOCK)
  /* lock(): hasPendingTicket refusal, before taking a ticket: a lockAsync() ticket of this thread
     is pending, so it throws ERR_LOCK_RECURSIVE; the task then waits with lockAsync() instead
     (-DOLD_SELF_LOCK: the old lock() takes a ticket and blocks) */
  if :: !async && pend[THR(t)] > 0 -> async = true :: else -> skip fi;
#endif
  d_step { tk = mem[NEXT]; mem[NEXT]++; if :: async -> pend[THR(t)]++ :: else -> skip fi }   /* take a ticket (async: notePendingTicket) */
  if
  :: mem[SERVING] == tk -> d_step { mem[OWNER] = mem[OWNER] | me; if :: async -> pend[THR(t)]-- :: else -> skip fi } goto locked
  :: else -> skip
  fi;
  /* enqueue: claim entry tk (free: tickets < 8 are not reused here) */
  d_step { eo[tk] == 0 -> eo[tk] = me }
  ea[tk] = 0;
  et[tk] = tk;
  sleeping = false;
  do
  :: if
     :: !sleeping -> d_step { mem[SLEEPERS]++ } ea[tk] = 1; sleeping = true   /* asleep */
     :: else -> skip
     fi;
     seen = mem[SLOT(tk)];                                  /* slot value, then SERVING */
     if :: mem[SERVING] == tk -> break :: else -> skip fi;
     assert(mem[SERVING] <= tk);                            /* our ticket was not passed over */
#ifdef DEATH
     if :: t == 0 && !dead[me] -> d_step { dead[me] = true; running[THR(t)] = 255 } goto died   /* dies queued */
        :: skip fi;
#endif
     if
     :: async -> fx_wait_async(t, SLOT(tk), seen, true, false, r)
     :: else -> fx_wait(t, SLOT(tk), seen, true, r)
     fi;
     r = 0;
     reapDead(b, sv, o, nx, n)
  od;
  skip;
  ea[tk] = 0; d_step { mem[SLEEPERS]-- }                    /* awake */
  d_step { mem[OWNER] = mem[OWNER] | me }                   /* served: OWNER first ... */
#ifdef DEATH
  if :: t == 0 -> d_step { dead[me] = true; running[THR(t)] = 255 } goto died   /* ... dies before freeing its entry */
     :: skip fi;
#endif
  eo[tk] = 0;                                               /* ... then free the entry */
  if :: async -> pend[THR(t)]-- :: else -> skip fi          /* notePendingTicket(-1), same run */
locked:
  skip;
  d_step { incs++; assert(incs == 1) }
#ifdef DEATH
  if :: t == 0 -> d_step { incs--; dead[me] = true; running[THR(t)] = 255 } goto died  /* owner death */
     :: skip fi;
#endif
  incs--;
  /* unlock: CAS OWNER me -> 0 (or me|OWNER_DIED -> OWNER_DIED), then serveNext */
  d_step { assert((mem[OWNER] & OWNER_MASK) == me); mem[OWNER] = mem[OWNER] & OWNER_DIED }
  serveNext(nx, n);
#ifndef SELF
  /* task 1 locks twice, so that two threads can reap at once */
  if :: t == 1 && it == 0 -> it = 1; d_step { tk = 0; seen = 0; sleeping = false } goto again
     :: else -> skip fi;
#endif
  UNTOKEN(t);
died:
  skip
}

init {
  atomic {
#ifdef SELF
    mem[NEXT] = 1; mem[OWNER] = 3;     /* task 2 (owner id 3) holds ticket 0 */
#endif
    run Task(0); run Task(1); run Task(2)
  }
}
