/**
 * The contract (schema 2) between bench/run.ts, the suite modules (bench/<suite>.ts) and the report generator
 * (bench/report/*): what a suite is handed, what it returns, and the JSON document a run writes
 * (schema `native-sidecar-bench/2`, docs/benchmarks.md "The JSON document").
 *
 * A suite module's default export is `run(ctx)`; run.ts loads it with `await import('./<suite>.js')`, so adding a
 * suite needs no edit of the loader, only of the KNOWN_SUITES list that says which run by default.
 */

/** Message sizes the size-swept scenarios use by default (issue 11): 32 B, 1 KiB, 64 KiB, 1 MiB. */
export const DEFAULT_SIZES: readonly number[] = [32, 1024, 64 * 1024, 1024 * 1024];

/** What run.ts hands every suite. Everything runs on the main JS thread. */
export interface BenchContext {
  /** The run's depth: 'smoke' (the test suite's shape check: figures meaningless), 'quick' (default), 'full'. */
  depth: 'smoke' | 'quick' | 'full';
  /** Backwards-compatible flag: depth === 'smoke'. */
  quick: boolean;
  /** Measurement window of one scenario run, in ms (after its warm-up): --duration, else a per-depth default. */
  durationMs: number;
  /** Independent runs of each scenario (the JSON reports runs and spread): 1 in smoke, 3 in quick and full. */
  runs: number;
  /** Message sizes for size-swept scenarios (--sizes), bytes, ascending. */
  sizes: readonly number[];
  /** --only: a scenario id runs when this returns true (ids are `<suite>.<kebab-name>`). */
  selected(id: string): boolean;
  /** Progress line for the human reader (stderr, never into the JSON document). */
  log(line: string): void;
  /**
   * Announces that scenario `id` starts; the runner shows "scenario n of m, elapsed, eta". A suite calls it once per
   * scenario it runs (not per run of it).
   */
  begin(id: string, title: string): void;
  /** Absolute path of build/Release/<name> (a native executable built by binding.gyp). */
  nativeBin(name: string): string;
}

/** Latency percentiles in nanoseconds (hdr-histogram-js, 3 significant digits). */
export interface LatencyNs {
  p50: number;
  p99: number;
  p999: number;
  max: number;
  /** Recorded values. */
  count: number;
}

/** CPU time spent per message, in nanoseconds, on each side (user + system, measured with getrusage or /proc). */
export interface CpuPerMessage {
  /** The JavaScript (Node) side of the scenario: the process or thread that runs the benchmark loop. */
  js?: number;
  /** The other side: the native thread, the child process, the worker. */
  peer?: number;
}

export type ScenarioKind = 'ours' | 'alternative' | 'limit';
export type Pattern = 'one-way' | 'round-trip' | 'pipelined' | 'paced' | 'call' | 'resource';

/** One measured scenario: one transport at one message size under one load pattern. */
export interface BenchResult {
  /** The suite that measured it ('ring', 'sidecar', 'alternatives', 'limits', 'calls', …). */
  suite: string;
  /** Stable id, `<suite>.<kebab-case>` (with the size, e.g. `ring.js-native-thread.one-way.32`): --only matches it. */
  id: string;
  /** Human title, e.g. "JS → native thread, one way, per-record stage()". */
  scenario: string;
  /** What carries the messages, e.g. "native-sidecar ring", "worker postMessage", "Unix socket", "C ring (limit)". */
  transport: string;
  kind: ScenarioKind;
  pattern: Pattern;
  message_bytes?: number;
  msgs_per_s?: number;
  gbytes_per_s?: number;
  /** Round-trip (or, for paced scenarios, arrival-to-completion) latency. */
  latency_ns?: LatencyNs;
  /** Per call, for the 'call' pattern (FFI calls). */
  ns_per_call?: number;
  cpu_ns_per_msg?: CpuPerMessage;
  /** Paced scenarios: the fixed arrival rate and the fraction of the measured capacity it is. */
  offered_per_s?: number;
  load_fraction?: number;
  /** Resource scenarios: one value and its unit ('percent of one core', 'bytes'). */
  value?: number;
  unit?: string;
  /** How many independent runs the figures are the median of, and their spread: (max − min) / median of the primary figure. */
  runs: number;
  spread?: number;
  note?: string;
}

/** A target of an issue, evaluated on figures of the same run. */
export interface TargetCheck {
  /** A sentence naming the target, e.g. "32 B one-way JS → native thread ≥ 100 × postMessage one-way". */
  target: string;
  /** The measured value (a ratio, or an absolute figure in the unit the sentence names). */
  value: number;
  op: '>=' | '<=' | '<';
  /** The limit the value is compared with. */
  limit: number;
  met: boolean;
  /** The issue that set the target, e.g. 11. */
  issue?: number;
}

export interface SuiteResult {
  results: BenchResult[];
  checks: TargetCheck[];
}

export type Suite = (ctx: BenchContext) => Promise<SuiteResult>;

/** The machine a run was measured on. */
export interface MachineInfo {
  cpu_model: string;
  cores: number;
  kernel: string;
  node: string;
  total_mem_bytes: number;
  loadavg_start: number[];
  loadavg_end: number[];
}

/** The JSON document of one run (`--json` on stdout, and the file the runner writes). */
export interface BenchDocument {
  schema: 'native-sidecar-bench/2';
  date: string;
  /** The command line, e.g. "npm run bench -- --full". */
  command: string;
  depth: BenchContext['depth'];
  duration_s: number;
  machine: MachineInfo;
  /** Every scenario of every suite, in the order they ran. */
  results: BenchResult[];
  checks: TargetCheck[];
  /** Suites that failed or were skipped, with the sentence saying why. */
  problems: string[];
}

/** Builds the check "value <op> limit"; a non-finite value (a missing figure) is never met. */
export function check(target: string, value: number, op: '>=' | '<=' | '<', limit: number, issue?: number): TargetCheck {
  const met = Number.isFinite(value) && (op === '>=' ? value >= limit : op === '<=' ? value <= limit : value < limit);
  return issue === undefined ? { target, value, op, limit, met } : { target, value, op, limit, met, issue };
}

/**
 * One scenario a suite will run, announced before it runs so that the runner can show "n of m" and an eta
 * (optional export `plan(ctx)` of a suite module; the list must be the scenarios `run(ctx)` will announce with
 * ctx.begin(), after --only).
 */
export interface ScenarioPlan {
  id: string;
  title: string;
  /** The suite's guess of the scenario's wall time, all its runs included, in ms. */
  estimateMs: number;
}

/** The shape of a suite module: `run` as its default export, and optionally `plan`. */
export interface SuiteModule {
  default: Suite;
  plan?: (ctx: BenchContext) => ScenarioPlan[];
}
