/**
 * Child process for test/region-seals.test.ts: the reader whose region its creator shrinks.
 * argv[2] = 'default' | 'trust' (whether fromFd gets { trustPeer: true }); the region is fd 3.
 * Prints "refused <code>" and exits 0 when fromFd refuses the fd. Otherwise prints "mapped", waits for a line on
 * stdin (the parent has shrunk the file to 4096 bytes by then), touches byte 8192 and prints "survived".
 * A SIGBUS on that touch kills this process by signal, which is what the test looks for.
 */
import { SharedRegion } from '../../src/index.js';

const trustPeer = process.argv[2] === 'trust';
let region: SharedRegion;
try {
  region = SharedRegion.fromFd(3, { trustPeer });
} catch (error) {
  process.stdout.write(`refused ${(error as { code?: string }).code}\n`);
  process.exit(0);
}
const bytes = new Uint8Array(region.buffer);
process.stdout.write('mapped\n');
process.stdin.once('data', () => {
  bytes[8192] = (bytes[8192] ?? 0) + 1; // past the new end of the file: SIGBUS if the shrink reached us
  process.stdout.write('survived\n');
  process.exit(0);
});
