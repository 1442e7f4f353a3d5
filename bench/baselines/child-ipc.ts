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
      durations(ctx.quick),
    );
    ctx.log(`child IPC round trip: p50 ${s.p50} ns, p99 ${s.p99} ns over ${s.count} trips`);
    return { suite, scenario: "child_process IPC round trip ('advanced')", message_bytes: MESSAGE_BYTES, rtt_p50_ns: s.p50, rtt_p99_ns: s.p99, baseline: true };
  } finally {
    child.disconnect();
    if (child.exitCode === null) await once(child, 'exit');
  }
}
