/**
 * The parked round trip per parker, against the C futex ping-pong, in ONE run with the variants alternating (issue 11:
 * "a parked round trip ≤ 1.2 × the C futex ping-pong"). Standalone: `node .out/bench/parker-rtt.js [--rounds N]
 * [--seconds S] [--json]`.
 *
 * Each round measures, in a rotating order (so that drift in the machine's load hits every variant alike):
 * - C futex ping-pong: native/bench/baselines.c c_futex_pingpong (two threads, each sleeps in FUTEX_WAIT).
 * - parker io_uring: JS ↔ native echo process, 32 B round trip, JS awaits readable() with policy 'park' through a
 *   NativeParker using io_uring futex waits; the peer parks on its futex and wakes JS with FUTEX_WAKE only.
 * - parker thread: the same, NativeParker forced to its waiter threads ({ mechanism: 'thread' }).
 * - eventfd parker: the same through an EventfdParker; the peer also writes its eventfd (wire-format §5.1.1).
 * The JS scenarios are those of bench/ring.ts "JS ↔ native process, 32 B round trip, park" (and its eventfd twin).
 * Reported per variant: the median over rounds of p50 and p99, and the median of the per-round ratios to the C futex
 * ping-pong of the same round. The load average before and after says how busy the (shared) machine was.
 */
import { execFile } from 'node:child_process';
import { loadavg } from 'node:os';
import { promisify } from 'node:util';

import { EventfdParker, NativeParker, Ring, SharedRegion, regionLayout, type Parker } from '../src/index.js';
import { findBuildArtifact } from '../src/native/addon.js';
import { startProcessPeer } from '../src/testing/peers.js';
import { durations, measureRoundTrips } from './lib/timing.js';

const run = promisify(execFile);
const RECORD_TYPE = 1;
const BYTES = 32;
const CAPACITY = 64 * 1024;
const REPLY_TIMEOUT_MS = 5000;

type Variant = 'C futex ping-pong' | 'parker io_uring' | 'parker thread' | 'eventfd parker';
const VARIANTS: Variant[] = ['C futex ping-pong', 'parker io_uring', 'parker thread', 'eventfd parker'];

interface Sample {
  p50: number;
  p99: number;
  trips: number;
}

async function cFutex(seconds: number): Promise<Sample> {
  const bin = findBuildArtifact('build/Release/bench_baselines');
  if (bin === undefined) throw new Error('build/Release/bench_baselines is missing; run npm run build:native with ns_tests.');
  const { stdout } = await run(bin, ['--seconds', String(seconds), 'c_futex_pingpong'], { timeout: 120_000 });
  const line = JSON.parse(stdout.trim().split('\n').pop()!) as { rtt_p50_ns: number; rtt_p99_ns: number; round_trips: number; error?: string };
  if (line.error !== undefined) throw new Error(`c_futex_pingpong failed: ${line.error}`);
  return { p50: line.rtt_p50_ns, p99: line.rtt_p99_ns, trips: line.round_trips };
}

async function parked(variant: Exclude<Variant, 'C futex ping-pong'>, seconds: number): Promise<Sample> {
  let parker: Parker;
  if (variant === 'eventfd parker') parker = new EventfdParker();
  else {
    const native = new NativeParker(variant === 'parker thread' ? { mechanism: 'thread' } : {});
    const want = variant === 'parker io_uring' ? 'io_uring' : 'thread';
    if (native.mechanism !== want) throw new Error(`The parker uses '${native.mechanism}', not '${want}': ${native.fallbackReason}`);
    parker = native;
  }
  const align = (n: number): number => Math.ceil(n / regionLayout.SEGMENT_ALIGN) * regionLayout.SEGMENT_ALIGN;
  const region = SharedRegion.create({ size: Math.max(regionLayout.REGION_MIN_SIZE, regionLayout.REGION_HEADER_SIZE + 2 * align(Ring.segmentSize(CAPACITY))) });
  const toPeer = region.createRing(CAPACITY, { parker, waitPolicy: { mode: 'park' } });
  const fromPeer = region.createRing(CAPACITY, { parker, waitPolicy: { mode: 'park' } });
  const peer = startProcessPeer(region, {
    mode: 'echo',
    input: 0,
    output: 1,
    batch: 1,
    waitPolicy: { mode: 'park' },
    ...(parker instanceof EventfdParker ? { wakeFd: parker.fd } : {}),
  });
  try {
    const payload = new Uint8Array(BYTES);
    const s = await measureRoundTrips(async () => {
      if (!toPeer.tryWrite(RECORD_TYPE, payload)) throw new Error('The request ring is full although every request was answered.');
      while (fromPeer.peek() === null) {
        if (!(await fromPeer.readable({ timeout: REPLY_TIMEOUT_MS }))) throw new Error('The echo peer closed its ring.');
      }
      fromPeer.release();
    }, durations(false, seconds, 0.3));
    toPeer.closeProducer();
    const result = await peer.done;
    if (!result.ok) throw new Error(`The echo peer failed: ${result.code} ${result.error ?? ''}`);
    return { p50: s.p50, p99: s.p99, trips: s.count };
  } finally {
    peer.stop();
    await peer.done.catch(() => undefined);
    region.close();
    parker.close();
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

async function main(): Promise<void> {
  const arg = (name: string, fallback: number): number => {
    const i = process.argv.indexOf(name);
    const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
    if (!Number.isFinite(v) || v <= 0) throw new Error(`${name} must be a positive number; received '${process.argv[i + 1]}'.`);
    return v;
  };
  const rounds = Math.floor(arg('--rounds', 5));
  const seconds = arg('--seconds', 1);
  const loadBefore = loadavg();
  const samples = new Map<Variant, Sample[]>(VARIANTS.map((v) => [v, []]));
  for (let round = 0; round < rounds; round++) {
    const order = VARIANTS.map((_, i) => VARIANTS[(i + round) % VARIANTS.length]!);
    for (const variant of order) {
      const s = variant === 'C futex ping-pong' ? await cFutex(seconds) : await parked(variant, seconds);
      samples.get(variant)!.push(s);
      process.stderr.write(`round ${round + 1}/${rounds} ${variant}: p50 ${s.p50} ns, p99 ${s.p99} ns, ${s.trips} trips\n`);
    }
  }
  const loadAfter = loadavg();
  const c = samples.get('C futex ping-pong')!;
  const rows = VARIANTS.map((variant) => {
    const xs = samples.get(variant)!;
    return {
      variant,
      p50_ns: median(xs.map((s) => s.p50)),
      p99_ns: median(xs.map((s) => s.p99)),
      p50_ratio: median(xs.map((s, i) => s.p50 / c[i]!.p50)),
      p99_ratio: median(xs.map((s, i) => s.p99 / c[i]!.p99)),
      p50_ratio_range: [Math.min(...xs.map((s, i) => s.p50 / c[i]!.p50)), Math.max(...xs.map((s, i) => s.p50 / c[i]!.p50))],
      rounds: xs.length,
    };
  });
  const report = { rounds, seconds, load_before: loadBefore, load_after: loadAfter, rows };
  if (process.argv.includes('--json')) {
    console.log(JSON.stringify(report, null, 2));
    return;
  }
  const f = (n: number): string => n.toFixed(2);
  console.log(`parked round trip, ${rounds} alternating rounds × ${seconds} s; load average before ${loadBefore.map(f).join(' ')}, after ${loadAfter.map(f).join(' ')}`);
  console.log('variant              p50 ns   p99 ns   p50 × C futex (range)   p99 × C futex');
  for (const r of rows) {
    console.log(
      `${r.variant.padEnd(20)} ${String(Math.round(r.p50_ns)).padStart(7)}  ${String(Math.round(r.p99_ns)).padStart(7)}   ` +
        `${f(r.p50_ratio)} (${f(r.p50_ratio_range[0]!)}–${f(r.p50_ratio_range[1]!)})`.padEnd(24) +
        f(r.p99_ratio),
    );
  }
}

await main();
