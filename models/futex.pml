/*
 * futex.pml: shared model of the JS futex layer used by every model in this folder.
 *
 * Mirrors src/core/futex.ts (waitUntil, waitAsyncUntil, wake) over V8's Atomics.wait /
 * Atomics.waitAsync / Atomics.notify:
 *  - one FIFO wait list per address, holding sync (Atomics.wait) and async (waitAsync) waiters
 *    alike; notify(a, count) wakes the first `count` entries of a's list, whatever their kind;
 *  - the value check and the enqueue of a wait are one atomic step (V8 does both under the
 *    futex lock), as is a notify;
 *  - a bounded sleep (a slice, a RECHECK_MS cap, a caller's deadline) is modelled as a
 *    nondeterministic wake-up with 'timed-out' that removes the waiter from the list;
 *  - tasks and threads: every model process is a *task* of a JS thread (THR(t)); a task runs only
 *    while it holds its thread's token (running[]), and gives the token up only at an await. A sync
 *    wait or a spin loop keeps the token, so nothing else of that thread runs meanwhile (its event
 *    loop is blocked);
 *  - an async wait that is aborted stays queued (waitAsync cannot be withdrawn): its list entry is
 *    renamed to the task's "leftover" entry (id t + NT). If a notify later reaches the leftover, the
 *    thread's forwarder (proctype Fwd, the `.then` in waitAsyncUntil) runs the primitive's
 *    FORWARD(addr) only when it gets the thread's token, i.e. when that thread's event loop runs.
 *    A leftover never times out (the worst case: an abort with no deadline).
 *
 * A model defines before including this file: NT (tasks), NA (addresses), THR(t) (thread of task
 * t), NTHR (threads), and after it an inline FORWARD(t, a) (scratch: fs, fseen, fn, fb1-3), then
 * #include "fwd.pml" for the forwarder processes and the tasks.
 */
#define NW (2*NT)          /* wait entries: t = task t's own wait, t+NT = its aborted leftover */
#define QL NW              /* capacity of one address's list */
#define ALL 255            /* notify(Infinity) */

#define W_IDLE    0
#define W_QUEUED  1
#define W_OK      2

#define R_OK       0
#define R_NOTEQUAL 1
#define R_TIMEDOUT 2
#define R_ABORTED  3

int  mem[NA];              /* the shared Int32 words */
byte q[NA*QL];             /* per-address FIFO wait lists */
byte ql[NA];
byte wst[NW];              /* entry state */
byte waddr[NW];            /* address an entry waits on */
byte running[NTHR];        /* task+1 holding the thread's token, 0 = its event loop is idle */

hidden byte fx_i, fx_w, fx_a;

inline fx_remove_at(a, pos) {
  fx_i = pos;
  do
  :: fx_i + 1 < ql[a] -> q[a*QL + fx_i] = q[a*QL + fx_i + 1]; fx_i++
  :: else -> break
  od;
  ql[a]--;
  q[a*QL + ql[a]] = 0;
  fx_i = 0
}

inline fx_find(a, w) {
  fx_i = 0;
  do
  :: fx_i < ql[a] && q[a*QL + fx_i] != w -> fx_i++
  :: else -> break
  od
}

/* Atomics.notify(mem[a], cnt): wakes the first cnt entries of a's list; n = how many. */
inline fx_notify(a, cnt, n) {
  d_step {
    n = 0;
    do
    :: n < cnt && ql[a] > 0 ->
       fx_w = q[a*QL];
       fx_remove_at(a, 0);
       wst[fx_w] = W_OK;
#ifdef NOTIFY_HOOK
       NOTIFY_HOOK(fx_w);
#endif
       n++
    :: else -> break
    od;
    fx_w = 0
  }
}

/* Atomics.wait(mem[a], exp) by task t: keeps the thread's token (the thread is blocked).
   bounded: the sleep has a deadline (it may end 'timed-out' at any moment). */
inline fx_wait(t, a, exp, bounded, r) {
  d_step {
    if
    :: mem[a] == exp -> q[a*QL + ql[a]] = t; ql[a]++; wst[t] = W_QUEUED; waddr[t] = a; r = R_OK
    :: else -> r = R_NOTEQUAL
    fi
  }
  if
  :: r == R_OK ->
     if
     :: d_step { wst[t] == W_OK -> wst[t] = W_IDLE }
     :: d_step { (bounded) && wst[t] == W_QUEUED -> fx_find(a, t); fx_remove_at(a, fx_i); wst[t] = W_IDLE; r = R_TIMEDOUT }
     fi
  :: else -> skip
  fi
}

#define TOKEN(t)    atomic { running[THR(t)] == 0 -> running[THR(t)] = t + 1 }
#define UNTOKEN(t)  running[THR(t)] = 0

/* -DEVENT_LOOP_FIFO (a model with NT == 3 defines it where it needs it): a task whose await has
   completed is "ready" (rdy) until it gets its thread's token, and a slice of another task of the
   same thread cannot run out meanwhile. The event loop runs ready continuations in order (timers
   fire after what is already queued); without this, weak fairness lets one task's slice timers
   take the token again and again ahead of a task of the same thread that was woken first (its
   TOKEN is enabled only intermittently, so weak fairness does not force it). */
#ifdef EVENT_LOOP_FIFO
bool rdy[NT];
#define OTHER_READY(t) ((t != 0 && rdy[0] && THR(0) == THR(t)) || (t != 1 && rdy[1] && THR(1) == THR(t)) || (t != 2 && rdy[2] && THR(2) == THR(t)))
#define SET_READY(t) rdy[t] = true
#define TOKEN_READY(t) atomic { running[THR(t)] == 0 -> running[THR(t)] = t + 1; rdy[t] = false }
#else
#define OTHER_READY(t) false
#define SET_READY(t) skip
#define TOKEN_READY(t) TOKEN(t)
#endif

/* Atomics.waitAsync(mem[a], exp) by task t, awaited: the token is free while it waits.
   mayAbort: its signal may abort it now (then it stays queued as the leftover t+NT, if the task has
   no leftover yet). The caller's code after the await runs once the task has the token again. */
inline fx_wait_async(t, a, exp, bounded, mayAbort, r) {
  d_step {
    if
    :: mem[a] == exp -> q[a*QL + ql[a]] = t; ql[a]++; wst[t] = W_QUEUED; waddr[t] = a; r = R_OK
    :: else -> r = R_NOTEQUAL
    fi
  }
  UNTOKEN(t);
  if
  :: r == R_OK ->
     if
     :: d_step { wst[t] == W_OK -> wst[t] = W_IDLE; SET_READY(t) }
     :: d_step { (bounded) && wst[t] == W_QUEUED && !OTHER_READY(t) -> fx_find(a, t); fx_remove_at(a, fx_i); wst[t] = W_IDLE; r = R_TIMEDOUT; SET_READY(t) }
     :: d_step { (mayAbort) && wst[t] == W_QUEUED && wst[t+NT] == W_IDLE ->
                 fx_find(a, t); q[a*QL + fx_i] = t + NT; fx_i = 0;
                 wst[t+NT] = W_QUEUED; waddr[t+NT] = a; wst[t] = W_IDLE; r = R_ABORTED }
     fi
  :: else -> SET_READY(t)      /* 'not-equal': the promise is already settled */
  fi;
  TOKEN_READY(t)
}

/* Atomics.compareExchange / add / sub / and / or / load as single atomic steps. */
#define CAS(A, OLD, NEW, SEEN) d_step { SEEN = mem[A]; if :: SEEN == (OLD) -> mem[A] = (NEW) :: else -> skip fi }
#define LOAD(A, V)  V = mem[A]
