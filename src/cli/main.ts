#!/usr/bin/env node
/**
 * The command line of native-sidecar, `npx native-sidecar <command>` (package.json "bin"). Exit codes: 0 done,
 * 1 the command failed (doctor: something needed is missing), 2 bad usage (unknown command or option).
 */
import { parseArgs } from 'node:util';
import { runBench } from './bench.js';
import { runDemo } from './demo.js';
import { runDoctor } from './doctor.js';

const USAGE = `usage: native-sidecar <command> [options]

commands:
  demo [--mode thread|process]         run the demo plugin in a Sidecar and print what the host sees
  doctor                               check this machine: one line per item, ok or missing and what to do
  bench [suite...] [--full|--smoke]    run the benchmarks (npm run bench, from a clone of the repository;
                                       also --only, --sizes, --duration, --json, --out: bench --help)

options:
  -h, --help                           print this text (also after a command)
`;

class UsageError extends Error {}

function parse(args: string[], options: Record<string, { type: 'string' | 'boolean'; short?: string }>): Record<string, string | boolean | undefined> {
  try {
    return parseArgs({ args, options: { help: { type: 'boolean', short: 'h' }, ...options }, strict: true, allowPositionals: false }).values;
  } catch (error) {
    throw new UsageError(`${(error as Error).message.replace(/\.$/, "")}.`);
  }
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
