/**
 * What one acquisition asks for (`Target`: a name and its advisory-lock keys) and what one grant
 * holds (`Hold`: the session, the fencing token, a semaphore's slot keys, the loss signal). Made
 * by `names.ts` and `grant.ts`, released by `PgLocks` (`locks.ts`).
 */
import type { CheckedLock, LockEventMode } from '../index.js';
import { lostError } from './errors.js';
import type { Session } from './session.js';

/** @internal What one acquisition asks for. */
export interface Target {
  /** The name users gave. */
  readonly name: string;
  /** Name stored in the fence table for `key`. */
  readonly rowName: string;
  readonly key: string;
  readonly shared: boolean;
  /** Event and verifier kind: `'PgLocks'`, `'PgMutex'`, `'PgRWLock'`, `'PgSemaphore'`. */
  readonly kind: string;
  readonly eventMode?: LockEventMode | undefined;
  readonly sem?: { readonly permits: number; readonly n: number; readonly slots: readonly string[]; readonly slotNames: readonly string[]; readonly channel: string };
}

/** What the verifier and the observers see of one name. */
export interface NamedLock extends CheckedLock {
  readonly name: string;
  readonly lockClass: string;
  readonly handle: { readonly kind: string };
}

/** @internal One granted acquisition. */
export class Hold {
  readonly target: Target;
  readonly session: Session;
  readonly token: bigint;
  /** Semaphores: the slot keys still held. */
  readonly slots: string[];
  /**
   * Made on the first read of `signal`: most holds are released without anyone looking at it, and an
   * AbortController was the largest single cost of Node's own in a request (about 2 % of its time
   * in a CPU profile).
   */
  #controller: AbortController | undefined;
  /** Why the hold was lost, once it was (a `signal` first read after that is born aborted). */
  #lost: DOMException | undefined;
  released = false;
  /** Called once if the lock is lost while held. */
  onLost: ((e: DOMException) => void) | undefined;
  named: NamedLock | undefined;
  /** The verifier recorded the acquisition (`onAcquired`): it must see the release. */
  checked = false;
  readonly #off: () => void;
  constructor(target: Target, session: Session, token: bigint, slots: string[]) {
    this.target = target;
    this.session = session;
    this.token = token;
    this.slots = slots;
    this.#off = session.onLost((why, cause) => {
      if (this.released) return;
      const e = lostError(target.name, why, cause);
      this.#lost = e;
      this.#controller?.abort(e);
      this.onLost?.(e);
    });
  }
  /** Aborts when the hold is lost, with the reason (the same signal on every read). */
  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#lost !== undefined) this.#controller.abort(this.#lost);
    }
    return this.#controller.signal;
  }
  /** @internal */
  _detach(): void {
    this.#off();
  }
}
