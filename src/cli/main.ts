#!/usr/bin/env node
/**
 * The command line of native-sidecar, `npx native-sidecar <command>` (package.json "bin"). Exit codes: 0 done,
 * 1 the command failed (doctor: something needed is missing), 2 bad usage (unknown command or option); stat also
 * 3 no such process, 4 no sidecars, 5 permission denied (src/cli/stat.ts).
 */
import { parseArgs } from 'node:util';
import { runBench } from './bench.js';
import { runDemo } from './demo.js';
import { runDoctor } from './doctor.js';
import { runStat } from './stat.js';

const USAGE = `usage: native-sidecar <command> [options]

commands:
  demo [--mode thread|process]         run the demo plugin in a Sidecar and print what the host sees
  doctor                               check this machine: one line per item, ok or missing and what to do
  bench [suite...] [--full|--smoke]    run the benchmarks (npm run bench, from a clone of the repository;
                                       also --only, --sizes, --duration, --json, --out: bench --help)
  stat [pid] [--json] [--interval ms] [--once]
                                       live statistics of the sidecars of process pid, read from its shared
                                       memory (refreshed every interval, default 1000 ms); without pid, list the
                                       processes that host sidecars. Exit 3: no such process, 4: no sidecars,
                                       5: permission denied

options:
  -h, --help                           print this text (also after a command)
`;

class UsageError extends Error {}

function parse(args: string[], options: Record<string, { type: 'string' | 'boolean'; short?: string }>): Record<string, string | boolean | undefined> {
  return parseWithPositionals(args, options, false).values;
}

function parseWithPositionals(
  args: string[],
  options: Record<string, { type: 'string' | 'boolean'; short?: string }>,
  allowPositionals: boolean,
): { values: Record<string, string | boolean | undefined>; positionals: string[] } {
  try {
    return parseArgs({ args, options: { help: { type: 'boolean', short: 'h' }, ...options }, strict: true, allowPositionals });
  } catch (error) {
    throw new UsageError(`${(error as Error).message.replace(/\.$/, "")}.`);
  }
}

/** `stat [pid] [--json] [--interval ms] [--once]`. */
async function stat(args: string[]): Promise<number> {
  const { values, positionals } = parseWithPositionals(args, { json: { type: 'boolean' }, interval: { type: 'string' }, once: { type: 'boolean' } }, true);
  if (values.help === true) return help();
  if (positionals.length > 1) throw new UsageError(`stat takes one pid, not ${positionals.length} arguments.`);
  const [pidText] = positionals;
  if (pidText !== undefined && !/^[1-9][0-9]{0,9}$/.test(pidText)) throw new UsageError(`the pid must be a positive integer, not '${pidText}'.`);
  const pid = pidText === undefined ? undefined : Number(pidText);
  if (pid !== undefined && pid > 0x7fffffff) throw new UsageError(`the pid must be a positive integer, not '${pidText}'.`);
  const intervalText = values.interval;
  let intervalMs = 1000;
  if (typeof intervalText === 'string') {
    intervalMs = /^[0-9]{1,6}$/.test(intervalText) ? Number(intervalText) : NaN;
    if (!(intervalMs >= 10 && intervalMs <= 600000)) throw new UsageError(`--interval must be a whole number of milliseconds from 10 to 600000, not '${intervalText}'.`);
  }
  return runStat({ pid, json: values.json === true, intervalMs, once: values.once === true });
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === '-h' || command === '--help' || command === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  switch (command) {
    case 'demo': {
      const values = parse(rest, { mode: { type: 'string' } });
      if (values.help === true) return help();
      const mode = values.mode ?? 'thread';
      if (mode !== 'thread' && mode !== 'process') throw new UsageError(`--mode must be 'thread' or 'process', not '${String(mode)}'.`);
      await runDemo(mode);
      return 0;
    }
    case 'doctor': {
      if (parse(rest, {}).help === true) return help();
      return runDoctor();
    }
    case 'stat':
      return stat(rest);
    case 'bench':
      return runBench(rest); // the runner parses its own arguments (and has its own --help)
    case undefined:
      throw new UsageError('a command is missing.');
    default:
      throw new UsageError(`unknown command '${command}'.`);
  }
}

function help(): number {
  process.stdout.write(USAGE);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof UsageError) {
      process.stderr.write(`native-sidecar: ${error.message}\n${USAGE}`);
      process.exitCode = 2;
    } else {
      process.stderr.write(`native-sidecar: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    }
  },
);
