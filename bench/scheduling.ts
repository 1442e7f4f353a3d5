/**
 * The `scheduling` suite (issue 11, the Sidecar option `scheduling`): what each setting does to the round trip of
 * `Sidecar.request()` with otherwise default options (32 bytes, awaited one at a time), in both modes, on the machine
 * as it is ("idle": nothing but the benchmark) and with LOAD_PROCESSES busy-looping processes (nice 0) competing.
 *
 * Configurations: no scheduling option (the baseline of each group); the runtime pinned to CPU 1 and the pump (this
 * thread) to CPU 0; nice −10 for the runtime; SCHED_FIFO priority 10 for the runtime (root only, else left out, said
 * in the note). One run of a configuration is a block: start a sidecar, warm up, measure ctx.durationMs, stop. Blocks
 * of the configurations of one group ALTERNATE (run 1 of each, then run 2 of each, …), so the drift of a shared
 * machine hits all alike; each result is the median block, with its spread, and its note gives the p50 and p99 ratios
 * to the group's baseline of the same run.
 *
 * Safety: the load processes run under `timeout` and are killed when the suite ends or fails; the SCHED_FIFO runtime
 * spins only for its spin-then-park window before it parks, and the kernel's RT throttling (sched_rt_runtime_us)
 * bounds it in any case. Not in the default suites (it takes a minute): `npm run bench -- scheduling`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cpus } from 'node:os';

import { Sidecar, examplePluginPath, type SidecarMode, type SidecarOptions } from '../src/index.js';
import { childProcessSides, cpuPerMessage, inProcessSides, readCpu } from './lib/cpu.js';
import type { BenchContext, BenchResult, ScenarioPlan, SuiteResult } from './lib/contract.js';
import { LatencyHistogram } from './lib/histogram.js';
import { medianRun } from './lib/scenarios.js';
import { nowNs } from './lib/timing.js';

const SUITE = 'scheduling';
const MESSAGE_BYTES = 32;
const LOAD_PROCESSES = 2;
/** Upper bound of a load process's life (s), whatever happens to this process. */
const LOAD_TIMEOUT_S = 900;
const WARMUP_MS = 100;
/** Sidecar start and stop around each block, ms (for the plan's estimate). */
const BLOCK_OVERHEAD_MS = 60;

interface Config {
  tag: string;
  name: string;
  scheduling: SidecarOptions['scheduling'];
}

const isRoot = process.getuid?.() === 0;
const CONFIGS: Config[] = [
  { tag: 'default', name: 'no scheduling option', scheduling: undefined },
  ...(cpus().length >= 2 ? [{ tag: 'pinned', name: 'runtime on cpu 1, pump on cpu 0', scheduling: { cpus: [1], pumpCpus: [0] } }] : []),
  { tag: 'nice', name: 'runtime nice -10', scheduling: { nice: -10 } },
  ...(isRoot ? [{ tag: 'fifo', name: 'runtime SCHED_FIFO 10', scheduling: { policy: 'fifo' as const, priority: 10 } }] : []),
];
const MODES: SidecarMode[] = ['thread', 'process'];
const CONDITIONS = ['idle', 'loaded'] as const;

const idOf = (condition: string, mode: SidecarMode, c: Config): string => `${SUITE}.${mode}.${condition}.${c.tag}`;
const titleOf = (condition: string, mode: SidecarMode, c: Config): string => `request round trip, ${mode} mode, ${condition} machine, ${c.name}`;

export function plan(ctx: BenchContext): ScenarioPlan[] {
  const out: ScenarioPlan[] = [];
  for (const condition of CONDITIONS) {
    for (const mode of MODES) {
      for (const c of CONFIGS) {
        const id = idOf(condition, mode, c);
        if (ctx.selected(id)) out.push({ id, title: titleOf(condition, mode, c), estimateMs: ctx.runs * (ctx.durationMs + WARMUP_MS + BLOCK_OVERHEAD_MS) });
      }
    }
  }
  return out;
}

function startLoad(): ChildProcess[] {
  return Array.from({ length: LOAD_PROCESSES }, () =>
    // detached: `timeout` leads a process group of its own with the loop in it, so one kill ends both.
    spawn('timeout', ['-s', 'KILL', String(LOAD_TIMEOUT_S), 'nice', '-n', '0', 'sh', '-c', 'while :; do :; done'], { stdio: 'ignore', detached: true }),
  );
}

function stopLoad(load: readonly ChildProcess[]): void {
  for (const p of load) {
    if (p.pid === undefined) continue;
    try {
      process.kill(-p.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/** One block: a sidecar with `c`, warmed up, then ctx.durationMs of round trips. */
async function block(ctx: BenchContext, condition: string, mode: SidecarMode, c: Config): Promise<BenchResult> {
  const payload = new Uint8Array(MESSAGE_BYTES);
  const sidecar = await Sidecar.start({ plugin: examplePluginPath('echo'), mode, scheduling: c.scheduling });
  try {
    const warmEnd = nowNs() + WARMUP_MS * 1e6;
    while (nowNs() < warmEnd) await sidecar.request(payload);
    const sides = mode === 'process' ? childProcessSides(sidecar.pid!) : inProcessSides();
    const h = new LatencyHistogram();
    const before = readCpu(sides);
    const end = nowNs() + ctx.durationMs * 1e6;
    let t = nowNs();
    while (t < end) {
      const t0 = t;
      await sidecar.request(payload);
      t = nowNs();
      h.record(t - t0);
    }
    const after = readCpu(sides);
    const s = h.summary();
    return {
      suite: SUITE,
      id: idOf(condition, mode, c),
      scenario: titleOf(condition, mode, c),
      transport: `Sidecar ${mode} mode`,
      kind: 'ours',
      pattern: 'round-trip',
      message_bytes: MESSAGE_BYTES,
      latency_ns: { p50: s.p50, p99: s.p99, p999: s.p999, max: s.max, count: s.count },
      cpu_ns_per_msg: cpuPerMessage(before, after, s.count),
      runs: 1,
    };
  } finally {
    await sidecar.stop();
  }
}

export default async function run(ctx: BenchContext): Promise<SuiteResult> {
  const results: BenchResult[] = [];
  let load: ChildProcess[] = [];
  const cleanup = (): void => stopLoad(load);
  process.once('exit', cleanup);
  try {
    for (const condition of CONDITIONS) {
      for (const mode of MODES) {
        const chosen = CONFIGS.filter((c) => ctx.selected(idOf(condition, mode, c)));
        if (chosen.length === 0) continue;
        if (condition === 'loaded' && load.length === 0) load = startLoad();
        const blocks = chosen.map((): BenchResult[] => []);
        for (let r = 0; r < ctx.runs; r++) {
          for (const [i, c] of chosen.entries()) {
            if (r === 0) ctx.begin(idOf(condition, mode, c), titleOf(condition, mode, c));
            blocks[i]!.push(await block(ctx, condition, mode, c));
          }
        }
        const medians = blocks.map((b) => medianRun(b));
        const base = chosen[0]!.tag === 'default' ? medians[0] : undefined;
        for (const m of medians) {
          const ratio = base?.latency_ns && m.latency_ns
            ? `p50 ${(m.latency_ns.p50 / base.latency_ns.p50).toFixed(2)} ×, p99 ${(m.latency_ns.p99 / base.latency_ns.p99).toFixed(2)} × "no scheduling option" of this group (same run)`
            : 'no baseline in this selection';
          const loadNote = condition === 'loaded' ? `; ${LOAD_PROCESSES} busy-looping processes at nice 0 competed` : '';
          results.push({ ...m, note: `${ratio}${loadNote}${isRoot ? '' : '; not root: SCHED_FIFO left out'}` });
        }
      }
    }
  } finally {
    cleanup();
    process.off('exit', cleanup);
  }
  return { results, checks: [] };
}
