/**
 * The worker side of the ring suite's JS ↔ JS scenarios (bench/ring.ts): a worker_thread that attaches to rings over
 * SharedArrayBuffers made by the main thread (src/ring/ring.ts) and either counts what it reads ('sink') or echoes
 * every record from one ring into another ('echo'), spinning synchronously (with a short Atomics.wait pause every
 * few thousand empty polls, so that a loaded 2-core machine is not starved), until it reads a record of type
 * END_TYPE (2; the ring has no synchronous "closed" query). It posts { ready: true } once it is attached and polling,
 * and at the end { records, threadId } (records: the count before the end record); then it exits. A ring error is posted as { error } instead.
 */
import { parentPort, threadId, workerData } from 'node:worker_threads';

import { Ring } from '../../src/ring/ring.js';

interface Job {
  mode: 'sink' | 'echo';
  input: SharedArrayBuffer;
  output?: SharedArrayBuffer;
}

const job = workerData as Job;
const cell = new Int32Array(new SharedArrayBuffer(4));
const SPINS_BEFORE_PAUSE = 4000;
/** The record type that ends the stream. */
const END_TYPE = 2; // bench/ring.ts uses the same value

function main(): number {
  const input = Ring.attach(job.input);
  const output = job.output ? Ring.attach(job.output) : undefined;
  let records = 0;
  let idle = 0;
  let ended = false;
  parentPort!.postMessage({ ready: true });
  const count = (type: number): boolean => {
    if (type === END_TYPE) return (ended = true);
    records++;
    return false;
  };
  while (!ended) {
    if (job.mode === 'sink') {
      if (input.drain(count, 4096) > 0) {
        idle = 0;
        continue;
      }
    } else {
      const rec = input.peek();
      if (rec !== null) {
        if (rec.type === END_TYPE) break;
        while (!output!.tryWrite(rec.type, rec.payload)) Atomics.wait(cell, 0, 0, 0.01);
        input.release();
        records++;
        idle = 0;
        continue;
      }
    }
    if (++idle % SPINS_BEFORE_PAUSE === 0) Atomics.wait(cell, 0, 0, 0.02);
  }
  return records;
}

try {
  parentPort!.postMessage({ records: main(), threadId });
} catch (error) {
  parentPort!.postMessage({ error: error instanceof Error ? error.message : String(error) });
}
