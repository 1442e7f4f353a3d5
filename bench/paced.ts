/**
 * The `paced` suite (issue 11): latency under a fixed arrival rate, coordinated omission corrected.
 *
 * For Sidecar.request() (echo plugin, default options, thread and process mode) and for a worker postMessage echo,
 * at the smallest size of ctx.sizes:
 * 1. capacity: pipelined throughput (1024 requests in flight, half of ctx.durationMs, at least 50 ms);
 * 2. open loop at 10 %, 50 % and 90 % of that capacity: request i has the intended send time t_i = t0 + i / rate,
 *    the sender never waits for replies, and the latency of a request is its completion time (when its promise's
 *    continuation runs on this thread) minus t_i. A sender that falls behind (the thread was busy with replies, a GC,
 *    the scheduler) sends the overdue requests at once and is charged for the delay: the coordinated-omission
 *    correction. The achieved rate is the replies completed within the window divided by the window; a rate whose
 *    achieved rate is below 95 % of the offered one is named in the note ("not sustained") rather than hidden.
 * Pacing on one JavaScript thread, in slices of at most PACE_SLICE_US: a slice sends every request that is due and
 * busy-waits (reading the clock) for those due before the slice ends, then yields with setImmediate so that replies
 * are processed. A reply so waits at most one slice (plus the sends of that slice) for the thread. A request refused
 * with ERR_QUEUE_FULL (a Sidecar's backlog at its bound: the rate is not sustainable) is counted in the note.
 *
 * 3. closed loop at 10 % of capacity (one request at a time, hdr-histogram's recordValueWithExpectedInterval to
 *    correct the omitted samples), for comparison with the open loop's figures.
 * Every scenario runs ctx.runs times; its figures are those of the median run by p99 (capacity: by msgs/s), spread
 * (max − min) / median of that figure. Main JavaScript thread only.
 */
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';

import type { BenchContext, BenchResult, LatencyNs, SuiteResult } from './lib/contract.js';
import type { CpuSides } from './lib/cpu.js';
import { Histogram, cpuSince, inProcSides, nowNs, payload, pipelined, repeat, result, tick, warmupMs, type RunFigures } from './baselines/alt-measure.js';
import { startSidecar } from './baselines/alt-sidecar.js';

const SUITE = 'paced';
const LOADS = [0.1, 0.5, 0.9] as const;
const CAPACITY_DEPTH = 1024;
/** The longest busy-wait of the pacer, in µs. */
export const PACE_SLICE_US = 20;
/** How long the end of a window waits for the replies still outstanding. */
const DRAIN_MS = 5000;
const SUSTAINED = 0.95;

interface Target {
  request(p: Uint8Array): Promise<unknown>;
  sides: CpuSides;
  close(): Promise<void>;
}

interface TransportDef {
  key: string;
  transport: string;
  kind: 'ours' | 'alternative';
  open(size: number): Promise<Target>;
}

/** A worker that echoes every message (bench/baselines/alt-message-peer.js); replies come back in order. */
async function postMessageEcho(): Promise<Target> {
  const worker = new Worker(new URL('./baselines/alt-message-peer.js', import.meta.url), { workerData: { codec: 'bytes' } });
  await once(worker, 'online');
  const waiting: (() => void)[] = [];
  let head = 0;
  worker.on('message', () => {
    const r = waiting[head];
    waiting[head++] = undefined as unknown as () => void;
    if (head > 4096 && head * 2 > waiting.length) {
      waiting.splice(0, head);
      head = 0;
    }
    r?.();
  });
  let failure: Error | undefined;
  worker.once('error', (e) => (failure = e));
  return {
    request: (p) =>
      new Promise<void>((resolve, reject) => {
        if (failure !== undefined) reject(failure);
        waiting.push(resolve);
        worker.postMessage(p);
      }),
    sides: inProcSides(),
    close: async () => {
      await worker.terminate();
    },
  };
}

const TRANSPORTS: TransportDef[] = [
  ...(['thread', 'process'] as const).map(
    (mode): TransportDef => ({
      key: `sidecar-${mode}`,
      transport: `native-sidecar Sidecar.request(), ${mode} mode, default options`,
      kind: 'ours',
      open: async (size) => {
        const s = await startSidecar(mode, size);
        return { request: (p) => s.sidecar.request(p), sides: s.sides, close: async () => void (await s.sidecar.stop()) };
      },
    }),
  ),
  { key: 'postmessage', transport: 'worker postMessage (copy)', kind: 'alternative', open: () => postMessageEcho() },
];

const loadKey = (f: number): string => `load-${Math.round(f * 100)}`;
/** The closed-loop variant runs at this fraction of the capacity. */
const CLOSED_LOAD = 0.1;
const CLOSED_KEY = `closed-loop-${Math.round(CLOSED_LOAD * 100)}`;
const closedTitle = (t: TransportDef, size: number): string =>
  `${t.transport}: closed loop at ${Math.round(CLOSED_LOAD * 100)} % of capacity (one at a time, hdr-corrected), ${size} B`;

/** The scenarios run() will run with this context, in order, with an estimate of each one's duration. */
export function plan(ctx: BenchContext): { id: string; title: string; estimateMs: number }[] {
  const size = Math.min(...ctx.sizes);
  const out: { id: string; title: string; estimateMs: number }[] = [];
  const capMs = Math.max(50, ctx.durationMs / 2);
  for (const t of TRANSPORTS) {
    const capId = `${SUITE}.${t.key}.capacity.${size}`;
    if (ctx.selected(capId)) out.push({ id: capId, title: `${t.transport}: capacity (pipelined), ${size} B`, estimateMs: ctx.runs * (capMs + warmupMs(ctx)) + 150 });
    for (const f of LOADS) {
      const id = `${SUITE}.${t.key}.${loadKey(f)}.${size}`;
      if (ctx.selected(id)) out.push({ id, title: `${t.transport}: paced at ${Math.round(f * 100)} % of capacity, ${size} B`, estimateMs: ctx.runs * (ctx.durationMs + 50) + 50 });
    }
    const closedId = `${SUITE}.${t.key}.${CLOSED_KEY}.${size}`;
    if (ctx.selected(closedId)) out.push({ id: closedId, title: closedTitle(t, size), estimateMs: ctx.runs * ctx.durationMs + 50 });
  }
  return out;
}

/**
 * One open-loop window: requests at `rate` per second for `durationMs`, each latency charged from its intended send
 * time. Waits up to DRAIN_MS for the outstanding replies afterwards. Rejects when a request fails.
 */
export async function openLoop(target: Target, p: Uint8Array, rate: number, durationMs: number): Promise<RunFigures & { achieved: number; lost: number; refused: number }> {
  const interval = 1e9 / rate;
  const sliceNs = PACE_SLICE_US * 1000;
  const h = new Histogram();
  let sent = 0;
  let completed = 0;
  let completedInWindow = 0;
  let refused = 0;
  let failure: unknown;
  const before = cpuSince(target.sides);
  const t0 = nowNs();
  const end = t0 + durationMs * 1e6;
  let next = t0;
  const fire = (intended: number): void => {
    target.request(p).then(
      () => {
        const done = nowNs();
        h.record(done - intended);
        completed++;
        if (done <= end) completedInWindow++;
      },
      (e: unknown) => {
        completed++;
        // A backlog at its bound is what an unsustainable rate does to a Sidecar: counted and reported, not fatal.
        if ((e as { code?: unknown } | null)?.code === 'ERR_QUEUE_FULL') refused++;
        else failure ??= e;
      },
    );
  };
  while (next < end) {
    let t = nowNs();
    const sliceEnd = t + sliceNs;
    for (;;) {
      while (next <= t && next < end) {
        fire(next);
        sent++;
        next = t0 + sent * interval;
      }
      if (next >= end || next > sliceEnd) break;
      while (t < next) t = nowNs(); // a bounded busy-wait: the next request is due within this slice
    }
    if (failure !== undefined) throw failure;
    await tick(); // after every slice: replies are processed here
  }
  const drainEnd = nowNs() + DRAIN_MS * 1e6;
  while (completed < sent && nowNs() < drainEnd) await tick();
  if (failure !== undefined) throw failure;
  const achieved = (completedInWindow * 1e9) / (end - t0);
  const latency = h.summary();
  return { primary: latency.p99, latency_ns: latency, msgs_per_s: achieved, achieved, lost: sent - completed, refused, cpu_ns_per_msg: before.perMessage(completed) };
}

/**
 * The closed-loop variant: one request at a time, each sent at its slot t0 + i / rate or, when the previous reply came
 * later than that, at once (the slots it missed are skipped: the omission). Each latency (reply − send) is recorded
 * with hdr-histogram's recordValueWithExpectedInterval(latency, 1 / rate), which adds the samples the waiting sender
 * failed to take; `raw` holds the uncorrected latencies for comparison.
 */
export async function closedLoop(target: Target, p: Uint8Array, rate: number, durationMs: number): Promise<RunFigures & { raw: LatencyNs }> {
  const interval = 1e9 / rate;
  const sliceNs = PACE_SLICE_US * 1000;
  const corrected = new Histogram();
  const raw = new Histogram();
  const before = cpuSince(target.sides);
  const t0 = nowNs();
  const end = t0 + durationMs * 1e6;
  let slot = 0;
  let n = 0;
  for (;;) {
    let t = nowNs();
    if (t >= end) break;
    const due = t0 + slot * interval;
    if (due > t) {
      if (due - t > sliceNs) {
        await tick();
        continue;
      }
      while (t < due) t = nowNs();
    }
    const sent = nowNs();
    await target.request(p);
    const done = nowNs();
    raw.record(done - sent);
    corrected.recordCorrected(done - sent, interval);
    n++;
    slot = Math.max(slot + 1, Math.ceil((done - t0) / interval));
  }
  const achieved = (n * 1e9) / (nowNs() - t0);
  const latency = corrected.summary();
  return { primary: latency.p99, latency_ns: latency, msgs_per_s: achieved, raw: raw.summary(), cpu_ns_per_msg: before.perMessage(n) };
}

export default async function run(ctx: BenchContext): Promise<SuiteResult> {
  const size = Math.min(...ctx.sizes);
  const p = payload(size);
  const results: BenchResult[] = [];
  const method = `Open loop: request i is due at t0 + i/rate and its latency is completion − due time (coordinated omission corrected); the sender never waits for replies, paces in slices of at most ${PACE_SLICE_US} µs (send what is due, busy-wait for what falls due within the slice) with a setImmediate after each slice so replies are processed.`;
  for (const t of TRANSPORTS) {
    const capId = `${SUITE}.${t.key}.capacity.${size}`;
    const ids = LOADS.map((f) => `${SUITE}.${t.key}.${loadKey(f)}.${size}`);
    const closedId = `${SUITE}.${t.key}.${CLOSED_KEY}.${size}`;
    if (![capId, closedId, ...ids].some((id) => ctx.selected(id))) continue;
    const target = await t.open(size);
    try {
      // The capacity is needed by the paced scenarios even when only they are selected.
      if (ctx.selected(capId)) ctx.begin(capId, `${t.transport}: capacity (pipelined), ${size} B`);
      const capCtx: BenchContext = { ...ctx, durationMs: Math.max(50, ctx.durationMs / 2) };
      const cap = await repeat(ctx, () => pipelined(capCtx, () => target.request(p), CAPACITY_DEPTH, target.sides));
      const capacity = cap.figures.primary;
      if (ctx.selected(capId)) {
        const r = result({ suite: SUITE, id: capId, scenario: `${t.transport}: capacity (pipelined, ${CAPACITY_DEPTH} in flight)`, transport: t.transport, kind: t.kind, pattern: 'pipelined', message_bytes: size }, cap);
        results.push(r);
        ctx.log(`${capId}: ${r.msgs_per_s} msgs/s (spread ${r.spread})`);
      }
      for (const [i, f] of LOADS.entries()) {
        const id = ids[i] as string;
        if (!ctx.selected(id)) continue;
        const title = `${t.transport}: paced at ${Math.round(f * 100)} % of capacity, ${size} B`;
        ctx.begin(id, title);
        const rate = capacity * f;
        let warmed = false;
        const runNotes: string[] = [];
        let runNo = 0;
        const r = await repeat(ctx, async () => {
          runNo++;
          if (!warmed) {
            await openLoop(target, p, rate, warmupMs(ctx));
            warmed = true;
          }
          const o = await openLoop(target, p, rate, ctx.durationMs);
          if (o.achieved < SUSTAINED * rate) runNotes.push(`Not sustained in run ${runNo}: achieved ${Math.round(o.achieved)}/s of ${Math.round(rate)}/s offered (< 95 %).`);
          if (o.refused > 0) runNotes.push(`Run ${runNo}: ${o.refused} requests were refused with ERR_QUEUE_FULL (the backlog was at its bound) and are missing from the histogram.`);
          if (o.lost > 0) runNotes.push(`Run ${runNo}: ${o.lost} replies had not arrived ${DRAIN_MS} ms after the window and are missing from the histogram.`);
          return o;
        });
        const res = result(
          { suite: SUITE, id, scenario: title, transport: t.transport, kind: t.kind, pattern: 'paced', message_bytes: size, note: [method, ...runNotes].join(' ') },
          r,
        );
        res.offered_per_s = Math.round(rate);
        res.load_fraction = f;
        results.push(res);
        const l = res.latency_ns;
        ctx.log(`${id}: offered ${res.offered_per_s}/s, achieved ${res.msgs_per_s}/s, p50 ${l?.p50} ns, p99 ${l?.p99} ns, p99.9 ${l?.p999} ns, max ${l?.max} ns (spread ${res.spread})`);
      }
      if (ctx.selected(closedId)) {
        const title = closedTitle(t, size);
        ctx.begin(closedId, title);
        const rate = capacity * CLOSED_LOAD;
        const r = await repeat(ctx, () => closedLoop(target, p, rate, ctx.durationMs));
        const raw = (r.figures as RunFigures & { raw: LatencyNs }).raw;
        const note = `Closed loop: one request at a time at slots t0 + i/rate; a reply later than the next slot makes the sender skip the slots it missed, and each latency is recorded with hdr-histogram recordValueWithExpectedInterval(latency, 1/rate) to add back the omitted samples. Uncorrected (what the sender saw): p50 ${raw.p50} ns, p99 ${raw.p99} ns, p99.9 ${raw.p999} ns over ${raw.count} requests; msgs_per_s is the achieved rate.`;
        const res = result({ suite: SUITE, id: closedId, scenario: title, transport: t.transport, kind: t.kind, pattern: 'paced', message_bytes: size, note }, r);
        res.offered_per_s = Math.round(rate);
        res.load_fraction = CLOSED_LOAD;
        results.push(res);
        const l = res.latency_ns;
        ctx.log(`${closedId}: rate ${res.offered_per_s}/s, achieved ${res.msgs_per_s}/s, corrected p50 ${l?.p50} ns, p99 ${l?.p99} ns; uncorrected p50 ${raw.p50} ns, p99 ${raw.p99} ns`);
      }
    } finally {
      await target.close();
    }
  }
  return { results, checks: [] };
}
