/**
 * The contract between bench/run.ts and the suite modules (bench/<suite>.ts). A suite module's default export is
 * `run(ctx)`; run.ts loads it with `await import('./<suite>.js')`, so adding a suite needs no edit of run.ts.
 */

/** What run.ts hands every suite. Everything runs on the main JS thread. */
export interface BenchContext {
  /** --quick: short runs (a few seconds per suite) for the smoke test; figures are then not meaningful. */
  quick: boolean;
  /** Progress line for the human reader (goes to stderr, never into the JSON document). */
  log(line: string): void;
  /** Absolute path of build/Release/<name> (a native executable built by binding.gyp). */
  nativeBin(name: string): string;
}

/** One measured scenario. Only the fields that apply to the scenario are present. */
export interface BenchResult {
  suite: string;
  scenario: string;
  message_bytes?: number;
  msgs_per_s?: number;
  rtt_p50_ns?: number;
  rtt_p99_ns?: number;
  gbytes_per_s?: number;
  ns_per_call?: number;
  /** true for a reference measurement (postMessage, sockets, C-only) the suite's own scenarios are compared with. */
  baseline?: boolean;
  note?: string;
}

/** A target of an issue, evaluated on figures of the same run. */
export interface TargetCheck {
  /** A sentence naming the target, e.g. "32 B one-way JS → native thread ≥ 100 × postMessage one-way". */
  target: string;
  /** The measured value (a ratio, or an absolute figure in the unit the sentence names). */
  value: number;
  /** The limit the value is compared with. */
  limit: number;
  met: boolean;
}

export interface SuiteResult {
  results: BenchResult[];
  checks: TargetCheck[];
}

export type Suite = (ctx: BenchContext) => Promise<SuiteResult>;

/** Builds the check "value <op> limit"; a non-finite value (a missing figure) is never met. */
export function check(target: string, value: number, op: '>=' | '<=' | '<', limit: number): TargetCheck {
  const met = Number.isFinite(value) && (op === '>=' ? value >= limit : op === '<=' ? value <= limit : value < limit);
  return { target, value, limit, met };
}
