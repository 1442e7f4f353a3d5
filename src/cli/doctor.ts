/**
 * `npx native-sidecar doctor`: checks, one line per item, what native-sidecar needs on this machine — and says what
 * to do about each one that is missing. Exit code 0 when every needed item is there, 1 otherwise; an optional item
 * (unprivileged user namespaces: the sandbox skips them) never fails the check.
 *
 * Kernel features are checked by using them, not by version numbers: the addon creates a sealed memfd region, parks
 * on a futex and on an eventfd; a sidecar of the echo example plugin starts in thread mode and in process mode, and
 * the process-mode one reports its sandbox (native-sidecar-host asks the kernel for the Landlock ABI with
 * landlock_create_ruleset(LANDLOCK_CREATE_RULESET_VERSION), installs its seccomp filter and enters its namespaces,
 * all before it loads the plugin; `sandbox: { bestEffort: true }` lets it start without a layer so that each one is
 * reported). Files of /proc and /sys add what they say, and stand in when the sidecar cannot be started.
 */
import { readFileSync } from 'node:fs';
import { arch, platform, release } from 'node:os';
import { EventfdParker, NativeParker, SharedRegion, Sidecar, examplePluginPath, type SandboxReport, type SidecarMode } from '../index.js';
import { loadAddon } from '../native/addon.js';
import { addonFile } from '../native/artifacts.js';
import { nativeExecutable } from '../sidecar/paths.js';

export interface Check {
  name: string;
  ok: boolean;
  /** Optional items are reported but never make the doctor fail. */
  optional: boolean;
  /** What was found, or what is missing and what to do about it. */
  detail: string;
}

const MIN_NODE: [number, number] = [20, 10];
const LANDLOCK_KERNEL: [number, number] = [5, 13];
const STATUS_WIDTH = 9; // "missing" and two spaces

function atLeast(version: string, [major, minor]: [number, number]): boolean {
  const [a = 0, b = 0] = version.split('.').map((part) => Number.parseInt(part, 10));
  return a > major || (a === major && b >= minor);
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Runs `attempt` and reports its sentence, or the error it threw, as one check. */
async function check(name: string, attempt: () => string | Promise<string>, fix: string): Promise<Check> {
  try {
    return { name, ok: true, optional: false, detail: await attempt() };
  } catch (error) {
    const said = message(error);
    return { name, ok: false, optional: false, detail: fix === '' ? said : `${said.replace(/\.$/, '')}. ${fix}` };
  }
}

async function parkRoundTrip(parker: NativeParker | EventfdParker, wake: (view: Int32Array) => void): Promise<void> {
  const view = new Int32Array(new SharedArrayBuffer(4));
  try {
    const waiting = parker.wait(view, 0, 0, 2000);
    setTimeout(() => wake(view), 5);
    const result = await waiting;
    if (result === 'timed-out') throw new Error('a wait was not woken within 2 s');
  } finally {
    parker.close();
  }
}

interface Probe {
  /** The sandbox a process-mode sidecar reported, when one started. */
  sandbox?: SandboxReport;
  /** Why no process-mode sidecar could report one. */
  why?: string;
}

/** Starts and stops a sidecar of the echo plugin in `mode`; the process-mode one reports its sandbox. */
async function startSidecar(mode: SidecarMode): Promise<{ ms: number; sandbox?: SandboxReport }> {
  const began = performance.now();
  const sidecar = await Sidecar.start({
    plugin: examplePluginPath('echo'),
    mode,
    trustPluginFile: true, // the package's own example plugin: only the kernel is under test here
    ...(mode === 'process' ? { sandbox: { bestEffort: true } } : {}),
  });
  try {
    const reply = await sidecar.request('doctor', { timeout: 5000 });
    if (new TextDecoder().decode(reply) !== 'doctor') throw new Error('the echo plugin replied with other bytes');
    return { ms: performance.now() - began, ...(sidecar.sandbox ? { sandbox: sidecar.sandbox } : {}) };
  } finally {
    await sidecar.stop();
  }
}

function landlockCheck(probe: Probe): Check {
  const name = 'landlock';
  const fix =
    "Process mode's default sandbox needs it (Sidecar.start rejects with ERR_SANDBOX_UNAVAILABLE): boot a kernel ≥ 5.13 " +
    "with CONFIG_SECURITY_LANDLOCK and 'landlock' in its lsm= list, or pass sandbox: { bestEffort: true } (unconfined " +
    'filesystem), or use thread mode.';
  const s = probe.sandbox;
  if (s !== undefined) {
    if (s.landlockAbi > 0 && s.layers.landlockFilesystem) {
      const extra = s.landlockAbi < 4 ? ' (TCP rules need ABI 4, Linux 6.7; seccomp still refuses sockets)' : '';
      return { name, ok: true, optional: false, detail: `ABI ${s.landlockAbi}${extra}, reported by native-sidecar-host (landlock_create_ruleset version query)` };
    }
    return { name, ok: false, optional: false, detail: `native-sidecar-host found no usable Landlock (ABI ${s.landlockAbi}). ${fix}` };
  }
  const lsm = readText('/sys/kernel/security/lsm');
  const how = `native-sidecar-host could not report the ABI (${probe.why ?? 'not run'})`;
  if (lsm === undefined) return { name, ok: false, optional: false, detail: `could not be determined: ${how}, and /sys/kernel/security/lsm is unreadable. ${fix}` };
  if (lsm.split(',').includes('landlock')) return { name, ok: true, optional: false, detail: `enabled, listed in /sys/kernel/security/lsm (${how})` };
  return { name, ok: false, optional: false, detail: `not in /sys/kernel/security/lsm (${lsm}). ${fix}` };
}

function seccompCheck(probe: Probe): Check {
  const name = 'seccomp';
  const field = /^Seccomp:\s*(\d+)$/m.exec(readText('/proc/self/status') ?? '')?.[1];
  const status = field === undefined ? '/proc/self/status has no Seccomp field' : `/proc/self/status Seccomp: ${field}${field === '0' ? '' : ', this process is filtered already'}`;
  const fix =
    "Process mode's default sandbox needs seccomp filter mode (CONFIG_SECCOMP_FILTER; Sidecar.start rejects with " +
    'ERR_SANDBOX_UNAVAILABLE otherwise): use such a kernel, or pass sandbox: { bestEffort: true }, or use thread mode.';
  const s = probe.sandbox;
  if (s !== undefined) {
    if (s.layers.seccomp) return { name, ok: true, optional: false, detail: `filter mode works: native-sidecar-host installed its filter (${status})` };
    return { name, ok: false, optional: false, detail: `native-sidecar-host could not install its filter (${status}). ${fix}` };
  }
  if (field !== undefined) return { name, ok: true, optional: false, detail: `supported: ${status} (the filter itself was not tried: ${probe.why ?? 'not run'})` };
  return { name, ok: false, optional: false, detail: `${status}: the kernel has no seccomp. ${fix}` };
}

function userNamespaceCheck(probe: Probe): Check {
  const name = 'user namespaces';
  const clone = readText('/proc/sys/kernel/unprivileged_userns_clone');
  const max = readText('/proc/sys/user/max_user_namespaces');
  const files = [
    clone === undefined ? undefined : `kernel.unprivileged_userns_clone ${clone}`,
    max === undefined ? undefined : `user.max_user_namespaces ${max}`,
  ].filter((f) => f !== undefined);
  const said = files.length === 0 ? 'neither sysctl is readable' : files.join(', ');
  const fix =
    'Optional: without them the sandbox skips its user, IPC and network namespaces (Landlock and seccomp still confine); ' +
    'to allow them: sysctl -w kernel.unprivileged_userns_clone=1 or user.max_user_namespaces=10000 ' +
    '(on Ubuntu also kernel.apparmor_restrict_unprivileged_userns=0).';
  const s = probe.sandbox;
  if (s !== undefined) {
    if (s.layers.userNamespace) return { name, ok: true, optional: true, detail: `the sidecar entered its own user namespace (${said})` };
    return { name, ok: false, optional: true, detail: `the sidecar could not create a user namespace (${said}). ${fix}` };
  }
  const allowed = clone !== '0' && max !== undefined && Number(max) > 0;
  if (allowed) return { name, ok: true, optional: true, detail: `allowed: ${said}` };
  return { name, ok: false, optional: true, detail: `not allowed: ${said}. ${fix}` };
}

/** Every check, in the order printed. Never throws. */
export async function runChecks(): Promise<Check[]> {
  const checks: Check[] = [];
  const add = (c: Check): Check => (checks.push(c), c);
  const node = process.versions.node;
  const kernel = release();

  add(
    platform() === 'linux' && (arch() === 'x64' || arch() === 'arm64')
      ? { name: 'platform', ok: true, optional: false, detail: `${platform()} ${arch()}` }
      : { name: 'platform', ok: false, optional: false, detail: `${platform()} ${arch()}. native-sidecar runs on Linux x64 or arm64 only (memfd, futex, PR_SET_PDEATHSIG).` },
  );
  add(
    atLeast(kernel, LANDLOCK_KERNEL)
      ? { name: 'kernel', ok: true, optional: false, detail: `${kernel} (≥ 5.13: Landlock; 6.7 adds its TCP rules, 6.12 its scoping)` }
      : { name: 'kernel', ok: false, optional: false, detail: `${kernel}. Process mode's sandbox needs Linux ≥ 5.13 (Landlock): upgrade, or use thread mode or sandbox: { bestEffort: true }.` },
  );
  add(
    atLeast(node, MIN_NODE)
      ? { name: 'node', ok: true, optional: false, detail: `v${node} (≥ 20.10)` }
      : { name: 'node', ok: false, optional: false, detail: `v${node}. native-sidecar needs Node.js ≥ 20.10: install a newer Node.` },
  );
  const addon = add(
    await check('addon', () => `${addonFile() ?? 'native_sidecar.node'} loaded (wire format version ${loadAddon().wireFormatVersion})`, ''), // its error says what to do
  );
  const host = add(await check('native-sidecar-host', () => nativeExecutable('native-sidecar-host'), ''));
  const withAddon = (name: string, attempt: () => string | Promise<string>, fix: string): Promise<Check> =>
    addon.ok ? check(name, attempt, fix) : Promise.resolve({ name, ok: false, optional: false, detail: 'not checked: the addon is missing (see above).' });

  add(
    await withAddon(
      'memfd_create',
      () => {
        SharedRegion.create({ size: 1 << 16 }).close();
        return 'a sealed memfd region was created and mapped';
      },
      'Regions need memfd_create with sealing (Linux ≥ 3.17).',
    ),
  );
  add(
    await withAddon(
      'futex',
      async () => {
        const parker = new NativeParker();
        await parkRoundTrip(parker, (view) => (Atomics.store(view, 0, 1), parker.wake(view, 0)));
        const how = parker.mechanism === 'io_uring' ? 'an io_uring futex wait polled by the event loop' : `a native waiter thread (${parker.fallbackReason})`;
        parker.close();
        return `${how} parked on a shared futex and was woken`;
      },
      'Rings park on shared futexes (FUTEX_WAIT/FUTEX_WAKE).',
    ),
  );
  add(
    await withAddon(
      'eventfd',
      async () => {
        const parker = new EventfdParker();
        await parkRoundTrip(parker, () => parker.signal());
        return "the event loop watched an eventfd and was woken through it";
      },
      "The sidecar's event pump sleeps on an eventfd (eventfd2 and epoll).",
    ),
  );

  const plugin = addon.ok ? await check('example plugins', () => examplePluginPath('echo'), '') : undefined;
  const canStart = addon.ok && plugin?.ok === true;
  const notStarted = !addon.ok ? 'the addon is missing' : !canStart ? `the echo plugin is missing: ${plugin?.detail ?? ''}` : '';
  const thread = canStart
    ? await check('thread mode', async () => `a sidecar of the echo plugin started, replied and stopped (${(await startSidecar('thread')).ms.toFixed(0)} ms)`, '')
    : { name: 'thread mode', ok: false, optional: false, detail: `not checked: ${notStarted} (see above).` };
  const probe: Probe = {};
  const processMode =
    canStart && host.ok
      ? await check(
          'process mode',
          async () => {
            const r = await startSidecar('process');
            if (r.sandbox !== undefined) probe.sandbox = r.sandbox;
            return `a sidecar process of the echo plugin started (sandbox: { bestEffort: true }), replied and stopped (${r.ms.toFixed(0)} ms)`;
          },
          '',
        )
      : { name: 'process mode', ok: false, optional: false, detail: `not checked: ${host.ok ? notStarted : 'native-sidecar-host is missing'} (see above).` };
  if (probe.sandbox === undefined) {
    probe.why = !host.ok ? 'native-sidecar-host is missing' : !canStart ? notStarted : !processMode.ok ? 'process mode failed, see below' : 'it reported no sandbox';
  }

  add(landlockCheck(probe));
  add(seccompCheck(probe));
  add(userNamespaceCheck(probe));
  add(thread);
  add(processMode);
  return checks;
}

/** One printed line of a check: status column, name, detail. */
export function formatCheck(c: Check): string {
  return `${(c.ok ? 'ok' : 'missing').padEnd(STATUS_WIDTH)}${c.name}: ${c.detail}`;
}

/** Runs the checks, prints one line each and a summary; returns the exit code (0: all needed items are there). */
export async function runDoctor(print: (line: string) => void = console.log): Promise<number> {
  const checks = await runChecks();
  for (const c of checks) print(formatCheck(c));
  const missing = checks.filter((c) => !c.ok && !c.optional).map((c) => c.name);
  if (missing.length === 0) {
    print('native-sidecar has everything it needs here.');
    return 0;
  }
  print(`${missing.length} needed item${missing.length === 1 ? ' is' : 's are'} missing: ${missing.join(', ')}.`);
  return 1;
}
