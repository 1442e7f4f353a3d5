/**
 * The owner's side of a buffer pool (docs/wire-format.md §9, §9.3): the only side that allocates, frees and grows
 * it. The allocator's metadata — free extents per segment, the table of live buffers with their generation and
 * state — lives here, in private memory, never in the shared file; the file holds only the descriptor, the owner
 * words and the append-only segment table. So a peer can neither corrupt the allocator nor make it free a buffer
 * that is in use: a returned handle frees something only if it matches a buffer this owner lent (acceptReturn).
 *
 * Threading: one thread; not thread-safe. Errors: ERR_INVALID_ARG (arguments), ERR_POOL_EXHAUSTED (allocate),
 * ERR_BUFFER_INVALID (lend/free of a handle that names no buffer in that state), all BufferPoolError.
 */
import { BufferPoolError, checkInteger, invalidArg } from '../errors.js';
import { bufferError } from './codes.js';
import type { BufferHandle } from './handle.js';
import * as L from './layout.js';
import { PoolReader } from './reader.js';

/** Options of initBufferPool (the creator's descriptor). */
export interface BufferPoolInit {
  /** Bytes each side maps: a multiple of 4096, 8192 … 2^40, no larger than the memory. */
  reserveBytes: number;
  /** Segments the owner may use, 1 … 16. */
  maxSegments: number;
  /** Buffers live at once, 1 … 2^20. */
  maxBuffers: number;
  /** Size of segment 0: a non-zero multiple of 4096, 4096 + segment0Bytes ≤ reserveBytes. */
  segment0Bytes: number;
  /** Informational. Default 0. */
  creatorPid?: number;
}

/**
 * Writes a fresh pool header at the start of `memory` (the creator's job, before the pool is shared): zeroes bytes
 * 0 … 4095, writes the descriptor, segment 0 = {4096, segment0Bytes} and segment_count = 1. The file behind the
 * memory must already be at least 4096 + segment0Bytes long. Throws ERR_INVALID_ARG naming the bad option.
 */
export function initBufferPool(memory: ArrayBuffer | SharedArrayBuffer, init: BufferPoolInit): void {
  const isBuffer = memory instanceof ArrayBuffer || (typeof SharedArrayBuffer === 'function' && memory instanceof SharedArrayBuffer);
  if (!isBuffer) throw invalidArg('memory', 'an ArrayBuffer or SharedArrayBuffer', memory, BufferPoolError);
  if (init === null || typeof init !== 'object') throw invalidArg('init', 'an object', init, BufferPoolError);
  const reserve = checkInteger('init.reserveBytes', init.reserveBytes, L.BUFFERS_MIN_RESERVE, Math.min(L.BUFFERS_MAX_RESERVE, memory.byteLength), BufferPoolError, ' (no larger than the memory)');
  if (reserve % L.BUFFERS_PAGE !== 0) throw invalidArg('init.reserveBytes', 'a multiple of 4096', reserve, BufferPoolError);
  const maxSegments = checkInteger('init.maxSegments', init.maxSegments, 1, L.BUFFERS_MAX_SEGMENTS, BufferPoolError);
  const maxBuffers = checkInteger('init.maxBuffers', init.maxBuffers, 1, L.BUFFERS_MAX_BUFFERS, BufferPoolError);
  const seg0 = checkInteger('init.segment0Bytes', init.segment0Bytes, L.BUFFERS_PAGE, reserve - L.BUFFERS_HEADER_SIZE, BufferPoolError, ' (segment 0 must fit in the reserve after the 4096-byte header)');
  if (seg0 % L.BUFFERS_PAGE !== 0) throw invalidArg('init.segment0Bytes', 'a multiple of 4096', seg0, BufferPoolError);
  const pid = checkInteger('init.creatorPid', init.creatorPid ?? 0, 0, 0xffffffff, BufferPoolError);
  new Uint8Array(memory, 0, L.BUFFERS_HEADER_SIZE).fill(0);
  const v = new DataView(memory, 0, L.BUFFERS_HEADER_SIZE);
  v.setUint32(L.BUFFERS_MAGIC_OFFSET, L.BUFFERS_MAGIC, true);
  v.setUint16(L.BUFFERS_VERSION_OFFSET, L.BUFFERS_VERSION, true);
  v.setUint16(L.BUFFERS_HEADER_SIZE_OFFSET, L.BUFFERS_HEADER_SIZE, true);
  v.setUint32(L.BUFFERS_MAX_SEGMENTS_OFFSET, maxSegments, true);
  v.setBigUint64(L.BUFFERS_RESERVE_BYTES_OFFSET, BigInt(reserve), true);
  v.setUint32(L.BUFFERS_MAX_BUFFERS_OFFSET, maxBuffers, true);
  v.setUint32(L.BUFFERS_CREATOR_PID_OFFSET, pid, true);
  v.setBigUint64(L.BUFFERS_SEGMENT_TABLE_OFFSET, BigInt(L.BUFFERS_HEADER_SIZE), true);
  v.setBigUint64(L.BUFFERS_SEGMENT_TABLE_OFFSET + 8, BigInt(seg0), true);
  // Before the pool is shared: the handover orders it (§9, like §1's header); a store like any other.
  Atomics.store(new Uint32Array(memory, 0, L.BUFFERS_HEADER_SIZE / 4), L.BUFFERS_SEGMENT_COUNT_OFFSET / 4, 1);
}

/** Options of PoolOwner.attach. */
export interface PoolOwnerOptions {
  /** Bytes of each new segment when the pool grows (at least the buffer that needs it); a multiple of 4096. */
  growthBytes: number;
  /**
   * Extends the pool's file to `newFileSize` bytes (ftruncate) before a new segment is published; returns false if
   * it could not (the allocation then fails with ESYSTEM). Default: succeeds while newFileSize ≤ the memory's size
   * (a pool whose memory is the whole file).
   */
  extend?: (newFileSize: number) => boolean;
  /** The file's size now; see PoolReaderOptions.fileSize. Default: the memory's byteLength. */
  fileSize?: () => number;
}

/** Counters of an owner (the same numbers it stores in the pool's owner words, §9). */
export interface PoolOwnerStats {
  segmentCount: number;
  allocations: number;
  failures: number;
  liveBuffers: number;
  lentBuffers: number;
  invalidReturns: number;
  liveBytes: number;
  /** Bytes of the segments (the pool's committed size, without the header). */
  committedBytes: number;
}

const OWNED = 0;
const LENT = 1;

interface Live {
  segment: number;
  offset: number;
  length: number;
  rounded: number;
  generation: number;
  state: number;
}

/** Free extents of one segment, sorted by offset, never adjacent (coalesced). Linear scans: fine for thousands. */
class Extents {
  readonly offsets: number[] = [];
  readonly sizes: number[] = [];

  /** Index of the first extent of at least `size` bytes, or -1. */
  firstFit(size: number): number {
    for (let i = 0; i < this.sizes.length; i++) if (this.sizes[i]! >= size) return i;
    return -1;
  }

  take(i: number, size: number): number {
    const at = this.offsets[i]!;
    if (this.sizes[i] === size) {
      this.offsets.splice(i, 1);
      this.sizes.splice(i, 1);
    } else {
      this.offsets[i] = at + size;
      this.sizes[i] = this.sizes[i]! - size;
    }
    return at;
  }

  give(offset: number, size: number): void {
    let lo = 0, hi = this.offsets.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.offsets[mid]! < offset) lo = mid + 1; else hi = mid;
    }
    const joinsPrev = lo > 0 && this.offsets[lo - 1]! + this.sizes[lo - 1]! === offset;
    const joinsNext = lo < this.offsets.length && offset + size === this.offsets[lo]!;
    if (joinsPrev && joinsNext) {
      this.sizes[lo - 1] = this.sizes[lo - 1]! + size + this.sizes[lo]!;
      this.offsets.splice(lo, 1);
      this.sizes.splice(lo, 1);
    } else if (joinsPrev) {
      this.sizes[lo - 1] = this.sizes[lo - 1]! + size;
    } else if (joinsNext) {
      this.offsets[lo] = offset;
      this.sizes[lo] = this.sizes[lo]! + size;
    } else {
      this.offsets.splice(lo, 0, offset);
      this.sizes.splice(lo, 0, size);
    }
  }
}

export class PoolOwner {
  readonly #memory: ArrayBuffer | SharedArrayBuffer;
  readonly #words: Uint32Array;
  readonly #view: DataView;
  readonly #reader: PoolReader;
  readonly #growth: number;
  readonly #extend: (size: number) => boolean;
  readonly #free: Extents[] = [];
  readonly #segOffset: number[] = [];
  readonly #segSize: number[] = [];
  readonly #live = new Map<number, Live>();
  #nextGeneration = 1;
  #allocations = 0;
  #failures = 0;
  #invalidReturns = 0;
  #liveBytes = 0;
  #lent = 0;

  private constructor(memory: ArrayBuffer | SharedArrayBuffer, reader: PoolReader, growth: number, extend: (size: number) => boolean) {
    this.#memory = memory;
    this.#words = new Uint32Array(memory, 0, L.BUFFERS_HEADER_SIZE / 4);
    this.#view = new DataView(memory, 0, L.BUFFERS_HEADER_SIZE);
    this.#reader = reader;
    this.#growth = growth;
    this.#extend = extend;
    for (let i = 0; i < reader.segmentCount; i++) this.#addSegment(reader.segment(i)!.offset, reader.segment(i)!.size);
  }

  /**
   * Becomes the owner of the freshly initialised pool at the start of `memory` (initBufferPool): validates it as a
   * reader would, then treats every segment as empty. Throws ERR_BUFFER_INVALID for a pool that fails validation,
   * ERR_INVALID_ARG for bad options.
   */
  static attach(memory: ArrayBuffer | SharedArrayBuffer, options: PoolOwnerOptions): PoolOwner {
    if (options === null || typeof options !== 'object') throw invalidArg('options', 'an object', options, BufferPoolError);
    const growth = checkInteger('options.growthBytes', options.growthBytes, L.BUFFERS_PAGE, L.BUFFERS_MAX_RESERVE, BufferPoolError);
    if (growth % L.BUFFERS_PAGE !== 0) throw invalidArg('options.growthBytes', 'a multiple of 4096', growth, BufferPoolError);
    if (options.extend !== undefined && typeof options.extend !== 'function') {
      throw invalidArg('options.extend', 'a function', options.extend, BufferPoolError);
    }
    const extend = options.extend ?? ((size: number) => size <= memory.byteLength);
    const reader = PoolReader.attach(memory, options.fileSize !== undefined ? { fileSize: options.fileSize } : {});
    return new PoolOwner(memory, reader, growth, extend);
  }

  /** The descriptor's limits. */
  get limits(): PoolReader['limits'] {
    return this.#reader.limits;
  }

  /**
   * Allocates a buffer of `length` bytes (1 … 2^32 − 1) in the lowest segment with room, growing the pool by a
   * segment when nothing fits (§9.3). Returns its handle (state: held by the owner) or throws ERR_POOL_EXHAUSTED
   * with the pool's figures; ERR_INVALID_ARG for a bad length.
   */
  allocate(length: number): BufferHandle {
    const result = this.tryAllocate(length);
    if (typeof result === 'number') {
      if (result === L.BUFFERS_ESYSTEM) throw bufferError(result, 'the extend callback refused to grow the file');
      const s = this.stats();
      throw bufferError(result, `a buffer of ${length} bytes was asked for; ${s.liveBuffers} of ${this.limits.maxBuffers} buffers and ${s.liveBytes} of ${s.committedBytes} committed bytes are live, reserve ${this.limits.reserveBytes} bytes in at most ${this.limits.maxSegments} segments`);
    }
    return result;
  }

  /** allocate() that returns the negative §9 code (ENOSPACE, ETOOMANY, ESYSTEM) instead of throwing when it fails. */
  tryAllocate(length: number): BufferHandle | number {
    checkInteger('length', length, 1, 0xffffffff, BufferPoolError);
    if (this.#live.size >= this.limits.maxBuffers) return this.#fail(L.BUFFERS_ETOOMANY);
    const rounded = Math.ceil(length / L.BUFFERS_GRAIN) * L.BUFFERS_GRAIN;
    let segment = -1, index = -1;
    for (let s = 0; s < this.#free.length; s++) {
      index = this.#free[s]!.firstFit(rounded);
      if (index >= 0) {
        segment = s;
        break;
      }
    }
    if (segment < 0) {
      const grown = this.#grow(rounded);
      if (grown < 0) return grown === L.BUFFERS_ESYSTEM ? grown : this.#fail(grown);
      segment = grown;
      index = this.#free[segment]!.firstFit(rounded);
    }
    const offset = this.#free[segment]!.take(index, rounded);
    const generation = this.#nextGeneration;
    this.#nextGeneration = this.#nextGeneration === 0xffffffff ? 1 : this.#nextGeneration + 1;
    this.#live.set(key(segment, offset), { segment, offset, length, rounded, generation, state: OWNED });
    this.#allocations = (this.#allocations + 1) >>> 0;
    this.#liveBytes += rounded;
    this.#publishStats();
    return { segment, generation, offset, length, reserved: 0 };
  }

  /**
   * A Uint8Array over a buffer this owner holds (for writing it before it is lent). A lent buffer is the peer's
   * until it comes back (§9.2), so asking for one throws ERR_BUFFER_INVALID.
   */
  bytes(handle: BufferHandle): Uint8Array {
    const live = this.#match(handle);
    if (live === undefined || live.state !== OWNED) throw bufferError(L.BUFFERS_ENOTLIVE, 'handle');
    return new Uint8Array(this.#memory, this.#segOffset[live.segment]! + live.offset, live.length);
  }

  /** Marks a buffer the owner holds as lent to the peer (call it before the handle is published). */
  lend(handle: BufferHandle): void {
    const live = this.#match(handle);
    if (live === undefined || live.state !== OWNED) throw bufferError(L.BUFFERS_ENOTLIVE, 'handle given to lend()');
    live.state = LENT;
    this.#lent++;
  }

  /** Frees a buffer the owner holds and never lent (or that came back). Throws ERR_BUFFER_INVALID otherwise. */
  free(handle: BufferHandle): void {
    const live = this.#match(handle);
    if (live === undefined || live.state !== OWNED) throw bufferError(L.BUFFERS_ENOTLIVE, 'handle given to free()');
    this.#release(live);
  }

  /**
   * Takes back a buffer the peer returned (a RETURN record, §9.2). Frees it and returns true if the handle names a
   * buffer this owner lent, with equal segment, offset, length and generation; otherwise counts an invalid return
   * and returns false without changing anything (a forged, stale or repeated return frees nothing).
   */
  acceptReturn(handle: BufferHandle): boolean {
    const live = this.#match(handle);
    if (live === undefined || live.state !== LENT) {
      this.#invalidReturns = (this.#invalidReturns + 1) >>> 0;
      this.#publishStats();
      return false;
    }
    this.#lent--;
    this.#release(live);
    return true;
  }

  /** Frees every buffer lent and not returned (the receiver died, §9.2); returns how many. */
  reclaimLent(): number {
    let n = 0;
    for (const live of [...this.#live.values()]) {
      if (live.state !== LENT) continue;
      this.#release(live);
      n++;
    }
    this.#lent = 0;
    return n;
  }

  /** The owner's counters. */
  stats(): PoolOwnerStats {
    let committed = 0;
    for (const s of this.#segSize) committed += s;
    return {
      segmentCount: this.#segSize.length,
      allocations: this.#allocations,
      failures: this.#failures,
      liveBuffers: this.#live.size,
      lentBuffers: this.#lent,
      invalidReturns: this.#invalidReturns,
      liveBytes: this.#liveBytes,
      committedBytes: committed,
    };
  }

  /** Sets the next generation (tests of the wrap). */
  setNextGenerationForTesting(generation: number): void {
    this.#nextGeneration = checkInteger('generation', generation, 1, 0xffffffff, BufferPoolError);
  }

  #match(handle: BufferHandle): Live | undefined {
    if (handle === null || typeof handle !== 'object') throw invalidArg('handle', 'a buffer handle object', handle, BufferPoolError);
    const live = this.#live.get(key(handle.segment, handle.offset));
    if (live === undefined || live.generation !== handle.generation || live.length !== handle.length || (handle.reserved ?? 0) !== 0) return undefined;
    return live;
  }

  #release(live: Live): void {
    this.#live.delete(key(live.segment, live.offset));
    this.#free[live.segment]!.give(live.offset, live.rounded);
    this.#liveBytes -= live.rounded;
    this.#publishStats();
  }

  #fail(code: number): number {
    this.#failures = (this.#failures + 1) >>> 0;
    this.#publishStats();
    return code;
  }

  /** Adds one segment big enough for `rounded` bytes (§9.3); returns its index or a negative code. */
  #grow(rounded: number): number {
    const count = this.#segSize.length;
    if (count >= this.limits.maxSegments) return L.BUFFERS_ENOSPACE;
    const end = this.#segOffset[count - 1]! + this.#segSize[count - 1]!;
    const pages = Math.ceil(rounded / L.BUFFERS_PAGE) * L.BUFFERS_PAGE;
    const cap = this.limits.reserveBytes - end;
    if (cap < pages) return L.BUFFERS_ENOSPACE;
    const size = Math.min(Math.max(this.#growth, pages), cap);
    // (1) extend the file, (2) write the entry, (3) publish the count.
    if (!this.#extend(end + size)) return L.BUFFERS_ESYSTEM;
    const at = L.BUFFERS_SEGMENT_TABLE_OFFSET + count * L.BUFFERS_SEGMENT_ENTRY_SIZE;
    this.#view.setBigUint64(at, BigInt(end), true);
    this.#view.setBigUint64(at + 8, BigInt(size), true);
    // Atomics.store is sequentially consistent, so at least release: pairs with a reader's acquire load of
    // segment_count in its refresh (§9 "Growing" step 3): a reader that sees count + 1 sees the entry above.
    Atomics.store(this.#words, L.BUFFERS_SEGMENT_COUNT_OFFSET / 4, count + 1);
    this.#addSegment(end, size);
    return count;
  }

  #addSegment(offset: number, size: number): void {
    const extents = new Extents();
    extents.give(0, size);
    this.#free.push(extents);
    this.#segOffset.push(offset);
    this.#segSize.push(size);
  }

  /** The owner words of §9 (display-only: plain stores, they pair with nothing). */
  #publishStats(): void {
    const w = this.#words;
    w[L.BUFFERS_ALLOCATIONS_OFFSET / 4] = this.#allocations;
    w[L.BUFFERS_FAILURES_OFFSET / 4] = this.#failures;
    w[L.BUFFERS_LIVE_BUFFERS_OFFSET / 4] = this.#live.size;
    w[L.BUFFERS_INVALID_RETURNS_OFFSET / 4] = this.#invalidReturns;
    this.#view.setBigUint64(L.BUFFERS_LIVE_BYTES_OFFSET, BigInt(this.#liveBytes), true);
  }
}

function key(segment: number, offset: number): number {
  return segment * 2 ** 41 + offset; // offset < 2^40, segment < 16: exact below 2^53
}
