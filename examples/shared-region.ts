/**
 * A shared region and a ring between two processes, as in README.md ("Shared regions and rings"), quoted there from
 * the import to the end: this process creates the region and produces; a child Node process
 * (examples/region-consumer.ts) gets the memfd as its fd 3 and consumes. A C child would map the same fd with
 * ns_region_map_fd() of native_sidecar/region.h. Run: `node .out/examples/shared-region.js`.
 *
 * Expected output (printed by the child):
 *   consumer: record 1, Hello from TypeScript!
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { SharedRegion } from 'native-sidecar';

const region = SharedRegion.create({ size: 1 << 20 });    // anonymous; { name: true } for a random shm name
const ring = region.createRing(64 * 1024);                // segment 0; the creator adds segments before sharing
const consumer = fileURLToPath(new URL('region-consumer.js', import.meta.url));
const child = spawn(process.execPath, [consumer], { stdio: ['ignore', 'inherit', 'inherit', region.fd] }); // fd 3
ring.tryWrite(1, new TextEncoder().encode('Hello from TypeScript!'));
ring.closeProducer();                                     // the consumer's loop ends after the last record
const [code] = await once(child, 'exit');
region.close();                                           // detaches the buffer, unmaps, closes the fd
process.exitCode = code ?? 1;
