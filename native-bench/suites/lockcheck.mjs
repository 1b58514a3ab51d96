/**
 * Cost of the lock-order checker on the uncontended Mutex: off (must cost nothing measurable next
 * to the same Mutex built without the hook branches, native-bench/build/nohooks) and on (`lockcheck.enable({ onViolation: 'warn' })` and
 * SABLOCK_CHECK=1, in a process of its own since the checker is per process).
 */
export default {
  id: 'lockcheck',
  title: 'Lock-order checker cost',
  plan() {
    return [
      {
        key: 'lockcheck/uncontended',
        title: 'Uncontended Mutex lock+unlock, lock-order checker off / on',
        unit: 'ns/op',
        jsRef: 'js-futex (no hooks)',
        rows: [
          { kind: 'micro', micro: 'js-futex', label: 'js-futex (no hooks)', group: 'check-off' },
          { kind: 'micro', micro: 'Mutex.nohooks', label: 'Mutex (build without hooks)', group: 'check-off' },
          { kind: 'micro', micro: 'Mutex', label: 'Mutex (checker off)', group: 'check-off' },
          { kind: 'micro', micro: 'js-futex', label: 'js-futex (checker on)', group: 'check-on', lockcheck: 'warn' },
          { kind: 'micro', micro: 'Mutex', label: 'Mutex (checker on)', group: 'check-on', lockcheck: 'warn' },
        ],
      },
    ];
  },
};
