/**
 * Baselines: worker_threads postMessage with 32-byte Uint8Array messages (structured clone, as a user would send them).
 * - round trip: main posts one message, the worker echoes it, main awaits the echo; p50/p99.
 * - one way: main posts in a loop as a fair sender would, with a credit window (at most WINDOW messages not yet
 *   acknowledged, the worker acknowledges every ACK_EVERY) so queues stay bounded; msgs/s counted on the receiver.
 */
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';

import type { BenchContext, BenchResult } from '../lib/types.js';
import { durations, measureRoundTrips, nowNs, perSecond } from '../lib/timing.js';

const MESSAGE_BYTES = 32;
const WINDOW = 16384;
const ACK_EVERY = 1024;

export async function postMessageBaselines(ctx: BenchContext, suite: string): Promise<BenchResult[]> {
  const worker = new Worker(new URL('./postmessage-worker.js', import.meta.url));
  try {
    await once(worker, 'online');
    return [await roundTrip(ctx, suite, worker), await oneWay(ctx, suite, worker)];
  } finally {
    await worker.terminate();
  }
}

async function roundTrip(ctx: BenchContext, suite: string, worker: Worker): Promise<BenchResult> {
  worker.postMessage({ cmd: 'echo' });
  const msg = new Uint8Array(MESSAGE_BYTES);
  let resolveReply: (() => void) | null = null;
  const onMessage = (): void => {
    const r = resolveReply;
    resolveReply = null;
    r?.();
  };
  worker.on('message', onMessage);
  const s = await measureRoundTrips(
    () =>
      new Promise<void>((resolve) => {
        resolveReply = resolve;
        worker.postMessage(msg);
      }),
    durations(ctx),
  );
  worker.off('message', onMessage);
  ctx.log(`postMessage round trip: p50 ${s.p50} ns, p99 ${s.p99} ns over ${s.count} trips`);
  return { suite, id: `${suite}.postmessage.round-trip.32`, scenario: 'postMessage round trip (worker echo)', transport: 'worker postMessage', kind: 'alternative', pattern: 'round-trip', message_bytes: MESSAGE_BYTES, latency_ns: s, runs: 1 };
}

/** Sends for `durationNs` within the credit window; returns messages received by the worker and elapsed ns. */
async function sendPhase(worker: Worker, durationNs: number): Promise<{ received: number; elapsedNs: number }> {
  const msg = new Uint8Array(MESSAGE_BYTES);
  let acked = 0;
  let wakeSender: (() => void) | null = null;
  let total = -1;
  const onMessage = (m: unknown): void => {
    if (typeof m === 'number') acked = m;
    else total = (m as { total: number }).total;
    const w = wakeSender;
    wakeSender = null;
    w?.();
  };
  worker.on('message', onMessage);
  worker.postMessage({ cmd: 'count', ackEvery: ACK_EVERY });
  let sent = 0;
  const t0 = nowNs();
  const end = t0 + durationNs;
  while (nowNs() < end) {
    while (sent - acked < WINDOW) {
      worker.postMessage(msg);
      sent++;
    }
    await new Promise<void>((resolve) => (wakeSender = resolve));
  }
  worker.postMessage({ cmd: 'report' });
  while (total < 0) await new Promise<void>((resolve) => (wakeSender = resolve));
  const elapsedNs = nowNs() - t0;
  worker.off('message', onMessage);
  return { received: total, elapsedNs };
}

async function oneWay(ctx: BenchContext, suite: string, worker: Worker): Promise<BenchResult> {
  const d = durations(ctx);
  await sendPhase(worker, d.warmupNs);
  const { received, elapsedNs } = await sendPhase(worker, d.measureNs);
  const rate = perSecond(received, elapsedNs);
  ctx.log(`postMessage one way: ${received} messages in ${(elapsedNs / 1e6).toFixed(0)} ms`);
  return { suite, id: `${suite}.postmessage.one-way.32`, scenario: 'postMessage one way (worker counts)', transport: 'worker postMessage', kind: 'alternative', pattern: 'one-way', message_bytes: MESSAGE_BYTES, msgs_per_s: rate, runs: 1, note: `window ${WINDOW}` };
}
