/**
 * The abort/timeout suite (test/conformance/abort-timeout-suite.ts) over the async acquisitions
 * that are not a lock's lockAsync: SeqLock's writeAsync and readAsync (its fallback waits for the
 * writers' lock while a writer is inside), and the LockManager's acquireAsync(path, 'X'). Each
 * waits for a holder in another thread (test/conformance/remote-adapters.mjs).
 */
import { LockManager, SeqLock } from '../dist/index.js';
import { REMOTE_ADAPTERS } from './conformance/adapters.js';
import { abortTimeoutSuite } from './conformance/abort-timeout-suite.js';
import { LOCK_MANAGER_PATH } from './conformance/remote-adapters.mjs';

abortTimeoutSuite({
  kind: 'SeqLock:writeAsync',
  make: () => {
    const s = new SeqLock({ dataByteLength: 8, name: 'abort-seq-w' });
    return { name: s.name, handle: s.handle, acquireAsync: (o) => s.writeAsync((v) => v.setInt32(0, 1), o) };
  },
  remote: { adapters: REMOTE_ADAPTERS, holder: 'SeqLock:write' },
});

abortTimeoutSuite({
  kind: 'SeqLock:readAsync',
  make: () => {
    const s = new SeqLock({ dataByteLength: 8, name: 'abort-seq-r' });
    return { name: s.name, handle: s.handle, acquireAsync: async (o) => void (await s.readAsync((v) => v.getInt32(0), o)) };
  },
  remote: { adapters: REMOTE_ADAPTERS, holder: 'SeqLock:write' },
});

abortTimeoutSuite({
  kind: 'LockManager:X',
  make: () => {
    const lm = new LockManager({ capacity: 64, name: 'abort-lm' });
    return {
      name: lm.name,
      handle: lm.handle,
      acquireAsync: async (o) => lm.release(await lm.acquireAsync(LOCK_MANAGER_PATH, 'X', o)),
    };
  },
  remote: { adapters: REMOTE_ADAPTERS, holder: 'LockManager:X' },
});
