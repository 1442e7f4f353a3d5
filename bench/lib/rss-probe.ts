/**
 * A fresh Node process for the RSS figures of the resources suite (bench/resources.ts), so that they are not blurred
 * by the garbage and the allocator state the other suites left in the runner's process. Run as
 * `node --expose-gc rss-probe.js per-sidecar <thread|process> <n>` or `… messages <count>`; prints one JSON line on
 * stdout and exits 0, or prints the error on stderr and exits 1.
 *
 * per-sidecar: VmRSS of this process before and after starting n echo sidecars (default options; each answers one
 *   request first, so the pages the first message touches are in), and in process mode the VmRSS of each child.
 * messages: VmRSS before and after `count` send()s of 32 B commands to a thread-mode echo sidecar (every awaited
 *   1024th send applies the backpressure send() documents), after the plugin processed them all.
 * Every RSS reading follows a full GC and 20 ms for the allocator.
 */
import { readFileSync } from 'node:fs';

import { Sidecar, examplePluginPath, type SidecarMode } from '../../src/index.js';

const MESSAGE_BYTES = 32;
const SEND_WINDOW = 1024;

function rss(pid: number | 'self' = 'self'): number {
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
  if (!m) throw new Error(`/proc/${pid}/status has no VmRSS line.`);
  return Number(m[1]) * 1024;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const gc = (globalThis as { gc?: () => void }).gc;

async function settled(): Promise<number> {
  if (!gc) throw new Error('rss-probe.js needs node --expose-gc.');
  gc();
  await sleep(20);
  gc();
  return rss();
}

async function perSidecar(mode: SidecarMode, n: number): Promise<object> {
  const plugin = examplePluginPath('echo');
  // One sidecar started and stopped first: the addon, the plugin and the code paths are loaded before "before".
  const first = await Sidecar.start({ plugin, mode });
  await first.request(new Uint8Array(MESSAGE_BYTES));
  await first.stop();
  const before = await settled();
  const sidecars: Sidecar[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const s = await Sidecar.start({ plugin, mode });
      sidecars.push(s);
      await s.request(new Uint8Array(MESSAGE_BYTES));
    }
    const after = await settled();
    const children = mode === 'process' ? sidecars.map((s) => rss(s.pid)) : [];
    return { before, after, children };
  } finally {
    for (const s of sidecars) await s.stop();
  }
}

async function messages(count: number): Promise<object> {
  const sidecar = await Sidecar.start({ plugin: examplePluginPath('echo'), mode: 'thread' });
  try {
    const payload = new Uint8Array(MESSAGE_BYTES);
    await sidecar.send(payload);
    const before = await settled();
    let failure: unknown;
    const note = (e: unknown): void => {
      failure ??= e;
    };
    const t0 = process.hrtime.bigint();
    for (let sent = 1; sent < count; ) {
      const k = Math.min(SEND_WINDOW, count - sent);
      for (let i = 1; i < k; i++) sidecar.send(payload).catch(note);
      await sidecar.send(payload);
      sent += k;
      if (failure !== undefined) throw failure;
    }
    const deadline = Date.now() + 60_000;
    while (sidecar.processedCount < count) {
      if (Date.now() > deadline) throw new Error(`The sidecar processed ${sidecar.processedCount} of ${count} commands within 60 s.`);
      await sleep(1);
    }
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const after = await settled();
    return { before, after, seconds };
  } finally {
    await sidecar.stop();
  }
}

const [what, a, b] = process.argv.slice(2);
try {
  const out = what === 'per-sidecar' && (a === 'thread' || a === 'process') ? await perSidecar(a, Number(b)) : what === 'messages' ? await messages(Number(a)) : undefined;
  if (out === undefined) throw new Error(`usage: rss-probe.js per-sidecar <thread|process> <n> | messages <count>; received '${process.argv.slice(2).join(' ')}'.`);
  process.stdout.write(JSON.stringify(out) + '\n');
} catch (error) {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
}
