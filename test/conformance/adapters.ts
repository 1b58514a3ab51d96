/**
 * Main-thread adapters: each presents one lock, or one side of a lock, as the instance and class
 * the conformance suites drive (`ExclusiveLockInstance`/`ExclusiveLockClass` of
 * exclusive-suite.ts), with the `SuiteProfile` that says where it differs from Mutex. Their
 * worker-side halves are in remote-adapters.mjs under the same kind.
 *
 * An adapter only renames: every call goes to the lock's own method (writeLock, acquire, …),
 * and every guard is the lock's own guard (wrapped only to give PermitGuard an `unlock`).
 *
 * Not adapted here:
 * - SeqLock's writers' lock: scoped only (`write(fn)`, `writeAsync(fn)`), no lock()/unlock()/guard;
 *   it runs the owner-death suite, whose critical sections are scoped.
 * - LockManager's X on one path: acquisitions are per owner and re-entrant (a second `acquire` by
 *   the holding thread succeeds rather than waiting or throwing), a release needs the handle of
 *   the acquisition (no `unlock()` by another thread to refuse), and "is it locked" is a query.
 *   Nearly every case of the exclusive suite would be a named exception; it runs the owner-death
 *   and abort/timeout suites instead (worker side: remote-adapters.mjs 'LockManager:X').
 */
import { PermitGuard, RWLock, RWLockGuard, Semaphore, type Handle, type Lockable, type PlacementOptions, type WaitOptions } from '../../dist/index.js';
import type { ExclusiveLockClass, ExclusiveLockInstance, SuiteGuard, SuiteProfile } from './exclusive-suite.js';
import type { SharedGuard, SharedLockInstance, SharedSubject } from './shared-suite.js';

/** The worker-side adapter module. */
export const REMOTE_ADAPTERS = new URL('./remote-adapters.mjs', import.meta.url);

// ---- RWLock's write side, through the RWLock's methods ---------------------------------------

export class RWLockWriteSide implements ExclusiveLockInstance {
  static readonly BYTE_LENGTH = RWLock.BYTE_LENGTH;
  static readonly BYTE_ALIGNMENT = RWLock.BYTE_ALIGNMENT;
  readonly rw: RWLock;
  constructor(options?: PlacementOptions, rw?: RWLock) {
    this.rw = rw ?? new RWLock(options);
  }
  static from(handle: Handle): RWLockWriteSide {
    return new RWLockWriteSide(undefined, RWLock.from(handle));
  }
  lock(): RWLockGuard {
    return this.rw.writeLock();
  }
  unlock(): void {
    this.rw.writeUnlock();
  }
  tryLock(timeoutMs?: number): boolean {
    return this.rw.tryWriteLock(timeoutMs);
  }
  lockAsync(options?: WaitOptions): Promise<RWLockGuard> {
    return this.rw.writeLockAsync(options);
  }
  isLocked(): boolean {
    return this.rw.isWriteLocked();
  }
  withLock<T>(fn: () => T): T {
    return this.rw.withWriteLock(fn);
  }
  withLockAsync<T>(fn: () => T | Promise<T>, options?: WaitOptions): Promise<T> {
    return this.rw.withWriteLockAsync(fn, options);
  }
  get ownerDied(): boolean {
    return this.rw.ownerDied;
  }
  markConsistent(): void {
    this.rw.markConsistent();
  }
  get handle(): Handle {
    return this.rw.handle;
  }
  get name(): string {
    return this.rw.name;
  }
  get buffer(): SharedArrayBuffer {
    return this.rw.buffer;
  }
  get byteOffset(): number {
    return this.rw.byteOffset;
  }
}

// ---- RWLock's `writer` view (a Lockable) -------------------------------------------------------

export class RWLockWriterView implements ExclusiveLockInstance {
  static readonly BYTE_LENGTH = RWLock.BYTE_LENGTH;
  static readonly BYTE_ALIGNMENT = RWLock.BYTE_ALIGNMENT;
  readonly rw: RWLock;
  readonly view: Lockable;
  constructor(options?: PlacementOptions, rw?: RWLock) {
    this.rw = rw ?? new RWLock(options);
    this.view = this.rw.writer;
  }
  static from(handle: Handle): RWLockWriterView {
    return new RWLockWriterView(undefined, RWLock.from(handle));
  }
  lock(): RWLockGuard {
    return this.view.lock() as RWLockGuard;
  }
  unlock(): void {
    this.view.unlock();
  }
  tryLock(timeoutMs?: number): boolean {
    return this.view.tryLock(timeoutMs);
  }
  lockAsync(options?: WaitOptions): Promise<RWLockGuard> {
    return this.view.lockAsync(options) as Promise<RWLockGuard>;
  }
  isLocked(): boolean {
    return this.view.isLocked();
  }
  withLock<T>(): T {
    throw new Error('a Lockable view has no withLock');
  }
  withLockAsync<T>(): Promise<T> {
    return Promise.reject(new Error('a Lockable view has no withLockAsync'));
  }
  get ownerDied(): boolean {
    return this.view.ownerDied === true;
  }
  /** The view has none: the RWLock's own, which needs the write lock (held through the view). */
  markConsistent(): void {
    this.rw.markConsistent();
  }
  get name(): string {
    return this.view.name;
  }
  // The view has no handle or placement of its own: the RWLock's, for the remote thread.
  get handle(): Handle {
    return this.rw.handle;
  }
  get buffer(): SharedArrayBuffer {
    return this.rw.buffer;
  }
  get byteOffset(): number {
    return this.rw.byteOffset;
  }
}

// ---- a one-permit Semaphore with trackOwners ---------------------------------------------------

/** PermitGuard with the suite's `unlock` name for `release`; everything goes to the PermitGuard. */
class PermitAsLockGuard implements SuiteGuard {
  readonly permit: PermitGuard;
  constructor(permit: PermitGuard) {
    this.permit = permit;
  }
  get held(): boolean {
    return this.permit.held;
  }
  unlock(): void {
    this.permit.release();
  }
  [Symbol.dispose](): void {
    this.permit[Symbol.dispose]();
  }
  [Symbol.asyncDispose](): Promise<void> {
    return this.permit[Symbol.asyncDispose]();
  }
}

/** Placement options plus trackOwners; anything that is not an object goes through as it is (to be refused). */
function tracking(options: unknown): unknown {
  return options !== null && typeof options === 'object' ? { ...options, trackOwners: true } : options;
}

export class OnePermitSemaphore implements ExclusiveLockInstance {
  static readonly BYTE_LENGTH = Semaphore.BYTE_LENGTH;
  static readonly BYTE_ALIGNMENT = Semaphore.BYTE_ALIGNMENT;
  readonly sem: Semaphore;
  constructor(options?: PlacementOptions, sem?: Semaphore) {
    this.sem = sem ?? new Semaphore(1, (options === undefined ? { trackOwners: true } : tracking(options)) as never);
  }
  static from(handle: Handle): OnePermitSemaphore {
    return new OnePermitSemaphore(undefined, Semaphore.from(handle));
  }
  lock(): PermitAsLockGuard {
    return new PermitAsLockGuard(this.sem.acquire());
  }
  unlock(): void {
    this.sem.release();
  }
  tryLock(timeoutMs?: number): boolean {
    return this.sem.tryAcquire(1, timeoutMs);
  }
  async lockAsync(options?: WaitOptions): Promise<PermitAsLockGuard> {
    return new PermitAsLockGuard(await this.sem.acquireAsync(1, options));
  }
  isLocked(): boolean {
    return this.sem.available() === 0;
  }
  withLock<T>(fn: () => T): T {
    return this.sem.withPermits(1, fn);
  }
  withLockAsync<T>(fn: () => T | Promise<T>, options?: WaitOptions): Promise<T> {
    return this.sem.withPermitsAsync(1, fn, options);
  }
  get ownerDied(): boolean {
    return this.sem.ownerDied;
  }
  get handle(): Handle {
    return this.sem.handle;
  }
  get name(): string {
    return this.sem.name;
  }
  get buffer(): SharedArrayBuffer {
    return this.sem.buffer;
  }
  get byteOffset(): number {
    return this.sem.byteOffset;
  }
}

/** One adapted lock: what `exclusiveSuite(kind, Lock, others, profile)` takes. */
export interface AdaptedLock {
  kind: string;
  Lock: ExclusiveLockClass;
  profile: SuiteProfile;
}

const remote = (kind: string) => ({ adapters: REMOTE_ADAPTERS, kind });

export const ADAPTED: AdaptedLock[] = [
  {
    kind: 'RWLock:write',
    Lock: RWLockWriteSide,
    profile: { handleKind: 'RWLock', remote: remote('RWLock:write'), guardClass: RWLockGuard },
  },
  {
    kind: 'RWLock.writer',
    Lock: RWLockWriterView,
    profile: {
      handleKind: 'RWLock',
      remote: remote('RWLock.writer'),
      guardClass: RWLockGuard,
      lacks: {
        withHelpers: 'a Lockable view offers lock/unlock/tryLock/lockAsync/isLocked only (the RWLock has withWriteLock*)',
        placement: "a view is not placed; its RWLock's placement and handles run as RWLock:write",
      },
    },
  },
  {
    kind: 'Semaphore(1)',
    Lock: OnePermitSemaphore,
    profile: {
      handleKind: 'Semaphore',
      remote: remote('Semaphore(1)'),
      guardClass: PermitGuard,
      unwrapGuard: (g) => (g as PermitAsLockGuard).permit,
      // semaphore.ts: with trackOwners, release(n) beyond what this object holds is ERR_LOCK_NOT_HELD.
      notOwnerCode: 'ERR_LOCK_NOT_HELD',
      lacks: {
        recursionCheck: 'permits are counted, not owned: acquiring again while holding one is legal (it waits, or tryAcquire fails)',
        perThreadOwnership: 'with trackOwners, permits belong to the Semaphore object that acquired them (semaphore.ts), not to the thread',
      },
    },
  },
];

// ---- RWLock's read side, for the shared-lock suite (shared-suite.ts) ---------------------------

function readSide(rw: RWLock): SharedLockInstance {
  return {
    lock: () => rw.readLock(),
    unlock: () => rw.readUnlock(),
    tryLock: (ms?: number) => rw.tryReadLock(ms),
    lockAsync: (o?: WaitOptions) => rw.readLockAsync(o),
    isLocked: () => rw.isLocked(),
    name: rw.name,
    handle: rw.handle,
  };
}

function readerView(rw: RWLock): SharedLockInstance {
  const r: Lockable = rw.reader;
  return {
    lock: () => r.lock() as SharedGuard,
    unlock: () => r.unlock(),
    tryLock: (ms?: number) => r.tryLock(ms),
    lockAsync: (o?: WaitOptions) => r.lockAsync(o) as Promise<SharedGuard>,
    isLocked: () => r.isLocked(),
    name: r.name,
    handle: rw.handle, // a view has no handle: its RWLock's, for the other threads
  };
}

/** The shared sides the shared-lock suite runs over, each with its exclusive side for other threads. */
export const SHARED_ADAPTED: SharedSubject[] = [
  {
    kind: 'RWLock:read',
    make: () => readSide(new RWLock({ name: 'shared-rw' })),
    remote: { adapters: REMOTE_ADAPTERS, shared: 'RWLock:read', exclusive: 'RWLock:write' },
    // rwlock-misuse.ts: readUnlock() with no read hold through this object.
    notHeldCode: 'ERR_LOCK_NOT_HELD',
  },
  {
    kind: 'RWLock.reader',
    make: () => readerView(new RWLock({ name: 'shared-rw-view' })),
    remote: { adapters: REMOTE_ADAPTERS, shared: 'RWLock.reader', exclusive: 'RWLock.writer' },
    notHeldCode: 'ERR_LOCK_NOT_HELD',
  },
];
