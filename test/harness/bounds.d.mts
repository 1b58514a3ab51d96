/** What `poll`/`until` resolve with: the predicate's first truthy value. */
export type Truthy<T> = Exclude<T, undefined | null | false | 0 | ''>;
export declare function sleep(ms: number): Promise<void>;
export declare function poll<T>(pred: () => T | Promise<T>, timeoutMs: number, everyMs?: number): Promise<Truthy<T> | undefined>;
export declare function until<T>(pred: () => T | Promise<T>, timeoutMs: number, what: string, everyMs?: number): Promise<Truthy<T>>;
/** `what` may be a function, called at the bound (a message saying how far the work got). */
export declare function within<T>(p: Promise<T>, timeoutMs: number, what: string | (() => string)): Promise<T>;
export declare function settlesWithin(p: Promise<unknown>, timeoutMs: number): Promise<boolean>;
