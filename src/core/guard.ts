/**
 * The one guard shape every acquisition returns (`LockGuard`, `RWLockGuard`, `PermitGuard`):
 * `held` says whether it still holds, and leaving a `using` or `await using` block releases what
 * it holds, once. Each guard names its release as its lock does (`unlock()` for locks,
 * `release()` for permits) and implements it as `_drop()`; releasing again does nothing.
 */
export abstract class Guard {
  /** True until this guard released what it holds. */
  abstract get held(): boolean;
  /** @internal Releases what this guard holds now; nothing once it is released. */
  protected abstract _drop(): void;
  /** Releases what this guard holds, like its `unlock()`/`release()` (for `using`). */
  [Symbol.dispose](): void {
    this._drop();
  }
  /** Releases what this guard holds, like its `unlock()`/`release()` (for `await using`). */
  async [Symbol.asyncDispose](): Promise<void> {
    this._drop();
  }
}
