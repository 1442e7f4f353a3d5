/**
 * Scenario lists: a suite describes each scenario once (id, title, estimate, how to run it once), and gets from here
 * both its `plan(ctx)` (for the runner's progress line) and its `run(ctx)` loop, which runs every selected scenario
 * ctx.runs times and reports the median run with its spread. Main JS thread only.
 */
import type { BenchContext, BenchResult, ScenarioPlan } from './contract.js';

/** A scenario that holds something (a sidecar, a peer) across its runs: opened once, then run, then closed. */
export interface Session {
  once(): Promise<BenchResult>;
  close(): Promise<void>;
}

export interface Scenario {
  id: string;
  title: string;
  /** Wall time of ONE run in ms (the estimate of the plan is runs × this + openMs). */
  runMs: number;
  /** Extra wall time of opening the session, ms. */
  openMs?: number;
  /** Fixed number of runs (resource scenarios: 1), instead of ctx.runs. */
  runs?: number;
  /** One run; or `open` for a scenario with a session. */
  run?: () => Promise<BenchResult>;
  open?: () => Promise<Session>;
}

function runsOf(ctx: BenchContext, s: Scenario): number {
  return s.runs ?? ctx.runs;
}

/** The plan of the scenarios --only selects. */
export function planOf(ctx: BenchContext, list: readonly Scenario[]): ScenarioPlan[] {
  return list
    .filter((s) => ctx.selected(s.id))
    .map((s) => ({ id: s.id, title: s.title, estimateMs: Math.round(runsOf(ctx, s) * s.runMs + (s.openMs ?? 0)) }));
}

/**
 * The figure runs are compared by: the median round trip where there is one (lower is better), else the rate, the
 * bandwidth, the cost per call, or the resource value. undefined when the result has none.
 */
export function primaryFigure(r: BenchResult): number | undefined {
  return r.latency_ns?.p50 ?? r.msgs_per_s ?? r.gbytes_per_s ?? r.ns_per_call ?? r.value;
}

/**
 * The median of several runs of one scenario: the run whose primary figure is the median (the lower middle one for
 * an even count), so its figures belong together, with `runs` and `spread` = (max − min) / median of the primary
 * figure. Throws on an empty list.
 */
export function medianRun(results: readonly BenchResult[]): BenchResult {
  if (results.length === 0) throw new Error('medianRun() needs at least one result.');
  const scored = results.map((r) => ({ r, v: primaryFigure(r) ?? NaN }));
  const sorted = scored.filter((x) => Number.isFinite(x.v)).sort((a, b) => a.v - b.v);
  if (sorted.length === 0) return { ...results[0]!, runs: results.length };
  const mid = sorted[(sorted.length - 1) >> 1]!;
  const spread = mid.v > 0 ? (sorted[sorted.length - 1]!.v - sorted[0]!.v) / mid.v : 0;
  return { ...mid.r, runs: results.length, spread: Math.round(spread * 1000) / 1000 };
}

/**
 * Runs every scenario of `list` that --only selects, in order: announces it (ctx.begin), runs it its number of times
 * (a session is opened once and closed after its last run, also on a failure), and collects the median runs. A run
 * that throws fails the suite (the runner reports it) after the session is closed.
 */
export async function runScenarios(ctx: BenchContext, list: readonly Scenario[]): Promise<BenchResult[]> {
  const out: BenchResult[] = [];
  for (const s of list) {
    if (!ctx.selected(s.id)) continue;
    ctx.begin(s.id, s.title);
    const runs = runsOf(ctx, s);
    const results: BenchResult[] = [];
    if (s.open) {
      const session = await s.open();
      try {
        for (let i = 0; i < runs; i++) results.push(await session.once());
      } finally {
        await session.close();
      }
    } else if (s.run) {
      for (let i = 0; i < runs; i++) results.push(await s.run());
    } else {
      throw new Error(`Scenario ${s.id} has neither run() nor open().`);
    }
    out.push(medianRun(results));
  }
  return out;
}

/** Finds the result with `id` among `results`, or undefined (a scenario --only left out). */
export function byId(results: readonly BenchResult[], id: string): BenchResult | undefined {
  return results.find((r) => r.id === id);
}

/** "32", "1k", "64k", "1m": the size part of a scenario id. */
export function sizeTag(bytes: number): string {
  if (bytes >= 1 << 20 && bytes % (1 << 20) === 0) return `${bytes >> 20}m`;
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes >> 10}k`;
  return String(bytes);
}

/** "32 B", "1 KiB", "64 KiB", "1 MiB". */
export function sizeLabel(bytes: number): string {
  if (bytes >= 1 << 20 && bytes % (1 << 20) === 0) return `${bytes >> 20} MiB`;
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes >> 10} KiB`;
  return `${bytes} B`;
}

/** The smallest power of two ≥ n. */
export function pow2AtLeast(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}
