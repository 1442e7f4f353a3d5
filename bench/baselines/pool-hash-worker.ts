/**
 * The piscina worker of the `pool` suite's JavaScript baseline (bench/pool.ts): each task `{ data, rounds }` is
 * answered with the iterated SHA-256 digest of `data` (bench/baselines/pool-hash.ts), the same 32 bytes as the hash
 * plugin replies with. Runs on a piscina worker thread, one task at a time (synchronous hashing).
 */
import { iteratedDigest } from './pool-hash.js';

export interface HashTask {
  data: Uint8Array;
  rounds: number;
}

export default function hashTask(task: HashTask): Uint8Array {
  return iteratedDigest(task.data, task.rounds);
}
