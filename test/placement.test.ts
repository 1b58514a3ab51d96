/**
 * The placement suite (test/conformance/placement-suite.ts) over the primitives that are not
 * exclusive locks: Semaphore, SeqLock, Condition and LockManager. (Mutex, SpinLock, TicketLock,
 * RWLock and a one-permit Semaphore run the exclusive suite's placement cases: exclusive.test.ts,
 * lockable.test.ts.)
 */
import { Condition, LockManager, Semaphore, SeqLock, type Handle, type LockManagerHandle, type SeqLockHandle } from '../dist/index.js';
import { placementSuite, type Placed } from './conformance/placement-suite.js';

/** `options` plus `extra` when it is an object; anything else goes through as it is (to be refused). */
const plus = (options: unknown, extra: object): unknown =>
  options === undefined ? extra : options !== null && typeof options === 'object' ? { ...extra, ...options } : options;

placementSuite({
  kind: 'Semaphore',
  size: Semaphore.BYTE_LENGTH,
  make: (o) => new Semaphore(5, o as never),
  from: (h) => Semaphore.from(h),
  // Permits are anonymous here (no trackOwners): any object may take one.
  bump: (p) => void (p as Semaphore).tryAcquire(),
  read: (p) => (p as Semaphore).available(),
});

placementSuite({
  kind: 'SeqLock',
  size: SeqLock.byteLengthFor(8),
  make: (o) => new SeqLock(plus(o, { dataByteLength: 8 }) as never),
  from: (h) => SeqLock.from(h as SeqLockHandle),
  bump: (p) => (p as SeqLock).write((v) => v.setInt32(0, v.getInt32(0) + 1)),
  read: (p) => (p as SeqLock).read((v) => v.getInt32(0)),
  lacks: {
    // core/layout.ts: variable-size kinds are not in KIND_BYTES, so the backward scan cannot see
    // that an earlier SeqLock reaches this offset; a SeqLock placed on a fresh neighbour's zero SEQ
    // word is accepted and corrupts both (reported in the issue-14 suites report; not fixed here).
    overlapCheck: 'known gap: a placement inside a SeqLock whose words there are still zero is not refused (core/layout.ts KIND_BYTES lists fixed sizes only)',
  },
});

placementSuite({
  kind: 'Condition',
  size: Condition.BYTE_LENGTH,
  make: (o) => new Condition(o as never),
  from: (h) => Condition.from(h),
  // No state visible without a waiter: the "same one" checks rest on the handle and placement.
});

let resource = 0;
placementSuite({
  kind: 'LockManager',
  size: LockManager.byteLengthFor({ capacity: 16 }),
  make: (o) => new LockManager(plus(o, { capacity: 16 }) as never) as unknown as Placed,
  from: (h: Handle) => LockManager.from(h as LockManagerHandle) as unknown as Placed,
  // Holds are visible to every view of the table (query()).
  bump: (p) => void (p as unknown as LockManager).tryAcquire(['placed', resource++], 'S'),
  read: (p) => (p as unknown as LockManager).query().resources.length,
});
