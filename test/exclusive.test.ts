/**
 * The exclusive-lock conformance suite (test/conformance/exclusive-suite.ts), run against every
 * exclusive lock. Cross-thread cases use real workers (test/harness/remote.ts).
 */
import { Mutex, SpinLock, TicketLock } from '../dist/index.js';
import { exclusiveSuite, type ExclusiveLockClass } from './conformance/exclusive-suite.js';

const locks: { kind: string; Lock: ExclusiveLockClass }[] = [
  { kind: 'Mutex', Lock: Mutex },
  { kind: 'SpinLock', Lock: SpinLock },
  { kind: 'TicketLock', Lock: TicketLock },
];

for (const { kind, Lock } of locks) {
  exclusiveSuite(
    kind,
    Lock,
    locks.filter((l) => l.kind !== kind),
  );
}
