/**
 * The benchmark runner: `npm run bench -- [suite...] [--json] [--quick]`.
 *
 * Each suite is the module `./<suite>.js` next to this file (bench/<suite>.ts compiled into .out/bench/); its default
 * export is `run(ctx: BenchContext): Promise<SuiteResult>`. Without suite names every known suite that exists is run
 * (a missing one is skipped with a line saying so). Tables go to stdout, or to stderr with --json, in which case
 * stdout carries exactly one JSON document: `{ machine, date, suites: { <name>: SuiteResult } }`.
 * Exit code: 0 when every requested suite ran (whether or not its targets are met), 1 when one failed or was missing
 * although named, 2 on bad arguments.
 */
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { renderSuite } from './lib/table.js';
import type { BenchContext, Suite, SuiteResult } from './lib/types.js';

const KNOWN_SUITES = ['ring', 'sidecar', 'calls', 'sandbox'];
const here = path.dirname(fileURLToPath(import.meta.url));
// .out/bench/run.js → the repository root is two levels up; native programs are in build/Release.
const repoRoot = path.resolve(here, '..', '..');

interface Options {
  suites: string[];
  explicit: boolean;
  json: boolean;
  quick: boolean;
}

function usage(): string {
  return `usage: npm run bench -- [suite...] [--json] [--quick]\n  suites: ${KNOWN_SUITES.join(', ')} (default: all that exist)`;
}

function parseArgs(argv: string[]): Options | string {
  const opts: Options = { suites: [], explicit: false, json: false, quick: false };
  for (const arg of argv) {
    if (arg === '--json') opts.json = true;
    else if (arg === '--quick') opts.quick = true;
    else if (arg === '--help' || arg === '-h') return usage();
    else if (/^[a-z][a-z0-9-]*$/.test(arg)) opts.suites.push(arg);
    else return `Unknown argument '${arg}'.\n${usage()}`;
  }
  opts.explicit = opts.suites.length > 0;
  if (!opts.explicit) opts.suites = [...KNOWN_SUITES];
  return opts;
}

function machine(): { cpus: number; model: string; node: string; loadavg: number[] } {
  const cpus = os.cpus();
  return { cpus: cpus.length, model: cpus[0]?.model ?? 'unknown', node: process.version, loadavg: os.loadavg() };
}

async function loadSuite(name: string): Promise<Suite | string> {
  const file = path.join(here, `${name}.js`);
  if (!existsSync(file)) return `suite '${name}' skipped: its module ${path.relative(repoRoot, file)} does not exist (not built or not written yet).`;
  const mod = (await import(pathToFileURL(file).href)) as { default?: unknown };
  if (typeof mod.default !== 'function') return `suite '${name}' skipped: ${path.relative(repoRoot, file)} has no default export run(ctx).`;
  return mod.default as Suite;
}

async function main(): Promise<number> {
  const parsed = parseArgs(process.argv.slice(2));
  if (typeof parsed === 'string') {
    process.stderr.write(parsed + '\n');
    return parsed.startsWith('usage') ? 0 : 2;
  }
  const out = (line: string): void => {
    (parsed.json ? process.stderr : process.stdout).write(line + '\n');
  };
  const ctx: BenchContext = {
    quick: parsed.quick,
    log: (line) => process.stderr.write(`  ${line}\n`),
    nativeBin: (name) => path.join(repoRoot, 'build', 'Release', name),
  };
  const m = machine();
  out(`machine: ${m.cpus} × ${m.model}, node ${m.node}, load ${m.loadavg.map((l) => l.toFixed(2)).join(' ')}${parsed.quick ? ' (--quick: figures not meaningful)' : ''}`);

  const suites: Record<string, SuiteResult> = {};
  let failed = false;
  for (const name of parsed.suites) {
    const suite = await loadSuite(name);
    if (typeof suite === 'string') {
      out(suite);
      if (parsed.explicit) failed = true;
      continue;
    }
    process.stderr.write(`running suite '${name}'…\n`);
    try {
      const result = await suite(ctx);
      suites[name] = result;
      out(renderSuite(name, result));
    } catch (error) {
      failed = true;
      out(`suite '${name}' failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    }
  }
  if (parsed.json) {
    process.stdout.write(JSON.stringify({ machine: m, date: new Date().toISOString(), suites }, null, 2) + '\n');
  }
  return failed ? 1 : 0;
}

process.exitCode = await main();
