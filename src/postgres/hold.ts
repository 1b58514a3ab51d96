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
  readonly controller = new AbortController();
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
      this.controller.abort(e);
      this.onLost?.(e);
    });
  }
  /** @internal */
  _detach(): void {
    this.#off();
  }
}
