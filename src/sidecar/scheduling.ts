/**
 * The Sidecar option `scheduling`: the scheduling priority and CPU placement of the runtime thread (thread mode: the
 * native thread that runs the loop; process mode: the sidecar process, whose loop runs on its only thread) and,
 * optionally, the CPUs of the JavaScript thread that runs the event pump. Validation, the form each runner passes on
 * (command-line arguments, the SidecarThread argument), the pinning of the pump's thread and the report of what was
 * applied (`sidecar.scheduling`).
 *
 * Where each part is applied, and its interplay with the sandbox, is in docs/architecture.md ("Priority and
 * placement"). A refusal by the kernel is ERR_SCHEDULING_DENIED.
 */
import { readFileSync } from 'node:fs';
import { cpus as osCpus } from 'node:os';
import { fromNative, SidecarError } from '../errors.js';
import { loadAddon } from '../native/addon.js';
import { badArg, checkKeys, intArg, knownKeys } from './args.js';
import { SCHED_CPUS, SCHED_NICE, SCHED_POLICY } from './layout.js';
import type { SidecarMode } from './options.js';

/** Linux scheduling policies: SCHED_OTHER (the default), SCHED_BATCH, SCHED_IDLE, SCHED_FIFO, SCHED_RR. */
export type SchedulingPolicy = 'other' | 'batch' | 'idle' | 'fifo' | 'rr';

export interface SchedulingOptions {
  /**
   * Nice value of the runtime thread, −20 (most CPU) … 19 (least). Below the current value it needs CAP_SYS_NICE or
   * RLIMIT_NICE. Only with policy 'other' (the default) or 'batch'.
   */
  nice?: number;
  /**
   * Scheduling policy of the runtime thread. 'fifo' and 'rr' are real-time: they need `priority` and CAP_SYS_NICE
   * or RLIMIT_RTPRIO ≥ priority. A real-time thread that spins (waitPolicy 'spin') can starve everything of lower
   * priority on its CPU: the kernel's RT throttling (sched_rt_runtime_us, 95 % by default) is the only bound.
   */
  policy?: SchedulingPolicy;
  /** Real-time priority 1 … 99 (policy 'fifo' or 'rr' only, and required there). */
  priority?: number;
  /** CPUs the runtime thread may run on (CPU numbers as in /proc/cpuinfo; distinct, each online). */
  cpus?: number[];
  /**
   * CPUs of the JavaScript thread that calls Sidecar.start() — the thread the event pump (and everything else this
   * thread runs: all its JavaScript, its event loop) runs on — from start() until the sidecar ends, when its previous
   * CPUs are given back (unless something else changed them meanwhile; then they stay as they are). Threads this
   * thread creates meanwhile (worker_threads, libuv's pool, other sidecars' threads) inherit the pinning. When `cpus`
   * is left out, the runtime gets the CPUs this thread had before, rather than inheriting the pinning.
   */
  pumpCpus?: number[];
}

/** What options.scheduling resolves to: the runtime thread's part (null when none) and the pump's part. */
export interface ResolvedScheduling {
  runtime: RuntimeScheduling | null;
  pumpCpus: number[] | null;
}

/** The runtime thread's scheduling, as the runners pass it on. */
export interface RuntimeScheduling {
  cpus?: number[];
  policy?: SchedulingPolicy;
  priority?: number;
  nice?: number;
}

/** What is in force (`sidecar.scheduling`): each part the runtime reported applied, and the pump's CPUs. */
export interface SchedulingReport {
  /** The runtime thread's CPUs, or null when it was not pinned. */
  cpus: number[] | null;
  /** Its policy, or null when none was set (it runs under the policy it inherited, normally 'other'). */
  policy: SchedulingPolicy | null;
  /** Its real-time priority (policy 'fifo'/'rr'), or null. */
  priority: number | null;
  /** Its nice value, or null when none was set. */
  nice: number | null;
  /** The CPUs the event pump's JavaScript thread is pinned to, or null. */
  pumpCpus: number[] | null;
}

const SCHEDULING_KEYS = knownKeys<SchedulingOptions>({ nice: true, policy: true, priority: true, cpus: true, pumpCpus: true });
const POLICIES: readonly SchedulingPolicy[] = ['other', 'batch', 'idle', 'fifo', 'rr'];

/** The online CPUs of this machine (/sys/devices/system/cpu/online, else 0 … os.cpus().length − 1). Any thread. */
export function onlineCpus(): Set<number> {
  try {
    const list = readFileSync('/sys/devices/system/cpu/online', 'utf8').trim();
    const out = new Set<number>();
    for (const part of list.split(',')) {
      const [a, b] = part.split('-').map(Number);
      for (let c = a!; c <= (b ?? a!); c++) out.add(c);
    }
    if (out.size > 0 && ![...out].some(Number.isNaN)) return out;
  } catch {
    // not Linux's sysfs: fall back
  }
  return new Set(osCpus().map((_, i) => i));
}

function cpuList(name: string, value: unknown, online: Set<number>): number[] {
  if (!Array.isArray(value) || value.length === 0) throw badArg(name, 'a non-empty array of CPU numbers', value);
  const seen = new Set<number>();
  for (let i = 0; i < value.length; i++) {
    const cpu: unknown = value[i];
    if (typeof cpu !== 'number' || !Number.isInteger(cpu) || cpu < 0) throw badArg(`${name}[${i}]`, 'a CPU number (an integer ≥ 0)', cpu);
    if (!online.has(cpu)) {
      throw badArg(`${name}[${i}]`, `a CPU of this machine (online: ${[...online].sort((a, b) => a - b).join(', ')})`, cpu);
    }
    if (seen.has(cpu)) throw badArg(`${name}[${i}]`, 'a CPU not named twice', cpu);
    seen.add(cpu);
  }
  return [...seen].sort((a, b) => a - b);
}

/**
 * Validates options.scheduling (both modes). Throws ERR_INVALID_ARG (SidecarError) naming the first bad key or value:
 * an unknown key, a policy not in the list, a priority outside 1 … 99 or given for a non-real-time policy (or missing
 * for one), a nice value outside −20 … 19 or given with policy 'idle'/'fifo'/'rr', a CPU list that is empty, holds a
 * non-integer, a CPU twice or a CPU that is not online. `mode` is unused today: both modes take every key. Any thread;
 * reads /sys once when CPUs are given. Returns null when nothing is requested (left out, or `{}`).
 */
export function resolveScheduling(value: unknown, _mode: SidecarMode): ResolvedScheduling | null {
  if (value === undefined) return null;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw badArg('options.scheduling', "an object such as { nice: -5, cpus: [1] } or { policy: 'fifo', priority: 10 }", value);
  }
  checkKeys('options.scheduling', value, SCHEDULING_KEYS);
  const s = value as SchedulingOptions;
  const runtime: RuntimeScheduling = {};
  if (s.policy !== undefined) {
    if (typeof s.policy !== 'string' || !POLICIES.includes(s.policy)) {
      throw badArg('options.scheduling.policy', "'other', 'batch', 'idle', 'fifo' or 'rr'", s.policy);
    }
    runtime.policy = s.policy;
  }
  const realtime = runtime.policy === 'fifo' || runtime.policy === 'rr';
  if (realtime) {
    runtime.priority = intArg('options.scheduling.priority', s.priority, 1, 99, ` (required with policy '${runtime.policy}')`);
  } else if (s.priority !== undefined) {
    throw badArg('options.scheduling.priority', "left out unless policy is 'fifo' or 'rr'", s.priority);
  }
  if (s.nice !== undefined) {
    runtime.nice = intArg('options.scheduling.nice', s.nice, -20, 19);
    if (runtime.policy !== undefined && runtime.policy !== 'other' && runtime.policy !== 'batch') {
      throw new SidecarError('ERR_INVALID_ARG', `The argument 'options.scheduling.nice' applies to policy 'other' or 'batch' only, not '${runtime.policy}'.`);
    }
  }
  const needOnline = s.cpus !== undefined || s.pumpCpus !== undefined;
  const online = needOnline ? onlineCpus() : new Set<number>();
  if (s.cpus !== undefined) runtime.cpus = cpuList('options.scheduling.cpus', s.cpus, online);
  const pumpCpus = s.pumpCpus === undefined ? null : cpuList('options.scheduling.pumpCpus', s.pumpCpus, online);
  const hasRuntime = Object.keys(runtime).length > 0;
  if (!hasRuntime && pumpCpus === null) return null;
  return { runtime: hasRuntime ? runtime : null, pumpCpus };
}

/** native-sidecar-host's arguments for `s` (main.c: --cpus, --sched-policy, --sched-priority, --nice). Pure. */
export function schedulingArguments(s: RuntimeScheduling | null): string[] {
  if (s === null) return [];
  const args: string[] = [];
  if (s.cpus !== undefined) args.push('--cpus', s.cpus.join(','));
  if (s.policy !== undefined) args.push('--sched-policy', s.policy);
  if (s.priority !== undefined) args.push('--sched-priority', String(s.priority));
  if (s.nice !== undefined) args.push('--nice', String(s.nice));
  return args;
}

/**
 * The pinning of the calling JavaScript thread to scheduling.pumpCpus. Created on the thread that starts the
 * sidecar; restore() must run on that same thread (the Sidecar's owner thread), once, when the sidecar ends.
 */
export class PumpPin {
  /** The CPUs this thread had before: the runtime's default CPUs when scheduling.cpus is left out. */
  readonly previous: number[];
  readonly #pinned: number[];
  #restored = false;

  /**
   * Pins the calling thread to `cpus` (sorted, validated). Throws ERR_SCHEDULING_DENIED (SidecarError, `errno` and
   * `syscall` set) when the kernel refuses — nothing is changed then.
   */
  constructor(cpus: number[]) {
    const addon = loadAddon();
    this.previous = addon.threadAffinity();
    this.#pinned = cpus;
    try {
      addon.setThreadAffinity(cpus);
    } catch (error) {
      const e = fromNative(SidecarError, error);
      if (e instanceof SidecarError && e.code === 'ERR_SCHEDULING_DENIED') {
        throw new SidecarError('ERR_SCHEDULING_DENIED', `The option 'scheduling.pumpCpus' (${cpus.join(',')}) was refused by the kernel: ${e.message}.`, {
          cause: error,
          ...(e.errno === undefined ? {} : { errno: e.errno }),
          syscall: 'sched_setaffinity',
        });
      }
      throw e;
    }
  }

  /** The pinned CPUs. */
  get cpus(): number[] {
    return [...this.#pinned];
  }

  /**
   * Gives the thread its previous CPUs back when it is still pinned to exactly this pinning's CPUs (something else
   * that re-pinned it meanwhile wins). Idempotent; never throws (a refusal leaves the pinning as it is).
   */
  restore(): void {
    if (this.#restored) return;
    this.#restored = true;
    const addon = loadAddon();
    try {
      const now = addon.threadAffinity();
      if (now.length === this.#pinned.length && now.every((c, i) => c === this.#pinned[i])) addon.setThreadAffinity(this.previous);
    } catch {
      // The previous set may no longer be allowed (a cpuset changed): the thread stays pinned.
    }
  }
}

/** The runtime's scheduling with the pump's previous CPUs as its default CPUs (see SchedulingOptions.pumpCpus). Pure. */
export function runtimeScheduling(s: ResolvedScheduling | null, pin: PumpPin | null): RuntimeScheduling | null {
  if (s === null) return null;
  if (pin === null || s.runtime?.cpus !== undefined) return s.runtime;
  return { ...(s.runtime ?? {}), cpus: pin.previous };
}

/**
 * sidecar.scheduling: the parts of `runtime` whose SCHED_* bit the runtime reported in `bits` (untrusted: a bit only
 * selects a value the host asked for, never adds one), and the pump's CPUs. Pure; returns fresh arrays.
 */
export function describeScheduling(bits: number, runtime: RuntimeScheduling | null, pin: PumpPin | null): SchedulingReport {
  const r = runtime ?? {};
  return {
    cpus: (bits & SCHED_CPUS) !== 0 && r.cpus !== undefined ? [...r.cpus] : null,
    policy: (bits & SCHED_POLICY) !== 0 && r.policy !== undefined ? r.policy : null,
    priority: (bits & SCHED_POLICY) !== 0 && r.priority !== undefined ? r.priority : null,
    nice: (bits & SCHED_NICE) !== 0 && r.nice !== undefined ? r.nice : null,
    pumpCpus: pin === null ? null : pin.cpus,
  };
}
