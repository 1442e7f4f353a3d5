import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Sidecar, examplePluginPath, type SidecarMode, type SidecarOptions } from '../src/index.js';
import { EXIT_CODE_BASE, EXIT_PARENT_DIED, EXIT_USAGE } from '../src/sidecar/layout.js';
import { nativeExecutable } from '../src/sidecar/paths.js';
import { MODES, PARKER_POOL_SLACK, eventually, resourceCounts } from './helpers/sidecar-env.js';
import { SCHED_BATCH, SCHED_FIFO, SCHED_OTHER, mainThreadCpus, taskScheduling, threadsNamed, type TaskScheduling } from './helpers/sched-proc.js';

const PROJECT = resolve(fileURLToPath(import.meta.url), '../../..');
const CHILD = join(PROJECT, '.out/test/helpers/scheduling-child.js');
const ECHO = examplePluginPath('echo');
const ALL_CPUS = mainThreadCpus();
/** Negative nice values and real-time policies need privilege: those tests run as root only. */
const NOT_ROOT = process.getuid?.() !== 0 && 'needs root (CAP_SYS_NICE)';

/** The runtime thread of `sidecar` as the kernel sees it: the sidecar process, or this process's "ns-sidecar" thread. */
function runtimeTask(sidecar: Sidecar, threadsBefore: number[]): TaskScheduling {
  if (sidecar.mode === 'process') return taskScheduling(sidecar.pid, sidecar.pid);
  const fresh = threadsNamed('ns-sidecar').filter((tid) => !threadsBefore.includes(tid));
  assert.equal(fresh.length, 1, `one new runtime thread named ns-sidecar (found ${fresh.join(', ') || 'none'})`);
  return taskScheduling(process.pid, fresh[0]!);
}

async function withSidecar(mode: SidecarMode, scheduling: SidecarOptions['scheduling'], check: (task: TaskScheduling, sidecar: Sidecar) => void): Promise<void> {
  const before = threadsNamed('ns-sidecar');
  const sidecar = await Sidecar.start({ plugin: ECHO, mode, scheduling });
  try {
    // The runtime is serving: the scheduling was in force before the plugin ran.
    assert.deepEqual(Buffer.from(await sidecar.request(new Uint8Array([7]))), Buffer.from([7]));
    check(runtimeTask(sidecar, before), sidecar);
  } finally {
    await sidecar.stop();
  }
}

for (const mode of MODES) {
  describe(`scheduling in ${mode} mode`, () => {
    test('scheduling.cpus pins the runtime thread to those CPUs and leaves this thread alone', async () => {
      await withSidecar(mode, { cpus: [1] }, (task, sidecar) => {
        assert.equal(task.cpus, '1');
        assert.equal(mainThreadCpus(), ALL_CPUS);
        assert.deepEqual(sidecar.scheduling, { cpus: [1], policy: null, priority: null, nice: null, pumpCpus: null });
      });
    });

    test('without scheduling the runtime thread inherits everything and sidecar.scheduling is null', async () => {
      await withSidecar(mode, undefined, (task, sidecar) => {
        assert.equal(task.cpus, ALL_CPUS);
        assert.equal(task.policy, SCHED_OTHER);
        assert.equal(sidecar.scheduling, null);
      });
    });

    test('scheduling.nice sets the nice value of the runtime thread, a negative one too (as root)', { skip: NOT_ROOT }, async () => {
      await withSidecar(mode, { nice: 9 }, (task, sidecar) => {
        assert.equal(task.nice, 9);
        assert.equal(sidecar.scheduling?.nice, 9);
      });
      await withSidecar(mode, { nice: -7 }, (task) => assert.equal(task.nice, -7));
      assert.equal(taskScheduling(process.pid, process.pid).nice, 0, "this thread's nice value is untouched");
    });

    test("policy 'fifo' with a priority makes the runtime thread real-time (as root)", { skip: NOT_ROOT }, async () => {
      await withSidecar(mode, { policy: 'fifo', priority: 10 }, (task, sidecar) => {
        assert.equal(task.policy, SCHED_FIFO);
        assert.equal(task.rtPriority, 10);
        assert.deepEqual(sidecar.scheduling, { cpus: null, policy: 'fifo', priority: 10, nice: null, pumpCpus: null });
        if (mode === 'process') {
          // Applied before the sandbox: inside its user namespace even root could not have set a real-time policy.
          assert.equal(sidecar.sandbox?.layers.userNamespace, true, 'the sandbox user namespace is in force');
        }
      });
    });

    test("policy 'batch' with a nice value applies both", async () => {
      await withSidecar(mode, { policy: 'batch', nice: 3, cpus: [0] }, (task) => {
        assert.equal(task.policy, SCHED_BATCH);
        assert.equal(task.nice, 3);
        assert.equal(task.cpus, '0');
      });
    });

    test('scheduling.pumpCpus pins this JavaScript thread until stop(), and the runtime keeps the CPUs it had before', async () => {
      await withSidecar(mode, { pumpCpus: [0] }, (task, sidecar) => {
        assert.equal(mainThreadCpus(), '0');
        assert.equal(task.cpus, ALL_CPUS, 'the runtime does not inherit the pump pinning');
        assert.equal(sidecar.scheduling?.pumpCpus?.join(','), '0');
      });
      assert.equal(mainThreadCpus(), ALL_CPUS, 'stop() gave the thread its CPUs back');
      await withSidecar(mode, { pumpCpus: [0], cpus: [1] }, (task) => {
        assert.equal(mainThreadCpus(), '0');
        assert.equal(task.cpus, '1');
      });
      assert.equal(mainThreadCpus(), ALL_CPUS);
    });

    if (mode === 'process') {
      test('a restarted sidecar process gets the same scheduling, and the pump stays pinned across the restart', async () => {
        const sidecar = await Sidecar.start({ plugin: ECHO, mode, restart: { backoffMs: 1 }, scheduling: { cpus: [1], nice: 4, pumpCpus: [0] } });
        try {
          const first = sidecar.pid;
          const restarted = once(sidecar, 'ready');
          process.kill(first, 'SIGKILL');
          await restarted;
          assert.deepEqual(Buffer.from(await sidecar.request(new Uint8Array([9]))), Buffer.from([9]));
          assert.notEqual(sidecar.pid, first);
          const task = taskScheduling(sidecar.pid, sidecar.pid);
          assert.equal(task.cpus, '1');
          assert.equal(task.nice, 4);
          assert.equal(mainThreadCpus(), '0');
        } finally {
          await sidecar.stop();
        }
        assert.equal(mainThreadCpus(), ALL_CPUS);
      });
    }

    test('a refused start gives the pump thread its CPUs back', async () => {
      // An unknown plugin fails after the pinning: the pinning must not outlive the failed start.
      await assert.rejects(Sidecar.start({ plugin: '/nonexistent/plugin.so', mode, scheduling: { pumpCpus: [0] } }), { code: 'ERR_SIDECAR_START' });
      assert.equal(mainThreadCpus(), ALL_CPUS);
    });
  });
}

/**
 * A command prefix that runs a program without the privilege to raise its scheduling: setpriv to the nobody user, or
 * an unmapped user namespace — each with RLIMIT_RTPRIO and RLIMIT_NICE 0. Checked here: `chrt -f 10` and a negative
 * nice must fail under it while a plain program runs. Throws (fails the test) when neither works on this machine.
 */
let prefixFound: string[] | undefined;
function unprivilegedPrefix(): string[] {
  if (prefixFound !== undefined) return prefixFound;
  const limits = ['prlimit', '--rtprio=0:0', '--nice=0:0'];
  const candidates = [
    [...limits, 'setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'],
    [...limits, 'unshare', '-U'],
  ];
  const tried: string[] = [];
  for (const prefix of candidates) {
    const run = (cmd: string): number | null => spawnSync(prefix[0]!, [...prefix.slice(1), 'sh', '-c', cmd], { stdio: 'ignore', timeout: 10_000 }).status;
    const plain = run('true');
    const rt = run('chrt -f 10 true');
    const nice = run('renice -n -5 -p $$');
    tried.push(`${prefix.join(' ')}: plain ${plain}, chrt ${rt}, renice ${nice}`);
    if (plain === 0 && rt !== 0 && nice !== 0) return (prefixFound = prefix);
  }
  throw new Error(`no way to run a process without scheduling privilege on this machine: ${tried.join('; ')}`);
}

interface ChildResult {
  started?: boolean;
  error?: { name: string; code: string; errno?: number; message: string };
  clean?: boolean;
  before?: unknown;
  after?: unknown;
  cpusBefore: string;
  cpusAfter: string;
}

function runUnprivileged(options: Partial<SidecarOptions>): ChildResult {
  const prefix = unprivilegedPrefix();
  const r = spawnSync(prefix[0]!, [...prefix.slice(1), process.execPath, CHILD, JSON.stringify(options)], {
    encoding: 'utf8',
    timeout: 30_000,
    cwd: '/',
  });
  assert.equal(r.status, 0, `the child ran: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as ChildResult;
}

for (const mode of MODES) {
  describe(`scheduling the kernel refuses, in ${mode} mode (an unprivileged child)`, () => {
    test("policy 'fifo' without CAP_SYS_NICE or RLIMIT_RTPRIO rejects with ERR_SCHEDULING_DENIED (EPERM) and leaves nothing behind", () => {
      const r = runUnprivileged({ mode, scheduling: { policy: 'fifo', priority: 10 } });
      assert.equal(r.started, undefined, 'start() rejected');
      assert.equal(r.error?.name, 'SidecarError');
      assert.equal(r.error?.code, 'ERR_SCHEDULING_DENIED');
      assert.equal(r.error?.errno, 1);
      assert.match(r.error!.message, /'scheduling\.policy' \('fifo', priority 10\) was refused by the kernel: sched_setscheduler failed with EPERM/);
      assert.equal(r.clean, true, `nothing left behind: before ${JSON.stringify(r.before)}, after ${JSON.stringify(r.after)}`);
    });

    test('a negative nice without privilege rejects with ERR_SCHEDULING_DENIED naming scheduling.nice and the errno', () => {
      const r = runUnprivileged({ mode, scheduling: { nice: -5 } });
      assert.equal(r.error?.code, 'ERR_SCHEDULING_DENIED');
      assert.equal(r.error?.errno, 13);
      assert.match(r.error!.message, /'scheduling\.nice' \(-5\) was refused by the kernel: setpriority failed with EACCES/);
      assert.equal(r.clean, true);
    });

    test('a refused runtime scheduling also gives the pump thread its CPUs back', () => {
      const r = runUnprivileged({ mode, scheduling: { policy: 'rr', priority: 1, pumpCpus: [0] } });
      assert.equal(r.error?.code, 'ERR_SCHEDULING_DENIED');
      assert.equal(r.cpusAfter, r.cpusBefore);
      assert.equal(r.clean, true);
    });

    test('what needs no privilege still works there: a higher nice and CPUs', () => {
      const r = runUnprivileged({ mode, scheduling: { nice: 5, cpus: [1] } });
      assert.equal(r.error, undefined, JSON.stringify(r.error));
      assert.equal(r.started, true);
    });
  });
}

describe('scheduling option validation', () => {
  const cases: [string, unknown, RegExp][] = [
    ['not an object', 5, /'options\.scheduling' must be an object/],
    ['an unknown key', { nic: 1 }, /'options\.scheduling\.nic' is not a known option; did you mean 'options\.scheduling\.nice'\?/],
    ['a nice value out of range', { nice: -21 }, /'options\.scheduling\.nice' must be an integer from -20 to 19/],
    ['a fractional nice value', { nice: 1.5 }, /'options\.scheduling\.nice' must be an integer/],
    ['an unknown policy', { policy: 'deadline' }, /'options\.scheduling\.policy' must be 'other', 'batch', 'idle', 'fifo' or 'rr'/],
    ['a real-time policy without priority', { policy: 'fifo' }, /'options\.scheduling\.priority' must be an integer from 1 to 99 \(required with policy 'fifo'\)/],
    ['a priority out of range', { policy: 'rr', priority: 100 }, /'options\.scheduling\.priority' must be an integer from 1 to 99/],
    ['a priority without a real-time policy', { priority: 5 }, /'options\.scheduling\.priority' must be left out unless policy is 'fifo' or 'rr'/],
    ['a nice value with a real-time policy', { policy: 'fifo', priority: 5, nice: -1 }, /'options\.scheduling\.nice' applies to policy 'other' or 'batch' only, not 'fifo'/],
    ['an empty CPU list', { cpus: [] }, /'options\.scheduling\.cpus' must be a non-empty array of CPU numbers/],
    ['a CPU that does not exist', { cpus: [0, 4096] }, /'options\.scheduling\.cpus\[1\]' must be a CPU of this machine \(online: /],
    ['a CPU named twice', { cpus: [0, 0] }, /'options\.scheduling\.cpus\[1\]' must be a CPU not named twice/],
    ['a CPU that is no integer', { pumpCpus: ['0'] }, /'options\.scheduling\.pumpCpus\[0\]' must be a CPU number/],
    ['a negative CPU', { pumpCpus: [-1] }, /'options\.scheduling\.pumpCpus\[0\]' must be a CPU number/],
  ];
  for (const mode of MODES) {
    test(`bad scheduling values are refused with ERR_INVALID_ARG naming them before anything starts (${mode} mode)`, async () => {
      await (await Sidecar.start({ plugin: ECHO, mode })).stop(); // warm up the lazily made process-wide resources
      const before = resourceCounts();
      for (const [what, scheduling, message] of cases) {
        await assert.rejects(
          Sidecar.start({ plugin: ECHO, mode, scheduling: scheduling as SidecarOptions['scheduling'] }),
          (error: Error & { code?: string }) => {
            assert.equal(error.code, 'ERR_INVALID_ARG', what);
            assert.match(error.message, message, what);
            return true;
          },
        );
      }
      assert.ok(await eventually(() => {
        const now = resourceCounts();
        return now.fds === before.fds && now.threads <= before.threads + PARKER_POOL_SLACK && now.memfdMappings === before.memfdMappings;
      }, 5000));
      assert.equal(mainThreadCpus(), ALL_CPUS);
    });
  }

  test('an empty scheduling object is no scheduling', async () => {
    const sidecar = await Sidecar.start({ plugin: ECHO, scheduling: {} });
    assert.equal(sidecar.scheduling, null);
    await sidecar.stop();
  });
});

describe('native-sidecar-host scheduling arguments', () => {
  const host = nativeExecutable('native-sidecar-host');
  // --parent-pid 1 is not our pid: arguments that parse end with exit reason 8 (parent died) before anything runs.
  const base = ['--fd', '0', '--plugin', '/nonexistent.so', '--parent-pid', '1'];
  const run = (args: string[]): number | null => spawnSync(host, [...base, ...args], { stdio: 'ignore', timeout: 10_000 }).status;

  test('well-formed scheduling arguments are accepted', () => {
    for (const args of [
      ['--cpus', '0,1'],
      ['--sched-policy', 'fifo', '--sched-priority', '99'],
      ['--sched-policy', 'batch', '--nice', '-20'],
      ['--nice', '19', '--cpus', '1'],
    ]) assert.equal(run(args), EXIT_CODE_BASE + EXIT_PARENT_DIED, args.join(' '));
  });

  test('malformed ones are refused with the usage exit code before anything runs', () => {
    for (const args of [
      ['--cpus', ''],
      ['--cpus', '1,1'],
      ['--cpus', '-1'],
      ['--cpus', '0,'],
      ['--cpus', '0 1'],
      ['--cpus', '4096'],
      ['--cpus', '0', '--cpus', '1'],
      ['--sched-policy', 'deadline'],
      ['--sched-policy', 'fifo'],
      ['--sched-policy', 'fifo', '--sched-priority', '100'],
      ['--sched-priority', '5'],
      ['--sched-policy', 'other', '--sched-priority', '5'],
      ['--sched-policy', 'rr', '--sched-priority', '5', '--nice', '1'],
      ['--nice', '20'],
      ['--nice', '-21'],
    ]) assert.equal(run(args), EXIT_CODE_BASE + EXIT_USAGE, args.join(' '));
  });
});

describe('a CPU outside the cpuset', () => {
  /** A cgroup-v1 cpuset holding only CPU 0, or null where none can be made (not root, cgroup v2 only). */
  function cpusetOfCpu0(): string | null {
    const dir = `/sys/fs/cgroup/cpuset/native-sidecar-test-${process.pid}`;
    try {
      mkdirSync(dir);
    } catch {
      return null;
    }
    try {
      writeFileSync(join(dir, 'cpuset.cpus'), '0');
      writeFileSync(join(dir, 'cpuset.mems'), '0');
      return dir;
    } catch {
      rmdirSync(dir);
      return null;
    }
  }

  for (const mode of MODES) {
    for (const key of ['cpus', 'pumpCpus'] as const) {
      test(`scheduling.${key} naming it rejects with ERR_SCHEDULING_DENIED (EINVAL) and leaves nothing behind (${mode} mode)`, (t) => {
        const dir = cpusetOfCpu0();
        if (dir === null) {
          t.skip('no cgroup-v1 cpuset can be made here');
          return;
        }
        try {
          const options = JSON.stringify({ mode, scheduling: { [key]: [1] } });
          const r = spawnSync('sh', ['-c', `echo $$ > ${dir}/cgroup.procs && exec "$0" "$1" "$2"`, process.execPath, CHILD, options], {
            encoding: 'utf8',
            timeout: 30_000,
          });
          assert.equal(r.status, 0, r.stderr);
          const result = JSON.parse(r.stdout.trim().split('\n').pop()!) as ChildResult;
          assert.equal(result.error?.code, 'ERR_SCHEDULING_DENIED');
          assert.equal(result.error?.errno, 22);
          assert.match(result.error!.message, new RegExp(`'scheduling\\.${key}' \\(1\\) was refused by the kernel: sched_setaffinity failed with EINVAL`));
          assert.equal(result.clean, true);
          assert.equal(result.cpusAfter, result.cpusBefore);
        } finally {
          rmdirSync(dir);
        }
      });
    }
  }
});
