/** Uncontended lock + unlock on one thread: every exclusive lock beside the JS floor and C. */
export default {
  id: 'uncontended',
  title: 'Uncontended lock + unlock (one thread)',
  plan() {
    return [
      {
        key: 'uncontended/exclusive',
        title: 'Uncontended lock+unlock',
        unit: 'ns/op',
        cRef: 'c-pthread',
        jsRef: 'floor',
        rows: [
          ...['floor', 'js-futex', 'Mutex', 'SpinLock', 'TicketLock', 'Mutex.withLock', 'RWLock.read', 'RWLock.write'].map(
            (m) => ({ kind: 'micro', micro: m, label: m }),
          ),
          { kind: 'micro', micro: 'v8-mutex', label: 'v8-mutex', own: true },
          { kind: 'c', impl: 'c-futex', workload: 'uncontended', label: 'c-futex' },
          { kind: 'c', impl: 'c-pthread', workload: 'uncontended', label: 'c-pthread' },
        ],
      },
      {
        key: 'uncontended/async',
        title: 'Uncontended async acquire+release on the event loop',
        unit: 'ns/op',
        jsRef: 'async-mutex',
        rows: [
          { kind: 'micro', micro: 'async-mutex', label: 'async-mutex' },
          { kind: 'micro', micro: 'node-locks', label: 'node-locks' },
          { kind: 'micro', micro: 'Mutex.lockAsync', label: 'Mutex.lockAsync' },
          { kind: 'micro', micro: 'Mutex', label: 'Mutex' },
        ],
      },
    ];
  },
};
