/**
 * Loads sablock from dist/ (built by `prebench`). Primitives other branches add later may be
 * missing: `has(name)` says whether an export exists, so suites skip instead of failing.
 */
import * as sablock from '../../dist/index.js';

export default sablock;

/** Whether dist exports `name` (a class or namespace). */
export function has(name) {
  return sablock[name] !== undefined;
}
