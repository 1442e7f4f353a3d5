/**
 * Reads the statistics of the sidecars of another process from outside (docs/wire-format.md §8.4): finds its memfd
 * regions through /proc/<pid>/fd, opens each read-only and reads it with pread (never mapped, so nothing the target
 * does to the file can fault this process), and validates every field before it uses it — the region header (§1),
 * the control block descriptor (§8.1) and both ring descriptors and positions (§2, §3) — exactly as a peer would.
 * A region that fails a check becomes an `unreadable` entry carrying the sentence of the failed check; nothing a
 * target writes into its memory makes this module throw.
 *
 * Threading: the calling JavaScript thread, synchronous file system calls only (a sample reads a few KiB).
 */
import { closeSync, fstatSync, openSync, readSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { NativeSidecarError } from '../errors.js';
import {
  REGION_HEADER_SIZE,
  REGION_HEADER_SIZE_OFFSET,
  REGION_MAGIC,
  REGION_MAGIC_OFFSET,
  REGION_MAX_SEGMENTS,
  REGION_MAX_SIZE,
  REGION_MEMFD_NAME,
  REGION_MIN_SIZE,
  REGION_SEGMENTS_OFFSET,
  REGION_SEGMENT_COUNT_OFFSET,
  REGION_SIZE_OFFSET,
  REGION_VERSION,
  REGION_VERSION_OFFSET,
  REGION_FLAGS_OFFSET,
  SEGMENT_ALIGN,
  SEGMENT_ENTRY_SIZE,
  SEGMENT_KIND_OFFSET,
  SEGMENT_KIND_RING,
  SEGMENT_KIND_SIDECAR_CONTROL,
  SEGMENT_KIND_USER_MIN,
  SEGMENT_OFFSET_OFFSET,
  SEGMENT_SIZE_OFFSET,
} from '../region/layout.js';
import {
  RING_CAPACITY_OFFSET,
  RING_CLOSED_OFFSET,
  RING_CONSUMER_PARKED_OFFSET,
  RING_FLAGS_OFFSET,
  RING_HEAD_OFFSET,
  RING_HEADER_SIZE,
  RING_HEADER_SIZE_OFFSET,
  RING_MAGIC,
  RING_MAGIC_OFFSET,
  RING_MAX_CAPACITY,
  RING_MIN_CAPACITY,
  RING_PRODUCER_PARKED_OFFSET,
  RING_TAIL_OFFSET,
  RING_VERSION,
  RING_VERSION_OFFSET,
  RECORD_ALIGN,
} from '../ring/layout.js';
import {
  CONTROL_COMMANDS_SENT_OFFSET,
  CONTROL_COMMAND_SEGMENT_OFFSET,
  CONTROL_COMPLETED_OFFSET,
  CONTROL_EVENT_SEGMENT_OFFSET,
  CONTROL_EXIT_REASON_OFFSET,
  CONTROL_HEADER_SIZE_OFFSET,
  CONTROL_HEARTBEAT_OFFSET,
  CONTROL_HOST_PID_OFFSET,
  CONTROL_IN_PLUGIN_OFFSET,
  CONTROL_MAGIC_OFFSET,
  CONTROL_MESSAGES_RECEIVED_OFFSET,
  CONTROL_MESSAGES_SENT_OFFSET,
  CONTROL_PENDING_REQUESTS_OFFSET,
  CONTROL_PID_OFFSET,
  CONTROL_PROCESSED_OFFSET,
  CONTROL_REPLIES_SENT_OFFSET,
  CONTROL_RESTARTS_OFFSET,
  CONTROL_SIDECAR_INDEX_OFFSET,
  CONTROL_STARTED_OFFSET,
  CONTROL_STATE_OFFSET,
  CONTROL_VERSION_OFFSET,
  EXIT_MAX,
  SIDECAR_CONTROL_SIZE,
  SIDECAR_MAGIC,
  SIDECAR_VERSION,
} from '../sidecar/layout.js';

const STATE_NAMES = ['created', 'loading', 'initializing', 'running', 'disposing', 'exited', 'failed'] as const;
const CALL_NAMES = ['none', 'init', 'process', 'dispose'] as const;
/** A ring whose positions fail §3 is read again this many times before it is reported inconsistent. */
const POSITION_TRIES = 3;

/** One ring as read: positions (u32, §3), its fill level, and its park words (§5.1). */
export interface RingStats {
  capacity: number;
  head: number;
  tail: number;
  /** Bytes written and not yet consumed: (tail − head) mod 2^32, ≤ capacity. */
  used: number;
  /** The consumer announced that it sleeps (or is about to). */
  consumerParked: boolean;
  /** The producer announced that it sleeps waiting for space. */
  producerParked: boolean;
  /** Bit 0: the producer closed the ring; bit 1: the consumer closed it. */
  closed: number;
}

/** The statistics of one sidecar region, every value checked or display-only. */
export interface SidecarStats {
  kind: 'sidecar';
  /** The descriptor number in the target process, and the memfd's inode (the same region under two fds is one). */
  fd: number;
  inode: number;
  /** The host's number for this Sidecar (§8.4), the same across restarts. */
  sidecarIndex: number;
  hostPid: number;
  /** The process running the sidecar loop (the host itself in thread mode; 0 before it attached). */
  pid: number;
  mode: 'thread' | 'process' | 'unknown';
  state: string;
  inPlugin: string;
  heartbeat: number;
  exitReason: number;
  processed: number;
  started: number;
  completed: number;
  messagesSent: number;
  repliesSent: number;
  commandsSent: number;
  messagesReceived: number;
  pendingRequests: number;
  restarts: number;
  commands: RingStats;
  events: RingStats;
}

/** A region that looked like a sidecar's but failed a check: `reason` is the sentence of that check. */
export interface UnreadableRegion {
  kind: 'unreadable';
  fd: number;
  inode: number;
  reason: string;
}

export type RegionStats = SidecarStats | UnreadableRegion;

/** One reading of a process: its sidecar regions in fd order, with the time it was taken. */
export interface ProcessSample {
  pid: number;
  /** performance.now() when the reading started (for rates). */
  at: number;
  regions: RegionStats[];
}

class Unreadable extends Error {}

function fail(reason: string): never {
  throw new Unreadable(reason);
}

function hex(n: number): string {
  return `0x${(n >>> 0).toString(16).padStart(8, '0')}`;
}

/** pread of exactly `length` bytes at `position`, or an Unreadable. */
function pread(fd: number, length: number, position: number, what: string): Buffer {
  const buffer = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const n = readSync(fd, buffer, done, length - done, position + done);
    if (n === 0) fail(`the file ends at byte ${position + done}, inside ${what}.`);
    done += n;
  }
  return buffer;
}

interface Segment {
  kind: number;
  offset: number;
  size: number;
}

/** §1: the region header and segment table, against the file's size. */
function readSegments(fd: number, fileSize: number): Segment[] {
  if (fileSize < REGION_MIN_SIZE || fileSize > REGION_MAX_SIZE) fail(`the file is ${fileSize} bytes long, outside ${REGION_MIN_SIZE} … ${REGION_MAX_SIZE}.`);
  const h = pread(fd, REGION_HEADER_SIZE, 0, 'the region header');
  const magic = h.readUInt32LE(REGION_MAGIC_OFFSET);
  if (magic !== REGION_MAGIC) fail(`the region header's magic is ${hex(magic)}, not ${hex(REGION_MAGIC)}.`);
  const version = h.readUInt16LE(REGION_VERSION_OFFSET);
  if (version !== REGION_VERSION) fail(`the region header's version is ${version}, not ${REGION_VERSION}.`);
  const headerSize = h.readUInt16LE(REGION_HEADER_SIZE_OFFSET);
  if (headerSize !== REGION_HEADER_SIZE) fail(`the region header's size field is ${headerSize}, not ${REGION_HEADER_SIZE}.`);
  const size = h.readUInt32LE(REGION_SIZE_OFFSET);
  if (size !== fileSize) fail(`the region header says ${size} bytes, but the file is ${fileSize} bytes long.`);
  const count = h.readUInt32LE(REGION_SEGMENT_COUNT_OFFSET);
  if (count > REGION_MAX_SEGMENTS) fail(`the region header lists ${count} segments, more than ${REGION_MAX_SEGMENTS}.`);
  const flags = h.readUInt32LE(REGION_FLAGS_OFFSET);
  if (flags !== 0) fail(`the region header's flags are ${hex(flags)}, not 0.`);
  const segments: Segment[] = [];
  for (let i = 0; i < count; i++) {
    const at = REGION_SEGMENTS_OFFSET + i * SEGMENT_ENTRY_SIZE;
    const kind = h.readUInt32LE(at + SEGMENT_KIND_OFFSET);
    const offset = h.readUInt32LE(at + SEGMENT_OFFSET_OFFSET);
    const length = h.readUInt32LE(at + SEGMENT_SIZE_OFFSET);
    if (kind !== SEGMENT_KIND_RING && kind !== SEGMENT_KIND_SIDECAR_CONTROL && kind < SEGMENT_KIND_USER_MIN) fail(`segment ${i} has kind ${kind}, which is not defined.`);
    if (offset < REGION_HEADER_SIZE || offset % SEGMENT_ALIGN !== 0) fail(`segment ${i} starts at ${offset}, not a multiple of ${SEGMENT_ALIGN} at or after ${REGION_HEADER_SIZE}.`);
    if (length === 0 || offset + length > size) fail(`segment ${i} (${length} bytes at ${offset}) does not lie inside the ${size}-byte region.`);
    for (let j = 0; j < segments.length; j++) {
      const o = segments[j]!;
      if (offset < o.offset + o.size && o.offset < offset + length) fail(`segment ${i} overlaps segment ${j}.`);
    }
    segments.push({ kind, offset, size: length });
  }
  return segments;
}

/** §2, §3: one ring's descriptor and positions. `head` is read before `tail`, so a live ring never shows head > tail. */
function readRing(fd: number, segment: Segment, name: string): RingStats {
  for (let attempt = 1; ; attempt++) {
    const head = pread(fd, 4, segment.offset + RING_HEAD_OFFSET, `the ${name} ring`).readUInt32LE(0);
    const r = pread(fd, RING_HEADER_SIZE, segment.offset, `the ${name} ring`);
    const magic = r.readUInt32LE(RING_MAGIC_OFFSET);
    if (magic !== RING_MAGIC) fail(`the ${name} ring's magic is ${hex(magic)}, not ${hex(RING_MAGIC)}.`);
    const version = r.readUInt16LE(RING_VERSION_OFFSET);
    if (version !== RING_VERSION) fail(`the ${name} ring's version is ${version}, not ${RING_VERSION}.`);
    const headerSize = r.readUInt16LE(RING_HEADER_SIZE_OFFSET);
    if (headerSize !== RING_HEADER_SIZE) fail(`the ${name} ring's header size is ${headerSize}, not ${RING_HEADER_SIZE}.`);
    const capacity = r.readUInt32LE(RING_CAPACITY_OFFSET);
    if (capacity < RING_MIN_CAPACITY || capacity > RING_MAX_CAPACITY || (capacity & (capacity - 1)) !== 0) {
      fail(`the ${name} ring's capacity is ${capacity}, not a power of two from ${RING_MIN_CAPACITY} to ${RING_MAX_CAPACITY}.`);
    }
    if (RING_HEADER_SIZE + capacity > segment.size) fail(`the ${name} ring's capacity of ${capacity} bytes does not fit its ${segment.size}-byte segment.`);
    const flags = r.readUInt32LE(RING_FLAGS_OFFSET);
    if (flags !== 0) fail(`the ${name} ring's flags are ${hex(flags)}, not 0.`);
    const tail = r.readUInt32LE(RING_TAIL_OFFSET);
    const used = (tail - head) >>> 0;
    if (head % RECORD_ALIGN === 0 && tail % RECORD_ALIGN === 0 && used <= capacity) {
      return {
        capacity,
        head,
        tail,
        used,
        consumerParked: r.readUInt32LE(RING_CONSUMER_PARKED_OFFSET) !== 0,
        producerParked: r.readUInt32LE(RING_PRODUCER_PARKED_OFFSET) !== 0,
        closed: r.readUInt32LE(RING_CLOSED_OFFSET) & 3,
      };
    }
    if (attempt === POSITION_TRIES) {
      fail(`the ${name} ring's positions are inconsistent (head ${head}, tail ${tail}, capacity ${capacity}) in ${POSITION_TRIES} readings.`);
    }
  }
}

function ringSegment(segments: Segment[], index: number, name: string): Segment {
  const s = index < segments.length ? segments[index] : undefined;
  if (s === undefined) fail(`the control block names segment ${index} as the ${name} ring, but the region has ${segments.length} segments.`);
  if (s.kind !== SEGMENT_KIND_RING) fail(`the control block names segment ${index} as the ${name} ring, but it has kind ${s.kind}.`);
  return s;
}

/** One sidecar region (an open, read-only fd of the memfd): its statistics, or undefined when it has no control block. */
function readSidecarRegion(fd: number, targetFd: number): RegionStats | undefined {
  const st = fstatSync(fd);
  const inode = st.ino;
  try {
    const segments = readSegments(fd, st.size);
    const controls = segments.filter((s) => s.kind === SEGMENT_KIND_SIDECAR_CONTROL);
    if (controls.length === 0) return undefined; // a region of the user's own, not a sidecar's
    if (controls.length > 1) fail(`the region has ${controls.length} control block segments, not one.`);
    const control = controls[0]!;
    if (control.size < SIDECAR_CONTROL_SIZE) fail(`the control block segment is ${control.size} bytes, smaller than ${SIDECAR_CONTROL_SIZE}.`);
    const c = pread(fd, SIDECAR_CONTROL_SIZE, control.offset, 'the control block');
    const magic = c.readUInt32LE(CONTROL_MAGIC_OFFSET);
    if (magic !== SIDECAR_MAGIC) fail(`the control block's magic is ${hex(magic)}, not ${hex(SIDECAR_MAGIC)}.`);
    const version = c.readUInt16LE(CONTROL_VERSION_OFFSET);
    if (version !== SIDECAR_VERSION) fail(`the control block's version is ${version}, not ${SIDECAR_VERSION}.`);
    const headerSize = c.readUInt16LE(CONTROL_HEADER_SIZE_OFFSET);
    if (headerSize !== SIDECAR_CONTROL_SIZE) fail(`the control block's header size is ${headerSize}, not ${SIDECAR_CONTROL_SIZE}.`);
    const commandIndex = c.readUInt32LE(CONTROL_COMMAND_SEGMENT_OFFSET);
    const eventIndex = c.readUInt32LE(CONTROL_EVENT_SEGMENT_OFFSET);
    if (commandIndex === eventIndex) fail(`the control block names segment ${commandIndex} as both rings.`);
    const commandSegment = ringSegment(segments, commandIndex, 'command');
    const eventSegment = ringSegment(segments, eventIndex, 'event');
    const u32 = (offset: number): number => c.readUInt32LE(offset);
    const hostPid = u32(CONTROL_HOST_PID_OFFSET);
    const pid = u32(CONTROL_PID_OFFSET);
    const state = u32(CONTROL_STATE_OFFSET);
    const inPlugin = u32(CONTROL_IN_PLUGIN_OFFSET);
    const exitReason = u32(CONTROL_EXIT_REASON_OFFSET);
    return {
      kind: 'sidecar',
      fd: targetFd,
      inode,
      sidecarIndex: u32(CONTROL_SIDECAR_INDEX_OFFSET),
      hostPid,
      pid,
      mode: pid === 0 ? 'unknown' : pid === hostPid ? 'thread' : 'process',
      state: STATE_NAMES[state] ?? `unknown (${state})`,
      inPlugin: CALL_NAMES[inPlugin] ?? `unknown (${inPlugin})`,
      heartbeat: u32(CONTROL_HEARTBEAT_OFFSET),
      exitReason: exitReason <= EXIT_MAX ? exitReason : 0,
      processed: u32(CONTROL_PROCESSED_OFFSET),
      started: u32(CONTROL_STARTED_OFFSET),
      completed: u32(CONTROL_COMPLETED_OFFSET),
      messagesSent: u32(CONTROL_MESSAGES_SENT_OFFSET),
      repliesSent: u32(CONTROL_REPLIES_SENT_OFFSET),
      commandsSent: u32(CONTROL_COMMANDS_SENT_OFFSET),
      messagesReceived: u32(CONTROL_MESSAGES_RECEIVED_OFFSET),
      pendingRequests: u32(CONTROL_PENDING_REQUESTS_OFFSET),
      restarts: u32(CONTROL_RESTARTS_OFFSET),
      commands: readRing(fd, commandSegment, 'command'),
      events: readRing(fd, eventSegment, 'event'),
    };
  } catch (error) {
    if (error instanceof Unreadable) return { kind: 'unreadable', fd: targetFd, inode, reason: error.message };
    // An I/O error on a memfd (the region went away between open and read cannot happen: an open fd keeps it).
    return { kind: 'unreadable', fd: targetFd, inode, reason: `reading it failed: ${(error as Error).message}` };
  }
}

function systemError(error: unknown): NodeJS.ErrnoException {
  return error as NodeJS.ErrnoException;
}

/** The typed error of a /proc access to process `pid` that failed with `error`. */
function processError(pid: number, error: unknown, syscall: string): NativeSidecarError {
  const e = systemError(error);
  if (e.code === 'ENOENT' || e.code === 'ESRCH') {
    return new NativeSidecarError('ERR_SYSTEM', `There is no process ${pid} (it does not exist, or it has ended).`, { errno: 3, syscall });
  }
  if (e.code === 'EACCES' || e.code === 'EPERM') {
    return new NativeSidecarError(
      'ERR_SYSTEM',
      `Permission denied reading the descriptors of process ${pid}: the statistics of another user's process can be read only by that user or by root.`,
      { errno: e.code === 'EACCES' ? 13 : 1, syscall },
    );
  }
  return new NativeSidecarError('ERR_SYSTEM', `Reading /proc/${pid}/fd failed: ${e.message}.`, { errno: typeof e.errno === 'number' ? -e.errno : undefined, syscall, cause: error });
}

/** True when `error` is the "no such process" error of readProcess(). */
export function isNoSuchProcess(error: unknown): boolean {
  return error instanceof NativeSidecarError && error.code === 'ERR_SYSTEM' && error.errno === 3;
}

/** True when `error` is the "permission denied" error of readProcess(). */
export function isPermissionDenied(error: unknown): boolean {
  return error instanceof NativeSidecarError && error.code === 'ERR_SYSTEM' && (error.errno === 13 || error.errno === 1);
}

const MEMFD_LINK = `/memfd:${REGION_MEMFD_NAME}`;

/**
 * The descriptors of process `pid` that are region memfds (§8.4 step 1), in fd order. Throws NativeSidecarError
 * ERR_SYSTEM: errno 3 (ESRCH) when there is no such process, 13 (EACCES) or 1 (EPERM) when this process may not read
 * its descriptors (another user's process, and this one is not root).
 */
export function regionDescriptors(pid: number): number[] {
  let names: string[];
  try {
    names = readdirSync(`/proc/${pid}/fd`);
  } catch (error) {
    throw processError(pid, error, 'readdir');
  }
  const fds: number[] = [];
  for (const name of names) {
    let link: string;
    try {
      link = readlinkSync(`/proc/${pid}/fd/${name}`);
    } catch {
      continue; // closed meanwhile
    }
    // `/memfd:native-sidecar (deleted)`: the name, then nothing or the kernel's " (deleted)".
    if (link === MEMFD_LINK || link.startsWith(`${MEMFD_LINK} `)) fds.push(Number(name));
  }
  return fds.sort((a, b) => a - b);
}

/**
 * Reads every sidecar region process `pid` holds (§8.4 steps 2–4): one entry per distinct memfd that has a control
 * block, a SidecarStats when it passed every check, an UnreadableRegion naming the failed check otherwise. Regions
 * without a control block (a user's own SharedRegion) are left out. Throws what regionDescriptors() throws; a
 * descriptor that cannot be opened any more (closed meanwhile) is skipped, one that may not be opened throws the
 * permission error.
 */
export function readProcess(pid: number): ProcessSample {
  const at = performance.now();
  const regions: RegionStats[] = [];
  const seen = new Set<number>();
  for (const targetFd of regionDescriptors(pid)) {
    let fd: number;
    try {
      fd = openSync(`/proc/${pid}/fd/${targetFd}`, 'r');
    } catch (error) {
      const code = systemError(error).code;
      if (code === 'ENOENT') continue;
      throw processError(pid, error, 'open');
    }
    try {
      const stats = readSidecarRegion(fd, targetFd);
      if (stats !== undefined && !seen.has(stats.inode)) {
        seen.add(stats.inode);
        regions.push(stats);
      }
    } finally {
      closeSync(fd);
    }
  }
  return { pid, at, regions };
}

/** A process that hosts sidecars: its pid, its command name and how many sidecar regions name it as their host. */
export interface SidecarHost {
  pid: number;
  command: string;
  sidecars: number;
}

/**
 * Every process this user may read whose sidecar regions name it as their host (`host_pid`), in pid order: a
 * process-mode sidecar holds its host's region too and is not listed. Processes that end while they are looked at,
 * or that may not be read, are skipped.
 */
export function findHosts(): SidecarHost[] {
  const hosts: SidecarHost[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(name)) continue;
    const pid = Number(name);
    if (pid === process.pid) continue;
    let sample: ProcessSample;
    try {
      if (regionDescriptors(pid).length === 0) continue;
      sample = readProcess(pid);
    } catch {
      continue;
    }
    const own = sample.regions.filter((r) => r.kind === 'unreadable' || r.hostPid === pid).length;
    if (own === 0) continue;
    hosts.push({ pid, command: processCommand(pid), sidecars: own });
  }
  return hosts;
}

/** The command line of `pid` for display (arguments joined by spaces, at most 120 characters), or its comm. */
export function processCommand(pid: number): string {
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter((a) => a.length > 0).join(' ');
    if (cmdline.length > 0) return cmdline.length > 120 ? `${cmdline.slice(0, 117)}...` : cmdline;
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '?';
  }
}
