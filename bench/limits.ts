/**
 * The `limits` suite (issue 11): the fastest this machine can do, measured in the same run as everything else, so
 * that every other figure can be read as a fraction of it (kind 'limit'; native/bench/baselines.c via
 * bench/baselines/c.ts):
 * - the C ring limit at each size of ctx.sizes: a C producer and a C consumer on the library's ring that do nothing
 *   else (ns_ring_stage + one publish per batch; ns_ring_read in large batches), both spinning, the best of several
 *   batch sizes;
 * - C spin ping-pong and C futex ping-pong between two threads: round trip p50/p99/p99.9;
 * - single-core memcpy at each size, GB/s.
 * No targets: the other suites check their figures against these (the ring suite measures the ones its checks need
 * itself, in its own run, so that a ratio never mixes two moments of a shared machine).
 */
import { cId, cLine, cResult, cTitle, runC, type CScenario } from './baselines/c.js';
import type { BenchContext, ScenarioPlan, SuiteResult } from './lib/contract.js';
import { planOf, runScenarios, type Scenario } from './lib/scenarios.js';

const SUITE = 'limits';
/** Trials per size of the ring limit (the table in baselines.c). */
const RING_TRIALS = 4;

function scenarios(ctx: BenchContext): Scenario[] {
  const window = ctx.durationMs + Math.min(250, Math.max(10, ctx.durationMs / 4));
  const one = (scenario: CScenario, bytes: number, runMs: number): Scenario => ({
    id: cId(SUITE, scenario, bytes),
    title: cTitle(scenario, bytes),
    runMs,
    run: async () => cResult(SUITE, cLine(await runC(ctx, [scenario], [bytes]), scenario, bytes)),
  });
  return [
    ...ctx.sizes.map((b) => one('c_ring_limit', b, RING_TRIALS * window + 20)),
    one('c_spin_pingpong', 4, window + 10),
    one('c_futex_pingpong', 4, window + 10),
    ...ctx.sizes.map((b) => one('c_memcpy', b, window + 10)),
  ];
}

export function plan(ctx: BenchContext): ScenarioPlan[] {
  return planOf(ctx, scenarios(ctx));
}

export default async function run(ctx: BenchContext): Promise<SuiteResult> {
  return { results: await runScenarios(ctx, scenarios(ctx)), checks: [] };
}
