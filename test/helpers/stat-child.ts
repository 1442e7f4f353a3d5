/**
 * A host process for test/stat.test.ts: starts a thread-mode and a process-mode Sidecar of the lifecycle test
 * plugin, sends a known number of requests that are answered and a known number that the plugin swallows (type 10:
 * they stay pending), and then takes orders on stdin, one JSON line each, answering with one JSON line on stdout:
 *
 *   {"op":"status"}            → {"thread":{sent,answered,held,pid},"process":{...}} (what this host did)
 *   {"op":"scribble","mode":m} → overwrites the magic of mode m's control block through /proc/self/fd (the region's
 *                                memfd, opened read-write), so an outside reader sees a damaged region
 *   {"op":"exit"}              → stops both sidecars and exits 0
 *
 * Argument: 'restart' starts the process-mode Sidecar with a restart policy (restart.backoffMs 0).
 */
import { closeSync, openSync, readSync, readdirSync, readlinkSync, writeSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { Sidecar } from '../../src/index.js';
import { REGION_MEMFD_NAME, REGION_SEGMENTS_OFFSET, SEGMENT_ENTRY_SIZE, SEGMENT_KIND_SIDECAR_CONTROL } from '../../src/region/layout.js';
import { CONTROL_MAGIC_OFFSET, CONTROL_PID_OFFSET } from '../../src/sidecar/layout.js';
import { testPlugin } from './sidecar-env.js';

const ANSWERED = 200;
const HELD = { thread: 3, process: 5 } as const;
const restart = process.argv.includes('restart');

interface Tally {
  sidecar: Sidecar;
  sent: number;
  answered: number;
  held: number;
}

async function run(mode: 'thread' | 'process'): Promise<Tally> {
  const sidecar = await Sidecar.start({ plugin: testPlugin('lifecycle'), mode, ...(mode === 'process' && restart ? { restart: { maxRestarts: 5, backoffMs: 0 } } : {}) });
  sidecar.on('error', () => {});
  sidecar.on('log', () => {});
  const tally: Tally = { sidecar, sent: 0, answered: 0, held: 0 };
  for (let i = 0; i < ANSWERED; i++) {
    tally.sent++;
    await sidecar.request(`r${i}`);
    tally.answered++;
  }
  for (let i = 0; i < HELD[mode]; i++) {
    tally.sent++;
    tally.held++;
    sidecar.request('held', { type: 10 }).catch(() => {
      tally.held--;
    });
  }
  return tally;
}

/** The fd of this process's region whose control block says the loop runs in `pid`. */
function regionOf(pid: number): { fd: number; control: number } {
  for (const name of readdirSync('/proc/self/fd')) {
    let link: string;
    try {
      link = readlinkSync(`/proc/self/fd/${name}`);
    } catch {
      continue;
    }
    if (!link.startsWith(`/memfd:${REGION_MEMFD_NAME}`)) continue;
    const fd = openSync(`/proc/self/fd/${name}`, 'r+');
    const header = Buffer.alloc(256);
    readSync(fd, header, 0, 256, 0);
    for (let i = 0; i < header.readUInt32LE(12); i++) {
      const at = REGION_SEGMENTS_OFFSET + i * SEGMENT_ENTRY_SIZE;
      if (header.readUInt32LE(at) !== SEGMENT_KIND_SIDECAR_CONTROL) continue;
      const control = header.readUInt32LE(at + 4);
      const word = Buffer.alloc(4);
      readSync(fd, word, 0, 4, control + CONTROL_PID_OFFSET);
      if (word.readUInt32LE(0) === pid) return { fd, control };
    }
    closeSync(fd);
  }
  throw new Error(`no region of this process runs its loop in ${pid}`);
}

const tallies = { thread: await run('thread'), process: await run('process') };
// Let the last publications and replies settle before anyone looks.
await new Promise((resolve) => setTimeout(resolve, 50));

function status(): Record<string, { sent: number; answered: number; held: number; pid: number }> {
  const out: Record<string, { sent: number; answered: number; held: number; pid: number }> = {};
  for (const [mode, t] of Object.entries(tallies)) out[mode] = { sent: t.sent, answered: t.answered, held: t.held, pid: t.sidecar.pid };
  return out;
}

process.stdout.write(`${JSON.stringify({ ready: true, ...status() })}\n`);
for await (const line of createInterface({ input: process.stdin })) {
  const order = JSON.parse(line) as { op: string; mode?: 'thread' | 'process' };
  if (order.op === 'status') process.stdout.write(`${JSON.stringify(status())}\n`);
  else if (order.op === 'scribble') {
    const { fd, control } = regionOf(tallies[order.mode!].sidecar.pid);
    writeSync(fd, Buffer.from([0xde, 0xad, 0xbe, 0xef]), 0, 4, control + CONTROL_MAGIC_OFFSET);
    closeSync(fd);
    process.stdout.write(`${JSON.stringify({ scribbled: order.mode })}\n`);
  } else if (order.op === 'exit') {
    await tallies.thread.sidecar.stop({ timeout: 2000 });
    await tallies.process.sidecar.stop({ timeout: 2000, drain: false });
    process.exit(0);
  }
}
