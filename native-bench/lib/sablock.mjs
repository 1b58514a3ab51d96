/** Loads sablock from dist/ (built by `prebench`). */
import * as sablock from '../../dist/index.js';

export default sablock;
