/**
 * Whether an external verification tool (clang, spin, gcc) is on PATH, for the test files that skip — with a
 * sentence saying how to install it — when it is not. .ci/run installs all of them, so in CI nothing is skipped.
 */
import { spawnSync } from 'node:child_process';

export function haveTool(name: string, args: string[] = ['--version']): boolean {
  const run = spawnSync(name, args, { encoding: 'utf8' });
  return run.error === undefined;
}

export function missingToolMessage(tools: string[]): string {
  return `${tools.join(' and ')} not installed: apt-get install -y --no-install-recommends clang libclang-rt-14-dev spin (as .ci/run does)`;
}
