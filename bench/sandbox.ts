/**
 * The `sandbox` suite (issue 9): what the process-mode sandbox (docs/security.md) costs, against the same sidecar
 * unconfined (`sandbox: false`) in the same run.
 *
 * - start: Sidecar.start() until it resolved (spawn, confinement, dlopen, init, READY), then stop(); each run is a
 *   series of starts (p50/p99 of them, and the median in ms as the value).
 * - request path: one 32-byte echo request at a time (the default wait policy), p50/p99/p99.9. The sandbox acts only
 *   at start and on system calls; the request path makes none while both sides spin, so the target is "no
 *   measurable difference". The two configurations run back to back.
 *
 * Targets: sandboxed request p50 ≤ 1.10 × unconfined (the noise band of this machine).
 */
import { Sidecar, examplePluginPath, type SidecarOptions } from '../src/index.js';
import { check, type BenchContext, type BenchResult, type ScenarioPlan, type SuiteResult } from './lib/contract.js';
import { LatencyHistogram } from './lib/histogram.js';
import { cpuPerMessage, readCpu } from './lib/cpu.js';
import { childProcessSides } from './lib/cpu.js';
import { byId, planOf, runScenarios, type Scenario, type Session } from './lib/scenarios.js';
import { durations, measureRoundTrips, nowNs, perSecond } from './lib/timing.js';

const SUITE = 'sandbox';
const MESSAGE_BYTES = 32;

const CONFIGS: { key: string; name: string; options: Partial<SidecarOptions> }[] = [
  { key: 'unconfined', name: 'unconfined (sandbox: false)', options: { sandbox: false } },
  { key: 'sandboxed', name: 'default sandbox', options: {} },
];

function starts(ctx: BenchContext): number {
  return ctx.depth === 'smoke' ? 2 : ctx.depth === 'quick' ? 6 : 20;
}

function scenarios(ctx: BenchContext): Scenario[] {
  const plugin = examplePluginPath('echo');
  const w = ctx.durationMs + Math.min(250, Math.max(10, ctx.durationMs / 4));
  const list: Scenario[] = [];
  for (const c of CONFIGS) {
    list.push({
      id: `${SUITE}.process.start.${c.key}`,
      title: `process-mode start and stop, ${c.name}`,
      runMs: starts(ctx) * 60,
      run: async (): Promise<BenchResult> => {
        const h = new LatencyHistogram();
        const n = starts(ctx);
        for (let i = 0; i < n; i++) {
          const t0 = nowNs();
          const sidecar = await Sidecar.start({ plugin, mode: 'process', ...c.options });
          h.record(nowNs() - t0);
          await sidecar.stop();
        }
        const s = h.summary();
        return {
          suite: SUITE,
          id: `${SUITE}.process.start.${c.key}`,
          scenario: `process-mode Sidecar.start(), ${c.name}`,
          transport: 'Sidecar process mode',
          kind: c.key === 'unconfined' ? 'alternative' : 'ours',
          pattern: 'resource',
          latency_ns: s,
          value: Math.round(s.p50 / 1e4) / 100,
          unit: 'ms',
          runs: 1,
          note: `${n} starts; latency_ns is the time until start() resolved`,
        };
      },
    });
  }
  for (const c of CONFIGS) {
    list.push({
      id: `${SUITE}.process.round-trip.${c.key}.32`,
      title: `request round trip 32 B, process mode, ${c.name}`,
      runMs: w + 10,
      openMs: 100,
      open: async (): Promise<Session> => {
        const sidecar = await Sidecar.start({ plugin, mode: 'process', ...c.options });
        const payload = new Uint8Array(MESSAGE_BYTES);
        const sides = childProcessSides(sidecar.pid);
        return {
          async once(): Promise<BenchResult> {
            const d = durations(ctx);
            let trips = 0;
            const c0 = readCpu(sides);
            const s = await measureRoundTrips(async () => {
              await sidecar.request(payload);
              trips++;
            }, d);
            const c1 = readCpu(sides);
            return {
              suite: SUITE,
              id: `${SUITE}.process.round-trip.${c.key}.32`,
              scenario: `request round trip 32 B, process mode, ${c.name}`,
              transport: 'Sidecar process mode',
              kind: c.key === 'unconfined' ? 'alternative' : 'ours',
              pattern: 'round-trip',
              message_bytes: MESSAGE_BYTES,
              latency_ns: s,
              msgs_per_s: perSecond(s.count, d.measureNs),
              cpu_ns_per_msg: cpuPerMessage(c0, c1, trips),
              runs: 1,
              note: 'default wait policy; CPU per request (warm-up included)',
            };
          },
          async close(): Promise<void> {
            await sidecar.stop();
          },
        };
      },
    });
  }
  return list;
}

export function plan(ctx: BenchContext): ScenarioPlan[] {
  return planOf(ctx, scenarios(ctx));
}

export default async function run(ctx: BenchContext): Promise<SuiteResult> {
  const results = await runScenarios(ctx, scenarios(ctx));
  const plain = byId(results, `${SUITE}.process.round-trip.unconfined.32`)?.latency_ns?.p50;
  const boxed = byId(results, `${SUITE}.process.round-trip.sandboxed.32`)?.latency_ns?.p50;
  const checks = plain !== undefined && boxed !== undefined
    ? [check('sandboxed request round trip p50 ≤ 1.10 × unconfined (same run, ratio)', Math.round((boxed / plain) * 100) / 100, '<=', 1.1, 9)]
    : [];
  return { results, checks };
}
