/**
 * CPU time of processes and threads, for the "CPU time per message on each side" of a scenario.
 *
 * Read from /proc/<pid>/task/<tid>/schedstat, whose first field is the time the thread ran on a CPU in nanoseconds
 * (user + system, scheduler accounting): nanosecond resolution, where /proc/<pid>/stat has clock ticks (10 ms). A
 * process's time is the sum over its live threads: /proc/<pid>/schedstat is only the thread-group leader's line (the
 * main thread) — checked on Linux 6.18, where a worker that spun for 0.5 s left it unchanged. A thread that ends
 * inside a measurement window takes its time with it, so a window must not span a peer thread's end. Linux only;
 * every function returns NaN where nothing can be read (the process exited, another OS), so a figure is missing
 * rather than wrong. Any thread may call them.
 */
import { readFileSync, readdirSync } from 'node:fs';

function schedstatNs(file: string): number {
  try {
    const ns = Number(readFileSync(file, 'latin1').split(' ', 1)[0]);
    return Number.isFinite(ns) ? ns : NaN;
  } catch {
    return NaN;
  }
}

/** Thread ids of process `pid` (default: this process), ascending; [] when they cannot be listed. */
export function threadIds(pid: number = process.pid): number[] {
  try {
    return readdirSync(`/proc/${pid}/task`).map(Number).filter(Number.isInteger).sort((a, b) => a - b);
  } catch {
    return [];
  }
}

/** On-CPU nanoseconds of thread `tid` of process `pid` (default: the main thread of this process). */
export function threadCpuNs(tid: number = process.pid, pid: number = process.pid): number {
  return schedstatNs(`/proc/${pid}/task/${tid}/schedstat`);
}

/** Sum over the live threads of `pid` except thread `except` (-1: none); NaN when none can be read. */
function threadsCpuNs(pid: number, except: number): number {
  let sum = 0;
  let any = false;
  for (const tid of threadIds(pid)) {
    if (tid === except) continue;
    const ns = threadCpuNs(tid, pid);
    if (Number.isFinite(ns)) {
      sum += ns;
      any = true;
    }
    // else: the thread ended between the listing and the read; its time is gone either way
  }
  return any ? sum : NaN;
}

/** On-CPU nanoseconds of every live thread of process `pid` (default: this process). */
export function processCpuNs(pid: number = process.pid): number {
  return threadsCpuNs(pid, -1);
}

/** On-CPU nanoseconds of every live thread of this process except the main thread. */
export function otherThreadsCpuNs(): number {
  return threadsCpuNs(process.pid, process.pid);
}

/** Where the two sides of a scenario run, so that their CPU time can be told apart. */
export interface CpuSides {
  /** The JavaScript side: the main thread of this process (the benchmark loop). */
  js: () => number;
  /** The peer: a child process (all its threads), or the threads of this process other than the main thread. */
  peer: () => number;
}

/** Sides for a peer that is a child process `pid` (every thread of it). */
export function childProcessSides(pid: number): CpuSides {
  return { js: () => threadCpuNs(), peer: () => processCpuNs(pid) };
}

/**
 * Sides for a peer that is a native thread (or worker) of this process: every thread but the main one, so Node's
 * helper threads (GC, libuv's pool) count too — an upper bound. Summed directly rather than "all minus main", since
 * the main thread runs between two reads.
 */
export function inProcessSides(): CpuSides {
  return { js: () => threadCpuNs(), peer: () => otherThreadsCpuNs() };
}

/** A reading of both sides, taken before and after a measurement window. */
export interface CpuReading {
  js: number;
  peer: number;
}

export function readCpu(sides: CpuSides): CpuReading {
  return { js: sides.js(), peer: sides.peer() };
}

/** CPU nanoseconds per message on each side between two readings; a side that could not be read is left out. */
export function cpuPerMessage(before: CpuReading, after: CpuReading, messages: number): { js?: number; peer?: number } {
  const out: { js?: number; peer?: number } = {};
  if (messages <= 0) return out;
  const js = (after.js - before.js) / messages;
  const peer = (after.peer - before.peer) / messages;
  if (Number.isFinite(js)) out.js = Math.round(js * 10) / 10;
  if (Number.isFinite(peer)) out.peer = Math.round(peer * 10) / 10;
  return out;
}
