/**
 * The `sandbox` suite (issue 9): what the process-mode sandbox (docs/security.md) costs, against the same sidecar
 * unconfined (`sandbox: false`) in the same run.
 *
 * - start: Sidecar.start() until it resolved (spawn, confinement, dlopen, init, READY), then stop(); the two
 *   configurations alternate, START_ROUNDS times each, and the medians are compared.
 * - request path: one 32-byte echo request at a time (the default wait policy), p50/p99, in alternating blocks of
 *   one sidecar each, so drift of the machine hits both alike. The sandbox acts only at start and on system calls;
 *   the request path makes none while both sides spin, so the target is "no measurable difference".
 *
 * Targets: sandboxed request p50 ≤ 1.10 × unconfined (the noise band of this machine); start overhead reported (ms).
 */
import { Sidecar, examplePluginPath, type SidecarOptions } from '../src/index.js';
import { durations, measureRoundTrips, nowNs } from './lib/timing.js';
import { check, type BenchContext, type BenchResult, type SuiteResult } from './lib/types.js';

const SUITE = 'sandbox';
const MESSAGE_BYTES = 32;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const CONFIGS: { name: string; options: Partial<SidecarOptions> }[] = [
  { name: 'unconfined (sandbox: false)', options: { sandbox: false } },
  { name: 'default sandbox', options: {} },
];

export default async function run(ctx: BenchContext): Promise<SuiteResult> {
  const results: BenchResult[] = [];
  const plugin = examplePluginPath('echo');
  const rounds = ctx.quick ? 3 : 30;
  const startMs: number[][] = CONFIGS.map(() => []);
  for (let round = 0; round < rounds; round++) {
    for (const [i, c] of CONFIGS.entries()) {
      const t0 = nowNs();
      const sidecar = await Sidecar.start({ plugin, mode: 'process', ...c.options });
      startMs[i]!.push((nowNs() - t0) / 1e6);
      await sidecar.stop();
    }
  }
  ctx.log(`${SUITE}: start measured, ${rounds} rounds each`);
  const [plainStart, boxedStart] = startMs.map(median) as [number, number];
  for (const [i, c] of CONFIGS.entries()) {
    results.push({
      suite: SUITE,
      scenario: `process-mode start, ${c.name}`,
      note: `median ${median(startMs[i]!).toFixed(2)} ms of ${rounds} starts`,
      ...(i === 0 ? { baseline: true } : {}),
    });
  }
  results.push({ suite: SUITE, scenario: 'start overhead of the sandbox', note: `${(boxedStart - plainStart).toFixed(2)} ms (${(boxedStart / plainStart).toFixed(2)} ×)` });

  const blocks = ctx.quick ? 1 : 5;
  const d = durations(ctx.quick, 1, 0.3);
  const p50: number[][] = CONFIGS.map(() => []);
  const p99: number[][] = CONFIGS.map(() => []);
  const payload = new Uint8Array(MESSAGE_BYTES);
  for (let b = 0; b < blocks; b++) {
    for (const [i, c] of CONFIGS.entries()) {
      const sidecar = await Sidecar.start({ plugin, mode: 'process', ...c.options });
      const s = await measureRoundTrips(async () => {
        await sidecar.request(payload);
      }, d);
      await sidecar.stop();
      p50[i]!.push(s.p50);
      p99[i]!.push(s.p99);
    }
  }
  ctx.log(`${SUITE}: request path measured, ${blocks} blocks each`);
  for (const [i, c] of CONFIGS.entries()) {
    results.push({
      suite: SUITE,
      scenario: `request round trip 32 B, process mode, ${c.name}`,
      message_bytes: MESSAGE_BYTES,
      rtt_p50_ns: Math.round(median(p50[i]!)),
      rtt_p99_ns: Math.round(median(p99[i]!)),
      note: `median of ${blocks} blocks`,
      ...(i === 0 ? { baseline: true } : {}),
    });
  }
  const ratio = median(p50[1]!) / median(p50[0]!);
  return {
    results,
    checks: [check('sandboxed request round trip p50 ≤ 1.10 × unconfined (same run)', Math.round(ratio * 100) / 100, '<=', 1.1)],
  };
}
