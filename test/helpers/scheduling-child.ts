/**
 * A child process for test/sidecar-scheduling.test.ts, run without privilege (under a wrapper that drops it): starts
 * the echo plugin with { mode, scheduling } from argv[2] (JSON) and prints one JSON line: the error start() rejected
 * with (code, errno, message), or what is in force; plus whether anything was left behind after a rejection (fds,
 * threads, memfd mappings before the attempt and after) and the main thread's CPUs before and after.
 */
import { Sidecar, examplePluginPath, type SidecarOptions } from '../../src/index.js';
import { eventually, PARKER_POOL_SLACK, resourceCounts } from './sidecar-env.js';
import { mainThreadCpus } from './sched-proc.js';

const options = JSON.parse(process.argv[2] ?? '{}') as Partial<SidecarOptions>;
// Warm up (lazily created process-wide resources exist before the baseline), unprivileged and unscheduled.
await (await Sidecar.start({ plugin: examplePluginPath('echo'), mode: options.mode, trustPluginFile: true })).stop();
const before = resourceCounts();
const cpusBefore = mainThreadCpus();
let result: Record<string, unknown>;
try {
  const sidecar = await Sidecar.start({ ...options, plugin: examplePluginPath('echo'), trustPluginFile: true });
  result = { started: true, report: sidecar.scheduling };
  await sidecar.stop();
} catch (error) {
  const e = error as { code?: string; errno?: number; message?: string; name?: string };
  const clean = await eventually(() => {
    const now = resourceCounts();
    return now.fds === before.fds && now.threads <= before.threads + PARKER_POOL_SLACK && now.memfdMappings === before.memfdMappings;
  }, 5000);
  result = { error: { name: e.name, code: e.code, errno: e.errno, message: e.message }, clean, before, after: resourceCounts() };
}
process.stdout.write(`${JSON.stringify({ ...result, cpusBefore, cpusAfter: mainThreadCpus() })}\n`);
