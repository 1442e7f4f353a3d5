/**
 * Child process / worker helper for test/region.test.ts. Maps a region and checks or writes a marker.
 * As a child process: argv[2] = 'fd' | 'named-fd' | 'name', argv[3] = the fd number or name, argv[4] = offset. It reads the byte
 * at `offset`, writes (byte + 1) at offset + 1, and prints {"seen": byte, "size": n, "segments": k} on stdout.
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { SharedRegion } from '../../src/index.js';

function touch(how: string, target: string | number, offset: number): { seen: number; size: number; segments: number } {
  // A named region cannot be sealed, so both ways of reaching one (its fd, its name) need trustPeer; 'fd' is a memfd.
  const region =
    how === 'fd'
      ? SharedRegion.fromFd(Number(target))
      : how === 'named-fd'
        ? SharedRegion.fromFd(Number(target), { trustPeer: true })
        : SharedRegion.open(String(target), { trustPeer: true });
  try {
    const bytes = new Uint8Array(region.buffer);
    const seen = bytes[offset] ?? -1;
    bytes[offset + 1] = (seen + 1) & 0xff;
    return { seen, size: region.size, segments: region.segments.length };
  } finally {
    region.close();
  }
}

if (isMainThread) {
  const [how, target, offset] = process.argv.slice(2);
  process.stdout.write(JSON.stringify(touch(how ?? 'fd', target ?? '3', Number(offset))) + '\n');
} else {
  const data = workerData as { how: string; target: string | number; offset: number };
  parentPort?.postMessage(touch(data.how, data.target, data.offset));
}
