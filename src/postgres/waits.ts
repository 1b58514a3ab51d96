/**
 * Waiting on the database without outliving the caller: `race()` gives up on a promise (a
 * connection, a statement in a lock queue) on abort, close or deadline; `notified()` waits for a
 * NOTIFY (a semaphore's release) the same way. Each takes the manager's closing signal.
 */
import { TimeoutError, type _ParsedWait as ParsedWait } from '../index.js';
import { closedError, LockConnectionError } from './errors.js';
import type { Target } from './hold.js';
import type { Session } from './session.js';

export const now = (): number => performance.now();

export function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
}

/** Waits for a NOTIFY on `channel`, at most `ms`; rejects on abort, close or session loss. */
export function notified(s: Session, t: Target, channel: string, ms: number, wait: ParsedWait, closing: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (): void => {
      clearTimeout(timer);
      off();
      offLost();
      wait.signal?.removeEventListener('abort', onAbort);
      closing.removeEventListener('abort', onAbort);
    };
    const timer = setTimeout(() => {
      done();
      resolve();
    }, ms);
    const off = s.onNotify((c) => {
      if (c !== channel) return;
      done();
      resolve();
    });
    const offLost = s.onLost((why, cause) => {
      done();
      reject(new LockConnectionError(t.name, `the session ended while waiting (${why})`, cause));
    });
    const onAbort = (): void => {
      done();
      reject(closing.aborted ? closedError(t.name) : abortReason(wait.signal!));
    };
    wait.signal?.addEventListener('abort', onAbort, { once: true });
    closing.addEventListener('abort', onAbort, { once: true });
  });
}

/** `p`, or a rejection on abort, close or `deadline + grace`; `onGiveUp` runs when it is given up on. */
export function race<T>(p: Promise<T>, name: string, wait: ParsedWait, closing: AbortSignal, onGiveUp: () => void, grace = 0): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const giveUp = (e: unknown): void => {
      if (settled) return;
      finish();
      reject(e);
      onGiveUp();
    };
    const onAbort = (): void => giveUp(closing.aborted ? closedError(name) : abortReason(wait.signal!));
    const finish = (): void => {
      settled = true;
      if (timer !== undefined) clearTimeout(timer);
      wait.signal?.removeEventListener('abort', onAbort);
      closing.removeEventListener('abort', onAbort);
    };
    const timer = wait.deadline === Infinity
      ? undefined
      : setTimeout(() => giveUp(new TimeoutError(name, wait.timeout ?? 0)), Math.max(0, wait.deadline - now()) + grace);
    wait.signal?.addEventListener('abort', onAbort, { once: true });
    closing.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        if (settled) return;
        finish();
        resolve(v);
      },
      (e: unknown) => {
        if (settled) return;
        finish();
        reject(e);
      },
    );
  });
}
