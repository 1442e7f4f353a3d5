/**
 * Baseline: round trip of a 32-byte Uint8Array over child_process IPC (fork, serialization 'advanced' so the bytes
 * travel as bytes) to an echoing child Node process. p50/p99.
 */
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

import type { BenchContext, BenchResult } from '../lib/types.js';
import { durations, measureRoundTrips } from '../lib/timing.js';

const MESSAGE_BYTES = 32;

export async function childIpcBaseline(ctx: BenchContext, suite: string): Promise<BenchResult> {
  const child = fork(fileURLToPath(new URL('./child-ipc-echo.js', import.meta.url)), [], { serialization: 'advanced', stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  try {
    await once(child, 'spawn');
    const msg = new Uint8Array(MESSAGE_BYTES);
    let done: (() => void) | null = null;
    child.on('message', () => {
      const d = done;
      done = null;
      d?.();
    });
    const s = await measureRoundTrips(
      () =>
        new Promise<void>((resolve) => {
          done = resolve;
          child.send(msg);
        }),
      durations(ctx),
    );
    ctx.log(`child IPC round trip: p50 ${s.p50} ns, p99 ${s.p99} ns over ${s.count} trips`);
    return { suite, id: `${suite}.child-ipc-advanced.round-trip.32`, scenario: "child_process IPC round trip ('advanced')", transport: "child_process IPC ('advanced')", kind: 'alternative', pattern: 'round-trip', message_bytes: MESSAGE_BYTES, latency_ns: s, runs: 1 };
  } finally {
    child.disconnect();
    if (child.exitCode === null) await once(child, 'exit');
  }
}
