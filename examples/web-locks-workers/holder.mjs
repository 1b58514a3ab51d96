import { parentPort } from 'node:worker_threads';
import { locks } from 'sablock';

// Take 'report', say so, and hold it until this worker is terminated (a held lock alone does not
// keep a thread alive: the interval does).
setInterval(() => {}, 1000);
void locks.request('report', () => {
  parentPort.postMessage('holding');
  return new Promise(() => {});
});
