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

/** A member the router may choose, with its load: the requests it has in flight, as the pool counts them. */
export interface RouteCandidate {
  readonly member: PoolMember | undefined;
  readonly load: number;
}

export interface Router {
  /** Among `candidates` (ready members, each with room for one more request), the one to take the next request. */
  pick<C extends RouteCandidate>(candidates: readonly C[]): C | undefined;
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
  pick(candidates) {
    // Candidates come in slot order: the first of the least loaded is the lowest slot among equals.
    let best: (typeof candidates)[number] | undefined;
    for (const c of candidates) if (best === undefined || c.load < best.load) best = c;
    return best;
  },
  slotOf(key, slots) {
    return fnv1a(typeof key === 'number' ? `#${key}` : key) % slots;
  },
};
