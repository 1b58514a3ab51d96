// A fixed-capacity Int32 → Int32 counting hash map in one SharedArrayBuffer, guarded by 16
// striped Mutexes placed in the same buffer: keys hash to a stripe, so tasks touching different
// stripes never contend.
import { Mutex } from 'sablock';

export const STRIPES = 16;
export const CAPACITY = 4096; // slots; open addressing, linear probing

const LOCKS_BYTES = STRIPES * Mutex.BYTE_LENGTH;

export function createMap() {
  const buffer = new SharedArrayBuffer(LOCKS_BYTES + CAPACITY * 8);
  for (let s = 0; s < STRIPES; s++) new Mutex({ buffer, byteOffset: s * Mutex.BYTE_LENGTH, name: 'map-stripe' });
  return buffer;
}

export function openMap(buffer) {
  // Attaching only reads: every stripe was placed by createMap in the thread that made the buffer.
  const locks = [];
  for (let s = 0; s < STRIPES; s++) {
    locks.push(Mutex.from({ kind: 'Mutex', buffer, byteOffset: s * Mutex.BYTE_LENGTH, name: 'map-stripe' }));
  }
  const slots = new Int32Array(buffer, LOCKS_BYTES, CAPACITY * 2); // [key + 1, count] pairs
  // Each stripe owns a contiguous range of slots, so probing never leaves the stripe's lock.
  const perStripe = CAPACITY / STRIPES;
  return {
    add(key, delta) {
      const h = Math.imul(key, 0x9e3779b1) >>> 0;
      const stripe = h % STRIPES;
      return locks[stripe].withLock(() => {
        for (let p = 0; p < perStripe; p++) {
          const slot = stripe * perStripe + ((h + p) % perStripe);
          const k = slots[slot * 2];
          if (k === 0 || k === key + 1) {
            slots[slot * 2] = key + 1;
            slots[slot * 2 + 1] += delta;
            return slots[slot * 2 + 1];
          }
        }
        throw new RangeError(`stripe ${stripe} is full`);
      });
    },
    entries() {
      const out = new Map();
      for (let s = 0; s < CAPACITY; s++) if (slots[s * 2] !== 0) out.set(slots[s * 2] - 1, slots[s * 2 + 1]);
      return out;
    },
  };
}
