import { describe, expect, it } from 'vitest';
import { Condition, Mutex, RWLock, Semaphore, SpinLock, TicketLock } from '../dist/index.js';

// Every fixed-size kind: a Mutex placed on its last word must be refused (the placement would
// turn that state word into a tag), and one placed just past its end must fit.
const kinds = [
  ['Mutex', Mutex, (o: object) => new Mutex(o)],
  ['SpinLock', SpinLock, (o: object) => new SpinLock(o)],
  ['TicketLock', TicketLock, (o: object) => new TicketLock(o)],
  ['RWLock', RWLock, (o: object) => new RWLock(o)],
  ['Semaphore', Semaphore, (o: object) => new Semaphore(1, o)],
  ['Condition', Condition, (o: object) => new Condition(o)],
] as const;

describe('placement overlap check knows every fixed size', () => {
  for (const [name, Cls, make] of kinds) {
    it(`${name}: refuses a neighbour on its last word, accepts one right after it`, () => {
      const buffer = new SharedArrayBuffer(1024);
      make({ buffer, byteOffset: 0 });
      const last = Cls.BYTE_LENGTH - 4;
      expect(() => new Mutex({ buffer, byteOffset: last })).toThrow(/byteOffset/);
      expect(() => new Mutex({ buffer, byteOffset: Cls.BYTE_LENGTH })).not.toThrow();
    });
  }
});
