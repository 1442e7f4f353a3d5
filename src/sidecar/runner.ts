/**
 * What runs the native loop: a thread of this process (ThreadRunner, through the addon's SidecarThread) or a
 * separate process (ProcessRunner, the `native-sidecar-host` executable with the region on fd 3). Both run the same
 * C loop (native/sidecar/runtime.c) over the same region layout; a runner only starts it, reports its end and, for a
 * process, kills it.
 *
 * Threading: both classes are used on the JavaScript thread that owns the Sidecar; `exited` settles on it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fromNative, SidecarError } from '../errors.js';
import { loadAddon } from '../native/addon.js';
import type { ResolvedWaitPolicy } from '../ring/wait-policy.js';
import type { SharedRegion } from '../region/shared-region.js';
import { EXIT_CODE_BASE, EXIT_MAX, EXIT_NONE, EXIT_NORMAL, EXIT_RESOURCE_LIMIT } from './layout.js';
import { sandboxArguments, type PluginFile, type ResolvedSandbox } from '../sandbox/index.js';
import { nativeExecutable } from './paths.js';
import { schedulingArguments, type RuntimeScheduling } from './scheduling.js';

/** How a runner ended. */
export interface RunnerExit {
  /** Process mode: the exit code (null when killed by a signal). Thread mode: null. */
  code: number | null;
  /** Process mode: the signal that killed it, or null. */
  signal: NodeJS.Signals | null;
  /** The NS_SIDECAR_EXIT_* reason the loop reported (from its return value or exit code), EXIT_NONE when unknown. */
  reason: number;
  /** Set when the runner could not even be started (spawn failed). */
  error?: Error;
}

export interface Runner {
  /** The pid running the loop (this process in thread mode). */
  readonly pid: number;
  /** Settles once, when the loop has ended for good (thread joined / process reaped). Never rejects. */
  readonly exited: Promise<RunnerExit>;
  /** Kills the sidecar at once (SIGKILL). Process mode only: a thread cannot be killed. Returns whether it could. */
  kill(): boolean;
  /** The event ring was closed by the loop: it is about to return (thread mode joins it now). */
  eventsClosed(): void;
}

/** Where a sidecar process finds the plugin file: the descriptor it inherits as fd 5. */
export const PROCESS_PLUGIN_FD_PATH = '/proc/self/fd/5';

/** Wait modes as the C enum ns_wait_mode numbers them (wait.h). */
const WAIT_MODE_NUMBER = { spin: 0, 'spin-then-park': 1, park: 2 } as const;

interface NativeSidecarThread {
  readonly finished: boolean;
  join(): number;
}
type SidecarThreadConstructor = new (
  buffer: ArrayBuffer,
  plugin: string,
  waitMode: number,
  spinNs: number,
  wakeFd: number,
  scheduling: RuntimeScheduling | undefined,
) => NativeSidecarThread;

/** How often a thread runner checks for a loop that ended without closing its event ring (it always closes it). */
const THREAD_POLL_MS = 250;

export class ThreadRunner implements Runner {
  readonly pid = process.pid;
  readonly exited: Promise<RunnerExit>;
  private readonly thread: NativeSidecarThread;
  private settle!: (exit: RunnerExit) => void;
  private poll: NodeJS.Timeout | undefined;

  /**
   * `wakeFd`: the host's event-ring eventfd (EventfdParker.fd); the thread writes a duplicate of its own, so the
   * caller may close the parker whenever it likes. `scheduling` (null: none): applied by the new thread to itself before
   * it loads the plugin; a refusal ends the thread like any start failure (control block: EXIT_SCHEDULING).
   */
  constructor(region: SharedRegion, plugin: PluginFile, wait: ResolvedWaitPolicy, wakeFd: number, scheduling: RuntimeScheduling | null) {
    const { SidecarThread } = loadAddon() as unknown as { SidecarThread: SidecarThreadConstructor };
    this.exited = new Promise((resolve) => {
      this.settle = resolve;
    });
    try {
      // The open, checked file (PluginFile), not its name: what runs is what was checked.
      this.thread = new SidecarThread(region.buffer, plugin.procPath, WAIT_MODE_NUMBER[wait.mode], wait.spinMicros * 1000, wakeFd, scheduling ?? undefined);
    } catch (error) {
      throw fromNative(SidecarError, error);
    }
    this.poll = setInterval(() => this.check(), THREAD_POLL_MS).unref();
  }

  kill(): boolean {
    return false;
  }

  eventsClosed(): void {
    this.check();
    // The loop closes its event ring as its last step; the thread returns a few instructions later.
    if (this.poll !== undefined && !this.thread.finished) {
      const retry = (): void => {
        if (this.poll !== undefined && !this.check()) setTimeout(retry, 1);
      };
      setTimeout(retry, 1);
    }
  }

  private check(): boolean {
    if (this.poll === undefined) return true;
    if (!this.thread.finished) return false;
    clearInterval(this.poll);
    this.poll = undefined;
    const reason = this.thread.join();
    this.settle({ code: null, signal: null, reason });
    return true;
  }
}

export class ProcessRunner implements Runner {
  readonly pid: number;
  readonly exited: Promise<RunnerExit>;
  private readonly child: ChildProcess;
  private done = false;

  /**
   * `wakeFd`: the host's event-ring eventfd (EventfdParker.fd), inherited as the child's fd 4; the child's copy is its
   * own, so the caller may close the parker whenever it likes. `plugin`: the open, checked plugin file, inherited as
   * fd 5 and loaded from there. `sandbox`: the confinement the child applies to itself before it loads the plugin
   * (null: none, and the child inherits this process's environment as before). `scheduling` (null: none): applied by
   * the child to itself before the sandbox and the plugin (command-line arguments of native-sidecar-host).
   */
  constructor(
    region: SharedRegion,
    plugin: PluginFile,
    wait: ResolvedWaitPolicy,
    wakeFd: number,
    sandbox: ResolvedSandbox | null,
    scheduling: RuntimeScheduling | null,
  ) {
    const executable = nativeExecutable('native-sidecar-host');
    const args = [
      '--fd', '3',
      '--plugin-fd', '5',
      '--parent-pid', String(process.pid),
      '--wait', wait.mode,
      '--spin-us', String(wait.spinMicros),
      '--wake-fd', '4',
      ...(sandbox === null ? [] : sandboxArguments(sandbox)),
      ...schedulingArguments(scheduling),
    ];
    // The region's fd becomes the child's fd 3, the eventfd its fd 4 and the plugin file its fd 5 (stdio entries past
    // 2 are inherited descriptors). Our own copies stay close-on-exec, so no other child inherits them; a descriptor
    // this process inherited without close-on-exec does reach the child, which closes it before the plugin loads
    // (sandbox layer 1). stdout/stderr are shared so a plugin's output is visible.
    this.child = spawn(executable, args, {
      stdio: ['ignore', 'inherit', 'inherit', region.fd, wakeFd, plugin.fd],
      ...(sandbox === null ? {} : { env: { ...sandbox.env } }),
    });
    this.pid = this.child.pid ?? -1;
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        this.done = true;
        resolve({ code, signal, reason: reasonFromCode(code, signal) });
      });
      this.child.once('error', (error) => {
        // 'error' without a process (spawn failed) is final; with one, 'exit' follows and reports it.
        if (this.child.pid !== undefined) return;
        this.done = true;
        resolve({ code: null, signal: null, reason: EXIT_NONE, error });
      });
    });
  }

  kill(): boolean {
    if (this.done) return false;
    return this.child.kill('SIGKILL');
  }

  eventsClosed(): void {
    // The process exits right after closing its event ring; 'exit' reports it.
  }
}

function reasonFromCode(code: number | null, signal: NodeJS.Signals | null): number {
  if (code === 0) return EXIT_NORMAL;
  if (code !== null && code > EXIT_CODE_BASE && code <= EXIT_CODE_BASE + EXIT_MAX) return code - EXIT_CODE_BASE;
  // RLIMIT_CPU's soft limit sends SIGXCPU (the sandbox's handler turns it into the exit code; a plugin that replaced
  // the handler dies of the signal itself).
  if (signal === 'SIGXCPU') return EXIT_RESOURCE_LIMIT;
  return EXIT_NONE;
}
