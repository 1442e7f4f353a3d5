/**
 * On-CPU time of every thread of a process, for the CPU-per-message figures of the suites.
 *
 * Why not processCpuNs() of cpu.ts: /proc/<pid>/schedstat is the thread-group LEADER's line (the main thread), not
 * the sum of the process's threads — checked on Linux 6.18: a worker that spun for 0.5 s left /proc/<pid>/schedstat
 * equal to /proc/<pid>/task/<pid>/schedstat. This module sums /proc/<pid>/task/<tid>/schedstat over the live
 * threads instead (nanosecond resolution); threads that exit inside a window take their time with them, so a window
 * must not span a thread's end. NaN where nothing can be read. Any thread may call these.
 */
import { readdirSync, readFileSync } from 'node:fs';

import { threadCpuNs, type CpuSides } from './cpu.js';

/** Sum of the on-CPU ns of the live threads of process `pid` (default: this one); NaN when none can be read. */
export function allThreadsCpuNs(pid: number = process.pid): number {
  return threadsCpuNs(pid, -1);
}

/** Sum over the live threads of `pid` except thread `except` (-1: none). */
function threadsCpuNs(pid: number, except: number): number {
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return NaN;
  }
  let sum = 0;
  let any = false;
  for (const tid of tids) {
    if (Number(tid) === except) continue;
    try {
      const ns = Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'latin1').split(' ', 1)[0]);
      if (Number.isFinite(ns)) {
        sum += ns;
        any = true;
      }
    } catch {
      // the thread ended between the listing and the read: its time is gone either way
    }
  }
  return any ? sum : NaN;
}

/** Sides for a peer that is child process `pid` (all its threads); js is this process's main thread. */
export function childSides(pid: number): CpuSides {
  return { js: () => threadCpuNs(), peer: () => allThreadsCpuNs(pid) };
}

/**
 * Sides for a peer inside this process (a native thread, a worker): every thread but the main one, so Node's helper
 * threads (GC, libuv pool) count too — an upper bound.
 */
export function inProcessPeerSides(): CpuSides {
  return {
    js: () => threadCpuNs(),
    // The other threads summed directly (not all minus main: the main thread runs between two reads).
    peer: () => threadsCpuNs(process.pid, process.pid),
  };
}

/** On-CPU ns of every live thread of this process except the main thread. */
export function otherThreadsCpuNs(): number {
  return threadsCpuNs(process.pid, process.pid);
}
