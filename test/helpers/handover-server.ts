/**
 * Child process for test/region-handover.test.ts: a server in another process that can be killed with SIGKILL.
 * argv[2] = socket path. Creates an anonymous region with the byte 42 at 5000, serves it, prints "ready", and stays
 * alive until killed.
 */
import { SharedRegion } from '../../src/index.js';

const region = SharedRegion.create({ size: 64 * 1024 });
new Uint8Array(region.buffer)[5000] = 42;
region.serve(process.argv[2]!);
process.stdout.write('ready\n');
