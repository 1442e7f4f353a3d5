/**
 * A process-mode sidecar under a widened sandbox (docs/security.md, "Widening it: the knobs"): the hash example
 * plugin may read one directory and write another, sees one environment variable, and has memory, CPU and descriptor
 * limits. Prints what is in force and one reply, then stops. Run: `node .out/examples/sandboxed.js`.
 *
 * Expected output (on a kernel with Landlock and seccomp):
 *   sandbox: landlock ABI n, seccomp on, filesystem confined, env LANG
 *   reply: 32 bytes (a SHA-256 digest)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Sidecar, examplePluginPath } from 'native-sidecar';

const models = mkdtempSync(join(tmpdir(), 'ns-example-models-'));
const cache = mkdtempSync(join(tmpdir(), 'ns-example-cache-'));
process.env.LANG ??= 'C.UTF-8';
try {
  await using sidecar = await Sidecar.start({
    plugin: examplePluginPath('hash'),
    mode: 'process',
    sandbox: {
      env: ['LANG'], // copied from process.env; an object { NAME: 'value' } gives values directly
      readPaths: [models], // read-only beneath each
      writePaths: [cache], // read-write beneath each
      network: false, // the default: no socket at all
      limits: { memoryBytes: 1 << 30, cpuSeconds: 3600, openFiles: 1024 },
    },
  });
  const s = sidecar.sandbox!;
  console.log(
    `sandbox: landlock ABI ${s.landlockAbi}, seccomp ${s.layers.seccomp ? 'on' : 'off'}, ` +
      `filesystem ${s.layers.landlockFilesystem ? 'confined' : 'open'}, env ${s.env.join(' ')}`,
  );
  const reply = await sidecar.request('some bytes to hash');
  console.log(`reply: ${reply.byteLength} bytes (a SHA-256 digest)`);
} finally {
  rmSync(models, { recursive: true, force: true });
  rmSync(cache, { recursive: true, force: true });
}
