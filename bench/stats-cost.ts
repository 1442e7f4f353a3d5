/**
 * What the host statistics of docs/wire-format.md §8.4 cost on the hot path: the pipelined request benchmark of
 * bench/sidecar.ts (32-byte echo requests, 1024 in flight, default options) with the host's stores on (A) and off (B,
 * NATIVE_SIDECAR_HOST_STATS=0, the internal switch of src/sidecar/host-stats.ts), alternating A/B/A/B in one run, each
 * run in a fresh Node process (the switch is read once when the module loads). Prints each run, the median of each
 * side per mode, and the ratio on/off (1.00 = no cost; below 1 = the counters cost throughput).
 *
 * The runtime's two counters (runtime.c, relaxed stores per event-ring record) have no switch: they run in both A and
 * B, so this measures the host's stores only.
 *
 * On a loaded machine the end-to-end spread between runs is far larger than a few stores, so the script also times
 * the counter store itself in this process (a `+=` on a Uint32Array element of a real shared region against the same
 * loop without it), and with `--instructions` counts instructions instead of time: a fixed number of pipelined
 * requests (process mode, 'park' wait policy: the host's instructions do not grow with waiting) under
 * `valgrind --tool=callgrind`, A/B/A/B, each against a run of 0 requests of the same side (start-up subtracted).
 *
 * Usage: node .out/bench/stats-cost.js [--pairs N] [--seconds S] [--mode thread|process|both] [--json]
 *        node .out/bench/stats-cost.js --instructions [--requests N] [--pairs N]
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { SharedRegion, Sidecar, examplePluginPath, type SidecarMode } from '../src/index.js';
import { nowNs, perSecond, secondsNs } from './lib/timing.js';

const PIPELINE = 1024;
const MESSAGE_BYTES = 32;

/** One measured run in this process: pipelined requests per second. */
async function child(mode: SidecarMode, seconds: number): Promise<number> {
  const sidecar = await Sidecar.start({ plugin: examplePluginPath('echo'), mode });
  const payload = new Uint8Array(MESSAGE_BYTES);
  try {
    const run = async (ns: number): Promise<number> => {
      let completed = 0;
      const start = nowNs();
      const end = start + ns;
      const lane = async (): Promise<void> => {
        while (nowNs() < end) {
          await sidecar.request(payload);
          completed++;
        }
      };
      await Promise.all(Array.from({ length: PIPELINE }, lane));
      return perSecond(completed, nowNs() - start);
    };
    await run(secondsNs(0.5));
    return await run(secondsNs(seconds));
  } finally {
    await sidecar.stop();
  }
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

interface MicroResult {
  /** ns per `+=` store into a Uint32Array of the shared region (fastest round), loop overhead subtracted. */
  storeNs: number;
  rounds: number;
}

/** The in-process part: the counter store, timed against the same loop without it, alternating rounds. */
function micro(rounds: number): MicroResult {
  const region = SharedRegion.create({ size: 4096 });
  const counters = new Uint32Array(region.buffer, 256 + 64, 4);
  const STORES = 10_000_000;
  const stores = (into: Uint32Array | undefined): number => {
    let sink = 0;
    const start = nowNs();
    if (into === undefined) for (let i = 0; i < STORES; i++) sink += i & 3;
    else for (let i = 0; i < STORES; i++) into[i & 1] = into[i & 1]! + (i & 3);
    const ns = (nowNs() - start) / STORES;
    if (sink === -1) console.log(sink);
    return ns;
  };
  const storeTimes: number[] = [];
  const loopTimes: number[] = [];
  for (let r = 0; r < rounds; r++) {
    storeTimes.push(stores(counters));
    loopTimes.push(stores(undefined));
  }
  region.close();
  // Fastest rounds: a round can only be slowed down (preempted by other processes), never sped up.
  return { storeNs: Math.max(0, Math.min(...storeTimes) - Math.min(...loopTimes)), rounds };
}

/** A fixed number of pipelined requests (64 in flight), process mode, 'park' policy: for instruction counts. */
async function fixedChild(requests: number): Promise<void> {
  const sidecar = await Sidecar.start({ plugin: examplePluginPath('echo'), mode: 'process', waitPolicy: { mode: 'park' } });
  const payload = new Uint8Array(MESSAGE_BYTES);
  let left = requests;
  const lane = async (): Promise<void> => {
    while (left > 0) {
      left--;
      await sidecar.request(payload);
    }
  };
  await Promise.all(Array.from({ length: 64 }, lane));
  await sidecar.stop();
}

/** Instructions of one fixed run under callgrind (the host process only; the sidecar process is not traced). */
function instructions(script: string, requests: number, stats: '0' | '1'): number {
  const r = spawnSync('valgrind', ['--tool=callgrind', '--callgrind-out-file=/dev/null', process.execPath, script, '--fixed', String(requests)], {
    encoding: 'utf8',
    env: { ...process.env, NATIVE_SIDECAR_HOST_STATS: stats },
    timeout: 600_000,
  });
  const m = /Collected : (\d+)/.exec(r.stderr);
  if (r.status !== 0 || m === null) throw new Error(`callgrind run failed (is valgrind installed?): ${r.stderr.slice(-500)}`);
  return Number(m[1]);
}

async function instructionsMain(requests: number, pairs: number): Promise<void> {
  const script = fileURLToPath(import.meta.url);
  const perRequest: Record<'on' | 'off', number[]> = { on: [], off: [] };
  for (let i = 0; i < pairs; i++) {
    for (const stats of ['1', '0'] as const) {
      const side = stats === '1' ? 'on' : 'off';
      const base = instructions(script, 0, stats);
      const run = instructions(script, requests, stats);
      perRequest[side].push((run - base) / requests);
      process.stderr.write(`pair ${i + 1}/${pairs}, host stats ${side}: ${run} − ${base} instructions = ${((run - base) / requests).toFixed(1)} per request\n`);
    }
  }
  const on = median(perRequest.on);
  const off = median(perRequest.off);
  process.stdout.write(
    `callgrind, process mode, 'park', ${requests} pipelined requests: host instructions per request, median of ${pairs}: stats on ${on.toFixed(1)}, off ${off.toFixed(1)}, ratio on/off ${(on / off).toFixed(4)} ` +
      `(on: ${perRequest.on.map((v) => v.toFixed(1)).join(', ')}; off: ${perRequest.off.map((v) => v.toFixed(1)).join(', ')})\n`,
  );
}

interface ModeResult {
  mode: SidecarMode;
  on: number[];
  off: number[];
  medianOn: number;
  medianOff: number;
  /** medianOn / medianOff. */
  ratio: number;
  /** on / off of each A/B pair, sorted. */
  pairRatios: number[];
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      child: { type: 'string' },
      pairs: { type: 'string', default: '4' },
      seconds: { type: 'string', default: '1.5' },
      mode: { type: 'string', default: 'both' },
      json: { type: 'boolean', default: false },
      fixed: { type: 'string' },
      instructions: { type: 'boolean', default: false },
      requests: { type: 'string', default: '50000' },
    },
  });
  if (values.fixed !== undefined) return fixedChild(Number(values.fixed));
  if (values.instructions) return instructionsMain(Number(values.requests), Number(values.pairs));
  const seconds = Number(values.seconds);
  if (values.child !== undefined) {
    const rate = await child(values.child as SidecarMode, seconds);
    process.stdout.write(`${JSON.stringify({ rate })}\n`);
    return;
  }
  const pairs = Number(values.pairs);
  const modes: SidecarMode[] = values.mode === 'both' ? ['thread', 'process'] : [values.mode as SidecarMode];
  const script = fileURLToPath(import.meta.url);
  const results: ModeResult[] = [];
  const inProcess = micro(Math.max(5, pairs * 2));
  for (const mode of modes) {
    const on: number[] = [];
    const off: number[] = [];
    for (let i = 0; i < pairs; i++) {
      for (const stats of ['1', '0'] as const) {
        const r = spawnSync(process.execPath, [script, '--child', mode, '--seconds', String(seconds)], {
          encoding: 'utf8',
          env: { ...process.env, NATIVE_SIDECAR_HOST_STATS: stats },
          timeout: 120_000,
        });
        if (r.status !== 0) throw new Error(`the ${mode} run with host stats ${stats === '1' ? 'on' : 'off'} failed: ${r.stderr}`);
        const rate = (JSON.parse(r.stdout.trim()) as { rate: number }).rate;
        (stats === '1' ? on : off).push(rate);
        if (!values.json) process.stderr.write(`${mode} pair ${i + 1}/${pairs}, host stats ${stats === '1' ? 'on ' : 'off'}: ${Math.round(rate)} requests/s\n`);
      }
    }
    const medianOn = median(on);
    const medianOff = median(off);
    const pairRatios = on.map((v, i) => v / off[i]!).sort((a, b) => a - b);
    results.push({ mode, on, off, medianOn, medianOff, ratio: medianOn / medianOff, pairRatios });
  }
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ benchmark: 'stats-cost', pipeline: PIPELINE, message_bytes: MESSAGE_BYTES, seconds, pairs, results, micro: inProcess })}\n`);
    return;
  }
  for (const r of results) {
    process.stdout.write(
      `${r.mode}: pipelined requests/s, median of ${r.on.length}: host stats on ${Math.round(r.medianOn)}, off ${Math.round(r.medianOff)}, ratio on/off ${r.ratio.toFixed(3)}; ` +
        `per-pair ratios ${r.pairRatios[0]!.toFixed(2)} … ${r.pairRatios[r.pairRatios.length - 1]!.toFixed(2)}, median ${median(r.pairRatios).toFixed(3)} ` +
        `(on: ${r.on.map(Math.round).join(', ')}; off: ${r.off.map(Math.round).join(', ')})\n`,
    );
  }
  const m = inProcess;
  process.stdout.write(`in process, fastest of ${m.rounds} rounds: one counter store into the region ${m.storeNs.toFixed(2)} ns\n`);
  // Per batch (a publication or a drain) the host stores two words; a batch carries at least one request.
  const addedNs = 2 * 2 * m.storeNs;
  for (const r of results) {
    const perRequestNs = 1e9 / r.medianOff;
    process.stdout.write(
      `${r.mode}: a pipelined request takes ${perRequestNs.toFixed(0)} ns (1 / median rate, stats off; ${(1e9 / Math.max(...r.off)).toFixed(0)} ns at the fastest run); ` +
        `the host stores of one batch each way take ${addedNs.toFixed(2)} ns (${((addedNs / perRequestNs) * 100).toFixed(3)} % of a request if every batch held one request)\n`,
    );
  }
}

await main();
