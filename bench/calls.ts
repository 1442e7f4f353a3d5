/**
 * The `calls` suite: what one crossing between JavaScript and C costs, per mechanism, measured in one run.
 *   npm run bench -- calls [--json] [--quick]
 * Scenarios (ns per call; each the median of REPEATS runs):
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

// The suite contract of COMMON.md (bench/lib/types.ts, owned by helper `bench`), restated structurally so that this
// suite compiles on its own; run.ts passes its BenchContext, which has these members.
interface BenchContext {
  quick: boolean;
  log(line: string): void;
}
interface BenchResult {
  suite: string;
  scenario: string;
  message_bytes?: number;
  msgs_per_s?: number;
  ns_per_call?: number;
  baseline?: boolean;
  note?: string;
}
interface SuiteResult {
  results: BenchResult[];
  checks: Array<{ target: string; value: number; limit: number; met: boolean }>;
}

const SUITE = 'calls';
const REPEATS = 3;
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
const QUICK: Sizes = { jsToC: 20_000, cToJs: 10_000, threadFire: 2_000, threadBlocking: 1_000, ring: 20_000 };

function nowNs(): number {
  return Number(process.hrtime.bigint());
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

function tick(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Median ns per iteration of a synchronous loop body run `n` times, after a warm-up of n/10. */
function perCallSync(n: number, loop: (count: number) => void): number {
  loop(Math.max(1, Math.floor(n / 10)));
  const samples: number[] = [];
  for (let r = 0; r < REPEATS; r++) {
    const start = nowNs();
    loop(n);
    samples.push((nowNs() - start) / n);
  }
  return median(samples);
}

async function perCallAsync(n: number, once: (count: number) => Promise<number>): Promise<number> {
  await once(Math.max(1, Math.floor(n / 10)));
  const samples: number[] = [];
  for (let r = 0; r < REPEATS; r++) samples.push((await once(n)) / n);
  return median(samples);
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

function result(scenario: string, ns: number, baselineNs: number, extra: Partial<BenchResult> = {}): BenchResult {
  return {
    suite: SUITE,
    scenario,
    ns_per_call: Math.round(ns * 10) / 10,
    note: `${(ns / baselineNs).toFixed(1)} × the JS function call`,
    ...extra,
  };
}

export default async function run(ctx: BenchContext): Promise<SuiteResult> {
  const n = ctx.quick ? QUICK : FULL;
  const napi = new NapiBinding();
  const koffi = new KoffiBinding();
  const results: BenchResult[] = [];
  try {
    ctx.log('calls: baseline');
    const base = jsBaseline(n.jsToC);
    results.push({ suite: SUITE, scenario: 'JS function call (baseline)', ns_per_call: Math.round(base * 10) / 10, baseline: true });

    ctx.log('calls: JS → C');
    results.push(result('JS → C noop, N-API', jsToC(napi, n.jsToC, 'noop'), base));
    results.push(result('JS → C noop, koffi', jsToC(koffi, n.jsToC, 'noop'), base));
    results.push(result('JS → C add(a, b), N-API', jsToC(napi, n.jsToC, 'add'), base));
    results.push(result('JS → C add(a, b), koffi', jsToC(koffi, n.jsToC, 'add'), base));

    ctx.log('calls: C → JS on the JS thread');
    results.push(result('C → JS callback on the JS thread, N-API', cToJsHere(napi, n.cToJs), base));
    results.push(result('C → JS callback on the JS thread, koffi', cToJsHere(koffi, n.cToJs), base));

    ctx.log('calls: C → JS from a native thread');
    results.push(result('C → JS from a native thread, N-API TSFN fire-and-forget', await cToJsFire(napi, n.threadFire), base));
    results.push(result('C → JS from a native thread, N-API TSFN blocking', await cToJsBlocking(napi, n.threadBlocking), base));
    results.push(result('C → JS from a native thread, koffi (relayed, blocking)', await cToJsBlocking(koffi, n.threadBlocking), base));

    ctx.log('calls: 32-byte ring records');
    const toNative = await ringToNative(napi, n.ring);
    results.push(result('ring 32 B record, JS → native thread', toNative, base, { message_bytes: RING_MESSAGE_BYTES, msgs_per_s: Math.round(1e9 / toNative) }));
    const fromNative = await ringFromNative(napi, n.ring);
    results.push(result('ring 32 B record, native thread → JS', fromNative, base, { message_bytes: RING_MESSAGE_BYTES, msgs_per_s: Math.round(1e9 / fromNative) }));
  } finally {
    napi.close();
    koffi.close();
  }
  // The issue sets no targets for this suite: its figures inform the "which mechanism when" guidance.
  return { results, checks: [] };
}
