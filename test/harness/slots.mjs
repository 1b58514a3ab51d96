/**
 * Named control slots: a small Int32 buffer a test shares with its workers (piscina's
 * `symbols.ts` pattern: names, not `c[2]`). Every thread that enters a critical section under
 * test calls `enter`, and `leave` on the way out, so the test can check exclusion and count
 * acquisitions afterwards; `INSIDE` doubles as the "it holds the lock now" signal a test waits on.
 */
import { words } from './layout.mjs';

const SLOTS = words({
  INSIDE: 'threads inside the critical section now (0 or 1 under an exclusive lock)',
  ENTRIES: 'entries into the critical section so far',
  OVERLAPS: 'entries that found another thread inside: an exclusion violation each',
  SAW_OWNER_DIED: "entries that saw the lock's `ownerDied` set",
  RELEASE: 'set (and notified) by the test to end a `holdFor` early: the holder leaves at once',
});
export const { INSIDE, ENTRIES, OVERLAPS, SAW_OWNER_DIED, RELEASE } = SLOTS;
/** Slots in one control buffer. */
export const SLOT_COUNT = SLOTS.END;

/** A fresh, zeroed control buffer. */
export function newSlots() {
  return new Int32Array(new SharedArrayBuffer(4 * SLOT_COUNT));
}

/** Marks entry into the critical section; `ownerDied`: what the lock said on entry. */
export function enter(slots, ownerDied = false) {
  // The add is the check: a second thread inside sees the first one's increment.
  if (Atomics.add(slots, INSIDE, 1) !== 0) Atomics.add(slots, OVERLAPS, 1);
  Atomics.add(slots, ENTRIES, 1);
  if (ownerDied) Atomics.add(slots, SAW_OWNER_DIED, 1);
  // Wakes a test thread waiting for "someone holds it now" (it may also poll).
  Atomics.notify(slots, INSIDE);
}

/** Ends the holds waiting on `slots` (remote-worker.mjs `holdFor`). */
export function release(slots) {
  Atomics.store(slots, RELEASE, 1);
  Atomics.notify(slots, RELEASE);
}

/** Marks the way out of the critical section. */
export function leave(slots) {
  Atomics.sub(slots, INSIDE, 1);
}
