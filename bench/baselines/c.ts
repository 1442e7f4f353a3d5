/**
 * Runs the C-only baselines (native/bench/baselines.c, executable build/Release/bench_baselines) and turns its JSON
 * lines into BenchResults. The executable runs its scenarios one after another, each bounded in time.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';

import type { BenchContext, BenchResult } from '../lib/types.js';

const run = promisify(execFile);

/** The C scenario names and the label they get in the table. */
export const C_SCENARIOS = {
  c_ring_32b_one_way: 'C ring 32 B one way (2 native threads)',
  c_ring_rtt_spin: 'C ring round trip, spin (2 native threads)',
  c_spin_pingpong: 'C spin ping-pong (2 threads, 1 cache line)',
  c_futex_pingpong: 'C futex ping-pong (both sides sleep)',
  c_memcpy_64k: 'C memcpy 64 KiB (1 core)',
} as const;
export type CScenario = keyof typeof C_SCENARIOS;

interface CLine {
  scenario: string;
  error?: string;
  message_bytes?: number;
  msgs_per_s?: number;
  rtt_p50_ns?: number;
  rtt_p99_ns?: number;
  gbytes_per_s?: number;
  batch?: number;
  capacity?: number;
}

/**
 * Runs bench_baselines for the given scenarios with the ring shape used by the JS scenarios (capacity, batch), so
 * the ratios compare like with like. Throws when the program is not built; a failing scenario becomes an error.
 */
export async function cBaselines(
  ctx: BenchContext,
  suite: string,
  scenarios: CScenario[],
  ring: { capacity: number; batch: number },
): Promise<Map<CScenario, BenchResult>> {
  const bin = ctx.nativeBin('bench_baselines');
  if (!existsSync(bin)) throw new Error(`The C baseline program ${bin} is missing; build it with 'npx node-gyp rebuild'.`);
  const args = [...(ctx.quick ? ['--quick'] : []), '--capacity', String(ring.capacity), '--batch', String(ring.batch), ...scenarios];
  const { stdout } = await run(bin, args, { timeout: 120_000 }).catch((e: { stdout?: string; message: string }) => {
    throw new Error(`bench_baselines failed: ${e.message}${e.stdout ? `\n${e.stdout}` : ''}`);
  });
  const out = new Map<CScenario, BenchResult>();
  for (const line of stdout.split('\n').filter((l) => l.trim() !== '')) {
    const c = JSON.parse(line) as CLine;
    if (!(c.scenario in C_SCENARIOS)) continue;
    if (c.error) throw new Error(`bench_baselines scenario ${c.scenario} failed: ${c.error}`);
    const r: BenchResult = { suite, scenario: C_SCENARIOS[c.scenario as CScenario], baseline: true };
    if (c.message_bytes !== undefined) r.message_bytes = c.message_bytes;
    if (c.msgs_per_s !== undefined) r.msgs_per_s = c.msgs_per_s;
    if (c.rtt_p50_ns !== undefined) r.rtt_p50_ns = c.rtt_p50_ns;
    if (c.rtt_p99_ns !== undefined) r.rtt_p99_ns = c.rtt_p99_ns;
    if (c.gbytes_per_s !== undefined) r.gbytes_per_s = c.gbytes_per_s;
    if (c.batch !== undefined) r.note = `batch ${c.batch}, capacity ${c.capacity} B`;
    out.set(c.scenario as CScenario, r);
    ctx.log(`${r.scenario}: ${line}`);
  }
  return out;
}
