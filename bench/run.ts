/**
 * The benchmark runner (issue 11): `npm run bench -- [suite...] [--full | --smoke] [--only <patterns>]
 * [--sizes 32,1k,64k,1m] [--duration <ms>] [--json] [--out <dir>]`.
 *
 * Each suite is the module `./<suite>.js` next to this file (bench/<suite>.ts compiled into .out/bench/) with the
 * shape of SuiteModule (lib/contract.ts): default export `run(ctx)`, optional `plan(ctx)` listing its scenarios up
 * front. Without suite names every known suite whose module exists runs (a missing one is skipped with a line saying
 * so, and listed in the document's `problems`).
 *
 * Depths: the default ('quick') keeps the whole default run within about 3 minutes on a 2-core machine (3 runs of
 * 150 ms windows per scenario); --full runs 1 s windows 5 times; --smoke is the test suite's shape check (one 30 ms
 * run per scenario: figures meaningless).
 *
 * Output: progress on stderr ("[n/m] <title> — elapsed 1:05, eta 1:40": one rewritten line on a terminal, one line
 * per scenario otherwise); the table of each suite on stdout (stderr with --json); the JSON document (BenchDocument)
 * written to `<out>/bench-<timestamp>.json` and `<out>/latest.json` (default out dir `bench-results/`), and with
 * --json also on stdout; `<out>/report.html` when the report module (./report/html.js) is built.
 * Exit code: 0 when every requested suite ran (whether or not its targets are met), 1 when one failed or a suite
 * named on the command line is missing, 2 on bad arguments (a sentence on stderr says which).
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { DEFAULT_SIZES, type BenchContext, type BenchDocument, type MachineInfo, type ScenarioPlan, type SuiteModule, type SuiteResult } from './lib/contract.js';
import { checkLine, renderSuite } from './lib/table.js';

/** The suites a run without suite names runs, in this order. */
export const KNOWN_SUITES = ['ring', 'sidecar', 'alternatives', 'paced', 'pool', 'limits', 'calls', 'sandbox', 'resources'] as const;
/** Suites that run only when named (they take long, or load the machine on purpose): `npm run bench -- scheduling`. */
export const OPTIONAL_SUITES = ['scheduling'] as const;
const ALL_SUITES: readonly string[] = [...KNOWN_SUITES, ...OPTIONAL_SUITES];
const here = path.dirname(fileURLToPath(import.meta.url));
// .out/bench/run.js → the repository root is two levels up; native programs are in build/Release.
const repoRoot = path.resolve(here, '..', '..');

const DEPTHS = {
  smoke: { durationMs: 30, runs: 1 },
  quick: { durationMs: 150, runs: 3 },
  full: { durationMs: 1000, runs: 5 },
} as const;

const MAX_SIZE = 16 << 20;

interface Options {
  suites: string[];
  explicit: boolean;
  json: boolean;
  depth: BenchContext['depth'];
  only: string[];
  sizes: number[];
  durationMs: number | undefined;
  out: string;
}

function usage(): string {
  return [
    'usage: npm run bench -- [suite...] [--full | --smoke] [--only <pattern,...>] [--sizes 32,1k,64k,1m] [--duration <ms>] [--json] [--out <dir>]',
    `  suites: ${KNOWN_SUITES.join(', ')} (default: all that exist); only when named: ${OPTIONAL_SUITES.join(', ')}`,
    '  --full       longer windows (1 s) and 5 runs per scenario; default: 150 ms windows, 3 runs (the whole run ≤ 3 minutes)',
    '  --smoke      the test suite\'s shape check: one 30 ms run per scenario, figures meaningless',
    '  --only       comma list of globs over scenario ids, e.g. ring.*,*.round-trip.*',
    '  --sizes      message sizes of the size-swept scenarios (bytes, or k/m suffixes: 1k = 1024)',
    '  --duration   measurement window of one run, in ms',
    '  --json       also print the JSON document on stdout (the tables go to stderr)',
    '  --out        directory of bench-<timestamp>.json, latest.json and report.html (default bench-results/)',
  ].join('\n');
}

/** Parses "32", "1k", "64K", "1m", "4096b" into bytes; NaN when it is none of these. */
export function parseSize(text: string): number {
  const m = /^(\d+)(b|k|kib|m|mib)?$/i.exec(text.trim());
  if (!m) return NaN;
  const unit = (m[2] ?? 'b').toLowerCase();
  return Number(m[1]) * (unit.startsWith('k') ? 1024 : unit.startsWith('m') ? 1 << 20 : 1);
}

/** A glob over scenario ids ('*' any run of characters, '?' one character) as a RegExp. */
function globToRegExp(glob: string): RegExp {
  const body = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${body}$`);
}

function parseArgs(argv: string[]): Options | { exit: number; message: string } {
  const opts: Options = { suites: [], explicit: false, json: false, depth: 'quick', only: [], sizes: [...DEFAULT_SIZES], durationMs: undefined, out: 'bench-results' };
  const bad = (message: string): { exit: number; message: string } => ({ exit: 2, message: `${message}\n${usage()}` });
  let full = false;
  let smoke = false;
  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i]!;
    let inline: string | undefined;
    const eq = arg.indexOf('=');
    if (arg.startsWith('--') && eq > 0) {
      inline = arg.slice(eq + 1);
      arg = arg.slice(0, eq);
    }
    const value = (): string | undefined => {
      if (inline !== undefined) return inline;
      const v = argv[i + 1];
      if (v === undefined || v.startsWith('--')) return undefined;
      i++;
      return v;
    };
    const flag = (): boolean => inline === undefined;
    if (arg === '--help' || arg === '-h') return { exit: 0, message: usage() };
    else if (arg === '--json' && flag()) opts.json = true;
    else if (arg === '--full' && flag()) full = true;
    else if (arg === '--smoke' && flag()) smoke = true;
    else if (arg === '--quick') return bad("The option '--quick' no longer exists: the default depth is the quick run, and the test suite's short shape check is --smoke.");
    else if (arg === '--only') {
      const v = value();
      if (v === undefined || v.trim() === '') return bad('The option --only needs a comma list of globs over scenario ids, e.g. --only ring.*,*.round-trip.*.');
      const globs = v.split(',').map((g) => g.trim());
      const wrong = globs.find((g) => !/^[A-Za-z0-9.*?_-]+$/.test(g));
      if (wrong !== undefined) return bad(`The --only pattern '${wrong}' is not a glob over scenario ids (letters, digits, '.', '-', '_', '*', '?').`);
      opts.only.push(...globs);
    } else if (arg === '--sizes') {
      const v = value();
      if (v === undefined) return bad('The option --sizes needs a comma list of message sizes, e.g. --sizes 32,1k,64k,1m.');
      const sizes: number[] = [];
      for (const part of v.split(',')) {
        const n = parseSize(part);
        if (!Number.isSafeInteger(n) || n < 8 || n > MAX_SIZE) {
          return bad(`The message size '${part}' of --sizes is not a size from 8 bytes to 16m (a number of bytes, or with a k or m suffix).`);
        }
        sizes.push(n);
      }
      opts.sizes = [...new Set(sizes)].sort((a, b) => a - b);
    } else if (arg === '--duration') {
      const v = value();
      const n = v === undefined ? NaN : Number(v);
      if (!Number.isInteger(n) || n < 1 || n > 600_000) return bad(`The option --duration needs a whole number of milliseconds from 1 to 600000; received '${v ?? ''}'.`);
      opts.durationMs = n;
    } else if (arg === '--out') {
      const v = value();
      if (v === undefined || v.trim() === '') return bad('The option --out needs a directory.');
      opts.out = v;
    } else if (!arg.startsWith('-') && /^[a-z][a-z0-9-]*$/.test(arg)) {
      if (!ALL_SUITES.includes(arg)) return bad(`There is no suite named '${arg}'; the suites are ${ALL_SUITES.join(', ')}.`);
      opts.suites.push(arg);
    } else {
      return bad(`Unknown argument '${argv[i]}'.`);
    }
  }
  if (full && smoke) return bad('The options --full and --smoke exclude each other: choose one depth.');
  opts.depth = full ? 'full' : smoke ? 'smoke' : 'quick';
  opts.explicit = opts.suites.length > 0;
  if (!opts.explicit) opts.suites = [...KNOWN_SUITES];
  return opts;
}

function machine(): MachineInfo {
  const cpus = os.cpus();
  return {
    cpu_model: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    kernel: os.release(),
    node: process.version,
    total_mem_bytes: os.totalmem(),
    loadavg_start: os.loadavg().map((l) => Math.round(l * 100) / 100),
    loadavg_end: [],
  };
}

async function loadSuite(name: string): Promise<SuiteModule | string> {
  const file = path.join(here, `${name}.js`);
  if (!existsSync(file)) return `suite '${name}' skipped: its module ${path.relative(repoRoot, file)} does not exist (not built or not written yet).`;
  const mod = (await import(pathToFileURL(file).href)) as Partial<SuiteModule>;
  if (typeof mod.default !== 'function') return `suite '${name}' skipped: ${path.relative(repoRoot, file)} has no default export run(ctx).`;
  return mod as SuiteModule;
}

/** "1:05" */
function clock(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

interface Step {
  suite: string;
  id: string | undefined;
  title: string;
  estimateMs: number;
}

/** The progress display on stderr: "[n/m] title — elapsed, eta"; rewritten in place on a terminal. */
class Progress {
  private current = -1;
  private title = '';
  private readonly t0 = Date.now();
  private stepStart = Date.now();
  private readonly tty = process.stderr.isTTY === true;
  private shown = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly steps: Step[]) {
    if (this.tty) {
      this.timer = setInterval(() => this.draw(), 1000);
      this.timer.unref();
    }
  }

  /** Suite `suite` starts: the display moves to its first step. */
  startSuite(suite: string): void {
    const i = this.steps.findIndex((s) => s.suite === suite);
    if (i >= 0) this.move(i, this.steps[i]!.title);
  }

  /** Scenario `id` of `suite` starts. */
  begin(suite: string, id: string, title: string): void {
    const i = this.steps.findIndex((s) => s.suite === suite && s.id === id);
    this.move(i >= 0 ? i : Math.max(this.current, 0), title);
  }

  private move(i: number, title: string): void {
    this.current = i;
    this.title = title;
    this.stepStart = Date.now();
    this.draw(true);
  }

  private line(width = Infinity): string {
    const elapsed = Date.now() - this.t0;
    const doneEstimate = this.steps.slice(0, this.current).reduce((a, s) => a + s.estimateMs, 0);
    const rest = this.steps.slice(this.current).reduce((a, s) => a + s.estimateMs, 0);
    // The estimates corrected by how fast the run has gone so far (once enough of it has gone by to tell).
    const pace = doneEstimate > 5000 ? Math.min(3, Math.max(0.5, (this.stepStart - this.t0) / doneEstimate)) : 1;
    const eta = Math.max(0, rest * pace - (Date.now() - this.stepStart));
    return this.format(this.title, ` — elapsed ${clock(elapsed)}, eta ${clock(eta)}`, width);
  }

  /** "[n/m] title suffix", the title shortened (with "…") so that the line fits in `width` characters. */
  private format(title: string, suffix: string, width: number): string {
    const prefix = `[${this.current + 1}/${this.steps.length}] `;
    const room = width - prefix.length - [...suffix].length;
    const chars = [...title];
    const shown = chars.length <= room ? title : `${chars.slice(0, Math.max(0, room - 1)).join('')}…`;
    return `${prefix}${shown}${suffix}`;
  }

  private draw(newStep = false): void {
    if (this.current < 0) return;
    if (this.tty) {
      process.stderr.write(`\r\x1b[K${this.line(Math.max(40, (process.stderr.columns || 120) - 1))}`);
      this.shown = true;
    } else if (newStep) {
      process.stderr.write(`${this.line()}\n`);
    }
  }

  /** Writes `text` (whole lines) to `stream` without mixing it into the rewritten progress line. */
  print(stream: NodeJS.WriteStream, text: string): void {
    if (this.tty && this.shown) {
      process.stderr.write('\r\x1b[K');
      this.shown = false;
    }
    stream.write(text.endsWith('\n') ? text : `${text}\n`);
    if (this.tty && stream === process.stderr) this.draw();
  }

  end(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.tty && this.shown) process.stderr.write('\r\x1b[K');
  }
}

function timestamp(d: Date): string {
  return d.toISOString().replace(/\.\d+Z$/, 'Z').replace(/:/g, '-');
}

async function main(): Promise<number> {
  const parsed = parseArgs(process.argv.slice(2));
  if ('exit' in parsed) {
    process.stderr.write(parsed.message + '\n');
    return parsed.exit;
  }
  const startedAt = new Date();
  const t0 = Date.now();
  const depth = DEPTHS[parsed.depth];
  const only = parsed.only.map(globToRegExp);
  let progress: Progress | undefined;
  let currentSuite = '';
  const ctx: BenchContext = {
    depth: parsed.depth,
    quick: parsed.depth === 'smoke',
    durationMs: parsed.durationMs ?? depth.durationMs,
    runs: depth.runs,
    sizes: parsed.sizes,
    selected: (id) => only.length === 0 || only.some((re) => re.test(id)),
    log: (line) => progress?.print(process.stderr, `  ${line}`),
    begin: (id, title) => progress?.begin(currentSuite, id, title),
    nativeBin: (name) => path.join(repoRoot, 'build', 'Release', name),
  };
  const table = parsed.json ? process.stderr : process.stdout;
  const problems: string[] = [];
  let failed = false;

  // Load every suite and ask it for its plan, so that the display knows m and the eta from the start.
  const modules: Array<[string, SuiteModule]> = [];
  const steps: Step[] = [];
  for (const name of parsed.suites) {
    const mod = await loadSuite(name);
    if (typeof mod === 'string') {
      problems.push(mod);
      process.stderr.write(mod + '\n');
      if (parsed.explicit) failed = true;
      continue;
    }
    let plan: ScenarioPlan[] | undefined;
    try {
      plan = mod.plan?.(ctx);
    } catch (error) {
      const message = `suite '${name}': its plan(ctx) threw (${error instanceof Error ? error.message : String(error)}); it counts as one step.`;
      problems.push(message);
      process.stderr.write(message + '\n');
    }
    if (plan !== undefined && plan.length === 0) continue; // --only selects none of its scenarios
    modules.push([name, mod]);
    if (plan === undefined) steps.push({ suite: name, id: undefined, title: `suite ${name}`, estimateMs: 10_000 });
    else for (const p of plan) steps.push({ suite: name, id: p.id, title: p.title, estimateMs: p.estimateMs });
  }
  if (modules.length === 0 && parsed.only.length > 0) {
    process.stderr.write(`The --only patterns ${parsed.only.join(', ')} select no scenario of the suites ${parsed.suites.join(', ')}.\n${usage()}\n`);
    return 2;
  }

  const m = machine();
  const estimate = steps.reduce((a, s) => a + s.estimateMs, 0);
  table.write(
    `machine: ${m.cores} × ${m.cpu_model}, Linux ${m.kernel}, node ${m.node}, ${(m.total_mem_bytes / 2 ** 30).toFixed(1)} GiB, ` +
      `load ${m.loadavg_start.join(' ')}; depth ${parsed.depth}${parsed.depth === 'smoke' ? ' (figures not meaningful)' : ''}, ` +
      `${ctx.runs} run(s) of ${ctx.durationMs} ms per scenario, sizes ${ctx.sizes.join(',')}; ${steps.length} steps, estimated ${clock(estimate)}\n`,
  );
  progress = new Progress(steps);

  const doc: BenchDocument = {
    schema: 'native-sidecar-bench/2',
    date: startedAt.toISOString(),
    command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
    depth: parsed.depth,
    duration_s: 0,
    machine: m,
    results: [],
    checks: [],
    problems,
  };
  for (const [name, mod] of modules) {
    currentSuite = name;
    progress.startSuite(name);
    try {
      const result: SuiteResult = await mod.default(ctx);
      for (const r of result.results) doc.results.push({ ...r, suite: r.suite ?? name });
      doc.checks.push(...result.checks);
      progress.print(table, renderSuite(name, result));
    } catch (error) {
      failed = true;
      const message = `suite '${name}' failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`;
      problems.push(message.split('\n')[0]!);
      progress.print(table, message);
    }
  }
  progress.end();
  m.loadavg_end = os.loadavg().map((l) => Math.round(l * 100) / 100);
  doc.duration_s = Math.round((Date.now() - t0) / 100) / 10;

  const seen = new Set<string>();
  for (const r of doc.results) {
    if (seen.has(r.id)) problems.push(`The scenario id '${r.id}' occurs more than once.`);
    seen.add(r.id);
  }
  if (doc.checks.length > 0) {
    table.write(`\ntargets of this run (${doc.checks.filter((c) => c.met).length} of ${doc.checks.length} met):\n${doc.checks.map(checkLine).join('\n')}\n`);
  }
  const outDir = path.resolve(parsed.out);
  mkdirSync(outDir, { recursive: true });
  const text = JSON.stringify(doc, null, 2) + '\n';
  const file = path.join(outDir, `bench-${timestamp(startedAt)}.json`);
  writeFileSync(file, text);
  writeFileSync(path.join(outDir, 'latest.json'), text);
  table.write(`\nwritten: ${file} (and latest.json); ${doc.results.length} results in ${clock(Date.now() - t0)}, load ${m.loadavg_start.join(' ')} → ${m.loadavg_end.join(' ')}\n`);
  const reportModule = path.join(here, 'report', 'html.js');
  if (existsSync(reportModule)) {
    try {
      const { renderReportHtml } = (await import(pathToFileURL(reportModule).href)) as { renderReportHtml?: (d: BenchDocument) => string };
      if (typeof renderReportHtml !== 'function') throw new Error('it has no export renderReportHtml(doc)');
      const html = path.join(outDir, 'report.html');
      writeFileSync(html, renderReportHtml(doc));
      table.write(`report: ${html}\n`);
    } catch (error) {
      table.write(`report: not written, the report module failed: ${error instanceof Error ? error.message : String(error)}\n`);
    }
  } else {
    table.write(`report: not written, the report module ${path.relative(repoRoot, reportModule)} is not built (bench/report/html.ts).\n`);
  }
  if (problems.length > 0) table.write(`problems:\n${problems.map((p) => `  ${p}`).join('\n')}\n`);
  if (parsed.json) process.stdout.write(text);
  return failed ? 1 : 0;
}

process.exitCode = await main();
