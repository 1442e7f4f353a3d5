/**
 * Where a pool's requests go. The default: least busy — the ready member with the fewest requests in flight (as the
 * pool counts them, from dispatch to settlement: measured, not estimated), the lowest slot among equals so that under
 * light load the high slots stay idle and are the ones that shrink away. A request with a key goes to the slot the key
 * hashes to (FNV-1a of its string form, modulo size.max), so all requests with one key reach the same member, in
 * order, whatever the pool's size at the time.
 *
 * Threading: the JavaScript thread of the pool.
 */
import type { PoolMember } from './member.js';

export type RequestKey = string | number;

export interface Router {
  /** Among `members` (ready, each with fewer than the concurrency in flight), the one to take the next request. */
  pick<M extends { member: PoolMember; inFlight: number }>(members: readonly M[]): M | undefined;
  /** The slot (0 … slots − 1) of `key`. */
  slotOf(key: RequestKey, slots: number): number;
}

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** FNV-1a over the UTF-16 code units of `text`: stable across runs and machines (no seed), cheap for short keys. */
function fnv1a(text: string): number {
  let h = FNV_OFFSET;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, FNV_PRIME);
  }
  return h >>> 0;
}

export const leastBusy: Router = {
  pick(members) {
    let best: (typeof members)[number] | undefined;
    for (const m of members) {
      if (best === undefined || m.inFlight < best.inFlight || (m.inFlight === best.inFlight && m.member.slot < best.member.slot)) best = m;
    }
    return best;
  },
  slotOf(key, slots) {
    return fnv1a(typeof key === 'number' ? `#${key}` : key) % slots;
  },
};
