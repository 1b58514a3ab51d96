#!/usr/bin/env bash
# Runs every Spin model of this folder: each protocol check must pass (0 errors, search complete),
# each negative control (a model of the old code, bugs 1-4 of issue 12) must FAIL, and each
# recorded finding (a bug of the current code that the models found) must still fail until its
# fix lands in src/ and in the model. Prints a table with state counts; exits non-zero on any
# unexpected result. Usage: models/run.sh [name-filter]   (needs spin and gcc)
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
filter="${1:-}"
command -v spin >/dev/null || { echo "models: spin is not installed (apt-get install -y spin)" >&2; exit 2; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp "$here"/*.pml "$work"/
cd "$work"

PAN_CFLAGS="-O2 -w -DCOLLAPSE -DVECTORSZ=2048 -DMEMLIM=${MODELS_MEMLIM_MB:-4096}"
PAN_RUN="-m2000000 -w24"
jobs_max="${MODELS_JOBS:-2}"
names=()
# check NAME FILE MODE EXPECT DEFINES...
#   MODE safety: assertions + invalid end states; np: non-progress cycles under weak fairness;
#        ltl: the model's ltl property under weak fairness.
#   EXPECT pass | control (must fail: old code) | finding (must fail: a bug of today's code)
check() {
  local name="$1"
  [[ -n "$filter" && "$name" != *"$filter"* ]] && return 0
  names+=("$name")
  while (( $(jobs -rp | wc -l) >= jobs_max )); do wait -n; done
  run_check "$@" &
}
run_check() {
  local name="$1" file="$2" mode="$3" expect="$4"; shift 4
  local dir="$work/$name"; mkdir -p "$dir"; cp "$work"/*.pml "$dir"/; cd "$dir"
  local cflags="$PAN_CFLAGS" runf="$PAN_RUN"
  case "$mode" in
    safety) cflags+=" -DSAFETY" ;;
    np) cflags+=" -DNP -DNFAIR=3"; runf+=" -l -f" ;;
    ltl) cflags+=" -DNFAIR=3"; runf+=" -a -f" ;;
  esac
  local t0=$SECONDS out result errors states
  if ! spin -a "$@" "$file" >spin.log 2>&1 || ! gcc $cflags -o pan pan.c >gcc.log 2>&1; then
    result="BUILD-ERROR"; errors="?"; states="-"
    cat spin.log gcc.log >&2
  else
    ./pan $runf >pan.log 2>&1
    errors="$(sed -n 's/.*errors: \([0-9]*\).*/\1/p' pan.log | tail -1)"
    states="$(sed -n 's/^ *\([0-9.e+]*\) states, stored.*/\1/p' pan.log | tail -1)"
    if grep -q -e 'reached -DMEMLIM' -e 'max search depth too small' -e 'out of memory' pan.log && [[ "$errors" == 0 ]]; then
      result="INCOMPLETE"
    elif [[ "$errors" == 0 ]]; then result="pass"
    elif [[ -n "$errors" ]]; then result="FAILS"
    else result="NO-RESULT"; fi
  fi
  local ok=0
  case "$expect:$result" in
    pass:pass|control:FAILS|finding:FAILS) ok=1 ;;
  esac
  local what="$result"
  if [[ "$result" == FAILS ]]; then
    what="FAILS ($(grep -m1 -o -e 'assertion violated.*(at' -e 'invalid end state' -e 'non-progress cycle' -e 'acceptance cycle' pan.log | sed 's/ (at$//'))"
  fi
  if (( ok )); then what="ok: $what"; else what="UNEXPECTED: $what"; touch unexpected; fi
  printf '%-34s %-6s %-8s %12s %8s  %s\n' "$name" "$mode" "$expect" "${states:--}" "$((SECONDS - t0))" "$what" >line
  if (( ! ok )); then tail -20 pan.log >>line; fi
}

# ---- Mutex / SpinLock word (mutex.pml) ----
check mutex-protocol           mutex.pml safety pass    -DNOSLICE
check mutex-full+death         mutex.pml safety pass    -DDEATH
check mutex-progress+death     mutex.pml np     pass    -DDEATH -DONE_EACH
check spinlock-full            mutex.pml safety pass    -DSPINLOCK
check spinlock-progress        mutex.pml np     pass    -DSPINLOCK
check control-bug2-death-early mutex.pml safety control -DDEATH -DOLD_DEATH_EARLY
# ---- RWLock (rwlock.pml) ----
check rwlock-protocol-wwr      rwlock.pml safety pass   -DNOSLICE
check rwlock-protocol-wrr      rwlock.pml safety pass   -DNOSLICE -DROLES_WRR
check rwlock-full-wrr          rwlock.pml safety pass   -DROLES_WRR
check rwlock-handoff-1thread   rwlock.pml safety pass   -DBUG1
check rwlock-handoff-progress  rwlock.pml np     pass   -DBUG1
check control-bug1-handoff-spin rwlock.pml np    control -DBUG1 -DOLD_HANDOFF_SPIN
check rwlock-writer-gets-in    rwlock.pml ltl    pass   -DBUG4
check control-bug4-parked-reader rwlock.pml ltl  control -DBUG4 -DOLD_PARKED_READER
check control-stale-handoff-steal rwlock.pml ltl control -DBUG4 -DOLD_CLEAR_HANDOFF
check rwlock-aborted-writer    rwlock.pml safety pass   -DAW
check rwlock-aborted-writer-progress rwlock.pml np pass -DAW
check control-aborted-writer-stuck rwlock.pml np control -DAW -DOLD_CLEAR_HANDOFF
# ---- Semaphore (semaphore.pml) ----
check semaphore-protocol-unit  semaphore.pml safety pass -DUNIT -DNOABORT -DOLD_UNBOUNDED
check semaphore-full-weighted  semaphore.pml safety pass
check semaphore-full-unit      semaphore.pml safety pass -DUNIT
check control-bug3-semaphore   semaphore.pml safety control -DUNIT -DOLD_UNBOUNDED
# ---- Condition (condition.pml) ----
check condition-full           condition.pml safety pass
check condition-progress       condition.pml np     pass
check control-bug3-condition   condition.pml safety control -DOLD_UNBOUNDED
check condition-notify1-count  condition.pml safety pass -DCOUNT
check control-condition-spurious-count condition.pml safety control -DCOUNT -DOLD_SPURIOUS
# ---- TicketLock (ticketlock.pml) ----
check ticketlock-full          ticketlock.pml safety pass
check ticketlock-death         ticketlock.pml safety pass -DDEATH
check control-ticket-double-serve ticketlock.pml safety control -DDEATH -DOLD_SERVE_ADD
check ticketlock-self-refuse   ticketlock.pml np     pass -DSELF
check control-ticket-self-deadlock ticketlock.pml np control -DSELF -DOLD_SELF_LOCK
# ---- SeqLock (seqlock.pml) ----
check seqlock-full             seqlock.pml safety pass
check seqlock-progress         seqlock.pml np     pass
# ---- Lock table E_FAST word, Web Locks fast path (webfast.pml) ----
check webfast-protocol         webfast.pml safety pass
check webfast-death            webfast.pml safety pass -DDEATH
check webfast-sweeper-death    webfast.pml safety pass -DDEATH -DDIE_SWEEPER
check webfast-3workers+death   webfast.pml safety pass -DDEATH -DNW=3 -DROUNDS=1
check webfast-recycle          webfast.pml safety pass -DRECYCLE
check webfast-recycle+death    webfast.pml safety pass -DRECYCLE -DDEATH
check webfast-recycle+sweeper-death webfast.pml safety pass -DRECYCLE -DDEATH -DDIE_SWEEPER
check webfast-3rounds+death     webfast.pml safety pass -DDEATH -DROUNDS=3
check control-webfast-reopen-before-commit webfast.pml safety control -DDEATH -DOLD_REOPEN_BEFORE_COMMIT
check control-webfast-plain-undo webfast.pml safety control -DDEATH -DOLD_PLAIN_UNDO
check control-webfast-no-keycheck webfast.pml safety control -DRECYCLE -DOLD_NO_KEYCHECK
check control-webfast-release-by-name webfast.pml safety control -DRECYCLE -DRELEASE_BY_NAME
check control-webfast-journal-growth webfast.pml safety control -DDEATH -DROUNDS=3 -DOLD_KEEP_FAILED_PAIR

wait
bad=0
printf '%-34s %-6s %-8s %12s %8s  %s\n' check mode expect states secs result
for n in "${names[@]}"; do
  if [[ -f "$work/$n/line" ]]; then cat "$work/$n/line"; else echo "$n: no result"; bad=$((bad + 1)); fi
  [[ -f "$work/$n/unexpected" ]] && bad=$((bad + 1))
done
if (( bad )); then echo "models: $bad unexpected result(s)"; exit 1; fi
echo "models: all results as expected"
