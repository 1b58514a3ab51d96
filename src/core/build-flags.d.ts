/**
 * Build-time flag, replaced by tsup's `define`: `true` in the published build. The benchmark's
 * "no hooks" build (native-bench/build/nohooks) sets it to `false`, so every verifier and observe
 * branch on the lock fast paths folds away and the checker-off cost can be measured against it.
 */
declare const __SABLOCK_HOOKS__: boolean;
