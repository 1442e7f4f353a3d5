/**
 * CPU time of processes and threads, for the "CPU time per message on each side" of a scenario.
 *
 * Read from /proc/<pid>/schedstat and /proc/<pid>/task/<tid>/schedstat, whose first field is the time the task ran on
 * a CPU in nanoseconds (user + system, scheduler accounting): nanosecond resolution, where /proc/<pid>/stat has clock
 * ticks (10 ms). A process's file sums all its threads. Linux only; every function returns NaN where the file cannot
 * be read (the process exited, another OS), so a figure is missing rather than wrong. Any thread may call them.
 */
import { readFileSync, readdirSync } from 'node:fs';

function schedstatNs(file: string): number {
  try {
    const first = readFileSync(file, 'latin1').split(' ', 1)[0];
    const ns = Number(first);
    return Number.isFinite(ns) ? ns : NaN;
  } catch {
    return NaN;
  }
}

/** On-CPU nanoseconds of every thread of process `pid` (default: this process) since it started. */
export function processCpuNs(pid: number = process.pid): number {
  return schedstatNs(`/proc/${pid}/schedstat`);
}

/** On-CPU nanoseconds of thread `tid` of process `pid` (default: the main thread of this process). */
export function threadCpuNs(tid: number = process.pid, pid: number = process.pid): number {
  return schedstatNs(`/proc/${pid}/task/${tid}/schedstat`);
}

/** Thread ids of process `pid` (default: this process), ascending; [] when they cannot be listed. */
export function threadIds(pid: number = process.pid): number[] {
  try {
    return readdirSync(`/proc/${pid}/task`).map(Number).filter(Number.isInteger).sort((a, b) => a - b);
  } catch {
    return [];
  }
}

/** Where the two sides of a scenario run, so that their CPU time can be told apart. */
export interface CpuSides {
  /** The JavaScript side: the main thread of this process (the benchmark loop). */
  js: () => number;
  /** The peer: a child process (its pid), or the threads of this process other than the main thread (thread mode). */
  peer: () => number;
}

/** Sides for a peer that is a child process `pid`. */
export function childProcessSides(pid: number): CpuSides {
  return { js: () => threadCpuNs(), peer: () => processCpuNs(pid) };
}

/**
 * Sides for a peer that is a native thread (or worker) of this process: the peer's time is the process total minus
 * the main thread's, so it includes the other threads of Node (the GC helpers, libuv's pool) — an upper bound.
 */
export function inProcessSides(): CpuSides {
  return { js: () => threadCpuNs(), peer: () => processCpuNs() - threadCpuNs() };
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
