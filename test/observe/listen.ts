// Subscribes to diagnostics channels for one test; every subscription is dropped after it.
import diagnosticsChannel from 'node:diagnostics_channel';
import { afterEach } from 'vitest';

const subscriptions: Array<[string, (m: unknown) => void]> = [];
afterEach(() => {
  for (const [name, fn] of subscriptions.splice(0)) diagnosticsChannel.unsubscribe(name, fn);
});

/** Collects every message published on channel `name` until the test ends. */
export function listen(name: string): any[] {
  const seen: any[] = [];
  const fn = (m: unknown) => seen.push(m);
  diagnosticsChannel.subscribe(name, fn);
  subscriptions.push([name, fn]);
  return seen;
}
