/**
 * The `resources` suite (issue 11): what a sidecar costs when it does nothing, and what it holds (pattern
 * 'resource', one value and its unit per result, one run each):
 * - idle CPU of a parked sidecar (default options: spin-then-park), over 10 s (0.5 s in smoke depth), in percent of
 *   one core: thread mode counts this process's CPU time minus the main thread's (the sidecar thread, the event
 *   pump's waiter, and Node's own helper threads — an upper bound), process mode the sidecar process's;
 * - RSS per sidecar: 8 sidecars of each mode started, (RSS after − RSS before) / 8 of the Node process, and in
 *   process mode also the mean RSS of the 8 sidecar processes (VmRSS of /proc/<pid>/status);
 * - RSS of the Node process before and after 10^7 send()s of 32 B commands (10^5 in smoke depth) to a thread-mode
 *   echo sidecar, and the growth.
 * The RSS figures are measured in a fresh Node process (bench/lib/rss-probe.ts), each reading after a full GC, so
 * that the garbage and allocator state the other suites leave in the runner's process do not blur them.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { Sidecar, examplePluginPath, type SidecarMode } from '../src/index.js';
import type { BenchContext, BenchResult, ScenarioPlan, SuiteResult } from './lib/contract.js';

import { otherThreadsCpuNs, processCpuNs } from './lib/cpu.js';
import { planOf, runScenarios, type Scenario } from './lib/scenarios.js';
import { nowNs } from './lib/timing.js';

const SUITE = 'resources';
const SIDECARS = 8;
const MESSAGE_BYTES = 32;

/** VmRSS of process `pid` in bytes, NaN when it cannot be read. */
export function rssBytes(pid: number | 'self' = 'self'): number {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
    return m ? Number(m[1]) * 1024 : NaN;
  } catch {
    return NaN;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function idleWindowMs(ctx: BenchContext): number {
  return ctx.depth === 'smoke' ? 500 : 10_000;
}

function messageCount(ctx: BenchContext): number {
  return ctx.depth === 'smoke' ? 100_000 : 10_000_000;
}

function resource(id: string, scenario: string, transport: string, value: number, unit: string, note: string): BenchResult {
  return { suite: SUITE, id: `${SUITE}.${id}`, scenario, transport, kind: 'ours', pattern: 'resource', value, unit, runs: 1, note };
}

async function idleCpu(ctx: BenchContext, mode: SidecarMode): Promise<BenchResult> {
  const sidecar = await Sidecar.start({ plugin: examplePluginPath('echo'), mode });
  try {
    await sidecar.request(new Uint8Array(MESSAGE_BYTES)); // it has run once, then goes idle
    await sleep(100); // past its spin: parked
    const peer = (): number => (mode === 'thread' ? otherThreadsCpuNs() : processCpuNs(sidecar.pid));
    const c0 = peer();
    const t0 = nowNs();
    await sleep(idleWindowMs(ctx));
    const c1 = peer();
    const elapsed = nowNs() - t0;
    const percent = Math.round(((c1 - c0) / elapsed) * 100 * 1000) / 1000;
    return resource(
      `${mode}.idle-cpu`,
      `idle CPU of a parked sidecar, ${mode} mode, over ${(idleWindowMs(ctx) / 1000).toFixed(1)} s`,
      `Sidecar ${mode} mode`,
      percent,
      'percent of one core',
      mode === 'thread'
        ? 'default options; this process minus its main thread (the sidecar thread, the event pump, Node helpers)'
        : 'default options; the sidecar process',
    );
  } finally {
    await sidecar.stop();
  }
}

const probe = promisify(execFile);

/** Runs bench/lib/rss-probe.js in a fresh Node process and parses its JSON line. */
async function runProbe<T>(args: string[]): Promise<T> {
  const file = fileURLToPath(new URL('./lib/rss-probe.js', import.meta.url));
  const { stdout } = await probe(process.execPath, ['--expose-gc', file, ...args], { timeout: 180_000 }).catch((e: { stderr?: string; message: string }) => {
    throw new Error(`The RSS probe (${args.join(' ')}) failed: ${e.stderr?.trim() || e.message}`);
  });
  return JSON.parse(stdout) as T;
}

async function rssPerSidecar(mode: SidecarMode): Promise<BenchResult[]> {
  const { before, after, children } = await runProbe<{ before: number; after: number; children: number[] }>(['per-sidecar', mode, String(SIDECARS)]);
  const out = [
    resource(
      `${mode}.rss-per-sidecar`,
      `RSS of the Node process per sidecar, ${mode} mode (${SIDECARS} started)`,
      `Sidecar ${mode} mode`,
      Math.round((after - before) / SIDECARS),
      'bytes',
      `(VmRSS after − before) / ${SIDECARS} in a fresh Node process: ${before} → ${after} B; default options (1 MiB rings each way)`,
    ),
  ];
  if (mode === 'process') {
    out.push(
      resource(
        'process.child-rss',
        `RSS of one sidecar process (mean of ${SIDECARS})`,
        'Sidecar process mode',
        Math.round(children.reduce((x, y) => x + y, 0) / children.length),
        'bytes',
        `VmRSS of each: ${children.map((c) => Math.round(c / 1024)).join(', ')} KiB`,
      ),
    );
  }
  return out;
}

async function rssAcrossMessages(ctx: BenchContext): Promise<BenchResult[]> {
  const total = messageCount(ctx);
  const { before, after, seconds } = await runProbe<{ before: number; after: number; seconds: number }>(['messages', String(total)]);
  const what = `${total.toExponential(0).replace('e+', 'e')} send()s of ${MESSAGE_BYTES} B, thread mode, echo plugin (${seconds.toFixed(1)} s)`;
  return [
    resource('thread.rss-before-messages', `RSS of the Node process before ${what}`, 'Sidecar thread mode', before, 'bytes', 'VmRSS in a fresh Node process, after a full GC'),
    resource('thread.rss-after-messages', `RSS of the Node process after ${what}`, 'Sidecar thread mode', after, 'bytes', 'VmRSS after the plugin processed every command, after a full GC'),
    resource('thread.rss-growth-messages', `RSS growth across ${what}`, 'Sidecar thread mode', after - before, 'bytes', 'VmRSS after − before'),
  ];
}

/** A scenario that yields several results in one run (the scenario loop keeps one; the rest are collected here). */
function multi(id: string, title: string, runMs: number, extra: BenchResult[], f: () => Promise<BenchResult[]>): Scenario {
  return {
    id: `${SUITE}.${id}`,
    title,
    runMs,
    runs: 1,
    run: async () => {
      const [first, ...rest] = await f();
      extra.push(...rest);
      return first!;
    },
  };
}

function scenarios(ctx: BenchContext, extra: BenchResult[]): Scenario[] {
  const idle = idleWindowMs(ctx) + 250;
  return [
    { id: `${SUITE}.thread.idle-cpu`, title: 'idle CPU of a parked sidecar, thread mode', runMs: idle, runs: 1, run: () => idleCpu(ctx, 'thread') },
    { id: `${SUITE}.process.idle-cpu`, title: 'idle CPU of a parked sidecar, process mode', runMs: idle + 150, runs: 1, run: () => idleCpu(ctx, 'process') },
    multi('thread.rss-per-sidecar', `RSS per sidecar, thread mode (${SIDECARS} sidecars)`, SIDECARS * 40 + 100, extra, () => rssPerSidecar('thread')),
    multi('process.rss-per-sidecar', `RSS per sidecar, process mode (${SIDECARS} sidecars)`, SIDECARS * 150 + 100, extra, () => rssPerSidecar('process')),
    multi('thread.rss-before-messages', `RSS before/after ${messageCount(ctx)} messages, thread mode`, messageCount(ctx) / 2000 + 200, extra, () => rssAcrossMessages(ctx)),
  ];
}

export function plan(ctx: BenchContext): ScenarioPlan[] {
  return planOf(ctx, scenarios(ctx, []));
}

export default async function run(ctx: BenchContext): Promise<SuiteResult> {
  const extra: BenchResult[] = [];
  const results = await runScenarios(ctx, scenarios(ctx, extra));
  return { results: [...results, ...extra], checks: [] };
}
