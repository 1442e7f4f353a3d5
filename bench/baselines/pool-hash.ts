/**
 * The work of the `pool` suite (bench/pool.ts), in JavaScript: the digest examples/plugins/hash.c replies with —
 * SHA-256 of the payload, then `rounds − 1` more times SHA-256 of the previous 32-byte digest — computed with
 * node:crypto, and the plugin's config for a round count. Pure functions: any thread, no state.
 */
import { createHash } from 'node:crypto';

/**
 * The iterated digest of `payload` (32 bytes), as hash.c computes it with `rounds` from its config (0 counts as 1).
 * Synchronous on the calling thread; the payload is only read.
 */
export function iteratedDigest(payload: Uint8Array, rounds: number): Buffer {
  let digest = createHash('sha256').update(payload).digest();
  for (let i = 1; i < rounds; i++) digest = createHash('sha256').update(digest).digest();
  return digest;
}

/** The hash plugin's config for `rounds` (a u32 little-endian). Throws a RangeError outside 1 … 2^32 − 1. */
export function roundsConfig(rounds: number): Uint8Array {
  if (!Number.isInteger(rounds) || rounds < 1 || rounds > 0xffff_ffff) throw new RangeError(`The round count must be an integer from 1 to 2^32 − 1; received ${rounds}.`);
  const config = new Uint8Array(4);
  new DataView(config.buffer).setUint32(0, rounds, true);
  return config;
}

/** Lower-case hex of `bytes`, for the sentence that names a wrong digest. */
export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}
