/**
 * The `sidecar` suite (issue 3): request/response through a Sidecar, in both modes, against the same echo done over
 * worker postMessage and child-process IPC in the same run.
 *
 * - round trip: one 32-byte request at a time (await the reply, send the next); p50/p99. Both sides spin
 *   ('spin' wait policy) or park after a short spin ('spin-then-park', the default).
 * - pipelined: PIPELINE requests kept outstanding (each reply triggers the next request); replies per second.
 * - baselines: worker postMessage and child_process IPC, round trip (bench/baselines/) and the same pipelined echo.
 *
 * Targets (checked on this run's figures): ≥ 1,000,000 pipelined requests/s; thread-mode round trip p50 ≤ 5 µs in spin
 * mode.
 */
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

import { Sidecar, examplePluginPath, type SidecarMode, type WaitPolicy } from '../src/index.js';
import { childIpcBaseline } from './baselines/child-ipc.js';
import { postMessageBaselines } from './baselines/postmessage.js';
import { durations, measureRoundTrips, nowNs, perSecond, type Durations } from './lib/timing.js';
import { check, type BenchContext, type BenchResult, type SuiteResult, type TargetCheck } from './lib/types.js';

const SUITE = 'sidecar';
const MESSAGE_BYTES = 32;
/** Requests kept in flight by the pipelined scenarios. */
const PIPELINE = 1024;

const SPIN: WaitPolicy = { mode: 'spin' };
const SPIN_THEN_PARK: WaitPolicy = { mode: 'spin-then-park' };

/** Keeps `PIPELINE` echo exchanges in flight for d.measureNs (after a warm-up); returns completed exchanges/s. */
async function pipelined(exchange: () => Promise<unknown>, d: Durations): Promise<number> {
  const run = async (ns: number): Promise<[number, number]> => {
    let completed = 0;
    const start = nowNs();
    const end = start + ns;
    const lane = async (): Promise<void> => {
      while (nowNs() < end) {
        await exchange();
        completed++;
      }
    };
    await Promise.all(Array.from({ length: PIPELINE }, lane));
    return [completed, nowNs() - start];
  };
  await run(d.warmupNs);
  const [completed, elapsed] = await run(d.measureNs);
  return perSecond(completed, elapsed);
}

async function sidecarScenarios(ctx: BenchContext, mode: SidecarMode, results: BenchResult[]): Promise<{ spinP50: number; rate: number }> {
  const payload = new Uint8Array(MESSAGE_BYTES);
  let spinP50 = NaN;
  let rate = NaN;
  for (const [name, policy] of [['spin', SPIN], ['spin-then-park', SPIN_THEN_PARK]] as const) {
    const sidecar = await Sidecar.start({ plugin: examplePluginPath('echo'), mode, waitPolicy: policy });
    try {
      const s = await measureRoundTrips(async () => {
        await sidecar.request(payload);
      }, durations(ctx.quick));
      ctx.log(`sidecar ${mode} ${name}: round trip p50 ${s.p50} ns, p99 ${s.p99} ns over ${s.count} requests`);
      results.push({ suite: SUITE, scenario: `Sidecar ${mode} mode, ${name}: request round trip`, message_bytes: MESSAGE_BYTES, rtt_p50_ns: s.p50, rtt_p99_ns: s.p99 });
      if (name === 'spin') spinP50 = s.p50;
      const perS = await pipelined(() => sidecar.request(payload), durations(ctx.quick));
      ctx.log(`sidecar ${mode} ${name}: pipelined ${Math.round(perS)} requests/s (${PIPELINE} in flight)`);
      results.push({ suite: SUITE, scenario: `Sidecar ${mode} mode, ${name}: pipelined requests (${PIPELINE} in flight)`, message_bytes: MESSAGE_BYTES, msgs_per_s: perS });
      if (!(perS <= rate)) rate = perS;
    } finally {
      await sidecar.stop();
    }
  }
  return { spinP50, rate };
}

/** The same pipelined echo over worker postMessage (structured clone of a 32-byte Uint8Array). */
async function postMessagePipelined(ctx: BenchContext): Promise<BenchResult> {
  const worker = new Worker("require('node:worker_threads').parentPort.on('message', (m) => require('node:worker_threads').parentPort.postMessage(m));", { eval: true });
  try {
    await once(worker, 'online');
    const waiting: (() => void)[] = [];
    worker.on('message', () => waiting.shift()?.());
    const msg = new Uint8Array(MESSAGE_BYTES);
    const perS = await pipelined(() => new Promise<void>((resolve) => {
      waiting.push(resolve);
      worker.postMessage(msg);
    }), durations(ctx.quick));
    ctx.log(`postMessage pipelined echo: ${Math.round(perS)} msgs/s`);
    return { suite: SUITE, scenario: `worker postMessage echo, pipelined (${PIPELINE} in flight)`, message_bytes: MESSAGE_BYTES, msgs_per_s: perS, baseline: true };
  } finally {
    await worker.terminate();
  }
}

/** The same pipelined echo over child_process IPC ('advanced' serialization), with bench/baselines' echo child. */
async function childIpcPipelined(ctx: BenchContext): Promise<BenchResult> {
  const child = fork(fileURLToPath(new URL('./baselines/child-ipc-echo.js', import.meta.url)), [], {
    serialization: 'advanced',
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  try {
    await once(child, 'spawn');
    const waiting: (() => void)[] = [];
    child.on('message', () => waiting.shift()?.());
    const msg = new Uint8Array(MESSAGE_BYTES);
    const perS = await pipelined(() => new Promise<void>((resolve) => {
      waiting.push(resolve);
      child.send(msg);
    }), durations(ctx.quick));
    ctx.log(`child IPC pipelined echo: ${Math.round(perS)} msgs/s`);
    return { suite: SUITE, scenario: `child_process IPC echo, pipelined (${PIPELINE} in flight)`, message_bytes: MESSAGE_BYTES, msgs_per_s: perS, baseline: true };
  } finally {
    child.disconnect();
    if (child.exitCode === null) await once(child, 'exit');
  }
}

export default async function run(ctx: BenchContext): Promise<SuiteResult> {
  const results: BenchResult[] = [];
  const thread = await sidecarScenarios(ctx, 'thread', results);
  const proc = await sidecarScenarios(ctx, 'process', results);
  const postMessage = await postMessageBaselines(ctx, SUITE);
  const postRtt = postMessage.find((r) => r.rtt_p50_ns !== undefined);
  if (postRtt !== undefined) results.push(postRtt);
  results.push(await postMessagePipelined(ctx));
  results.push(await childIpcBaseline(ctx, SUITE));
  results.push(await childIpcPipelined(ctx));

  const checks: TargetCheck[] = [
    check('pipelined requests per second, thread mode (best wait policy) ≥ 1,000,000', thread.rate, '>=', 1_000_000),
    check('pipelined requests per second, process mode (best wait policy) ≥ 1,000,000', proc.rate, '>=', 1_000_000),
    check('thread-mode request round trip p50 in spin mode ≤ 5 µs (ns)', thread.spinP50, '<=', 5000),
  ];
  return { results, checks };
}
