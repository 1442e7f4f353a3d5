/**
 * Scheduling priority and CPU placement (issue 11, the Sidecar option `scheduling`): what each setting does to the
 * round trip of `Sidecar.request()` with default options otherwise (32 bytes, awaited one at a time), in both modes,
 * on the idle machine and with LOAD_PROCESSES busy-looping processes (nice 0) competing for the CPUs.
 *
 * Configurations: no scheduling option (the baseline of each row group); the runtime pinned to CPU 1 and the pump
 * (this thread) to CPU 0; nice −10 for the runtime; SCHED_FIFO priority 10 for the runtime (root only, else left out
 * and said so). They alternate in blocks (one sidecar per block: start, warm up, measure, stop), so drift of a shared
 * machine hits all alike; the samples of every block of a configuration go into one histogram.
 *
 * Standalone: `node .out/bench/scheduling.js [--blocks N] [--seconds S] [--json FILE]` (defaults 3 blocks of 1 s per
 * configuration and condition). Safety: the load processes are killed when the run ends or fails, and each is also
 * started under `timeout` so none outlives a killed run; the SCHED_FIFO runtime spins only for its spin-then-park
 * window before it parks, and the kernel's RT throttling (sched_rt_runtime_us) bounds it in any case.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { Sidecar, examplePluginPath, type SidecarMode, type SidecarOptions } from '../src/index.js';
import { LatencyHistogram } from './lib/histogram.js';
import { formatNs } from './lib/table.js';
import { nowNs, secondsNs } from './lib/timing.js';

const MESSAGE_BYTES = 32;
const LOAD_PROCESSES = 2;
/** Upper bound of a load process's life (s), whatever happens to this script. */
const LOAD_TIMEOUT_S = 900;

interface Config {
  name: string;
  scheduling: SidecarOptions['scheduling'];
}

function argValue(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isFinite(v) || v <= 0) throw new Error(`${name} must be a positive number`);
  return v;
}

function argString(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const CONFIGS: Config[] = [
  { name: 'no scheduling option', scheduling: undefined },
  { name: 'runtime on cpu 1, pump on cpu 0', scheduling: { cpus: [1], pumpCpus: [0] } },
  { name: 'runtime nice -10', scheduling: { nice: -10 } },
];
const isRoot = process.getuid?.() === 0;
if (isRoot) CONFIGS.push({ name: 'runtime SCHED_FIFO 10', scheduling: { policy: 'fifo', priority: 10 } });

/** Starts LOAD_PROCESSES busy loops at nice 0, each bounded by `timeout`. */
function startLoad(): ChildProcess[] {
  return Array.from({ length: LOAD_PROCESSES }, () =>
    // detached: `timeout` leads a process group of its own with the loop in it, so one kill ends both.
    spawn('timeout', ['-s', 'KILL', String(LOAD_TIMEOUT_S), 'nice', '-n', '0', 'sh', '-c', 'while :; do :; done'], { stdio: 'ignore', detached: true }),
  );
}

function stopLoad(load: ChildProcess[]): void {
  for (const p of load) {
    if (p.pid === undefined) continue;
    try {
      process.kill(-p.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/** One block: a sidecar with `config`, warmed up, then `measureNs` of round trips recorded into `h`. */
async function block(mode: SidecarMode, config: Config, measureNs: number, h: LatencyHistogram): Promise<void> {
  const payload = new Uint8Array(MESSAGE_BYTES);
  const sidecar = await Sidecar.start({ plugin: examplePluginPath('echo'), mode, scheduling: config.scheduling });
  try {
    const warmEnd = nowNs() + secondsNs(0.2);
    while (nowNs() < warmEnd) await sidecar.request(payload);
    const end = nowNs() + measureNs;
    let t = nowNs();
    while (t < end) {
      const t0 = t;
      await sidecar.request(payload);
      t = nowNs();
      h.record(t - t0);
    }
  } finally {
    await sidecar.stop();
  }
}

interface Row {
  mode: SidecarMode;
  load: 'idle' | 'loaded';
  config: string;
  count: number;
  p50: number;
  p99: number;
  p50Ratio: number;
  p99Ratio: number;
}

async function main(): Promise<void> {
  const blocks = Math.round(argValue('--blocks', 3));
  const measureNs = secondsNs(argValue('--seconds', 1));
  const jsonFile = argString('--json');
  const rows: Row[] = [];
  const loadBefore = loadavg();
  console.log(`scheduling bench: ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), load average ${loadBefore.map((l) => l.toFixed(2)).join(' ')}, ` +
    `${blocks} blocks × ${measureNs / 1e9} s per configuration${isRoot ? '' : '; not root: SCHED_FIFO left out'}`);
  let load: ChildProcess[] = [];
  const cleanup = (): void => stopLoad(load);
  process.once('exit', cleanup);
  try {
    for (const condition of ['idle', 'loaded'] as const) {
      if (condition === 'loaded') load = startLoad();
      for (const mode of ['thread', 'process'] as const) {
        const hs = CONFIGS.map(() => new LatencyHistogram());
        for (let b = 0; b < blocks; b++) {
          for (const [i, c] of CONFIGS.entries()) await block(mode, c, measureNs, hs[i]!);
        }
        const base = hs[0]!.summary();
        for (const [i, c] of CONFIGS.entries()) {
          const s = hs[i]!.summary();
          rows.push({ mode, load: condition, config: c.name, count: s.count, p50: s.p50, p99: s.p99, p50Ratio: s.p50 / base.p50, p99Ratio: s.p99 / base.p99 });
        }
        console.error(`  ${condition}, ${mode} mode done`);
      }
      if (condition === 'loaded') {
        stopLoad(load);
        load = [];
      }
    }
  } finally {
    cleanup();
  }
  const loadAfter = loadavg();
  const header = ['mode', 'machine', 'configuration', 'round trips', 'p50', 'p99', 'p50 ×', 'p99 ×'];
  const table = rows.map((r) => [r.mode, r.load, r.config, String(r.count), formatNs(r.p50), formatNs(r.p99), r.p50Ratio.toFixed(2), r.p99Ratio.toFixed(2)]);
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((t) => t[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  console.log(line(header));
  for (const t of table) console.log(line(t));
  console.log(`(× = ratio to "no scheduling option" of the same mode and machine state, same run; load average after ${loadAfter.map((l) => l.toFixed(2)).join(' ')})`);
  if (jsonFile !== undefined) {
    writeFileSync(jsonFile, JSON.stringify({ cpus: cpus().length, model: cpus()[0]?.model, loadBefore, loadAfter, blocks, measureNs, rows }, null, 2));
  }
}

await main();
