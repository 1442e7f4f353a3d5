/**
 * Baseline: round trip of a 32-byte message over a Unix domain socket (stream) between the main thread and an echo
 * server on a worker thread; the client waits for all 32 bytes to come back. p50/p99.
 */
import { once } from 'node:events';
import { rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Worker } from 'node:worker_threads';

import type { BenchContext, BenchResult } from '../lib/types.js';
import { durations, measureRoundTrips } from '../lib/timing.js';

const MESSAGE_BYTES = 32;

export async function unixSocketBaseline(ctx: BenchContext, suite: string): Promise<BenchResult> {
  const socketPath = path.join(os.tmpdir(), `ns-bench-${process.pid}-${randomBytes(6).toString('hex')}.sock`);
  const worker = new Worker(new URL('./unix-socket-server.js', import.meta.url), { workerData: { path: socketPath } });
  try {
    const [first] = (await once(worker, 'message')) as [unknown];
    if (first !== 'listening') throw new Error(`The Unix socket echo server sent '${String(first)}' instead of 'listening'.`);
    const socket = net.connect(socketPath);
    await once(socket, 'connect');
    socket.setNoDelay(true);
    const msg = Buffer.alloc(MESSAGE_BYTES, 7);
    let pending = 0;
    let done: (() => void) | null = null;
    socket.on('data', (chunk: Buffer) => {
      pending -= chunk.length;
      if (pending <= 0 && done) {
        const d = done;
        done = null;
        d();
      }
    });
    const s = await measureRoundTrips(
      () =>
        new Promise<void>((resolve) => {
          pending += MESSAGE_BYTES;
          done = resolve;
          socket.write(msg);
        }),
      durations(ctx),
    );
    socket.destroy();
    ctx.log(`Unix socket round trip: p50 ${s.p50} ns, p99 ${s.p99} ns over ${s.count} trips`);
    return { suite, id: `${suite}.unix-socket.round-trip.32`, scenario: 'Unix socket round trip (worker echo)', transport: 'Unix domain socket', kind: 'alternative', pattern: 'round-trip', message_bytes: MESSAGE_BYTES, latency_ns: s, runs: 1 };
  } finally {
    worker.postMessage('close');
    await once(worker, 'exit');
    rmSync(socketPath, { force: true });
  }
}
