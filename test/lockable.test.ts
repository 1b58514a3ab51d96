/**
 * The exclusive-lock conformance suite (test/conformance/exclusive-suite.ts) over the locks and
 * lock views that are not exclusive-lock classes themselves, through the adapters in
 * test/conformance/adapters.ts: RWLock's write side (its methods, and its `writer` view) and a
 * one-permit Semaphore with trackOwners. Where one differs, its profile names the capability it
 * lacks and the suite skips those cases for it, with the reason in the test name.
 */
import { Mutex, SpinLock, TicketLock } from '../dist/index.js';
import { ADAPTED } from './conformance/adapters.js';
import { exclusiveSuite, type ExclusiveLockClass } from './conformance/exclusive-suite.js';

/** Classes of other kinds, for the "placed where another kind lives" cases. */
const OTHERS: { kind: string; Lock: ExclusiveLockClass }[] = [
  { kind: 'Mutex', Lock: Mutex },
  { kind: 'SpinLock', Lock: SpinLock },
  { kind: 'TicketLock', Lock: TicketLock },
];

for (const { kind, Lock, profile } of ADAPTED) exclusiveSuite(kind, Lock, OTHERS, profile);
