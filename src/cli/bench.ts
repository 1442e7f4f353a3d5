/**
 * `npx native-sidecar bench [suite...] [--full | --smoke] [--only <globs>] [--sizes <list>] [--duration <ms>]
 * [--json] [--out <dir>]`: the benchmarks of `npm run bench`, every argument handed to the runner unchanged (its
 * `--help` lists them; bad ones exit 2 there). They live in the repository (bench/, compiled into .out/bench/ by
 * `npm run bench` or `npm test`), not in the installed package, so this runs the compiled runner when it is there
 * and otherwise says where the benchmarks are. The runner's exit code becomes this command's.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { constants } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../native/artifacts.js';

/**
 * Runs .out/bench/run.js with `args` (stdio inherited, the repository root as working directory, so its default
 * --out is <root>/bench-results) and resolves with its exit code (128 + signal number when killed); 1 when it is not
 * built. Called on the CLI's main thread; `say` gets the lines of this wrapper (stderr by default).
 */
export async function runBench(args: readonly string[], say: (line: string) => void = console.error): Promise<number> {
  const root = packageRoot();
  const runner = root === undefined ? undefined : join(root, '.out', 'bench', 'run.js');
  if (root === undefined || runner === undefined || !existsSync(runner)) {
    say(
      'native-sidecar bench runs `npm run bench`, the benchmark runner of a clone of the repository (bench/, compiled ' +
        `into .out/bench/run.js), which is not here (${root ?? 'no package directory found'}). A bench command that works from an installed package is ` +
        'part of a later issue; until then clone the repository and run `npm install && npm run bench`.',
    );
    return 1;
  }
  // stderr, so that `--json` leaves stdout to the runner's one JSON document.
  say(`native-sidecar bench: running npm run bench${args.length > 0 ? ` -- ${args.join(' ')}` : ''} (node .out/bench/run.js, as last compiled)`);
  const child = spawn(process.execPath, [runner, ...args], { stdio: 'inherit', cwd: root });
  return new Promise((resolve) => {
    child.on('error', (error) => {
      say(`native-sidecar bench: ${error.message}`);
      resolve(1);
    });
    child.on('exit', (code, signal) => resolve(code ?? 128 + (signal === null ? 0 : constants.signals[signal])));
  });
}
