// Worker side of a small RPC: answers each `{ id, op, args }` message by running `ops[op](...args)`
// (awaited) and posting `{ id, ok: true, value }` or `{ id, ok: false, error }`. The host side is
// `RpcWorker` in rpc.ts. (The conformance harness's remote thread, remote-worker.mjs, has its own
// loop: it also dispatches to the lock's methods and flattens guards for structured clone.)
import { parentPort } from 'node:worker_threads';

export function serve(ops) {
  parentPort.on('message', async ({ id, op, args }) => {
    try {
      const value = await ops[op](...args);
      parentPort.postMessage({ id, ok: true, value });
    } catch (e) {
      parentPort.postMessage({ id, ok: false, error: { name: e?.name, code: e?.code, message: String(e?.message ?? e) } });
    }
  });
}
