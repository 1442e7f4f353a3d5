/**
 * The `alternatives` suite (issue 11): what a user would use instead of native-sidecar, at each message size of
 * ctx.sizes (32 B, 1 KiB, 64 KiB, 1 MiB by default), next to our Sidecar measured in the same run.
 *
 * Ours (kind 'ours'): Sidecar.request() to the echo example plugin with default options, thread and process mode —
 * round trip (one request awaited at a time) and pipelined (depthFor(size) requests in flight).
 * Alternatives (kind 'alternative'), round trip (echo, one at a time) and one way (msgs/s, GB/s, a credit window):
 * - worker postMessage of a Uint8Array (structured clone: a copy), a MessageChannel port handed to a worker,
 *   child_process IPC with serialization 'json' (payload as a base64 string) and 'advanced' (a Buffer), a Unix domain
 *   socket with length-prefixed frames to an echoing child process (bench/baselines/alt-*.ts);
 * - the original design for reference: an unframed byte ring with a `%` wrap whose C consumer process sleeps 1 ms
 *   whenever it is empty (bench/baselines/alt-original-ring.ts, native/bench/original_ring.c);
 * - what an addon author would write instead (native/bench/bench_addon.cc, all doing the same memcpy of the buffer):
 *   a koffi call and a synchronous N-API call (pattern 'call': ns per call), and N-API async work (napi_async_work on
 *   the libuv pool, a promise resolved on completion): round trip and pipelined.
 * Every scenario runs ctx.runs times (ctx.durationMs each after a warm-up); its figures are those of the median run
 * and `spread` is (max − min) / median of the primary figure (p50 for round trips, msgs/s otherwise, ns per call for
 * calls). Ratios to ours are left to the report; the target checks of issue 11 that need the postMessage echo of the
 * same run are checked here. Main JavaScript thread only.
 */
import type { BenchContext, BenchResult, Pattern, ScenarioKind, SuiteResult, TargetCheck } from './lib/contract.js';
import { check } from './lib/contract.js';
import { threadCpuNs, type CpuSides } from './lib/cpu.js';
import type { MessageLink } from './baselines/alt-link.js';
import { calls, depthFor, inProcSides, oneWay, payload, pipelined, repeat, result, roundTrip, type RunFigures } from './baselines/alt-measure.js';
import { childIpc, messageChannel, workerPostMessage } from './baselines/alt-messages.js';
import { loadNativeCalls, type NativeCalls } from './baselines/alt-native-calls.js';
import { originalRing } from './baselines/alt-original-ring.js';
import { startSidecar } from './baselines/alt-sidecar.js';
import { unixSocket } from './baselines/alt-unix-socket.js';

const SUITE = 'alternatives';

export function sizeLabel(bytes: number): string {
  if (bytes >= 1 << 20 && bytes % (1 << 20) === 0) return `${bytes / (1 << 20)} MiB`;
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes} B`;
}

/** One scenario: its id, title, pattern, and how to measure one run of it given the group's opened state. */
interface Scenario<S> {
  key: string;
  pattern: Pattern;
  patternTitle: string;
  measure(ctx: BenchContext, state: S, size: number): Promise<RunFigures>;
}

/** A transport: opened once (per size when `perSize`), its scenarios run at each size, then closed. */
interface Group<S> {
  key: string;
  transport: string;
  kind: ScenarioKind;
  perSize: boolean;
  note?: string;
  open(ctx: BenchContext, size: number): Promise<S>;
  close(state: S): Promise<void>;
  /** A sentence added to the note of the results (for example options that differ from the defaults). */
  stateNote?(state: S): string;
  scenarios: Scenario<S>[];
}

function messagingGroup(key: string, transport: string, open: (ctx: BenchContext) => Promise<MessageLink>, note?: string): Group<MessageLink> {
  return {
    key,
    transport,
    kind: 'alternative',
    perSize: false,
    ...(note === undefined ? {} : { note }),
    open: (ctx) => open(ctx),
    close: (link) => link.close(),
    scenarios: [
      {
        key: 'round-trip',
        pattern: 'round-trip',
        patternTitle: 'round trip (echo, one at a time)',
        measure: (ctx, link, size) => {
          const p = payload(size);
          return roundTrip(ctx, () => link.echo(p), link.sides);
        },
      },
      {
        key: 'one-way',
        pattern: 'one-way',
        patternTitle: 'one way',
        measure: (ctx, link, size) => {
          const p = payload(size);
          return oneWay(ctx, (ns) => link.oneWay(p, ns), link.sides);
        },
      },
    ],
  };
}

const jsOnly: CpuSides = { js: () => threadCpuNs(), peer: () => NaN };

interface SidecarState {
  started: Awaited<ReturnType<typeof startSidecar>>;
}

function sidecarGroup(mode: 'thread' | 'process'): Group<SidecarState> {
  return {
    key: `sidecar-${mode}`,
    transport: `native-sidecar Sidecar.request(), ${mode} mode, default options`,
    kind: 'ours',
    perSize: true,
    open: async (_ctx, size) => ({ started: await startSidecar(mode, size) }),
    close: async (s) => {
      await s.started.sidecar.stop();
    },
    stateNote: (s) => s.started.note,
    scenarios: [
      {
        key: 'round-trip',
        pattern: 'round-trip',
        patternTitle: 'request round trip (one at a time)',
        measure: (ctx, s, size) => {
          const p = payload(size);
          const sc = s.started.sidecar;
          return roundTrip(
            ctx,
            async () => {
              const r = await sc.request(p);
              if (r.byteLength !== size) throw new Error(`The echo plugin replied ${r.byteLength} bytes instead of ${size}.`);
            },
            s.started.sides,
          );
        },
      },
      {
        key: 'pipelined',
        pattern: 'pipelined',
        patternTitle: 'pipelined requests',
        measure: (ctx, s, size) => {
          const p = payload(size);
          const sc = s.started.sidecar;
          return pipelined(ctx, () => sc.request(p), depthFor(size), s.started.sides);
        },
      },
    ],
  };
}

/** A free list of destination buffers, so concurrent async copies never share one. */
function bufferPool(size: number): { take(): Uint8Array; give(b: Uint8Array): void } {
  const free: Uint8Array[] = [];
  return { take: () => free.pop() ?? new Uint8Array(size), give: (b) => void free.push(b) };
}

const nativeCallsGroup = (key: 'koffi' | 'napi-sync', transport: string): Group<NativeCalls> => ({
  key,
  transport,
  kind: 'alternative',
  perSize: false,
  note: 'The C function copies the buffer into a second one (memcpy) and returns; no peer: the call runs on the JavaScript thread.',
  open: (ctx) => loadNativeCalls(ctx.nativeBin('ns_bench_addon.node')),
  close: async () => undefined,
  scenarios: [
    {
      key: 'call',
      pattern: 'call',
      patternTitle: 'synchronous call with the buffer',
      measure: (ctx, n, size) => {
        const src = payload(size);
        const dst = new Uint8Array(size);
        const call = key === 'koffi' ? () => void n.koffiCopy(src, dst, size) : () => void n.addon.copySync(src, dst);
        return calls(ctx, call, jsOnly);
      },
    },
  ],
});

const napiAsyncGroup: Group<NativeCalls> = {
  key: 'napi-async',
  transport: 'N-API async work (napi_async_work, promise)',
  kind: 'alternative',
  perSize: false,
  note: 'The libuv pool thread copies the buffer into a second one (memcpy); the completion resolves a promise on the JavaScript thread. CPU "peer" is every thread of this process but the main one.',
  open: (ctx) => loadNativeCalls(ctx.nativeBin('ns_bench_addon.node')),
  close: async () => undefined,
  scenarios: [
    {
      key: 'round-trip',
      pattern: 'round-trip',
      patternTitle: 'round trip (one at a time)',
      measure: (ctx, n, size) => {
        const src = payload(size);
        const dst = new Uint8Array(size);
        return roundTrip(
          ctx,
          async () => {
            await n.addon.copyAsync(src, dst);
          },
          inProcSides(),
        );
      },
    },
    {
      key: 'pipelined',
      pattern: 'pipelined',
      patternTitle: 'pipelined',
      measure: (ctx, n, size) => {
        const src = payload(size);
        const pool = bufferPool(size);
        return pipelined(
          ctx,
          async () => {
            const dst = pool.take();
            await n.addon.copyAsync(src, dst);
            pool.give(dst);
          },
          depthFor(size),
          inProcSides(),
        );
      },
    },
  ],
};

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function groups(): Group<any>[] {
  return [
    sidecarGroup('thread'),
    sidecarGroup('process'),
    messagingGroup('postmessage', 'worker postMessage (copy)', () => workerPostMessage(), 'A Uint8Array posted to a worker that posts it back (structured clone each way).'),
    messagingGroup('message-channel', 'MessageChannel port to a worker', () => messageChannel(), 'port1 here, port2 transferred to the worker; Uint8Array payloads.'),
    messagingGroup('child-ipc-json', "child_process IPC, serialization 'json'", () => childIpc('json'), 'The payload travels as a base64 string in { d }; both sides encode and decode it.'),
    messagingGroup('child-ipc-advanced', "child_process IPC, serialization 'advanced'", () => childIpc('advanced'), 'The payload travels as a Buffer.'),
    messagingGroup('unix-socket', 'Unix domain socket', () => unixSocket(), 'Length-prefixed frames (u32 + bytes) to a child Node process that echoes (or counts) whole frames.'),
    messagingGroup(
      'original-ring',
      'original design (1 ms polled byte ring)',
      (ctx) => originalRing(ctx.nativeBin('bench_original_ring')),
      'Unframed 4,000,000-byte ring with a % wrap in a memfd; the C consumer process sleeps usleep(1000) whenever its ring is empty; this side polls the reply ring once per event-loop turn (no sleep).',
    ),
    nativeCallsGroup('koffi', 'koffi call'),
    nativeCallsGroup('napi-sync', 'N-API synchronous call'),
    napiAsyncGroup,
  ];
}

const idOf = (g: { key: string }, s: { key: string }, size: number): string => `${SUITE}.${g.key}.${s.key}.${size}`;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const titleOf = (g: Group<any>, s: Scenario<any>, size: number): string => `${g.transport}: ${s.patternTitle}, ${sizeLabel(size)}`;

/** The scenarios run() will run with this context, in order, with an estimate of each one's duration. */
export function plan(ctx: BenchContext): { id: string; title: string; estimateMs: number }[] {
  const out: { id: string; title: string; estimateMs: number }[] = [];
  const perRun = ctx.durationMs + Math.min(200, Math.max(20, ctx.durationMs / 5));
  for (const g of groups()) {
    for (const size of ctx.sizes) {
      for (const s of g.scenarios) {
        const id = idOf(g, s, size);
        if (ctx.selected(id)) out.push({ id, title: titleOf(g, s, size), estimateMs: ctx.runs * perRun + 150 });
      }
    }
  }
  return out;
}

export default async function run(ctx: BenchContext): Promise<SuiteResult> {
  const results: BenchResult[] = [];
  for (const g of groups()) {
    const wanted = (size: number) => g.scenarios.filter((s) => ctx.selected(idOf(g, s, size)));
    if (ctx.sizes.every((size) => wanted(size).length === 0)) continue;
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    let shared: any;
    try {
      if (!g.perSize) shared = await g.open(ctx, 0);
      for (const size of ctx.sizes) {
        const todo = wanted(size);
        if (todo.length === 0) continue;
        const state = g.perSize ? await g.open(ctx, size) : shared;
        try {
          for (const s of todo) {
            const id = idOf(g, s, size);
            ctx.begin(id, titleOf(g, s, size));
            const r = await repeat(ctx, () => s.measure(ctx, state, size));
            const note = [g.note, g.stateNote?.(state)].filter((n) => n !== undefined && n !== '').join(' ');
            const res = result(
              { suite: SUITE, id, scenario: titleOf(g, s, size), transport: g.transport, kind: g.kind, pattern: s.pattern, message_bytes: size, ...(note === '' ? {} : { note }) },
              r,
            );
            results.push(res);
            ctx.log(describe(res));
          }
        } finally {
          if (g.perSize) await g.close(state);
        }
      }
    } finally {
      if (!g.perSize && shared !== undefined) await g.close(shared);
    }
  }
  return { results, checks: checks(results) };
}

function describe(r: BenchResult): string {
  const parts = [r.id];
  if (r.latency_ns !== undefined && r.pattern === 'round-trip') parts.push(`p50 ${r.latency_ns.p50} ns, p99 ${r.latency_ns.p99} ns, p99.9 ${r.latency_ns.p999} ns`);
  if (r.ns_per_call !== undefined) parts.push(`${r.ns_per_call} ns/call`);
  if (r.msgs_per_s !== undefined) parts.push(`${r.msgs_per_s} msgs/s`);
  if (r.gbytes_per_s !== undefined) parts.push(`${r.gbytes_per_s} GB/s`);
  if (r.cpu_ns_per_msg !== undefined) parts.push(`cpu js ${r.cpu_ns_per_msg.js ?? '-'} ns, peer ${r.cpu_ns_per_msg.peer ?? '-'} ns per msg`);
  parts.push(`spread ${r.spread}`);
  return parts.join(' | ');
}

/** Issue 11's request targets that compare with the worker postMessage echo of this run, at the smallest size. */
function checks(results: BenchResult[]): TargetCheck[] {
  const out: TargetCheck[] = [];
  const size = Math.min(...results.map((r) => r.message_bytes ?? Infinity));
  const find = (key: string): BenchResult | undefined => results.find((r) => r.id === `${SUITE}.${key}.round-trip.${size}`);
  const post = find('postmessage');
  for (const mode of ['thread', 'process'] as const) {
    const ours = find(`sidecar-${mode}`);
    if (ours?.latency_ns === undefined) continue;
    out.push(
      check(`Sidecar.request() ${mode} mode, default options, ${sizeLabel(size)}, one at a time: p99 ≤ 3 × p50 (ratio p99/p50)`, ours.latency_ns.p99 / ours.latency_ns.p50, '<=', 3, 11),
    );
    if (post?.latency_ns !== undefined) {
      out.push(
        check(
          `Sidecar.request() ${mode} mode, default options, ${sizeLabel(size)}: p50 ≤ 0.2 × the worker postMessage echo p50 of the same run (ratio)`,
          ours.latency_ns.p50 / post.latency_ns.p50,
          '<=',
          0.2,
          11,
        ),
      );
    }
  }
  return out;
}
