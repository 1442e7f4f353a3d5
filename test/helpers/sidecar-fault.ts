/**
 * Fault injection for sidecar tests: damage the shared memory of the one sidecar this process runs, as a hostile or
 * broken sidecar would. The region is found the way any process of the same user could find it: its memfd among this
 * process's descriptors (/proc/self/fd), mapped a second time.
 */
import { readdirSync, readlinkSync, writeSync } from 'node:fs';
import { SharedRegion, regionLayout, ringLayout } from '../../src/index.js';
import { memfdDescriptors } from './corrupt.js';

export type RingName = 'command' | 'event';

/**
 * Runs `damage` on a second mapping of the only sidecar region of this process, with the byte offset of ring
 * `which` (its header) and a 32-bit view over the whole region. Throws when there is not exactly one sidecar region.
 */
export function damageRing(which: RingName, damage: (words: Int32Array, ringOffset: number) => void): void {
  const fds = memfdDescriptors();
  if (fds.length !== 1) throw new Error(`expected one sidecar region, found ${fds.length} (fds ${fds.join(', ')})`);
  const region = SharedRegion.fromFd(fds[0]!);
  try {
    const rings = region.segments.filter((s) => s.kind === regionLayout.SEGMENT_KIND_RING);
    const ring = rings[which === 'command' ? 0 : 1];
    if (ring === undefined) throw new Error('the sidecar region has no such ring');
    damage(new Int32Array(region.buffer), ring.offset);
  } finally {
    region.close();
  }
}

/** Makes the ring's tail (producer-written) misaligned: the consumer finds the ring corrupt on its next look. */
export function misalignTail(which: RingName): void {
  damageRing(which, (words, offset) => {
    const i = (offset + ringLayout.RING_TAIL_OFFSET) / 4;
    Atomics.store(words, i, (Atomics.load(words, i) + 3) | 0);
  });
}

/** Overwrites the ring's capacity in its header: a sidecar attaching to it now fails validation. */
export function breakCapacity(which: RingName): void {
  damageRing(which, (words, offset) => {
    Atomics.store(words, (offset + ringLayout.RING_CAPACITY_OFFSET) / 4, 12345);
  });
}

/**
 * Writes 1 to every eventfd of this process, as a sidecar does to wake its host's event pump (wire-format §5.1.1).
 * Spurious wake-ups are harmless by protocol; this one makes the pump look at a ring that was damaged meanwhile.
 */
export function wakeEventfds(): number {
  let woken = 0;
  for (const name of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${name}`) !== 'anon_inode:[eventfd]') continue;
      writeSync(Number(name), new BigUint64Array([1n]));
      woken++;
    } catch {
      // closed while listing
    }
  }
  return woken;
}
