/**
 * Worker ↔ worker wake-up round trip: two threads hand a turn back and forth, each sleeping until
 * woken (Atomics.wait/notify, a sablock Semaphore pair, Mutex + Condition notifying under the lock and after
 * unlocking it, the C futex). Reported as time per round trip, with sleeps per round trip.
 */
export default {
  id: 'wakeup',
  title: 'Wake-up round trip',
  plan() {
    return [
      {
        key: 'wakeup/pingpong',
        title: 'Worker ↔ worker wake-up round trip (2 threads, each sleeps until woken)',
        unit: 'ns/op',
        fromRate: true,
        cRef: 'c-futex',
        jsRef: 'js-futex',
        rows: ['js-futex', 'Semaphore', 'Condition', 'Condition.unlockFirst', 'c-futex'].map((impl) => ({ impl, label: impl, workload: 'pingpong', threads: 2, params: {} })),
      },
    ];
  },
};
