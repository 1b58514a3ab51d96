export declare const adapters: Record<string, (handle: unknown, lib: unknown) => unknown>;
export declare const LOCK_MANAGER_PATH: (string | number)[];
