/**
 * A child process for test/sandbox.test.ts: starts the spy plugin (native/test/plugins/spy.c) in process mode with
 * the Sidecar options given as JSON in argv[2] (the plugin path is filled in), makes the attempts listed in argv[3]
 * (JSON [[type, argument], …]) and prints one JSON line: { report, results: [{ errno, data (base64) }], error? }.
 * Run it under a wrapper (deny_syscalls, a shell that opens extra descriptors) to test what the sandbox does there.
 */
import { Sidecar } from '../../src/index.js';
import { testPlugin } from './sidecar-env.js';

const options = JSON.parse(process.argv[2] ?? '{}') as Record<string, unknown>;
const attempts = JSON.parse(process.argv[3] ?? '[]') as [number, string][];
try {
  const sidecar = await Sidecar.start({ ...options, plugin: testPlugin('spy'), mode: 'process' });
  const results = [];
  for (const [type, arg] of attempts) {
    const reply = Buffer.from(await sidecar.request(new TextEncoder().encode(arg), { type }));
    results.push({ errno: reply.readInt32LE(0), data: reply.subarray(4).toString('base64') });
  }
  await sidecar.stop();
  process.stdout.write(`${JSON.stringify({ report: sidecar.sandbox, results })}\n`);
} catch (error) {
  const e = error as { code?: string; message?: string };
  process.stdout.write(`${JSON.stringify({ error: { code: e.code, message: e.message } })}\n`);
}
