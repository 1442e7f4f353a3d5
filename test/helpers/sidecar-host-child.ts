/**
 * A host process for test/sidecar-host-death.test.ts: starts a process-mode sidecar, keeps it busy, prints
 * `{"sidecarPid": N}` on one line and waits to be killed.
 */
import { Sidecar, examplePluginPath } from '../../src/index.js';

const sidecar = await Sidecar.start({ plugin: examplePluginPath('echo'), mode: 'process' });
for (let i = 0; i < 1000; i++) await sidecar.request(`warm ${i}`);
process.stdout.write(`${JSON.stringify({ sidecarPid: sidecar.pid })}\n`);
setInterval(() => void sidecar.send('tick'), 5);
