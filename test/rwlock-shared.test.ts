/**
 * The shared-lock suite (test/conformance/shared-suite.ts) over RWLock's read side, through its
 * methods and through its `reader` view (a Lockable), with the write side (methods, `writer`
 * view) as the exclusive side in another thread. Adapters: test/conformance/adapters.ts and
 * remote-adapters.mjs.
 */
import { SHARED_ADAPTED } from './conformance/adapters.js';
import { sharedSuite } from './conformance/shared-suite.js';

for (const s of SHARED_ADAPTED) sharedSuite(s);
