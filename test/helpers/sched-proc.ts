/**
 * The scheduling of a task as the kernel reports it in /proc (for test/sidecar-scheduling.test.ts): CPUs, nice,
 * policy and real-time priority of one thread, and the tid of a thread-mode sidecar's runtime thread.
 */
import { readdirSync, readFileSync } from 'node:fs';

export interface TaskScheduling {
  /** Cpus_allowed_list of /proc/<pid>/task/<tid>/status, e.g. '1' or '0-1'. */
  cpus: string;
  /** Field 19 of stat. */
  nice: number;
  /** Field 40 of stat (rt_priority). */
  rtPriority: number;
  /** Field 41 of stat: 0 SCHED_OTHER, 1 FIFO, 2 RR, 3 BATCH, 5 IDLE. */
  policy: number;
}

export function taskScheduling(pid: number, tid: number): TaskScheduling {
  const status = readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8');
  const cpus = /^Cpus_allowed_list:\s*(\S+)$/m.exec(status)?.[1];
  if (cpus === undefined) throw new Error(`no Cpus_allowed_list in /proc/${pid}/task/${tid}/status`);
  const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
  // Fields after "(comm)": field 3 is the first of them.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const field = (n: number): number => Number(fields[n - 3]);
  return { cpus, nice: field(19), rtPriority: field(40), policy: field(41) };
}

/** Tids of this process's threads named `name` (/proc/self/task/<tid>/comm). */
export function threadsNamed(name: string): number[] {
  const out: number[] = [];
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      if (readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim() === name) out.push(Number(tid));
    } catch {
      // the thread ended while we looked
    }
  }
  return out;
}

/** The CPUs this (the calling, main) JavaScript thread may run on. */
export function mainThreadCpus(): string {
  return taskScheduling(process.pid, process.pid).cpus;
}

export const SCHED_OTHER = 0;
export const SCHED_FIFO = 1;
export const SCHED_BATCH = 3;
