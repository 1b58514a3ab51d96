/*
 * webfast.pml: the E_FAST word of a lock-table entry (Web Locks: an exclusive request on a free
 * name with one CAS), with the partition lock, its undo journal, owner death, sweep and recycle.
 *
 * Mirrors the protocol "E_FAST: the Web Locks fast word per lock-table entry" (steps 1-7), as
 * being implemented in src/manager/table.ts:
 *   fastTake (CAS OPEN -> T, then the key check; a wrong key -> fastRelease and fail) ... FAST
 *   fastRelease (CAS T -> OPEN, else under the partition lock: close, find T's record, release it)
 *   closeFast / close(e): loop { load; journal (E_FAST, v) TAGGED; CAS v -> CLOSED }; v > 0 -> a
 *     record of owner v holding X
 *   #recover (undo, newest first; a tagged pair by CAS(CLOSED -> v), an untagged one by a store)
 *   unlockPartition: #commit (journal emptied), THEN #reopenFast (store OPEN on every listed
 *     entry still without a record), THEN unlock
 *   #sweepEmptyEntries / #retire: a linked entry without record: v > 0 skip; OPEN: journal
 *     (E_FAST, OPEN) TAGGED, CAS OPEN -> CLOSED (fails: skip); CLOSED: free it; unlink journaled
 *   createEntry (key written while the entry is free and CLOSED, not journaled; link journaled)
 *   table requests on one name (requests.ts, simplified, see below), releases, reaping of a dead
 *     owner's records (any thread that finds one under the partition lock releases it).
 *
 * The table, reduced to what E_FAST touches: NS entries (one; two with -DRECYCLE) of one
 * partition (one lock), names A and B, X mode only. One lock for both names means: every step on
 * an entry runs under the lock of the entry's current name; for a fast taker that found another
 * name's key, that is the partition of the key it read, not of the name it wanted (see
 * -DRELEASE_BY_NAME for what the other choice does). A table request: lock; find the entry of its
 * name (or create one in the lowest free entry); close it; reap dead owners' records on it and
 * hand over to the first waiter if nobody holds; then hold (no holder, no waiter) or queue (a
 * WAIT record); unlock. A queued request sleeps until its record is granted (the releaser's
 * hand-over) or, standing for the slice re-checks of the real waiters, until a dead owner holds
 * or waits on the entry or holds the partition lock; then it re-checks under the lock.
 *
 * Processes: workers 1..NW (name A: ROUNDS rounds of "fastTake, or the table; critical section;
 * release the same way"; a failed fastTake goes to the table). The sweeper (owner id SW): one
 * sweep of entry 0; with -DRECYCLE, if it freed the entry, it then requests name B twice through
 * the table (the first request makes entry 0 B's entry, its release reopens it with key B; the
 * second meets a stale fast taker of A there). A worker's fastTake picks any entry (its cache of
 * A's entry may be stale). With -DRECYCLE, A's table request then makes A's entry in entry 1.
 *
 * Death (-DDEATH): the Killer may stop thread DT (worker 1; sweeper with -DDIE_SWEEPER) between
 * any two of its steps (`unless`), also while it waits: dead[DT] is set once it stopped. Its
 * partition lock is taken over by the next locker, which undoes its journal first; its records
 * are reaped; its fast hold (E_FAST == DT) is closed into a record by the next table operation on
 * the entry and reaped. One death per run, so a reaper or an undoer never dies itself.
 *
 * Reduction (as in every model here): each shared access is a step, except that a journal append
 * and the plain store it guards are one step (a death between them restores the value it has
 * anyway: no one else writes a word under a partition lock), and so are the load of E_FAST and
 * its tagged append (the journal is private until the holder is dead). The CAS after a tagged
 * append is its own step: fast takes and releases run between. Reaping, the hand-over grant and
 * the reopen-list update of one operation are one step (a reaper is never the dying thread).
 * Undo pairs are one step each (fast takes/releases interleave with an undo).
 *
 * State encoding: mem[] holds every journaled word: F(s) = E_FAST of entry s (CLOSED 0, OPEN 7,
 * a holder's owner id 1..NTH), L(s) = entry s linked in its bucket (0 free), R(t) = owner t's
 * record (0 none, else 4 * state + entry, state WAIT 1 or HOLD 2; one record per owner suffices:
 * an owner has one request at a time). key[s]: the name of entry s (not journaled). Journal:
 * jlen pairs (jw word, jv old value, jt tagged). plock: partition lock owner (0 free).
 *
 * Properties:
 *   - mutual exclusion of live threads per name (ghost incs[k], assert at entering);
 *   - table exclusion (Monitor, every state): per name, fast holders (E_FAST is an owner id on an
 *     entry of that key) + HOLD records on entries of that key <= 1, dead owners included;
 *   - no lost hold: at every commit, each live thread in a critical section is still a fast
 *     holder or a HOLD record on an entry of its name; a table release finds its record;
 *   - no invalid end state (nobody waits for ever), with and without death; the journal holds
 *     at most J = 8 pairs (assert).
 * Negative controls (old designs, must fail):
 *   -DOLD_REOPEN_BEFORE_COMMIT: reopen (store OPEN) before the commit
 *   -DOLD_PLAIN_UNDO: undo a tagged pair by a plain store
 *   -DOLD_NO_KEYCHECK: fastTake does not read the key after its CAS
 * Control of an earlier draft of the implementation: -DRELEASE_BY_NAME: fastRelease's table path
 *   gives up ("robbed") when the entry does not carry the name the thread asked for (table.ts
 *   #releaseMoved: findEntry(lo, hi) !== e -> return false), also when called from fastTake's
 *   key-mismatch path.
 * Further switches: -DNW=n workers (2 or 3), -DROUNDS=n rounds per worker (2);
 *   -DOLD_KEEP_FAILED_PAIR (the first draft: a failed close/sweep CAS kept its tagged pair, so
 *   each retry appended one: with -DROUNDS=3 -DDEATH a close racing one fast taker's
 *   take/release rounds fills J; the code now takes it back, #unlog); -DNO_LOST_HOLD_CHECK (drops the
 *   lost-hold asserts, to see what a control does next); -DPROBE=n (reachability probes, REACHED).
 * Not modelled: steal (and so the thread-local set of step 1, which only matters for a robbed
 *   hold), shared modes and other requests of an owner on the same name, several partitions,
 *   E_ORDER, strong counters, closeFast's capacity failure, the free lists and drainFreeLists'
 *   H_DRAIN mark (a free entry is an unlinked one; a sweep undone after a death leaves it linked,
 *   as the real allocator is refused then), the futex sleeps (a waiter's sleep is a guard on the
 *   state it waits for).
 */
#ifndef NW
#define NW 2
#endif
#define SW (NW + 1)
#define NTH (NW + 1)
#ifdef DIE_SWEEPER
#define DT SW
#else
#define DT 1
#endif
#ifdef RECYCLE
#define NS 2
#else
#define NS 1
#endif
#ifndef ROUNDS
#define ROUNDS 2
#endif
#define J 8

#define CLOSED 0
#define OPEN 7
#define KA 1
#define KB 2
#define WAITING 1
#define HOLDING 2

#define F(s) (s)
#define L(s) (NS + (s))
#define R(t) (2 * NS + (t) - 1)
#define NWORDS (2 * NS + NTH)

byte mem[NWORDS];
byte key[NS];
byte plock;
byte jlen;
byte jw[J];
byte jv[J];
bool jt[J];
bool dead[NTH + 1];
bool kill;
bool finDT;
byte incs[3];           /* ghost: live threads in a critical section, per name */
byte inK[NTH + 1];      /* ghost: the name whose critical section owner t is in (0 none) */
bool lost_hold;         /* set only just before an assertion fails (names it in pan's output) */
bool two_holders;

#define RS(t) (mem[R(t)] / 4)
#define RE(t) (mem[R(t)] % 4)
#define REC(st, s) ((st) * 4 + (s))
#define ON(t, s) (mem[R(t)] != 0 && RE(t) == (s))
#define HOLDS(t, s) (mem[R(t)] == REC(HOLDING, s))
#define ISTHR(v) ((v) >= 1 && (v) <= NTH)
#define B01(c) ((c) -> 1 : 0)

/* table exclusion, for the Monitor: holders of name k on entry s */
#define FH(s, k) B01(key[s] == (k) && ISTHR(mem[F(s)]))
#define RH(t, s, k) B01(key[s] == (k) && HOLDS(t, s))
#if NTH == 3
#define HS(s, k) (FH(s, k) + RH(1, s, k) + RH(2, s, k) + RH(3, s, k))
#define NREC(s) (B01(ON(1, s)) + B01(ON(2, s)) + B01(ON(3, s)))
#define DEADON(s) ((dead[1] && (ON(1, s) || mem[F(s)] == 1)) || (dead[2] && (ON(2, s) || mem[F(s)] == 2)) || (dead[3] && (ON(3, s) || mem[F(s)] == 3)))
#elif NTH == 4
#define HS(s, k) (FH(s, k) + RH(1, s, k) + RH(2, s, k) + RH(3, s, k) + RH(4, s, k))
#define NREC(s) (B01(ON(1, s)) + B01(ON(2, s)) + B01(ON(3, s)) + B01(ON(4, s)))
#define DEADON(s) ((dead[1] && (ON(1, s) || mem[F(s)] == 1)) || (dead[2] && (ON(2, s) || mem[F(s)] == 2)) || (dead[3] && (ON(3, s) || mem[F(s)] == 3)) || (dead[4] && (ON(4, s) || mem[F(s)] == 4)))
#endif
#if NS == 2
#define HK(k) (HS(0, k) + HS(1, k))
#else
#define HK(k) HS(0, k)
#endif
#define TABLE_EXCL (HK(KA) <= 1 && HK(KB) <= 1)

/* Reachability probes: -DPROBE=n makes point n an assertion violation (shows it is reached). */
#ifdef PROBE
#define REACHED(n) assert(PROBE != (n))
#else
#define REACHED(n) skip
#endif

/* ---- journal -------------------------------------------------------------------------------- */

inline jadd(w, v, tag) {
  assert(jlen < J);
  jw[jlen] = w; jv[jlen] = v; jt[jlen] = tag; jlen++
}
/* #set: journal (w, old), then store (one step, see the reduction) */
inline jset(w, v) {
  d_step { jadd(w, mem[w], 0); mem[w] = v }
}

/* After a failed CAS, its tagged pair is taken back (table.ts #unlog: J_LEN - 1, one store), so a
   close that retries uses one pair (-DOLD_KEEP_FAILED_PAIR: the first draft, which kept it). A
   death between the failed CAS and this leaves the pair, whose undo CAS cannot succeed (the word
   is not CLOSED unless this holder closes it, and then a newer pair restores it first). */
inline dropPair() {
#ifndef OLD_KEEP_FAILED_PAIR
  d_step { jlen--; jw[jlen] = 0; jv[jlen] = 0; jt[jlen] = 0 }
#else
  skip
#endif
}

/* ---- partition lock --------------------------------------------------------------------------- */

/* lockPartition: take the lock; from a dead holder: take over and undo its journal (#recover). */
inline lockP() {
  atomic { (plock == 0 || dead[plock]) -> took = (plock != 0); plock = me }
  if
  :: took ->
     i = jlen;
     do
     :: i > 0 ->
        d_step {
          i--;
          if
          :: jt[i] ->
#ifdef OLD_PLAIN_UNDO
             mem[jw[i]] = jv[i]
#else
             if
             :: mem[jw[i]] == CLOSED -> mem[jw[i]] = jv[i]; REACHED(jv[i] == OPEN -> 2 : 1)
             :: else -> REACHED(3)
             fi
#endif
          :: else -> mem[jw[i]] = jv[i]
          fi;
          jw[i] = 0; jv[i] = 0; jt[i] = 0
        }
     :: else -> break
     od;
     atomic { jlen = 0; took = false }
  :: else -> skip
  fi
}

/* #commit: the journal is emptied; no lost hold: every live thread in a critical section is a
   fast holder or a HOLD record on an entry of its name. */
inline commit() {
  d_step {
    i = 0;
    do :: i < jlen -> jw[i] = 0; jv[i] = 0; jt[i] = 0; i++ :: else -> break od;
    jlen = 0;
    i = 1;
    do
    :: i <= NTH ->
       if
       :: inK[i] != 0 && !dead[i] ->
          cv = 0;
          do
          :: cv < NS -> if :: key[cv] == inK[i] && (mem[F(cv)] == i || HOLDS(i, cv)) -> break :: else -> cv++ fi
          :: else -> break
          od;
#ifndef NO_LOST_HOLD_CHECK
          lost_hold = (cv == NS);
          assert(!lost_hold)
#endif
       :: else -> skip
       fi;
       i++
    :: else -> break
    od;
    i = 0; cv = 0
  }
}

/* #reopenFast: every listed entry still without a record: store OPEN */
inline reopen() {
  s2 = 0;
  do
  :: s2 < NS ->
     if
     :: (reo & (1 << s2)) != 0 -> d_step { if :: NREC(s2) == 0 -> mem[F(s2)] = OPEN :: else -> skip fi }
     :: else -> skip
     fi;
     s2++
  :: else -> break
  od;
  s2 = 0
}

inline unlockP() {
#ifdef OLD_REOPEN_BEFORE_COMMIT
  reopen();
  commit();
#else
  commit();
  reopen();
#endif
  d_step { assert(plock == me); plock = 0; reo = 0 }
}

/* ---- table steps (partition lock held) -------------------------------------------------------- */

/* close(e): loop { v = load; CLOSED: done; journal (E_FAST, v) tagged; CAS v -> CLOSED };
   a fast holder v becomes a record of owner v holding X. */
inline close(s) {
  do
  :: d_step { cv = mem[F(s)]; if :: cv != CLOSED -> jadd(F(s), cv, 1) :: else -> skip fi }
     if
     :: cv == CLOSED -> break
     :: else ->
        d_step { if :: mem[F(s)] == cv -> mem[F(s)] = CLOSED; ok = true :: else -> ok = false; REACHED(9) fi }
        if
        :: ok ->
           if
           :: cv != OPEN ->
              d_step { REACHED(dead[cv] -> 5 : 0); REACHED(cv == me -> 6 : 0) };
              assert(mem[R(cv)] == 0); jset(R(cv), REC(HOLDING, s))
           :: else -> skip
           fi;
           break
        :: else -> dropPair()
        fi
     fi
  od;
  atomic { cv = 0; ok = false }
}

/* After a record left or before a grant decision: reap dead owners' records on s (release them),
   hand over to the first waiter if nobody holds, and list s for reopening if it has no record. */
inline tidy(s) {
  d_step {
    i = 1;
    do
    :: i <= NTH -> if :: dead[i] && ON(i, s) -> jadd(R(i), mem[R(i)], 0); mem[R(i)] = 0 :: else -> skip fi; i++
    :: else -> break
    od;
    /* hand-over: nobody holds -> grant the first waiter */
    i = 1; cv = 0;
    do
    :: i <= NTH -> if :: HOLDS(i, s) -> cv = 9 :: cv == 0 && ON(i, s) -> cv = i :: else -> skip fi; i++
    :: else -> break
    od;
    if :: cv != 0 && cv != 9 -> jadd(R(cv), mem[R(cv)], 0); mem[R(cv)] = REC(HOLDING, s) :: else -> skip fi;
    if :: NREC(s) == 0 -> reo = reo | (1 << s) :: else -> skip fi;
    i = 0; cv = 0
  }
}

/* ---- operations ------------------------------------------------------------------------------ */

/* A table request of owner me for name k in X: got = granted (false only with no free entry). */
inline tableRequest(k) {
  lockP();
  d_step {
    s = 0;
    do
    :: s < NS && !(mem[L(s)] == 1 && key[s] == k) -> s++
    :: else -> break
    od
  }
  if
  :: s == NS ->               /* createEntry in the lowest free entry (it is CLOSED) */
     d_step {
       s = 0;
       do :: s < NS && mem[L(s)] == 1 -> s++ :: else -> break od;
       if
       :: s < NS -> assert(mem[F(s)] == CLOSED && NREC(s) == 0); key[s] = k; jadd(L(s), 0, 0); mem[L(s)] = 1
       :: else -> skip
       fi
     }
  :: else -> skip
  fi;
  if
  :: s == NS -> got = false; unlockP()      /* no entry left (capacity): gives up */
  :: else ->
     close(s);
     tidy(s);
     if
     :: NREC(s) == 0 -> jset(R(me), REC(HOLDING, s)); got = true
     :: else -> jset(R(me), REC(WAITING, s)); got = false
     fi;
     unlockP();
     do
     :: got -> break
     :: !got && (HOLDS(me, s) || DEADON(s) || (plock != 0 && dead[plock])) ->
        lockP();
        close(s);
        tidy(s);
        got = HOLDS(me, s);
        unlockP()
     od
  fi
}

/* Release of a table hold (the record of me on s). */
inline tableRelease() {
  lockP();
  close(s);
#ifndef NO_LOST_HOLD_CHECK
  d_step { lost_hold = !HOLDS(me, s); assert(!lost_hold) }
#endif
  if :: HOLDS(me, s) -> jset(R(me), 0) :: else -> skip fi;
  tidy(s);
  unlockP()
}

/* fastRelease(me, s) */
inline fastRelease() {
  d_step { if :: mem[F(s)] == me -> mem[F(s)] = OPEN; ok = true :: else -> ok = false fi }
  if
  :: ok -> ok = false
  :: else ->
     lockP();
#ifdef RELEASE_BY_NAME
     if
     :: !(mem[L(s)] == 1 && key[s] == want) -> skip      /* "robbed": gives up */
     :: else ->
#endif
     close(s);
#ifndef NO_LOST_HOLD_CHECK
     d_step { lost_hold = !HOLDS(me, s); assert(!lost_hold) }   /* no steal here: its record is there */
#endif
     if :: HOLDS(me, s) -> jset(R(me), 0) :: else -> skip fi;   /* none: "robbed", nothing to free */
     tidy(s);
#ifdef RELEASE_BY_NAME
     fi;
#endif
     unlockP()
  fi
}

inline enterCS(k) {
  d_step { inK[me] = k; incs[k]++; assert(incs[k] <= 1) }   /* mutual exclusion (live threads) */
}
inline leaveCS(k) {
  d_step { inK[me] = 0; incs[k]-- }
}

inline die() {
  d_step {
    if :: inK[me] != 0 -> incs[inK[me]]-- :: else -> skip fi;
    dead[me] = true
  }
}

proctype Worker(byte me) {
  byte s, s2, cv, i, reo, rd;
  byte want = KA;
  bool ok, took, got;
  {
    for (rd : 1 .. ROUNDS) {
      got = false;
      if
      :: if
         :: s = 0   /* fastTake on a cached entry (any entry: the cache may be stale) */
#if NS == 2
         :: s = 1
#endif
         fi;
         d_step { if :: mem[F(s)] == OPEN -> mem[F(s)] = me; ok = true :: else -> ok = false fi }
         if
         :: ok ->
#ifdef OLD_NO_KEYCHECK
            got = true
#else
            if
            :: key[s] == KA -> got = true
            :: else ->                          /* recycled for another name: give it back */
               d_step { REACHED(8); REACHED(mem[F(s)] != me -> 4 : 0) };
               fastRelease()
            fi
#endif
         :: else -> skip
         fi;
         ok = false;
         if
         :: got -> enterCS(KA); leaveCS(KA); fastRelease()
         :: else -> skip
         fi
      :: skip       /* straight to the table */
      fi;
      if
      :: !got ->
         tableRequest(KA);
         if
         :: got -> enterCS(KA); leaveCS(KA); tableRelease()
         :: else -> skip
         fi
      :: else -> skip
      fi;
      d_step { s = 0; got = false }
    }
    finDT = (me == DT)
  } unless { kill && me == DT -> die() }
}

proctype Sweeper() {
  byte me = SW;
  byte s, s2, cv, i, reo, rd;
  byte want = KB;
  bool ok, took, got;
  {
    /* #sweepEmptyEntries on entry 0 */
    lockP();
    d_step {
      if
      :: mem[L(0)] == 1 && NREC(0) == 0 ->
         cv = mem[F(0)];
         if :: cv == OPEN -> jadd(F(0), OPEN, 1) :: else -> skip fi
      :: else -> cv = 9      /* not linked, or has records: not empty */
      fi
    }
    if
    :: cv == OPEN -> d_step { if :: mem[F(0)] == OPEN -> mem[F(0)] = CLOSED; ok = true :: else -> ok = false; REACHED(7) fi }
    :: cv == CLOSED -> ok = true
    :: else -> ok = false    /* a fast holder has it (or not empty): stays */
    fi;
    if :: cv == OPEN && !ok -> dropPair() :: else -> skip fi;
    if :: ok -> jset(L(0), 0) :: else -> skip fi;
    d_step { cv = 0 };
    unlockP();
#ifdef RECYCLE
    if
    :: ok ->
       ok = false;
       for (rd : 1 .. 2) {
         tableRequest(KB);
         if
         :: got -> enterCS(KB); leaveCS(KB); tableRelease()
         :: else -> skip
         fi;
         d_step { s = 0; got = false }
       }
    :: else -> skip
    fi;
#endif
    finDT = (me == DT)
  } unless { kill && me == DT -> die() }
}

#ifdef DEATH
active proctype Killer() {
end_k:
  atomic { !finDT -> kill = true }
}
#endif

active proctype Monitor() {
end_m:
  atomic { !(TABLE_EXCL) -> two_holders = true; assert(!two_holders) }
}

init {
  byte t;
  atomic {
    /* entry 0: name A, linked, no record, OPEN (a name locked before and cached) */
    key[0] = KA; mem[L(0)] = 1; mem[F(0)] = OPEN;
    for (t : 1 .. NW) { run Worker(t) }
    run Sweeper()
  }
}
