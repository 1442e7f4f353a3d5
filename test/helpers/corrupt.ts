/**
 * Fault injection into a running Sidecar's shared memory: finds the sidecar's region among this process's file
 * descriptors (an anonymous memfd: /proc/self/fd/N links to '/memfd:…'), maps it a second time with
 * SharedRegion.fromFd and damages one word of a ring header or of a record header so that the side that reads it next
 * MUST find it corrupt (docs/wire-format.md §3/§4 list the checks):
 *
 * - a position (`tail` or `head`): bit 2 is flipped, so it is no longer a multiple of 8 (§3 "aligned");
 * - a record header of a committed, unconsumed record: bit 31 of its `type` is set (0x80000000 … 0xFFFFFFFE is neither
 *   a user type nor padding, §4 check 2), or the top byte of its `length` is set (beyond max_payload, §4 check 4).
 *
 * The writer of a position rewrites it at its next publication or release, so a damaged position may be healed before
 * the other side looks; a damaged record header stays until the record is consumed (never, for a reader that checks).
 * Payload bytes are never touched: the contract does not protect payloads against the sidecar itself
 * (docs/reliability.md, "What is not promised").
 */
import { readdirSync, readlinkSync } from 'node:fs';
import { SharedRegion } from '../../src/index.js';
import {
  RECORD_HEADER_SIZE,
  RECORD_LENGTH_OFFSET,
  RECORD_TYPE_MAX_USER,
  RECORD_TYPE_OFFSET,
  RECORD_TYPE_PADDING,
  RING_CAPACITY_OFFSET,
  RING_DATA_OFFSET,
  RING_HEAD_OFFSET,
  RING_MAX_PAYLOAD_OFFSET,
  RING_TAIL_OFFSET,
  recordSize,
} from '../../src/ring/layout.js';
import { SEGMENT_KIND_RING, SEGMENT_KIND_SIDECAR_CONTROL } from '../../src/region/layout.js';
import { CONTROL_COMMAND_SEGMENT_OFFSET, CONTROL_EVENT_SEGMENT_OFFSET, CONTROL_PID_OFFSET } from '../../src/sidecar/layout.js';

export type CorruptRing = 'command' | 'event';
export type CorruptTarget = 'tail' | 'head' | 'record-type' | 'record-length';

export interface CorruptResult {
  /** Whether a byte was changed (false: no sidecar region found, or no record to damage). */
  done: boolean;
  /** What was done or why nothing was. */
  what: string;
}

/** The memfd descriptors of this process (each may be a sidecar region). */
export function memfdDescriptors(): number[] {
  const fds: number[] = [];
  for (const name of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${name}`).startsWith('/memfd:')) fds.push(Number(name));
    } catch {
      // closed while we looked
    }
  }
  return fds;
}

interface SidecarRegionView {
  region: SharedRegion;
  view: DataView;
  control: number;
  commandRing: number;
  eventRing: number;
}

/** Maps the memfd `fd` and returns its sidecar layout, or undefined when it is not a sidecar region (then unmapped). */
function openSidecarRegion(fd: number): SidecarRegionView | undefined {
  let region: SharedRegion;
  try {
    region = SharedRegion.fromFd(fd);
  } catch {
    return undefined;
  }
  try {
    const segments = region.segments;
    const control = segments.find((s) => s.kind === SEGMENT_KIND_SIDECAR_CONTROL);
    if (control === undefined) throw new Error('no control block');
    const view = new DataView(region.buffer);
    const command = segments[view.getUint32(control.offset + CONTROL_COMMAND_SEGMENT_OFFSET, true)];
    const event = segments[view.getUint32(control.offset + CONTROL_EVENT_SEGMENT_OFFSET, true)];
    if (command?.kind !== SEGMENT_KIND_RING || event?.kind !== SEGMENT_KIND_RING) throw new Error('no rings');
    return { region, view, control: control.offset, commandRing: command.offset, eventRing: event.offset };
  } catch {
    region.close();
    return undefined;
  }
}

/**
 * Damages ring `ring` of the sidecar whose loop runs in process `pid` (its control block's `pid` word; in thread mode
 * this process's pid). `pick` chooses among the unconsumed records (any integer; taken modulo their number).
 */
export function corruptSidecar(pid: number, ring: CorruptRing, target: CorruptTarget, pick: number): CorruptResult {
  const candidates: SidecarRegionView[] = [];
  for (const fd of memfdDescriptors()) {
    const r = openSidecarRegion(fd);
    if (r === undefined) continue;
    if (r.view.getUint32(r.control + CONTROL_PID_OFFSET, true) === pid) candidates.push(r);
    else r.region.close();
  }
  try {
    if (candidates.length === 0) return { done: false, what: `no sidecar region of pid ${pid} is mapped` };
    if (candidates.length > 1) return { done: false, what: `${candidates.length} sidecar regions claim pid ${pid}` };
    const r = candidates[0]!;
    const base = ring === 'command' ? r.commandRing : r.eventRing;
    const words = new Uint32Array(r.region.buffer);
    const tailWord = (base + RING_TAIL_OFFSET) / 4;
    const headWord = (base + RING_HEAD_OFFSET) / 4;
    if (target === 'tail' || target === 'head') {
      const word = target === 'tail' ? tailWord : headWord;
      const before = Atomics.load(words, word) >>> 0;
      Atomics.xor(words, word, 4);
      return { done: true, what: `${ring} ring ${target} ${before} → ${(before ^ 4) >>> 0}` };
    }
    const capacity = r.view.getUint32(base + RING_CAPACITY_OFFSET, true);
    const maxPayload = r.view.getUint32(base + RING_MAX_PAYLOAD_OFFSET, true);
    const mask = capacity - 1;
    const head = Atomics.load(words, headWord) >>> 0;
    const tail = Atomics.load(words, tailWord) >>> 0;
    if (head % RECORD_HEADER_SIZE !== 0 || tail % RECORD_HEADER_SIZE !== 0 || ((tail - head) >>> 0) > capacity) {
      return { done: false, what: `${ring} ring positions are already damaged (head ${head}, tail ${tail})` };
    }
    // Walk the committed records from head to tail (the other side may consume some meanwhile: a damaged header it
    // has already read only matters to a later salvage, which must then report the record lost).
    const records: number[] = [];
    let pos = head;
    let guard = 0;
    while (((tail - pos) >>> 0) >= RECORD_HEADER_SIZE && ((tail - pos) >>> 0) <= capacity && guard++ < capacity / RECORD_HEADER_SIZE) {
      const at = base + RING_DATA_OFFSET + (pos & mask);
      const length = r.view.getUint32(at + RECORD_LENGTH_OFFSET, true);
      const type = r.view.getUint32(at + RECORD_TYPE_OFFSET, true);
      if (type === RECORD_TYPE_PADDING) {
        if ((pos & mask) + RECORD_HEADER_SIZE + length !== capacity) break;
        pos = (pos + RECORD_HEADER_SIZE + length) >>> 0;
        continue;
      }
      // Stop at a header that is already damaged (or being overwritten): what follows it cannot be located.
      if (type > RECORD_TYPE_MAX_USER || length > maxPayload || (pos & mask) + recordSize(length) > capacity) break;
      records.push(at);
      pos = (pos + recordSize(length)) >>> 0;
    }
    if (records.length === 0) return { done: false, what: `${ring} ring has no unconsumed record (head ${head}, tail ${tail})` };
    const at = records[Math.abs(pick) % records.length]!;
    if (target === 'record-type') {
      const before = r.view.getUint32(at + RECORD_TYPE_OFFSET, true);
      r.view.setUint8(at + RECORD_TYPE_OFFSET + 3, r.view.getUint8(at + RECORD_TYPE_OFFSET + 3) | 0x80);
      return { done: true, what: `${ring} ring record at ${at - base - RING_DATA_OFFSET}: type ${before} → 0x${r.view.getUint32(at + RECORD_TYPE_OFFSET, true).toString(16)}` };
    }
    const before = r.view.getUint32(at + RECORD_LENGTH_OFFSET, true);
    r.view.setUint8(at + RECORD_LENGTH_OFFSET + 3, r.view.getUint8(at + RECORD_LENGTH_OFFSET + 3) | 0x40);
    return { done: true, what: `${ring} ring record at ${at - base - RING_DATA_OFFSET}: length ${before} → ${r.view.getUint32(at + RECORD_LENGTH_OFFSET, true)}` };
  } finally {
    for (const c of candidates) c.region.close();
  }
}
