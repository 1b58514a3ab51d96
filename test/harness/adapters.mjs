/**
 * Lock adapters for the stress and remote workers: `adapters[kind](handle, lib)` turns a handle
 * into an object with the exclusive-lock protocol the workers drive:
 *
 *   lock(): unknown            blocking acquisition
 *   unlock(): void
 *   tryLock(ms?): boolean      ms omitted: never waits
 *   lockAsync(opts?): Promise  on the event loop
 *
 * sablock's exclusive locks implement it as they are. Another primitive plugs into the same
 * harness with its own adapter module (passed as `adapters` to `runStress`/`RemoteThread.start`),
 * e.g. an RWLock's write side: `{ lock: () => rw.writeLock(), unlock: () => rw.writeUnlock(),
 * tryLock: (ms) => rw.tryWriteLock(ms), lockAsync: (o) => rw.writeLockAsync(o) }`, or a
 * Semaphore(1) through acquire/release. Extra methods the adapter exposes can be called through
 * `RemoteThread.call`.
 */
export const adapters = {
  Mutex: (handle, lib) => lib.Mutex.from(handle),
  SpinLock: (handle, lib) => lib.SpinLock.from(handle),
  TicketLock: (handle, lib) => lib.TicketLock.from(handle),
};
