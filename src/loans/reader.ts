/**
 * The receiver's side of a buffer pool (docs/wire-format.md §9): validates the pool's descriptor once, keeps a
 * private snapshot of the segment table, and checks every handle before it yields a byte (§9.1). The pool's file
 * is written by a peer that may write anything; nothing here reads a shared value twice or trusts one it did not
 * check, so no handle can reach outside the pool.
 *
 * Threading: one thread (the one that receives handles); not thread-safe. The memory is the receiver's mapping of
 * the pool, `reserve_bytes` long (a plain or shared ArrayBuffer works the same; Sidecar hosts use an external one).
 */
import { BufferPoolError, invalidArg } from '../errors.js';
import { bufferError } from './codes.js';
import type { BufferHandle } from './handle.js';
import * as L from './layout.js';

/** Options of PoolReader.attach. */
export interface PoolReaderOptions {
  /**
   * The size of the pool's file now (the receiver's own `fstat`). Default: the memory's byteLength — right for a pool
   * whose memory is the whole file (tests, a pool in a plain ArrayBuffer). A reader of a real file must pass it:
   * a segment past the end of the file is refused (ESEGMENT) rather than touched (SIGBUS).
   */
  fileSize?: () => number;
}

/** The descriptor words a reader validated (creator-written, read once). */
export interface PoolLimits {
  readonly maxSegments: number;
  readonly reserveBytes: number;
  readonly maxBuffers: number;
}

export class PoolReader {
  readonly #memory: ArrayBuffer | SharedArrayBuffer;
  readonly #words: Uint32Array;
  readonly #view: DataView;
  readonly #fileSize: () => number;
  readonly limits: PoolLimits;
  /** Segments validated so far, and their private copies (offset, size). */
  #known = 0;
  readonly #segOffset: number[] = [];
  readonly #segSize: number[] = [];

  private constructor(memory: ArrayBuffer | SharedArrayBuffer, limits: PoolLimits, fileSize: () => number) {
    this.#memory = memory;
    this.#words = new Uint32Array(memory, 0, L.BUFFERS_HEADER_SIZE / 4);
    this.#view = new DataView(memory, 0, L.BUFFERS_HEADER_SIZE);
    this.#fileSize = fileSize;
    this.limits = limits;
  }

  /**
   * Validates the descriptor of the pool at the start of `memory` (§9: magic, version, header size, flags, limits,
   * a reserve no larger than the memory) and the segments published so far. Throws ERR_BUFFER_INVALID naming the
   * failed check, ERR_INVALID_ARG for a bad argument; keeps nothing on failure.
   */
  static attach(memory: ArrayBuffer | SharedArrayBuffer, options: PoolReaderOptions = {}): PoolReader {
    const result = PoolReader.tryAttach(memory, options);
    if (typeof result === 'number') throw bufferError(result, 'when attaching to it');
    return result;
  }

  /** attach() that returns the §9 code (negative) instead of throwing for a pool that fails validation. */
  static tryAttach(memory: ArrayBuffer | SharedArrayBuffer, options: PoolReaderOptions = {}): PoolReader | number {
    const isBuffer = memory instanceof ArrayBuffer || (typeof SharedArrayBuffer === 'function' && memory instanceof SharedArrayBuffer);
    if (!isBuffer || memory.byteLength < L.BUFFERS_HEADER_SIZE) {
      throw invalidArg('memory', `an ArrayBuffer or SharedArrayBuffer of at least ${L.BUFFERS_HEADER_SIZE} bytes`, memory, BufferPoolError);
    }
    if (options === null || typeof options !== 'object') throw invalidArg('options', 'an object', options, BufferPoolError);
    if (options.fileSize !== undefined && typeof options.fileSize !== 'function') {
      throw invalidArg('options.fileSize', 'a function returning the file size', options.fileSize, BufferPoolError);
    }
    const v = new DataView(memory, 0, L.BUFFERS_HEADER_SIZE);
    // Every descriptor word is read once into a local, then validated (the creator is a peer too).
    if (v.getUint32(L.BUFFERS_MAGIC_OFFSET, true) !== L.BUFFERS_MAGIC) return L.BUFFERS_EMAGIC;
    if (v.getUint16(L.BUFFERS_VERSION_OFFSET, true) !== L.BUFFERS_VERSION) return L.BUFFERS_EVERSION;
    if (v.getUint16(L.BUFFERS_HEADER_SIZE_OFFSET, true) !== L.BUFFERS_HEADER_SIZE) return L.BUFFERS_EHEADERSIZE;
    if (v.getUint32(L.BUFFERS_FLAGS_OFFSET, true) !== 0) return L.BUFFERS_EFLAGS;
    const maxSegments = v.getUint32(L.BUFFERS_MAX_SEGMENTS_OFFSET, true);
    const reserve = v.getBigUint64(L.BUFFERS_RESERVE_BYTES_OFFSET, true);
    const maxBuffers = v.getUint32(L.BUFFERS_MAX_BUFFERS_OFFSET, true);
    if (
      maxSegments < 1 || maxSegments > L.BUFFERS_MAX_SEGMENTS ||
      reserve % BigInt(L.BUFFERS_PAGE) !== 0n || reserve < BigInt(L.BUFFERS_MIN_RESERVE) ||
      reserve > BigInt(L.BUFFERS_MAX_RESERVE) || reserve > BigInt(memory.byteLength) ||
      maxBuffers < 1 || maxBuffers > L.BUFFERS_MAX_BUFFERS
    ) {
      return L.BUFFERS_ELIMITS;
    }
    const limits = { maxSegments, reserveBytes: Number(reserve), maxBuffers };
    const fileSize = options.fileSize ?? (() => memory.byteLength);
    const reader = new PoolReader(memory, limits, fileSize);
    const rc = reader.#refresh();
    return rc === L.BUFFERS_OK ? reader : rc;
  }

  /** Segments this reader has validated (its snapshot; the owner may have published more). */
  get segmentCount(): number {
    return this.#known;
  }

  /** The validated {offset, size} of segment `index` (undefined when not in the snapshot). */
  segment(index: number): { offset: number; size: number } | undefined {
    return index < this.#known ? { offset: this.#segOffset[index]!, size: this.#segSize[index]! } : undefined;
  }

  /**
   * The byte offset in the memory of the buffer `handle` names, after the checks of §9.1 (in their order), or the
   * negative §9 code of the first that failed. Refreshes the snapshot once when the handle names a segment beyond
   * it. Never throws for a bad handle; the memory is not touched.
   */
  resolveOffset(handle: BufferHandle): number {
    const segment = handle.segment, generation = handle.generation, offset = handle.offset, length = handle.length;
    if ((handle.reserved ?? 0) !== 0 || generation === 0) return L.BUFFERS_EHANDLE;
    if (segment >= this.limits.maxSegments) return L.BUFFERS_EHANDLE;
    if (segment >= this.#known) {
      const rc = this.#refresh();
      if (rc !== L.BUFFERS_OK) return rc;
      if (segment >= this.#known) return L.BUFFERS_EHANDLE;
    }
    if (offset % L.BUFFERS_GRAIN !== 0 || length === 0) return L.BUFFERS_EBOUNDS;
    const size = this.#segSize[segment]!;
    // Written as two comparisons so that no sum can overflow (offset may be as large as 2^53).
    if (offset > size || length > size - offset) return L.BUFFERS_EBOUNDS;
    return this.#segOffset[segment]! + offset;
  }

  /**
   * A Uint8Array over the buffer `handle` names, after the checks of §9.1. Throws ERR_BUFFER_INVALID naming the
   * failed check. The view aliases shared memory: the owner may still write it (copy what must not change).
   */
  view(handle: BufferHandle): Uint8Array {
    const at = this.resolveOffset(handle);
    if (at < 0) throw bufferError(at, 'handle');
    return new Uint8Array(this.#memory, at, handle.length);
  }

  /**
   * Loads segment_count (acquire) and validates the entries the snapshot lacks (§9 "Growing"); commits them only if
   * every one passes. Returns a §9 code.
   */
  #refresh(): number {
    // Atomics.load is sequentially consistent, at least acquire: pairs with the owner's release store of
    // segment_count (step 3 of "Growing"), so the entries it published are visible below.
    const count = Atomics.load(this.#words, L.BUFFERS_SEGMENT_COUNT_OFFSET / 4);
    if (count > this.limits.maxSegments || count < this.#known || count === 0) return L.BUFFERS_ECOUNT;
    const file = this.#fileSize();
    const offsets: number[] = [], sizes: number[] = [];
    let expected = this.#known === 0 ? L.BUFFERS_HEADER_SIZE : this.#segOffset[this.#known - 1]! + this.#segSize[this.#known - 1]!;
    const reserve = this.limits.reserveBytes;
    for (let i = this.#known; i < count; i++) {
      const at = L.BUFFERS_SEGMENT_TABLE_OFFSET + i * L.BUFFERS_SEGMENT_ENTRY_SIZE;
      const offset = this.#view.getBigUint64(at, true);
      const size = this.#view.getBigUint64(at + 8, true);
      if (offset !== BigInt(expected) || size === 0n || size % BigInt(L.BUFFERS_PAGE) !== 0n || size > BigInt(reserve - expected)) {
        return L.BUFFERS_ESEGMENT;
      }
      const end = expected + Number(size);
      if (end > file) return L.BUFFERS_ESEGMENT;
      offsets.push(expected);
      sizes.push(Number(size));
      expected = end;
    }
    for (let k = 0; k < offsets.length; k++) {
      this.#segOffset.push(offsets[k]!);
      this.#segSize.push(sizes[k]!);
    }
    this.#known = count;
    return L.BUFFERS_OK;
  }
}
