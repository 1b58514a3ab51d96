/**
 * The exclusive-lock conformance suite (test/conformance/exclusive-suite.ts), run against every
 * exclusive lock. Cross-thread cases use real workers (test/harness/remote.ts).
 */
import { describe, expect, it } from 'vitest';
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

// Mutex and SpinLock take their kind from a static that WordLock's constructor reads through
// `new.target`: a user's subclass must still place and attach the kind it extends.
describe('a user subclass of Mutex or SpinLock', () => {
  // (Typed as Mutex: TypeScript cannot extend a union of classes; SpinLock has the same shape.)
  for (const Base of [Mutex, SpinLock] as (typeof Mutex)[]) {
    it(`of ${Base.name} places a ${Base.name}, attaches through from(), and refuses the other kind`, () => {
      class Sub extends Base {}
      const s = new Sub();
      expect(s.handle.kind).toBe(Base.name);
      const other = Base === Mutex ? new SpinLock() : new Mutex();
      expect(() => Sub.from(other.handle)).toThrow(TypeError);
      const a = Sub.from(s.handle);
      expect(a).toBeInstanceOf(Sub);
      expect(a.tryLock()).toBe(true);
      expect(s.tryLock()).toBe(false); // the same word
      a.unlock();
    });
  }
});
