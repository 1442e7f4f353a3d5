import type { Ring } from '../../src/index.js';
import { checkStressRecord } from './stress-payload.js';

/**
 * Consumes `ring` until its producer closes it, checking that every record is the next stress record (throwing the
 * first problem found), and returns how many arrived. Each wait for data is bounded by `waitMs`, so a lost wake-up
 * surfaces as an error instead of a hang. JS thread of the ring's consumer.
 */
export async function consumeStressRecords(ring: Ring, waitMs: number): Promise<number> {
  let expected = 0;
  while (await ring.readable({ timeout: waitMs })) {
    ring.drain((type, payload) => {
      const problem = checkStressRecord(type, payload, expected);
      if (problem !== null) throw new Error(problem);
      expected++;
    });
  }
  return expected;
}
