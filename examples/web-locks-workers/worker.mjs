import { workerData } from 'node:worker_threads';
import { locks } from 'sablock'; // the main thread's locks: shared through environment data

const { shared, rounds, unlocked } = workerData; // [0] counter, [1] inside now, [2] most inside at once, [3] ready, [4] GO
Atomics.add(shared, 3, 1); // ready
Atomics.wait(shared, 4, 0); // sleep until the main thread says GO

async function addOne() {
  const inside = Atomics.add(shared, 1, 1) + 1; // count this callback in (across all workers)
  if (inside > Atomics.load(shared, 2)) Atomics.store(shared, 2, inside); // racy max: a hint, the count is the check
  const v = shared[0];
  const until = performance.now() + 0.02;
  while (performance.now() < until); // 20 µs of work between the read and the write
  await new Promise((r) => setImmediate(r)); // other workers run here: the read-modify-write spans an await
  shared[0] = v + 1;
  Atomics.sub(shared, 1, 1);
}

for (let i = 0; i < rounds; i++) {
  if (unlocked) await addOne();
  else await locks.request('counter', addOne);
}
