/**
 * Runs the C limits of this machine (native/bench/baselines.c, executable build/Release/bench_baselines) and turns
 * its JSON lines into BenchResults (kind 'limit'). The program runs its scenarios one after another, each bounded in
 * time (warm-up + window); a scenario that fails makes the promise reject with the program's sentence. Main thread.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';

import type { BenchContext, BenchResult } from '../lib/contract.js';
import { sizeLabel, sizeTag } from '../lib/scenarios.js';
import { formatRate } from '../lib/table.js';

const exec = promisify(execFile);

export type CScenario = 'c_ring_limit' | 'c_ring_rtt_spin' | 'c_spin_pingpong' | 'c_futex_pingpong' | 'c_memcpy';

/** One JSON line of bench_baselines. */
export interface CLine {
  scenario: CScenario;
  error?: string;
  message_bytes: number;
  msgs_per_s?: number;
  gbytes_per_s?: number;
  p50_ns?: number;
  p99_ns?: number;
  p999_ns?: number;
  max_ns?: number;
  count?: number;
  batch?: number;
  read_limit?: number;
  capacity?: number;
  tried?: Array<{ batch: number; read_limit: number; msgs_per_s: number }>;
}

/**
 * Runs bench_baselines with `scenarios` at `sizes` (the size-swept ones: c_ring_limit, c_memcpy), with ctx's window
 * (ctx.durationMs, a quarter of it as warm-up, at least 10 ms). Throws when the program is not built or fails.
 */
export async function runC(ctx: BenchContext, scenarios: CScenario[], sizes: readonly number[] = [32], windowMs = ctx.durationMs): Promise<CLine[]> {
  const bin = ctx.nativeBin('bench_baselines');
  if (!existsSync(bin)) throw new Error(`The C limits program ${bin} is missing; build it with 'npm run build:native'.`);
  const warm = Math.min(250, Math.max(10, windowMs / 4));
  const args = ['--seconds', String(windowMs / 1000), '--warmup', String(warm / 1000), '--sizes', sizes.join(','), ...scenarios];
  const { stdout } = await exec(bin, args, { timeout: 300_000, maxBuffer: 1 << 20 }).catch((e: { stdout?: string; message: string }) => {
    throw new Error(`bench_baselines failed: ${e.message}${e.stdout ? `\n${e.stdout}` : ''}`);
  });
  const lines = stdout.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as CLine);
  const failed = lines.find((l) => l.error !== undefined);
  if (failed) throw new Error(`bench_baselines scenario ${failed.scenario} (${failed.message_bytes} B) failed: ${failed.error}.`);
  return lines;
}

/** The line of `scenario` (at `bytes` for the size-swept ones); throws when the program did not print it. */
export function cLine(lines: readonly CLine[], scenario: CScenario, bytes?: number): CLine {
  const l = lines.find((x) => x.scenario === scenario && (bytes === undefined || x.message_bytes === bytes));
  if (!l) throw new Error(`bench_baselines printed no result for ${scenario}${bytes === undefined ? '' : ` at ${bytes} B`}.`);
  return l;
}

/** The id part of each C scenario (`<suite>.<part>[.<size>]`) and its title. */
const NAMES: Record<CScenario, { part: string; title: (bytes: number) => string; transport: string }> = {
  c_ring_limit: { part: 'c-ring-limit.one-way', title: (b) => `C ring limit, ${sizeLabel(b)} one way (2 native threads, nothing else)`, transport: 'C ring (limit)' },
  c_ring_rtt_spin: { part: 'c-ring.round-trip.spin', title: () => 'C ring round trip, 32 B, spin (2 native threads)', transport: 'C ring (limit)' },
  c_spin_pingpong: { part: 'c-spin-pingpong.round-trip', title: () => 'C spin ping-pong (2 threads, 1 cache line)', transport: 'C atomics (limit)' },
  c_futex_pingpong: { part: 'c-futex-pingpong.round-trip', title: () => 'C futex ping-pong (both sides sleep)', transport: 'C futex (limit)' },
  c_memcpy: { part: 'c-memcpy', title: (b) => `C memcpy ${sizeLabel(b)} (1 core)`, transport: 'memcpy (limit)' },
};

/** The id a C line gets in suite `suite`. */
export function cId(suite: string, scenario: CScenario, bytes: number): string {
  const sized = scenario === 'c_ring_limit' || scenario === 'c_memcpy';
  return `${suite}.${NAMES[scenario].part}${sized ? `.${sizeTag(bytes)}` : ''}`;
}

export function cTitle(scenario: CScenario, bytes: number): string {
  return NAMES[scenario].title(bytes);
}

/** A C line as a BenchResult of suite `suite` (one run; the caller's loop sets runs and spread). */
export function cResult(suite: string, l: CLine): BenchResult {
  const n = NAMES[l.scenario];
  const r: BenchResult = {
    suite,
    id: cId(suite, l.scenario, l.message_bytes),
    scenario: n.title(l.message_bytes),
    transport: n.transport,
    kind: 'limit',
    pattern: l.p50_ns !== undefined ? 'round-trip' : 'one-way',
    message_bytes: l.message_bytes,
    runs: 1,
  };
  if (l.msgs_per_s !== undefined) r.msgs_per_s = l.msgs_per_s;
  if (l.gbytes_per_s !== undefined) r.gbytes_per_s = l.gbytes_per_s;
  if (l.p50_ns !== undefined) {
    r.latency_ns = { p50: l.p50_ns, p99: l.p99_ns ?? 0, p999: l.p999_ns ?? 0, max: l.max_ns ?? 0, count: l.count ?? 0 };
  }
  if (l.scenario === 'c_ring_limit' && l.tried) {
    r.note = `best of batch/read-limit ${l.tried.map((t) => `${t.batch}/${t.read_limit}: ${formatRate(t.msgs_per_s)}`).join(', ')}; capacity ${l.capacity} B`;
  }
  return r;
}
