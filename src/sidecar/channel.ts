/**
 * The shared memory of one Sidecar: an anonymous region (memfd: no name to leak, freed with its last mapping) with
 * three segments — the control block (with the config bytes), the command ring (host → sidecar) and the event ring
 * (sidecar → host) — laid out as docs/wire-format.md §8 describes.
 *
 * Ownership: the Sidecar that created the channel owns the region and closes it (unmaps it) only after the sidecar
 * thread was joined or the sidecar process exited: closing earlier would pull the memory from under running code.
 */
import { SharedRegion } from '../region/shared-region.js';
import { SEGMENT_KIND_RING, SEGMENT_KIND_SIDECAR_CONTROL } from '../region/layout.js';
import { Ring } from '../ring/ring.js';
import { RING_CONSUMER_PARKED_OFFSET } from '../ring/layout.js';
import type { Parker } from '../ring/parker.js';
import { ControlBlock } from './control-block.js';
import { SIDECAR_HOST_WANTS_PROCESS, controlSegmentSize } from './layout.js';
import type { ResolvedSidecarOptions } from './options.js';
import { REGION_HEADER_SIZE, SEGMENT_ALIGN } from '../region/layout.js';
import { carryHostStats, hostStatsView } from './host-stats.js';

const PAGE = 4096;

export interface SidecarChannel {
  region: SharedRegion;
  control: ControlBlock;
  /** Producer end (this thread). */
  commands: Ring;
  /** Consumer end (this thread). */
  events: Ring;
  /** The whole region as 32-bit words, to read and write message headers in place (payloads are 8-byte aligned). */
  words: Uint32Array;
  /** The whole region as bytes, to copy payloads in and out at the offsets Ring.claimAt()/drainAt() give. */
  bytes: Uint8Array;
  /** Index in `words` of the command ring's `consumer_parked` word (wire-format §2): read as a hint only. */
  commandConsumerParked: number;
  /** The host statistics words of the control block (§8.4; host-stats.ts), undefined when they are switched off. */
  stats: Uint32Array | undefined;
}

let lastSidecarIndex = 0;

/** The next Sidecar's number in this process (1, 2, …), written into every region of it (§8.4). JavaScript thread. */
export function nextSidecarIndex(): number {
  return ++lastSidecarIndex;
}

function alignUp(n: number, to: number): number {
  return Math.ceil(n / to) * to;
}

/**
 * Creates and initialises the channel for `o`. `commandParker` serves the command ring (this side waits for space,
 * which the runtime signals by FUTEX_WAKE only); `eventParker` serves the event ring (this side waits for data, which
 * the runtime also signals on the eventfd of an EventfdParker given to it). The parkers stay the caller's to close.
 * `redelivered` (0 or 1) tells the sidecar that the first command the caller will write is a redelivery (§8.3).
 * `sidecarIndex` is the Sidecar's number (nextSidecarIndex()); `previous`, for a restart, is the channel the new one
 * replaces: its host statistics are carried over and the restart counted (§8.4). Throws the region's errors (ERR_SYSTEM, ERR_ADDON_MISSING).
 */
export function createChannel(
  o: ResolvedSidecarOptions,
  commandParker: Parker,
  eventParker: Parker,
  redelivered: number,
  sidecarIndex: number,
  previous?: SidecarChannel,
): SidecarChannel {
  const controlSize = controlSegmentSize(o.config.byteLength);
  const commandSize = Ring.segmentSize(o.commandRingBytes);
  const eventSize = Ring.segmentSize(o.eventRingBytes);
  const total = alignUp(
    alignUp(alignUp(REGION_HEADER_SIZE + controlSize, SEGMENT_ALIGN) + commandSize, SEGMENT_ALIGN) + eventSize,
    PAGE,
  );
  const region = SharedRegion.create({ size: total });
  try {
    const controlSegment = region.addSegment(SEGMENT_KIND_SIDECAR_CONTROL, controlSize);
    const commandSegment = region.addSegment(SEGMENT_KIND_RING, commandSize);
    const eventSegment = region.addSegment(SEGMENT_KIND_RING, eventSize);
    const buffer = region.buffer;
    const control = new ControlBlock(buffer, controlSegment.offset, controlSegment.size);
    control.writeDescriptor({
      commandSegment: commandSegment.index,
      eventSegment: eventSegment.index,
      config: o.config,
      hostFlags: o.host.process !== undefined ? SIDECAR_HOST_WANTS_PROCESS : 0,
      hostPid: process.pid,
      redelivered,
      sidecarIndex,
    });
    const policy = { mode: o.waitPolicy.mode, spinMicros: o.waitPolicy.spinMicros };
    const commands = Ring.create(buffer, { byteOffset: commandSegment.offset, capacity: o.commandRingBytes, parker: commandParker, waitPolicy: policy });
    const events = Ring.create(buffer, { byteOffset: eventSegment.offset, capacity: o.eventRingBytes, parker: eventParker, waitPolicy: policy });
    const commandConsumerParked = (commandSegment.offset + RING_CONSUMER_PARKED_OFFSET) / Uint32Array.BYTES_PER_ELEMENT;
    const stats = hostStatsView(buffer, controlSegment.offset);
    if (previous !== undefined) carryHostStats(previous.stats, stats);
    return { region, control, commands, events, words: new Uint32Array(buffer), bytes: new Uint8Array(buffer), commandConsumerParked, stats };
  } catch (error) {
    region.close();
    throw error;
  }
}
