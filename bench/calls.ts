/**
 * The `calls` suite: what one crossing between JavaScript and C costs, per mechanism, measured in one run.
 *   npm run bench -- calls
 * Scenarios (ns per call; each the median of ctx.runs runs, each run after a warm-up of a tenth of its calls):
 *   - baseline: a plain JS function call, in the same kind of loop as the native calls;
 *   - JS → C: ns_sc_noop / ns_sc_add through the Node-API binding and through koffi;
 *   - C → JS on the JS thread: a native loop calling a registered JS callback (ns_sc_call_value_repeat);
 *   - C → JS from another native thread: thread-safe function fire-and-forget and blocking (Node-API), and koffi's
 *     relay (blocking by construction);
 *   - one 32-byte ring record each way between JS and a native thread, for comparison with the calls.
 * The N-API and koffi figures go through the public bindings (argument checks included), as users call them.
 */
import { Ring } from '../src/ring/ring.js';
import { KoffiBinding } from '../src/showcase/koffi-binding.js';
import { NapiBinding } from '../src/showcase/napi-binding.js';
import type { InteropBinding, NativeThread, RingSegment, ThreadReport } from '../src/showcase/types.js';

import { type BenchContext, type BenchResult, type Pattern, type ScenarioPlan, type SuiteResult } from './lib/contract.js';
import { cpuPerMessage, readCpu } from './lib/cpu.js';
import { inProcessSides } from './lib/cpu.js';
import { byId, planOf, runScenarios, type Scenario } from './lib/scenarios.js';

const SUITE = 'calls';
const RING_MESSAGE_BYTES = 32;
const RING_CAPACITY = 1 << 16;
const RING_TYPE = 1;

interface Sizes {
  jsToC: number;
  cToJs: number;
  threadFire: number;
  threadBlocking: number;
  ring: number;
}

const FULL: Sizes = { jsToC: 2_000_000, cToJs: 1_000_000, threadFire: 200_000, threadBlocking: 50_000, ring: 2_000_000 };
/** The default (quick) depth: a tenth of FULL for the thread and ring crossings, which cost microseconds under load. */
const DEFAULT: Sizes = { jsToC: 1_000_000, cToJs: 500_000, threadFire: 30_000, threadBlocking: 10_000, ring: 200_000 };
const QUICK: Sizes = { jsToC: 20_000, cToJs: 10_000, threadFire: 2_000, threadBlocking: 1_000, ring: 20_000 };

function nowNs(): number {
  return Number(process.hrtime.bigint());
}

function tick(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Median ns per iteration of a synchronous loop body run `n` times, after a warm-up of n/10. */
function perCallSync(n: number, loop: (count: number) => void): number {
  loop(Math.max(1, Math.floor(n / 10)));
  const start = nowNs();
  loop(n);
  return (nowNs() - start) / n;
}

async function perCallAsync(n: number, once: (count: number) => Promise<number>): Promise<number> {
  await once(Math.max(1, Math.floor(n / 10)));
  return (await once(n)) / n;
}

function checkReport(report: ThreadReport, expected: number, what: string): void {
  if (report.failures !== 0 || report.callsOk !== expected) {
    throw new Error(`${what}: the native thread made ${report.callsOk} of ${expected} calls (${String(report.firstError)}).`);
  }
}

// ---- scenarios ----------------------------------------------------------------------------------------------------

function jsBaseline(n: number): number {
  const fns = [(x: number) => (x + 1) | 0];
  const f = fns[0] as (x: number) => number;
  let acc = 0;
  const ns = perCallSync(n, (count) => {
    for (let i = 0; i < count; i++) acc = f(acc);
  });
  if (acc === -1) throw new Error('unreachable'); // keeps the loop's result alive
  return ns;
}

function jsToC(binding: InteropBinding, n: number, which: 'noop' | 'add'): number {
  let acc = 0;
  const ns =
    which === 'noop'
      ? perCallSync(n, (count) => {
          for (let i = 0; i < count; i++) binding.noop();
        })
      : perCallSync(n, (count) => {
          for (let i = 0; i < count; i++) acc = binding.add(acc, 1);
        });
  if (acc === 0.5) throw new Error('unreachable');
  return ns;
}

/** C → JS on the JS thread: one native call runs the loop, so JS → C is paid once per batch, not per callback. */
function cToJsHere(binding: InteropBinding, n: number): number {
  const callback = binding.registerValueCallback((v) => v + 1);
  try {
    return perCallSync(n, (count) => {
      binding.callValueRepeat(callback, count);
    });
  } finally {
    callback.release();
  }
}

/** C → JS from a native thread, fire-and-forget: from thread start until JS has received every call. */
async function cToJsFire(binding: InteropBinding, n: number): Promise<number> {
  let received = 0;
  const callback = binding.registerValueCallback(() => ++received);
  try {
    return await perCallAsync(n, async (count) => {
      received = 0;
      const start = nowNs();
      const thread = binding.startCallThread(callback, { count, mode: 'fire-and-forget' });
      while (received < count) await tick();
      const elapsed = nowNs() - start;
      checkReport(await thread.join(), count, 'fire-and-forget');
      return elapsed;
    });
  } finally {
    callback.release();
  }
}

/** C → JS from a native thread, blocking: the thread's own clock, from its first call to the end of its last. */
async function cToJsBlocking(binding: InteropBinding, n: number): Promise<number> {
  const callback = binding.registerValueCallback((v) => v + 1);
  try {
    return await perCallAsync(n, async (count) => {
      const report = await binding.startCallThread(callback, { count, mode: 'blocking' }).join();
      checkReport(report, count, 'blocking');
      return report.elapsedNs;
    });
  } finally {
    callback.release();
  }
}

function newRing(): { ring: Ring; segment: RingSegment } {
  const byteLength = Ring.segmentSize(RING_CAPACITY);
  const buffer = new ArrayBuffer(byteLength);
  return { ring: Ring.create(buffer, { capacity: RING_CAPACITY }), segment: { buffer, byteOffset: 0, byteLength } };
}

/** JS → native thread: JS writes `count` 32-byte records (retrying while full); time until the sink has all. */
async function ringToNative(binding: InteropBinding, n: number): Promise<number> {
  return perCallAsync(n, async (count) => {
    const { ring, segment } = newRing();
    const payload = new Uint8Array(RING_MESSAGE_BYTES);
    const view = new DataView(payload.buffer);
    const sink: NativeThread = binding.startRingSink(segment, count);
    const start = nowNs();
    for (let i = 0; i < count; i++) {
      view.setUint32(0, i, true);
      while (!ring.tryWrite(RING_TYPE, payload)) {
        // full: the sink drains on the other core
      }
    }
    const report = await sink.join();
    const elapsed = nowNs() - start;
    checkReport(report, count, 'ring sink');
    return elapsed;
  });
}

/** Native thread → JS: the source writes `count` 32-byte records; JS drains until it has all. */
async function ringFromNative(binding: InteropBinding, n: number): Promise<number> {
  return perCallAsync(n, async (count) => {
    const { ring, segment } = newRing();
    let received = 0;
    const start = nowNs();
    const source = binding.startRingSource(segment, count, RING_MESSAGE_BYTES);
    while (received < count) {
      const drained = ring.drain(() => {
        received++;
      });
      if (drained === 0 && source.tryJoin() !== null && ring.peek() === null) break; // ended early: reported below
    }
    const elapsed = nowNs() - start;
    checkReport(await source.join(), count, 'ring source');
    if (received !== count) throw new Error(`ring source: JS received ${received} of ${count} records.`);
    return elapsed;
  });
}

// ---- the suite ----------------------------------------------------------------------------------------------------

interface Bindings {
  napi: InteropBinding;
  koffi: InteropBinding;
}

function scenarios(ctx: BenchContext, b: () => Bindings): Scenario[] {
  const n = ctx.depth === 'smoke' ? QUICK : ctx.depth === 'quick' ? DEFAULT : FULL;
  const sync = (id: string, title: string, transport: string, kind: 'ours' | 'alternative', estimateMs: number, measure: () => number): Scenario => ({
    id: `${SUITE}.${id}`,
    title,
    runMs: estimateMs,
    run: async () => ({ suite: SUITE, id: `${SUITE}.${id}`, scenario: title, transport, kind, pattern: 'call', ns_per_call: round1(measure()), runs: 1 }),
  });
  /** A scenario with a native thread on the other side: CPU per call on each side. */
  const threaded = (id: string, title: string, transport: string, kind: 'ours' | 'alternative', pattern: Pattern, count: number, estimateMs: number, measure: () => Promise<number>, extra: (ns: number) => Partial<BenchResult> = () => ({})): Scenario => ({
    id: `${SUITE}.${id}`,
    title,
    runMs: estimateMs,
    run: async () => {
      const sides = inProcessSides();
      const c0 = readCpu(sides);
      const ns = await measure();
      const c1 = readCpu(sides);
      return {
        suite: SUITE, id: `${SUITE}.${id}`, scenario: title, transport, kind, pattern, ns_per_call: round1(ns),
        // the warm-up (a tenth) runs between the readings too
        cpu_ns_per_msg: cpuPerMessage(c0, c1, Math.round(count * 1.1)),
        runs: 1,
        ...extra(ns),
      };
    },
  });
  const scale = (calls: number, nsEach: number): number => Math.ceil((calls * 1.1 * nsEach) / 1e6) + 5;
  return [
    sync('js-function.call', 'JS function call (the reference)', 'JS', 'alternative', scale(n.jsToC, 3), () => jsBaseline(n.jsToC)),
    sync('napi.js-to-c.noop', 'JS → C noop, N-API', 'N-API', 'alternative', scale(n.jsToC, 40), () => jsToC(b().napi, n.jsToC, 'noop')),
    sync('koffi.js-to-c.noop', 'JS → C noop, koffi', 'koffi', 'alternative', scale(n.jsToC, 60), () => jsToC(b().koffi, n.jsToC, 'noop')),
    sync('napi.js-to-c.add', 'JS → C add(a, b), N-API', 'N-API', 'alternative', scale(n.jsToC, 50), () => jsToC(b().napi, n.jsToC, 'add')),
    sync('koffi.js-to-c.add', 'JS → C add(a, b), koffi', 'koffi', 'alternative', scale(n.jsToC, 80), () => jsToC(b().koffi, n.jsToC, 'add')),
    sync('napi.c-to-js.same-thread', 'C → JS callback on the JS thread, N-API', 'N-API', 'alternative', scale(n.cToJs, 60), () => cToJsHere(b().napi, n.cToJs)),
    sync('koffi.c-to-js.same-thread', 'C → JS callback on the JS thread, koffi', 'koffi', 'alternative', scale(n.cToJs, 150), () => cToJsHere(b().koffi, n.cToJs)),
    threaded('napi.c-to-js.tsfn-fire', 'C → JS from a native thread, N-API TSFN fire-and-forget', 'N-API thread-safe function', 'alternative', 'call', n.threadFire, scale(n.threadFire, 1000), () => cToJsFire(b().napi, n.threadFire)),
    threaded('napi.c-to-js.tsfn-blocking', 'C → JS from a native thread, N-API TSFN blocking', 'N-API thread-safe function', 'alternative', 'call', n.threadBlocking, scale(n.threadBlocking, 10000), () => cToJsBlocking(b().napi, n.threadBlocking)),
    threaded('koffi.c-to-js.relayed-blocking', 'C → JS from a native thread, koffi (relayed, blocking)', 'koffi callback', 'alternative', 'call', n.threadBlocking, scale(n.threadBlocking, 10000), () => cToJsBlocking(b().koffi, n.threadBlocking)),
    threaded('ring.js-native-thread.one-way.32', 'ring 32 B record, JS → native thread', 'native-sidecar ring', 'ours', 'one-way', n.ring, scale(n.ring, 100), () => ringToNative(b().napi, n.ring), (ns) => ({ message_bytes: RING_MESSAGE_BYTES, msgs_per_s: Math.round(1e9 / ns) })),
    threaded('ring.native-thread-js.one-way.32', 'ring 32 B record, native thread → JS', 'native-sidecar ring', 'ours', 'one-way', n.ring, scale(n.ring, 100), () => ringFromNative(b().napi, n.ring), (ns) => ({ message_bytes: RING_MESSAGE_BYTES, msgs_per_s: Math.round(1e9 / ns) })),
  ];
}

function round1(ns: number): number {
  return Math.round(ns * 10) / 10;
}

export function plan(ctx: BenchContext): ScenarioPlan[] {
  return planOf(ctx, scenarios(ctx, () => {
    throw new Error('plan() runs nothing');
  }));
}

export default async function run(ctx: BenchContext): Promise<SuiteResult> {
  let bindings: Bindings | undefined;
  const get = (): Bindings => (bindings ??= { napi: new NapiBinding(), koffi: new KoffiBinding() });
  try {
    const results = await runScenarios(ctx, scenarios(ctx, get));
    const base = byId(results, `${SUITE}.js-function.call`)?.ns_per_call;
    if (base !== undefined && base > 0) {
      for (const r of results) if (r.ns_per_call !== undefined && r.id !== `${SUITE}.js-function.call`) r.note = `${(r.ns_per_call / base).toFixed(1)} × the JS function call`;
    }
    // The issue sets no targets for this suite: its figures inform the "which mechanism when" guidance.
    return { results, checks: [] };
  } finally {
    bindings?.napi.close();
    bindings?.koffi.close();
  }
}
