/**
 * SharedRegion: one shared memory mapping (an anonymous memfd or a named POSIX shm object) that starts with the
 * region header of docs/wire-format.md §1, exposed as an ArrayBuffer.
 *
 * Contract
 * - Threads: a SharedRegion object belongs to the JavaScript thread that made it (main thread or a worker). Another
 *   worker maps the same memory with its own SharedRegion: `SharedRegion.fromFd(fd)` (file descriptors are
 *   process-wide, so the number can travel in workerData or postMessage) or
 *   `SharedRegion.open(name, { trustPeer: true })`.
 * - Processes: a child process gets the fd at spawn, e.g. `spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe',
 *   region.fd] })` gives it as fd 3, and maps it with `SharedRegion.fromFd(3)` (or, in C, ns_region_map_fd() of
 *   native_sidecar/region.h). A named region can be opened by name by any process of the same user (mode 0600), which
 *   is why opening one needs `{ trustPeer: true }` (see "What may be mapped").
 * - Memory: `buffer` is valid until close(). close() first tells every Ring over `buffer` (made by createRing()/ring()
 *   or by Ring.create/Ring.attach on `buffer`) that the memory goes away — their pending waits reject with
 *   ERR_REGION_CLOSED, their parked native waiters are cancelled, later calls throw ERR_REGION_CLOSED — then detaches
 *   it (every view then has length 0, so a stale view reads nothing instead of crashing), unmaps the memory and closes
 *   the fd. Without close(), the memory is unmapped once the SharedRegion and its buffer are garbage collected, or
 *   when the thread exits.
 * - Sharing: the creator adds its segments (addSegment, createRing) **before** it shares the region; the header is
 *   never written after that (§1).
 * - Names: whoever creates a named region unlinks it (unlink()) once every peer has opened it, or at the latest
 *   when done; until then it survives the process (in /dev/shm). An anonymous region needs no unlinking: it vanishes
 *   with its last mapping and fd.
 * - Trust: a region opened by name or fd is validated before use; its segment table is a snapshot taken at that
 *   moment, so a peer rewriting the header later cannot move segments under us.
 * - What may be mapped (docs/wire-format.md §1): by default only a memfd sealed against shrinking (F_SEAL_SHRINK,
 *   checked with F_GET_SEALS before mapping), opened read-write. A file that can shrink under the mapping would turn
 *   our next access into SIGBUS, which kills the whole process; no exception can be caught for it. Anonymous regions
 *   made by create() are sealed against shrinking and growing. A named region cannot be sealed, so open() and
 *   fromFd() of an unsealed file need `{ trustPeer: true }`: the caller then vouches that no process able to resize
 *   the file will shrink it, and keeps the SIGBUS risk if one does.
 */
import { closeSync } from 'node:fs';
import { RegionError, RingError, checkInteger, fromNative, invalidArg } from '../errors.js';
import { loadAddon, type NativeRegionHandle } from '../native/addon.js';
import { Ring, type RingAttachOptions, type RingCreateOptions } from '../ring/ring.js';
import { closeBuffer, trackBuffer } from '../ring/lifetime.js';
import {
  RegionServer,
  checkConnectOptions,
  checkServeOptions,
  receiveRegionFd,
  type RegionConnectOptions,
  type RegionServeOptions,
} from './handover.js';
import { RING_HEADER_SIZE } from '../ring/layout.js';
import {
  REGION_MAX_SEGMENTS,
  REGION_MAX_SIZE,
  REGION_MIN_SIZE,
  REGION_HEADER_SIZE,
  REGION_SEGMENTS_OFFSET,
  REGION_SEGMENT_COUNT_OFFSET,
  SEGMENT_ALIGN,
  SEGMENT_KIND_RING,
  SEGMENT_KIND_SIDECAR_CONTROL,
  SEGMENT_KIND_USER_MIN,
  SEGMENT_ENTRY_SIZE,
  SEGMENT_KIND_OFFSET,
  SEGMENT_OFFSET_OFFSET,
  SEGMENT_SIZE_OFFSET,
} from './layout.js';

/** One entry of the segment table. */
export interface SegmentInfo {
  /** Position in the table (what `ring(index)` and the native peers take). */
  readonly index: number;
  /** 1 = ring, 2 = sidecar control block, ≥ 0x10000 = user-defined. */
  readonly kind: number;
  /** Byte offset in the region: a multiple of 128, ≥ 256. */
  readonly offset: number;
  readonly size: number;
}

export interface SharedRegionCreateOptions {
  /** Total bytes, header included: an integer from 4096 to 2^31. */
  size: number;
  /**
   * Omit for an anonymous region (memfd). A string creates a named POSIX shm object (must start with '/', contain no
   * other '/', at most 255 characters; fails if it exists). `true` picks an unguessable random name.
   */
  name?: string | true;
}

/** Options of SharedRegion.open() and SharedRegion.fromFd(). */
export interface SharedRegionOpenOptions {
  /**
   * `true` maps a file that is not sealed against shrinking (a named shm object, an unsealed memfd): the caller
   * trusts every process that can resize it never to shrink it. If one does, this process dies of SIGBUS on its
   * next access to the lost pages. Default false: such a file is refused with ERR_REGION_INVALID.
   */
  trustPeer?: boolean;
}

export class SharedRegion {
  #native: NativeRegionHandle;
  #segments: SegmentInfo[];
  readonly #creator: boolean;
  readonly #size: number;
  readonly #name: string | undefined;

  private constructor(native: NativeRegionHandle, creator: boolean) {
    this.#native = native;
    this.#creator = creator;
    this.#size = native.size;
    this.#name = native.name;
    this.#segments = native.segments.map((s, index) => Object.freeze({ index, kind: s.kind, offset: s.offset, size: s.size }));
    // Before anyone can build a Ring over the buffer: such Rings register with it, and close() tells them.
    const buffer = native.buffer;
    if (buffer !== undefined) trackBuffer(buffer);
  }

  /**
   * Creates and maps a new region and writes its header (no segments yet). JavaScript thread; the calling thread owns
   * the result. Throws ERR_INVALID_ARG for a bad size or name, ERR_SYSTEM when the system refuses (for example
   * EEXIST for a name in use).
   */
  static create(options: SharedRegionCreateOptions): SharedRegion {
    if (typeof options !== 'object' || options === null) throw invalidArg('options', 'an object with a size', options);
    const size = checkInteger('options.size', options.size, REGION_MIN_SIZE, REGION_MAX_SIZE);
    const { name } = options;
    if (name !== undefined && name !== true && typeof name !== 'string') {
      throw invalidArg('options.name', 'a string, true, or undefined', name);
    }
    return wrapNative(() => {
      const addon = loadAddon();
      if (name === undefined) return new SharedRegion(new addon.NativeRegion('create', size), true);
      const chosen = name === true ? addon.NativeRegion.randomName() : name;
      return new SharedRegion(new addon.NativeRegion('create-named', size, chosen), true);
    });
  }

  /**
   * Opens and maps the named region `name` and validates its header. JavaScript thread; the calling thread owns the
   * result. A named region can never be sealed, so this needs `{ trustPeer: true }` (see SharedRegionOpenOptions):
   * without it, throws ERR_REGION_INVALID before opening anything. Throws ERR_INVALID_ARG for a bad name or options,
   * ERR_REGION_INVALID when it is not a valid region or was opened read-only (nothing stays mapped), ERR_SYSTEM
   * (ENOENT, EACCES …) when it cannot be opened.
   */
  static open(name: string, options: SharedRegionOpenOptions = {}): SharedRegion {
    if (typeof name !== 'string') throw invalidArg('name', 'a string', name);
    const trustPeer = checkTrustPeer(options);
    return wrapNative(() => new SharedRegion(new (loadAddon().NativeRegion)('open-named', name, trustPeer), false));
  }

  /**
   * Maps the region behind file descriptor `fd` and validates its header. JavaScript thread; the calling thread owns
   * the result. The region works on its own duplicate of `fd`: the caller still owns `fd` and may close it at any
   * time; close() closes only the duplicate.
   *
   * `fd` must be a memfd sealed against shrinking (F_SEAL_SHRINK), opened read-write — or, with
   * `{ trustPeer: true }`, any read-write regular file whose resizers the caller trusts (SharedRegionOpenOptions).
   * Throws ERR_INVALID_ARG for a bad fd number or options; ERR_SYSTEM (EBADF) for a closed fd; ERR_REGION_INVALID,
   * with a sentence saying why, when the file is not a regular file, was opened read-only, does not support seals
   * (not a memfd), is not sealed against shrinking, has a size outside 4096 to 2^31, or has no valid header. Nothing
   * stays mapped or open on failure.
   */
  static fromFd(fd: number, options: SharedRegionOpenOptions = {}): SharedRegion {
    checkInteger('fd', fd, 0, 0x7fffffff);
    const trustPeer = checkTrustPeer(options);
    return wrapNative(() => new SharedRegion(new (loadAddon().NativeRegion)('open-fd', fd, trustPeer), false));
  }

  /**
   * Receives a region from the handover server listening on the Unix socket `path` (SharedRegion#serve() or a C
   * program using region.h; docs/wire-format.md §1.2) and maps it. Never blocks the event loop (the socket calls run
   * on a libuv pool thread, bounded by `options.timeoutMs`). The calling thread owns the result.
   *
   * Checks, in order: the server's uid (SO_PEERCRED) is allowed (`options.allowUids`, default our own effective uid) —
   * otherwise rejects with ERR_PEER_REFUSED before reading anything; exactly one descriptor arrives — ERR_PEER_REFUSED
   * when the server closes without one (it refused our uid) or its message carries none or more than one (all of them
   * are closed), ERR_TIMEOUT when the server does not accept the connection (a full backlog) or send the region
   * within `options.timeoutMs` (one limit for both); then fromFd(): the fd must be
   * a memfd sealed against shrinking (ERR_REGION_INVALID otherwise, unless `options.trustPeer`). Rejects with
   * ERR_SYSTEM (ENOENT, ECONNREFUSED …) when it cannot connect, ERR_INVALID_ARG for bad arguments. The received fd
   * is close-on-exec and is closed before the promise settles; the region works on its own duplicate.
   */
  static async connect(path: string, options: RegionConnectOptions = {}): Promise<SharedRegion> {
    if (typeof path !== 'string') throw invalidArg('path', 'a string', path);
    const { allowUids, timeoutMs, trustPeer } = checkConnectOptions(options);
    const fd = await receiveRegionFd(path, allowUids, timeoutMs);
    try {
      return SharedRegion.fromFd(fd, { trustPeer });
    } finally {
      closeSync(fd);
    }
  }

  /** Removes the name `name` from the system (existing mappings stay valid). ERR_SYSTEM ENOENT when absent. */
  static unlink(name: string): void {
    if (typeof name !== 'string') throw invalidArg('name', 'a string', name);
    wrapNative(() => loadAddon().NativeRegion.unlink(name));
  }

  /** The whole region, header included. Valid until close(). */
  get buffer(): ArrayBuffer {
    const buffer = this.#native.buffer;
    if (buffer === undefined) throw closedError();
    return buffer;
  }

  /** Total bytes of the mapping. Readable after close. */
  get size(): number {
    return this.#size;
  }

  /** The region's own file descriptor (close-on-exec; pass it to a child through spawn's stdio). */
  get fd(): number {
    this.#checkOpen();
    return this.#native.fd;
  }

  /** The shm name, or undefined for an anonymous region. Readable after close (to unlink it). */
  get name(): string | undefined {
    return this.#name;
  }

  get closed(): boolean {
    return this.#native.closed;
  }

  /** The segment table: validated when opened, or as built by addSegment() in the creator. */
  get segments(): readonly SegmentInfo[] {
    this.#checkOpen();
    return this.#segments.slice();
  }

  /**
   * Creator only, before sharing: reserves `size` bytes for a segment of `kind` at the next multiple of 128 after the
   * last segment and appends its table entry. The segment's bytes are zero until its owner initialises them.
   * Throws ERR_INVALID_ARG for a bad kind or a size that does not fit, ERR_INVALID_STATE when this region was
   * opened rather than created or the table is full.
   */
  addSegment(kind: number, size: number): SegmentInfo {
    this.#checkOpen();
    checkInteger('kind', kind, 1, 0xffffffff);
    // wire-format §1 "Reserved values": kinds 3 … 0xFFFF are reserved, as ns_region_kind_ok() says.
    if (kind > SEGMENT_KIND_SIDECAR_CONTROL && kind < SEGMENT_KIND_USER_MIN) {
      throw invalidArg('kind', `${SEGMENT_KIND_RING} (ring), ${SEGMENT_KIND_SIDECAR_CONTROL} (sidecar control) or at least 0x${SEGMENT_KIND_USER_MIN.toString(16)} (user-defined); 3 … 0xffff are reserved`, kind);
    }
    checkInteger('size', size, 1, REGION_MAX_SIZE);
    if (!this.#creator) {
      throw new RegionError('ERR_INVALID_STATE', 'Only the creator of a region may add segments (before sharing it); this region was opened.');
    }
    if (this.#segments.length >= REGION_MAX_SEGMENTS) {
      throw new RegionError('ERR_INVALID_STATE', `The region's segment table is full (${REGION_MAX_SEGMENTS} entries).`);
    }
    const last = this.#segments[this.#segments.length - 1];
    const end = last === undefined ? REGION_HEADER_SIZE : last.offset + last.size;
    const offset = Math.ceil(end / SEGMENT_ALIGN) * SEGMENT_ALIGN;
    if (offset + size > this.#size) {
      throw invalidArg('size', `at most ${Math.max(0, this.#size - offset)} (the bytes left in the region)`, size);
    }
    const index = this.#segments.length;
    const view = new DataView(this.buffer);
    const entry = REGION_SEGMENTS_OFFSET + index * SEGMENT_ENTRY_SIZE;
    view.setUint32(entry + SEGMENT_KIND_OFFSET, kind, true);
    view.setUint32(entry + SEGMENT_OFFSET_OFFSET, offset, true);
    view.setUint32(entry + SEGMENT_SIZE_OFFSET, size, true);
    view.setUint32(REGION_SEGMENT_COUNT_OFFSET, index + 1, true);
    const info = Object.freeze({ index, kind, offset, size });
    this.#segments.push(info);
    return info;
  }

  /**
   * Creator only, before sharing: adds a ring segment of `capacity` data bytes (addSegment) and initialises a ring in
   * it (Ring.create). The ring's segment index — what peers attach by — is `segments.length - 1` afterwards. Options
   * are those of Ring.create except byteOffset. The Ring uses this region's memory: after close() its calls throw
   * RingError ERR_REGION_CLOSED (see close()).
   */
  createRing(capacity: number, options: Omit<RingCreateOptions, 'capacity' | 'byteOffset'> = {}): Ring {
    this.#checkOpen();
    const segment = this.addSegment(SEGMENT_KIND_RING, Ring.segmentSize(capacity));
    return Ring.create(this.buffer, { ...options, capacity, byteOffset: segment.offset });
  }

  /**
   * Attaches to the ring in segment `index` (Ring.attach), for a process or thread that received this region.
   * Throws ERR_INVALID_ARG when the segment does not exist or is not a ring, ERR_RING_CORRUPT when its descriptor is
   * invalid or describes a ring larger than the segment. The Ring uses this region's memory: after close() its calls
   * throw RingError ERR_REGION_CLOSED (see close()).
   */
  ring(index: number, options: Omit<RingAttachOptions, 'byteOffset'> = {}): Ring {
    this.#checkOpen();
    checkInteger('index', index, 0, Math.max(0, this.#segments.length - 1));
    const segment = this.#segments[index];
    if (segment === undefined) throw invalidArg('index', 'the index of a segment (the region has none)', index);
    if (segment.kind !== SEGMENT_KIND_RING) {
      throw new RegionError('ERR_INVALID_ARG', `The argument 'index' must be the index of a ring segment; segment ${index} has kind ${segment.kind}.`);
    }
    // A segment too small for a ring header is corrupt like one too small for its data area (wire-format §7): check
    // it before reading a descriptor that would lie partly in the next segment or past the region.
    if (segment.size < RING_HEADER_SIZE) {
      throw new RingError('ERR_RING_CORRUPT', `The ring in segment ${index} has ${segment.size} bytes, fewer than a ${RING_HEADER_SIZE}-byte ring header.`);
    }
    const ring = Ring.attach(this.buffer, { ...options, byteOffset: segment.offset });
    // The Ring keeps its own copy of the capacity it validated; check that copy against the segment (validated at
    // open), so a descriptor claiming more than its segment cannot reach into the next one.
    if (RING_HEADER_SIZE + ring.capacity > segment.size) {
      throw new RingError(
        'ERR_RING_CORRUPT',
        `The ring in segment ${index} claims ${ring.capacity} data bytes, more than its ${segment.size}-byte segment holds.`,
      );
    }
    return ring;
  }

  /**
   * Detaches `buffer`, unmaps the memory and closes the fd. Idempotent. JavaScript thread that owns the region.
   *
   * First, while the memory is still mapped, every Ring over `buffer` in this thread — made by createRing()/ring() or
   * by Ring.create/Ring.attach on `buffer` — is told: its parked waits are aborted (a NativeParker's native waiter is
   * cancelled, and keeps the mapping pinned until it has left the kernel, so the unmap happens only after it let go of
   * the memory), its pending readable()/write() calls reject with RingError ERR_REGION_CLOSED, and every later call of
   * it throws (or rejects with) ERR_REGION_CLOSED. It does not set the rings' closed bits: close the ring sides first
   * if the peer must see the end of the stream.
   *
   * Afterwards buffer, fd, segments, addSegment, createRing and ring throw RegionError ERR_REGION_CLOSED. Views made
   * earlier read as empty (length 0). Does not unlink a name.
   */
  close(): void {
    if (this.#native.closed) return;
    const buffer = this.#native.buffer;
    if (buffer !== undefined) closeBuffer(buffer);
    this.#native.close();
  }

  /**
   * Hands this region to other processes: listens on the Unix socket `path` and sends a duplicate of the region's fd
   * (SCM_RIGHTS) to every client whose uid (SO_PEERCRED) is allowed — `options.allowUids`, default our own effective
   * uid; other clients are disconnected without a descriptor. docs/wire-format.md §1.2. JavaScript thread; the
   * server runs on its own native thread and reports each client through `options.onPeer` on this thread.
   *
   * An existing socket file at `path` that nobody listens on any more (left by a killed server) is replaced; one
   * somebody listens on fails with ERR_SYSTEM EADDRINUSE. Throws ERR_INVALID_STATE for a named region (it cannot be
   * sealed; hand over an anonymous one), ERR_REGION_CLOSED after close(), ERR_INVALID_ARG for bad arguments,
   * ERR_SYSTEM when the socket cannot be made. The server keeps its own duplicate of the fd: close() it when done.
   */
  serve(path: string, options: RegionServeOptions = {}): RegionServer {
    this.#checkOpen();
    if (typeof path !== 'string') throw invalidArg('path', 'a string', path);
    checkServeOptions(options);
    if (this.#name !== undefined) {
      throw new RegionError(
        'ERR_INVALID_STATE',
        `The region '${this.#name}' is named and cannot be sealed against shrinking, so clients would refuse it; serve an anonymous region instead.`,
      );
    }
    return new RegionServer(path, this.#native.fd, options);
  }

  /** Removes this region's name (creator's duty; see the contract above). ERR_INVALID_STATE for an anonymous region. */
  unlink(): void {
    if (this.#name === undefined) {
      throw new RegionError('ERR_INVALID_STATE', 'An anonymous region has no name to unlink; closing it is enough.');
    }
    SharedRegion.unlink(this.#name);
  }

  [Symbol.dispose](): void {
    this.close();
  }

  #checkOpen(): void {
    if (this.#native.closed) throw closedError();
  }
}

function checkTrustPeer(options: SharedRegionOpenOptions): boolean {
  if (typeof options !== 'object' || options === null) throw invalidArg('options', 'an object', options);
  const { trustPeer } = options;
  if (trustPeer !== undefined && typeof trustPeer !== 'boolean') {
    throw invalidArg('options.trustPeer', 'a boolean or undefined', trustPeer);
  }
  return trustPeer === true;
}

function closedError(): RegionError {
  return new RegionError('ERR_REGION_CLOSED', 'The region was closed; its memory is unmapped.');
}

function wrapNative<T>(fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    throw fromNative(RegionError, error);
  }
}
