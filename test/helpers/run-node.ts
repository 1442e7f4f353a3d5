import { spawnSync } from 'node:child_process';
import assert from 'node:assert/strict';

/** How a child Node process ended, and what it printed. */
export interface NodeRun {
  status: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `script` as an ES module in a fresh Node process (with the extra Node `args`, such as '--expose-gc') and
 * waits for it, killing it after 30 s so a child that hangs fails the test instead of stalling it.
 */
export function runNode(script: string, args: string[] = []): NodeRun {
  const r = spawnSync(process.execPath, [...args, '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

/** What assertExitsWithWaitsPending() sets up in each process and worker, as JavaScript source. */
export interface PendingWaits {
  /** Names to import from the module besides the parker class (e.g. ['SharedRegion']). */
  imports?: string[];
  /** The parker constructor's arguments, as source (e.g. "{ mechanism: 'thread' }"). */
  options?: string;
  /** Source that starts waits on the parker `p`; default: four waits on a word of a SharedArrayBuffer. */
  waits?: string;
}

const FOUR_WAITS = 'const v = new Int32Array(new SharedArrayBuffer(4)); for (let i = 0; i < 4; i++) p.wait(v, 0, 0, -1).catch(() => {});';

/**
 * Checks that a process with waits of a `parkerClass` parker (a class exported from the module at `indexUrl`)
 * pending exits cleanly, both by process.exit() and when each of five worker threads holding such waits is
 * terminated: no crash, no hang, the expected exit status. `setup` says how the parker is made and what it waits on.
 */
export function assertExitsWithWaitsPending(indexUrl: string, parkerClass: string, setup: PendingWaits = {}): void {
  const names = [parkerClass, ...(setup.imports ?? [])].join(', ');
  const start = `const p = new ${parkerClass}(${setup.options ?? ''}); ${setup.waits ?? FOUR_WAITS}`;
  const exit = runNode(
    `import { ${names} } from ${JSON.stringify(indexUrl)};
     ${start}
     setTimeout(() => process.exit(3), 20);`,
  );
  assert.equal(exit.signal, null, exit.stderr);
  assert.equal(exit.status, 3, exit.stderr);
  const worker = `import(${JSON.stringify(indexUrl)}).then(({ ${names} }) => { ${start} require('node:worker_threads').parentPort.postMessage('waiting'); })`;
  const terminate = runNode(
    `import { Worker } from 'node:worker_threads';
     const code = ${JSON.stringify(worker)};
     for (let i = 0; i < 5; i++) {
       const w = new Worker(code, { eval: true, execArgv: [] });
       await new Promise((r) => w.once('message', r));
       await w.terminate();
     }
     console.log('done');`,
  );
  assert.equal(terminate.signal, null, terminate.stderr);
  assert.equal(terminate.status, 0, terminate.stderr);
  assert.equal(terminate.stdout.trim(), 'done');
}
