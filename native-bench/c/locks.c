/*
 * C reference locks for sablock's benchmark: the same scenarios the JS suites run
 * (native-bench/lib/worker.mjs), so a JS row and a C row of one table measure the same loop.
 *
 *   locks <workload> <impl> <threads> <inside> <outside> <readPct> <writers> <durationMs> <rounds>
 *
 * workload  exclusive | rw | seq | pingpong | uncontended
 * impl      exclusive/uncontended: pthread | futex | ttas;  rw: rwlock | pthread;  seq: seqlock;
 *           pingpong: futex
 * Prints one JSON line: {"samples":[ops/s per round], "check":"ok"|"...", "extra":[...], "sleeps":[voluntary context
 *   switches of the process per operation, per round]}
 * (uncontended: samples are ns per lock+unlock). Round 0 is a warm-up and is not reported.
 *
 * Work units: one step of x = x*1103515245 + 12345 (32-bit), with a compiler barrier so the loop
 * is kept, as in the JS harness (Math.imul).
 */
#define _GNU_SOURCE
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define PAD 128
#define MAXT 1024

static inline uint32_t work(uint32_t x, int n) {
  for (int i = 0; i < n; i++) {
    x = x * 1103515245u + 12345u;
    __asm__ volatile("" : "+r"(x));
  }
  return x;
}

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ volatile("yield");
#endif
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static long futex(atomic_int *uaddr, int op, int val) {
  return syscall(SYS_futex, (int *)uaddr, op, val, NULL, NULL, 0);
}

/* ---- Locks, each on its own cache lines ---- */

/* Drepper, "Futexes Are Tricky", mutex3 (as glibc's lowlevellock): 0 free, 1 locked, 2 locked with waiters. */
static inline void futex_lock(atomic_int *w) {
  int c = 0;
  if (atomic_compare_exchange_strong(w, &c, 1)) return;
  if (c != 2) c = atomic_exchange(w, 2);
  while (c != 0) {
    futex(w, FUTEX_WAIT_PRIVATE, 2);
    c = atomic_exchange(w, 2);
  }
}
/* Release as glibc's lll_unlock does: one exchange to 0; wake one if there were waiters. (Drepper's
 * atomic decrement works the same, but a CAS followed by a locked decrement of the same word is
 * several times slower than CAS + exchange on some CPUs.) */
static inline void futex_unlock(atomic_int *w) {
  if (atomic_exchange(w, 0) == 2) futex(w, FUTEX_WAKE_PRIVATE, 1);
}

/* Test-and-test-and-set with PAUSE. */
static inline void ttas_lock(atomic_int *w) {
  for (;;) {
    int c = 0;
    if (atomic_compare_exchange_weak_explicit(w, &c, 1, memory_order_acquire, memory_order_relaxed)) return;
    while (atomic_load_explicit(w, memory_order_relaxed) != 0) cpu_relax();
  }
}
static inline void ttas_unlock(atomic_int *w) { atomic_store_explicit(w, 0, memory_order_release); }

static struct {
  _Alignas(PAD) pthread_mutex_t pm;
  _Alignas(PAD) pthread_rwlock_t rw;
  _Alignas(PAD) atomic_int word;
  _Alignas(PAD) atomic_uint seq;
  _Alignas(PAD) atomic_int seqw;
  _Alignas(PAD) long a, b; /* protected data (exclusive: a counts, b marks who is inside) */
  _Alignas(PAD) double rec[8]; /* seqlock record (64 bytes) */
  _Alignas(PAD) atomic_int go;
  _Alignas(PAD) atomic_int stop;
} S;

static struct {
  _Alignas(PAD) long ops, ops2, torn;
} counts[MAXT];

static const char *workload, *impl;
static int threads, inside, outside, readPct, writers, durationMs, rounds;
static int implId; /* 0 pthread, 1 futex, 2 ttas, 3 rwlock, 4 seqlock */

static inline void xlock(void) {
  switch (implId) {
    case 0: pthread_mutex_lock(&S.pm); break;
    case 1: futex_lock(&S.word); break;
    default: ttas_lock(&S.word); break;
  }
}
static inline void xunlock(void) {
  switch (implId) {
    case 0: pthread_mutex_unlock(&S.pm); break;
    case 1: futex_unlock(&S.word); break;
    default: ttas_unlock(&S.word); break;
  }
}

static void wait_go(void) {
  while (!atomic_load(&S.go)) cpu_relax();
}

static void *exclusive_thread(void *arg) {
  long me = (long)arg, n = 0, overlaps = 0;
  volatile long *mark = &S.b;
  uint32_t x = (uint32_t)me * 7919u + 1;
  wait_go();
  while (!atomic_load_explicit(&S.stop, memory_order_relaxed)) {
    for (int k = 0; k < 8; k++) {
      xlock();
      /* the same checks as the JS loop: the mark must be clear on entry and ours on exit */
      if (*mark != 0) overlaps++;
      *mark = me + 1;
      S.a++;
      x = work(x, inside);
      if (*mark != me + 1) overlaps++;
      *mark = 0;
      xunlock();
      x = work(x, outside);
    }
    n += 8;
  }
  counts[me].ops = n;
  counts[me].torn = overlaps + (x == 0xdeadbeef); /* keep x alive */
  return NULL;
}

static void *rw_thread(void *arg) {
  long me = (long)arg, n = 0, w = 0, torn = 0;
  uint32_t x = (uint32_t)me * 7919u + 1;
  unsigned char pattern[100];
  for (int i = 0; i < 100; i++) pattern[i] = ((i * 37 + me * 11) % 100) < readPct;
  wait_go();
  int j = 0;
  while (!atomic_load_explicit(&S.stop, memory_order_relaxed)) {
    for (int k = 0; k < 8; k++) {
      if (pattern[j]) {
        if (implId == 3) pthread_rwlock_rdlock(&S.rw); else pthread_mutex_lock(&S.pm);
        long a = *(volatile long *)&S.a, b = *(volatile long *)&S.b;
        if (a != -b) torn++;
        x = work(x, inside);
        if (implId == 3) pthread_rwlock_unlock(&S.rw); else pthread_mutex_unlock(&S.pm);
      } else {
        if (implId == 3) pthread_rwlock_wrlock(&S.rw); else pthread_mutex_lock(&S.pm);
        S.a++;
        S.b--;
        x = work(x, inside);
        w++;
        if (implId == 3) pthread_rwlock_unlock(&S.rw); else pthread_mutex_unlock(&S.pm);
      }
      if (++j == 100) j = 0;
      x = work(x, outside);
    }
    n += 8;
  }
  counts[me].ops = n;
  counts[me].ops2 = w;
  counts[me].torn = torn + (x == 0xdeadbeef);
  return NULL;
}

/* Seqlock (Linux seqcount + writer spinlock); record = 8 doubles, all equal when consistent. */
static void *seq_thread(void *arg) {
  long me = (long)arg, n = 0, torn = 0;
  uint32_t x = (uint32_t)me * 7919u + 1;
  double v = 0;
  wait_go();
  if (me < writers) {
    while (!atomic_load_explicit(&S.stop, memory_order_relaxed)) {
      ttas_lock(&S.seqw);
      unsigned s = atomic_load_explicit(&S.seq, memory_order_relaxed);
      atomic_store_explicit(&S.seq, s + 1, memory_order_relaxed);
      atomic_thread_fence(memory_order_release);
      v += 1;
      for (int i = 0; i < 8; i++) __atomic_store_n((long *)&S.rec[i], *(long *)&v, __ATOMIC_RELAXED);
      atomic_store_explicit(&S.seq, s + 2, memory_order_release);
      ttas_unlock(&S.seqw);
      x = work(x, outside);
      n++;
    }
    counts[me].ops2 = n;
  } else {
    while (!atomic_load_explicit(&S.stop, memory_order_relaxed)) {
      for (int k = 0; k < 8; k++) {
        long r[8];
        unsigned s1, s2;
        do {
          while ((s1 = atomic_load_explicit(&S.seq, memory_order_acquire)) & 1) cpu_relax();
          for (int i = 0; i < 8; i++) r[i] = __atomic_load_n((long *)&S.rec[i], __ATOMIC_RELAXED);
          atomic_thread_fence(memory_order_acquire);
          s2 = atomic_load_explicit(&S.seq, memory_order_relaxed);
        } while (s1 != s2);
        for (int i = 1; i < 8; i++) if (r[i] != r[0]) torn++;
        x = work(x, outside);
      }
      n += 8;
    }
    counts[me].ops = n;
  }
  counts[me].torn = torn + (x == 0xdeadbeef);
  return NULL;
}

/* Wake-up round trip: thread 0 sets the word to 1 and wakes; thread 1 sets it back to 0 and wakes. */
static void *pingpong_thread(void *arg) {
  long me = (long)arg, n = 0;
  atomic_int *w = &S.word;
  wait_go();
  if (me == 0) {
    while (!atomic_load(&S.stop)) {
      atomic_store(w, 1);
      futex(w, FUTEX_WAKE_PRIVATE, 1);
      while (atomic_load(w) == 1) futex(w, FUTEX_WAIT_PRIVATE, 1);
      n++;
    }
    atomic_store(w, 2); /* release the partner for good */
    futex(w, FUTEX_WAKE_PRIVATE, 1);
  } else {
    for (;;) {
      int c;
      while ((c = atomic_load(w)) == 0) futex(w, FUTEX_WAIT_PRIVATE, 0);
      if (c == 2) break;
      atomic_store(w, 0);
      futex(w, FUTEX_WAKE_PRIVATE, 1);
    }
  }
  counts[me].ops = n;
  return NULL;
}

static double uncontended_ns(void) {
  const long N = 2000000;
  double t0 = now_s();
  for (long i = 0; i < N; i++) {
    xlock();
    S.a++;
    xunlock();
  }
  return (now_s() - t0) * 1e9 / N;
}

int main(int argc, char **argv) {
  if (argc != 10) {
    fprintf(stderr, "usage: locks workload impl threads inside outside readPct writers durationMs rounds\n");
    return 2;
  }
  workload = argv[1];
  impl = argv[2];
  threads = atoi(argv[3]);
  inside = atoi(argv[4]);
  outside = atoi(argv[5]);
  readPct = atoi(argv[6]);
  writers = atoi(argv[7]);
  durationMs = atoi(argv[8]);
  rounds = atoi(argv[9]);
  if (threads < 1 || threads > MAXT) return 2;
  if (!strcmp(impl, "pthread")) implId = 0;
  else if (!strcmp(impl, "futex")) implId = 1;
  else if (!strcmp(impl, "ttas")) implId = 2;
  else if (!strcmp(impl, "rwlock")) implId = 3;
  else if (!strcmp(impl, "seqlock")) implId = 4;
  else { fprintf(stderr, "unknown impl %s\n", impl); return 2; }
  pthread_mutex_init(&S.pm, NULL);
  pthread_rwlock_init(&S.rw, NULL);

  void *(*fn)(void *);
  if (!strcmp(workload, "exclusive")) fn = exclusive_thread;
  else if (!strcmp(workload, "rw")) fn = rw_thread;
  else if (!strcmp(workload, "seq")) fn = seq_thread;
  else if (!strcmp(workload, "pingpong")) { fn = pingpong_thread; threads = 2; }
  else if (!strcmp(workload, "uncontended")) {
    printf("{\"samples\":[");
    for (int r = 0; r <= rounds; r++) {
      double ns = uncontended_ns();
      if (r) printf("%s%.4f", r > 1 ? "," : "", ns);
    }
    printf("],\"check\":\"ok\"}\n");
    return 0;
  } else { fprintf(stderr, "unknown workload %s\n", workload); return 2; }

  long totalOps = 0, totalWrites = 0, torn = 0;
  printf("{\"samples\":[");
  double extra[64], sleeps[64];
  int nextra = 0, nsleeps = 0;
  for (int r = 0; r <= rounds; r++) {
    pthread_t t[MAXT];
    memset(counts, 0, sizeof counts);
    atomic_store(&S.go, 0);
    atomic_store(&S.stop, 0);
    atomic_store(&S.word, 0);
    for (long i = 0; i < threads; i++) pthread_create(&t[i], NULL, fn, (void *)i);
    usleep(2000);
    /* Voluntary context switches of the whole process: every futex sleep of a worker is one. */
    struct rusage ru0, ru1;
    getrusage(RUSAGE_SELF, &ru0);
    double t0 = now_s();
    atomic_store(&S.go, 1);
    usleep(durationMs * 1000);
    atomic_store(&S.stop, 1);
    double t1 = now_s();
    for (int i = 0; i < threads; i++) pthread_join(t[i], NULL);
    getrusage(RUSAGE_SELF, &ru1);
    long ops = 0, ops2 = 0;
    for (int i = 0; i < threads; i++) {
      ops += counts[i].ops;
      ops2 += counts[i].ops2;
      torn += counts[i].torn;
    }
    totalOps += ops;
    totalWrites += ops2;
    if (r) {
      printf("%s%.1f", r > 1 ? "," : "", ops / (t1 - t0));
      if (nextra < 64) extra[nextra++] = ops2 / (t1 - t0);
      if (nsleeps < 64) sleeps[nsleeps++] = ops ? (double)(ru1.ru_nvcsw - ru0.ru_nvcsw) / ops : 0;
    }
  }
  printf("],\"extra\":[");
  for (int i = 0; i < nextra; i++) printf("%s%.1f", i ? "," : "", extra[i]);
  printf("],\"sleeps\":[");
  for (int i = 0; i < nsleeps; i++) printf("%s%.6f", i ? "," : "", sleeps[i]);
  const char *check = "ok";
  char buf[128];
  if (!strcmp(workload, "exclusive") && (S.a != totalOps || torn)) {
    snprintf(buf, sizeof buf, "lost updates: %ld of %ld; overlapping critical sections %ld", totalOps - S.a, totalOps, torn);
    check = buf;
  } else if (!strcmp(workload, "rw") && (S.a != totalWrites || torn)) {
    snprintf(buf, sizeof buf, "writes %ld/%ld, torn reads %ld", S.a, totalWrites, torn);
    check = buf;
  } else if (!strcmp(workload, "seq") && torn) {
    snprintf(buf, sizeof buf, "torn reads %ld", torn);
    check = buf;
  }
  printf("],\"check\":\"%s\"}\n", check);
  return 0;
}
