/** FNV-1a-32 over the 4 little-endian bytes of each u32 — the checksum native threads report (ns_sc_fnv1a_u32). */
export const FNV_OFFSET_BASIS = 2166136261;

export function fnv1aU32(hash: number, value: number): number {
  let h = hash >>> 0;
  for (let i = 0; i < 4; i++) {
    h ^= (value >>> (8 * i)) & 0xff;
    h = Math.imul(h, 16777619) >>> 0;
  }
  return h;
}

/** Checksum of a whole sequence, as a native thread computes it. */
export function fnv1aU32Sequence(values: Iterable<number>): number {
  let h = FNV_OFFSET_BASIS;
  for (const v of values) h = fnv1aU32(h, v);
  return h;
}
