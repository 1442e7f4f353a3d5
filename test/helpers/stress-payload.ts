/**
 * The stress payload format shared by every stress test, JS and C (see native/test/stress_payload.h):
 * type 1; payload of length L ≥ 8; bytes [0,4) sequence number (u32 LE); bytes [4,8) FNV-1a-32 of bytes [8,L);
 * byte i ≥ 8 = (seq * 131 + i * 7) & 0xFF.
 */
export const STRESS_TYPE = 1;
export const STRESS_HEADER_SIZE = 8;
const SEQ_OFFSET = 0;
const CHECKSUM_OFFSET = 4;
const FNV_OFFSET_BASIS = 2166136261;
const FNV_PRIME = 16777619;
const FILL_SEQ_FACTOR = 131;
const FILL_INDEX_FACTOR = 7;
const BYTE_MASK = 0xff;

function fillByte(seq: number, i: number): number {
  return (seq * FILL_SEQ_FACTOR + i * FILL_INDEX_FACTOR) & BYTE_MASK;
}

/** FNV-1a-32 of bytes[start, end). */
export function fnv1a32(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let h = FNV_OFFSET_BASIS;
  for (let i = start; i < end; i++) h = Math.imul(h ^ bytes[i]!, FNV_PRIME) >>> 0;
  return h;
}

/** Writes the stress payload of `seq` into all of `target` (its length is L, at least 8). */
export function fillStressPayload(target: Uint8Array, seq: number): void {
  if (target.length < STRESS_HEADER_SIZE) throw new RangeError(`A stress payload needs at least ${STRESS_HEADER_SIZE} bytes.`);
  let h = FNV_OFFSET_BASIS;
  for (let i = STRESS_HEADER_SIZE; i < target.length; i++) {
    const b = fillByte(seq, i);
    target[i] = b;
    h = Math.imul(h ^ b, FNV_PRIME) >>> 0;
  }
  const view = new DataView(target.buffer, target.byteOffset, STRESS_HEADER_SIZE);
  view.setUint32(SEQ_OFFSET, seq >>> 0, true);
  view.setUint32(CHECKSUM_OFFSET, h, true);
}

/** A new stress payload of `length` bytes for `seq`. */
export function makeStressPayload(seq: number, length: number): Uint8Array {
  const payload = new Uint8Array(length);
  fillStressPayload(payload, seq);
  return payload;
}

/**
 * Checks one received stress record: type, length, sequence number (no loss, duplication or reordering), checksum
 * and filler. Returns null when it is right, else a sentence describing the first problem.
 */
export function checkStressRecord(type: number, payload: Uint8Array, expectedSeq: number): string | null {
  if (type !== STRESS_TYPE) return `record ${expectedSeq} has type ${type}, expected ${STRESS_TYPE}`;
  if (payload.length < STRESS_HEADER_SIZE) return `record ${expectedSeq} is ${payload.length} bytes, shorter than ${STRESS_HEADER_SIZE}`;
  const view = new DataView(payload.buffer, payload.byteOffset, STRESS_HEADER_SIZE);
  const seq = view.getUint32(SEQ_OFFSET, true);
  if (seq !== expectedSeq >>> 0) return `expected record ${expectedSeq >>> 0}, received record ${seq}`;
  let h = FNV_OFFSET_BASIS;
  for (let i = STRESS_HEADER_SIZE; i < payload.length; i++) {
    const b = payload[i]!;
    if (b !== fillByte(seq, i)) return `record ${seq} has byte ${i} = ${b}, expected ${fillByte(seq, i)}`;
    h = Math.imul(h ^ b, FNV_PRIME) >>> 0;
  }
  const stored = view.getUint32(CHECKSUM_OFFSET, true);
  if (stored !== h) return `record ${seq} carries checksum ${stored}, its bytes hash to ${h}`;
  return null;
}

/** xorshift32: a small deterministic PRNG for stress lengths (seed must be non-zero). */
export function xorshift32(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

/** A random stress length in [8, maxLength] from `next` (a u32 generator). */
export function stressLength(next: () => number, maxLength: number): number {
  return STRESS_HEADER_SIZE + (next() % (maxLength - STRESS_HEADER_SIZE + 1));
}
