// Piscina task: add 1 to `count` keys of the shared map.
import { openMap } from './map.mjs';

let map;
export default function ({ buffer, keys }) {
  map ??= openMap(buffer);
  for (const k of keys) map.add(k, 1);
  return keys.length;
}
