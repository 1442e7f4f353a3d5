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
 * the host's per-request part in isolation, in this process, A/B/A/B: PendingRequests add + resolve (where the
 * pending gauge is stored twice per request) with the gauge mirrored into a real shared region and with it off
 * (mirrorTo(undefined)), and the per-batch counter store itself (a Uint32Array element of the region, += n).
 *
 * Usage: node .out/bench/stats-cost.js [--pairs N] [--seconds S] [--mode thread|process|both] [--json]
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { SharedRegion, Sidecar, examplePluginPath, type SidecarMode } from '../src/index.js';
import { PendingRequests } from '../src/sidecar/pending.js';
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
  /** ns per request of PendingRequests add + resolve, gauge on (median of the rounds). */
  pendingOnNs: number;
  pendingOffNs: number;
  /** ns per `+=` store into a Uint32Array of the shared region (median), loop overhead subtracted. */
  storeNs: number;
  rounds: number;
}

/** The in-process part: alternating rounds, each timing `BATCHES` × 1024 requests through PendingRequests. */
function micro(rounds: number): MicroResult {
  const region = SharedRegion.create({ size: 4096 });
  const gauge = new Uint32Array(region.buffer, 256 + 64, 4);
  const pending = new PendingRequests(() => 'withdrawn');
  const empty = new Uint8Array(0);
  const ids = new Int32Array(1024);
  const BATCHES = 200;
  const time = (on: boolean): number => {
    pending.mirrorTo(on ? gauge : undefined);
    const start = nowNs();
    for (let b = 0; b < BATCHES; b++) {
      for (let i = 0; i < ids.length; i++) {
        const id = pending.nextId();
        ids[i] = id;
        void pending.add(id, i, undefined, undefined);
      }
      for (let i = 0; i < ids.length; i++) pending.resolve(ids[i]!, empty);
    }
    return (nowNs() - start) / (BATCHES * ids.length);
  };
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
  const on: number[] = [];
  const off: number[] = [];
  const storeCost: number[] = [];
  time(true);
  time(false);
  for (let r = 0; r < rounds; r++) {
    // The order alternates too (A B, B A, …): the later of two rounds runs on a warmer, but also more collected, heap.
    if (r % 2 === 0) {
      on.push(time(true));
      off.push(time(false));
    } else {
      off.push(time(false));
      on.push(time(true));
    }
    storeCost.push(stores(gauge) - stores(undefined));
  }
  region.close();
  return { pendingOnNs: median(on), pendingOffNs: median(off), storeNs: median(storeCost), rounds };
}

interface ModeResult {
  mode: SidecarMode;
  on: number[];
  off: number[];
  medianOn: number;
  medianOff: number;
  /** medianOn / medianOff. */
  ratio: number;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      child: { type: 'string' },
      pairs: { type: 'string', default: '4' },
      seconds: { type: 'string', default: '1.5' },
      mode: { type: 'string', default: 'both' },
      json: { type: 'boolean', default: false },
    },
  });
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
    results.push({ mode, on, off, medianOn, medianOff, ratio: medianOn / medianOff });
  }
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ benchmark: 'stats-cost', pipeline: PIPELINE, message_bytes: MESSAGE_BYTES, seconds, pairs, results, micro: inProcess })}\n`);
    return;
  }
  for (const r of results) {
    process.stdout.write(
      `${r.mode}: pipelined requests/s, median of ${r.on.length}: host stats on ${Math.round(r.medianOn)}, off ${Math.round(r.medianOff)}, ratio on/off ${r.ratio.toFixed(3)} ` +
        `(on: ${r.on.map(Math.round).join(', ')}; off: ${r.off.map(Math.round).join(', ')})\n`,
    );
  }
  const m = inProcess;
  process.stdout.write(
    `in process, median of ${m.rounds} alternating rounds: PendingRequests add + resolve ${m.pendingOnNs.toFixed(1)} ns/request with the pending gauge, ` +
      `${m.pendingOffNs.toFixed(1)} ns without (ratio ${(m.pendingOnNs / m.pendingOffNs).toFixed(3)}); one counter store into the region ${m.storeNs.toFixed(2)} ns\n`,
  );
  // Per request the host stores the pending gauge twice (add, settle) and each batch counter at most once.
  const addedNs = 4 * Math.max(m.storeNs, 0);
  for (const r of results) {
    const perRequestNs = 1e9 / r.medianOff;
    process.stdout.write(
      `${r.mode}: a pipelined request takes ${perRequestNs.toFixed(0)} ns (1 / median rate, stats off); its at most 4 host stores take ${addedNs.toFixed(2)} ns of it (${((addedNs / perRequestNs) * 100).toFixed(3)} %)\n`,
    );
  }
}

await main();
