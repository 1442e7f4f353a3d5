/**
 * The TypeScript ring: a single-producer single-consumer queue of framed records in an ArrayBuffer or
 * SharedArrayBuffer, byte-compatible with the C implementation (native/include/native_sidecar/ring.h). The bytes,
 * the checks and the memory-ordering edges are those of docs/wire-format.md; section numbers (§) refer to it.
 *
 * Threading: a Ring object is used by one JavaScript thread. The producer side (tryWrite, stage, publish, claim,
 * commit, abort, write, closeProducer) and the consumer side (peek, release, drain, readable, the async iterator,
 * closeConsumer) may live in different threads or processes, each with its own Ring object over the same memory
 * (Ring.create in one, Ring.attach in the other). One object may also serve both sides (tests, same-thread queues).
 * There must be at most one producer and one consumer per ring.
 *
 * Host: the record headers and positions are native-endian integer views, which the spec (little-endian) matches on
 * every platform the package supports (Linux x64 / arm64).
 *
 * Memory lifetime: a Ring over the buffer of a SharedRegion (made by region.createRing()/region.ring(), or by
 * Ring.create/Ring.attach on `region.buffer`) is told by region.close() that its memory goes away, before the region
 * detaches the buffer and unmaps it (src/ring/lifetime.ts). Its pending readable()/write() calls then reject with
 * RingError ERR_REGION_CLOSED — their parked waits are aborted first, so a native waiter stops using the memory before
 * it is unmapped — and every later call throws (or rejects with) ERR_REGION_CLOSED, except a closeProducer() /
 * closeConsumer() of a side already closed, which stays a no-op. Closing the region does not close the ring's sides:
 * call closeProducer()/closeConsumer() first if the peer must see the end of the stream. Records staged but not yet
 * published when the region closes are lost. A buffer detached some other way (transferred) is outside this contract.
 */
import { setMaxListeners } from 'node:events';
import { isAnyArrayBuffer } from 'node:util/types';
import { NativeSidecarError, RingError, checkInteger, invalidArg } from '../errors.js';
import {
  BLOCK_SIZE,
  RECORD_ALIGN,
  RECORD_HEADER_SIZE,
  RECORD_LENGTH_OFFSET,
  RECORD_TYPE_MAX_USER,
  RECORD_TYPE_OFFSET,
  RECORD_TYPE_PADDING,
  RING_CAPACITY_OFFSET,
  RING_CLOSED_CONSUMER,
  RING_ATTACH_TRIES,
  RING_CLOSED_MASK,
  RING_CLOSED_OFFSET,
  RING_CLOSED_PRODUCER,
  RING_CONSUMER_PARKED_OFFSET,
  RING_DATA_OFFSET,
  RING_DATA_SEQ_OFFSET,
  RING_FLAGS_OFFSET,
  RING_HEAD_OFFSET,
  RING_HEADER_SIZE,
  RING_HEADER_SIZE_OFFSET,
  RING_MAGIC,
  RING_MAGIC_OFFSET,
  RING_MAX_CAPACITY,
  RING_MAX_PAYLOAD_OFFSET,
  RING_MIN_CAPACITY,
  RING_PRODUCER_PARKED_OFFSET,
  RING_SPACE_SEQ_OFFSET,
  RING_TAIL_OFFSET,
  RING_VERSION,
  RING_VERSION_OFFSET,
  maxPayloadFor,
  recordSize,
  ringSegmentSize,
} from './layout.js';
import { addBufferUser, kBufferClosing, wasClosed, type BufferUser } from './lifetime.js';
import { defaultParker, type ParkResult, type Parker } from './parker.js';
import { SpinBudget } from './spin-budget.js';
import { resolveWaitPolicy, type ResolvedWaitPolicy, type WaitPolicy } from './wait-policy.js';

// Word indices of the header and of a record header, derived from the byte offsets of layout.ts.
const I32 = Int32Array.BYTES_PER_ELEMENT;
const TAIL_I = RING_TAIL_OFFSET / I32;
const HEAD_I = RING_HEAD_OFFSET / I32;
const DATA_SEQ_I = RING_DATA_SEQ_OFFSET / I32;
const CONSUMER_PARKED_I = RING_CONSUMER_PARKED_OFFSET / I32;
const SPACE_SEQ_I = RING_SPACE_SEQ_OFFSET / I32;
const PRODUCER_PARKED_I = RING_PRODUCER_PARKED_OFFSET / I32;
const CLOSED_I = RING_CLOSED_OFFSET / I32;
const LENGTH_W = RECORD_LENGTH_OFFSET / Uint32Array.BYTES_PER_ELEMENT;
const TYPE_W = RECORD_TYPE_OFFSET / Uint32Array.BYTES_PER_ELEMENT;
const U32_RANGE = 2 ** 32;
/** Payloads up to this many bytes from an unaligned stageMany() source are copied byte by byte (measured faster). */
const SMALL_COPY = 64;

/** Results of one poll inside a wait. */
const NOT_READY = 0;
const READY = 1;
const ENDED = 2;

/** The two sides, as indices of the per-side wait bookkeeping. */
const PRODUCER = 0;
const CONSUMER = 1;
type Side = typeof PRODUCER | typeof CONSUMER;

/** A synchronous spin reads the clock once per this many polls (a power of two): the clock costs more than a poll. */
const POLLS_PER_CLOCK_READ = 16;

export interface RingRecord {
  type: number;
  payload: Uint8Array;
}

export interface RingCreateOptions {
  /** Where the ring segment starts in `buffer`; a multiple of 128 (default 0). */
  byteOffset?: number;
  /** Data bytes; a power of two from 1024 to 2^30. */
  capacity: number;
  /** Largest payload; 1 … capacity/2 − 8 (the default). */
  maxPayload?: number;
  /** Starting value of both positions; a multiple of 8 below 2^32 (default 0). Tests start near 2^32. */
  initialPosition?: number;
  /** How to park and wake; default: the native parker (see parker.ts), obtained only when first needed. */
  parker?: Parker;
  waitPolicy?: WaitPolicy;
}

export interface RingAttachOptions {
  byteOffset?: number;
  parker?: Parker;
  waitPolicy?: WaitPolicy;
}

export interface RingWaitOptions {
  /** Milliseconds (a number ≥ 0, Infinity allowed) before the wait rejects with ERR_TIMEOUT; default: no limit. */
  timeout?: number;
  /** Rejects the wait with ERR_ABORTED when it aborts. Anything but an AbortSignal or undefined: ERR_INVALID_ARG. */
  signal?: AbortSignal;
}

/** What {@link Ring.salvage} returns: the records recovered, oldest first, and why it stopped early (if it did). */
/** One record salvage() recovered. */
export interface SalvagedRecord extends RingRecord {
  /** Where the record's payload was in the ring's buffer (bytes from the buffer's start): ties it to what the producer wrote there. */
  byteOffset: number;
}

export interface RingSalvage {
  /** Copies of the records (type, and a fresh Uint8Array the caller owns), in ring order. */
  records: SalvagedRecord[];
  /** ERR_RING_CORRUPT describing the first check that failed, or undefined when every record up to tail was valid. */
  error: RingError | undefined;
}

/** One parked wait of this Ring object (§5.1 step 5): how to cancel it when the region closes. */
interface PendingPark {
  /** The controller whose signal the parker was given: aborting it makes the parker stop using the memory. */
  controller: AbortController;
  /** Settles the Ring's own promise for the wait without waiting for the parker. */
  reject: (error: unknown) => void;
}

export class Ring implements BufferUser {
  /** Data bytes of the ring. */
  readonly capacity: number;
  /** Largest payload of one record, in bytes. */
  readonly maxPayload: number;

  private readonly mask: number;
  /** The 512-byte shared header as 32-bit words (positions, park words, closed bits). */
  private readonly words: Int32Array;
  /** The data area as bytes (payloads) and as 32-bit words (record headers, 8-byte aligned). */
  private readonly bytes: Uint8Array;
  /** The buffer and the byte offset of the data area in it: payload views are built from these directly, since
   * `new Uint8Array(buffer, offset, length)` costs about half of `bytes.subarray()` (no species lookup). */
  private readonly buffer: ArrayBufferLike;
  private readonly dataOffset: number;
  private readonly headers: Uint32Array;
  /** The data area as signed 32-bit words: the batch path (stageMany) copies payload words and writes headers through
   * it, since Int32 loads and stores stay integers in optimised code where Uint32 values above 2^31 would not. */
  private readonly dataWords: Int32Array;
  private readonly givenParker: Parker | undefined;
  private readonly policy: ResolvedWaitPolicy;
  private brokenReason: string | undefined;
  /** Set once the region's close() said the memory goes away: nothing may touch the views any more. */
  private regionClosed = false;
  /**
   * True when every producer (consumer) call must throw: the side was closed, the ring was found corrupt, or its
   * region was closed. One flag per side keeps the check at the top of the hot paths a single load; the reason is
   * worked out only when throwing.
   */
  private producerStop = false;
  private consumerStop = false;

  // Producer-local state (§2: a private cache of the other side's position, never read back from shared memory).
  private pTail: number; // next write position, past staged records
  private pPublished: number; // the last tail stored in shared memory
  private pHeadCache: number; // last validated head
  private claimPos = -1; // position of the claimed record's header, or -1
  private claimLength = 0;
  private producerClosed = false;

  // Consumer-local state.
  private cHead: number; // next read position (may run ahead of the stored head inside drain or past padding)
  private cHeadStored: number; // the last head stored in shared memory
  private cTailCache: number; // last validated tail
  private peekNext = -1; // position after the peeked record, or -1 when nothing is peeked
  private draining = false;
  private consumerClosed = false;

  // The record located by locate(); fields instead of an object keep the read path allocation-free.
  private recType = 0;
  private recIdx = 0; // data index of the payload
  private recLength = 0;
  private recNext = 0; // position after the record

  /** Per side, the spin of the next 'spin-then-park' wait (adaptive, at most the policy's spinMicros). */
  private readonly spinBudgets: [SpinBudget, SpinBudget];
  /** Waits of this object currently between steps 2 and 5 of §5.1, per side. */
  private readonly parkedCount: [number, number] = [0, 0];
  /** Waits currently parked in the parker, cancelled by the region's close. */
  private readonly parks = new Set<PendingPark>();
  /** The signal handed to the parker by waits without their own: aborted only when the region closes. Made lazily. */
  private lifetime: AbortController | undefined;
  /** Per caller signal, a controller aborted by it (or by the region's close): the signal handed to the parker. */
  private derived: WeakMap<AbortSignal, AbortController> | undefined;
  private readonly pollReadableFn = (): number => this.pollReadable();

  private constructor(
    buffer: ArrayBufferLike,
    byteOffset: number,
    capacity: number,
    maxPayload: number,
    parker: Parker | undefined,
    policy: ResolvedWaitPolicy,
  ) {
    this.capacity = capacity;
    this.maxPayload = maxPayload;
    this.mask = capacity - 1;
    this.words = new Int32Array(buffer, byteOffset, RING_HEADER_SIZE / I32);
    this.bytes = new Uint8Array(buffer, byteOffset + RING_DATA_OFFSET, capacity);
    this.buffer = buffer;
    this.dataOffset = byteOffset + RING_DATA_OFFSET;
    this.headers = new Uint32Array(buffer, byteOffset + RING_DATA_OFFSET, capacity / Uint32Array.BYTES_PER_ELEMENT);
    this.dataWords = new Int32Array(buffer, byteOffset + RING_DATA_OFFSET, capacity / I32);
    this.givenParker = parker;
    this.policy = policy;
    this.spinBudgets = [new SpinBudget(policy.spinMicros), new SpinBudget(policy.spinMicros)];
    // wire-format §7 "attach", as ns_ring_attach: head, tail, head again until the heads agree (RING_ATTACH_TRIES).
    // Equal heads make (head, tail) one moment's pair and §3's check exact — always at once for a side owning the
    // consumer end; with the producer end owned, tail is frozen and a moving head never passes it. Only an observer
    // owning neither end sees both move; if head never holds still the check allows its movement:
    // tail − head1 ≤ (head2 − head1) + capacity. Edges #4/#2: seq_cst (acquire) loads pairing with #3/#1.
    let head = 0;
    let tail = 0;
    let headAgain = 0;
    for (let tries = 0; tries < RING_ATTACH_TRIES; tries++) {
      head = Atomics.load(this.words, HEAD_I) >>> 0;
      tail = Atomics.load(this.words, TAIL_I) >>> 0;
      headAgain = Atomics.load(this.words, HEAD_I) >>> 0;
      if (headAgain === head) break;
    }
    if (
      head % RECORD_ALIGN !== 0 ||
      tail % RECORD_ALIGN !== 0 ||
      headAgain % RECORD_ALIGN !== 0 ||
      ((tail - head) >>> 0) > ((headAgain - head) >>> 0) + capacity
    ) {
      throw new RingError(
        'ERR_RING_CORRUPT',
        `The ring at byteOffset ${byteOffset} has inconsistent positions (head ${head}, tail ${tail}, capacity ${capacity}).`,
      );
    }
    this.pTail = this.pPublished = tail;
    this.pHeadCache = head;
    this.cHead = this.cHeadStored = head;
    this.cTailCache = tail;
    addBufferUser(buffer, this);
  }

  /** Bytes a ring segment with `capacity` data bytes occupies (header + data). Pure; any thread. */
  static segmentSize(capacity: number): number {
    return ringSegmentSize(checkCapacity(capacity));
  }

  /**
   * Initialises a ring in `buffer` at `byteOffset` (writes the descriptor, zeroes the header blocks, sets both
   * positions to `initialPosition`) and returns a Ring over it. The data area is not cleared. Call before sharing
   * the buffer with the peer (postMessage / region handover orders these writes before the peer's accesses).
   * The Ring keeps views of `buffer`; the caller keeps the memory alive (and mapped) while the Ring is used — a
   * SharedRegion's buffer is the exception: its close() tells the Ring (see "Memory lifetime" above).
   * Throws ERR_INVALID_ARG naming the bad argument (`buffer` also when it is detached), RingError ERR_REGION_CLOSED
   * when `buffer` belongs to a region that was closed.
   */
  static create(buffer: ArrayBuffer | SharedArrayBuffer, options: RingCreateOptions): Ring {
    if (options === null || typeof options !== 'object') throw invalidArg('options', 'an object', options);
    checkBuffer(buffer);
    const capacity = checkCapacity(options.capacity);
    const byteOffset = checkByteOffset(buffer, options.byteOffset, capacity);
    const limit = maxPayloadFor(capacity);
    const maxPayload = options.maxPayload === undefined ? limit : checkInteger('maxPayload', options.maxPayload, 1, limit);
    const initial = options.initialPosition ?? 0;
    checkInteger('initialPosition', initial, 0, U32_RANGE - 1);
    if (initial % RECORD_ALIGN !== 0) throw invalidArg('initialPosition', `a multiple of ${RECORD_ALIGN}`, initial);
    const parker = checkParker(options.parker);
    const policy = resolveWaitPolicy(options.waitPolicy);

    new Uint8Array(buffer, byteOffset, RING_HEADER_SIZE).fill(0);
    const d = new DataView(buffer, byteOffset, RING_HEADER_SIZE);
    d.setUint32(RING_MAGIC_OFFSET, RING_MAGIC, true);
    d.setUint16(RING_VERSION_OFFSET, RING_VERSION, true);
    d.setUint16(RING_HEADER_SIZE_OFFSET, RING_HEADER_SIZE, true);
    d.setUint32(RING_CAPACITY_OFFSET, capacity, true);
    d.setUint32(RING_MAX_PAYLOAD_OFFSET, maxPayload, true);
    const words = new Int32Array(buffer, byteOffset, RING_HEADER_SIZE / I32);
    Atomics.store(words, TAIL_I, initial | 0);
    Atomics.store(words, HEAD_I, initial | 0);
    return new Ring(buffer, byteOffset, capacity, maxPayload, parker, policy);
  }

  /**
   * Returns a Ring over a ring that `Ring.create` or `ns_ring_init` initialised in `buffer` at `byteOffset`.
   * Validates the descriptor and the positions: RingError ERR_RING_CORRUPT if they are not a valid ring. Argument
   * errors as for create() (ERR_INVALID_ARG, ERR_REGION_CLOSED for the buffer of a closed region).
   */
  static attach(buffer: ArrayBuffer | SharedArrayBuffer, options: RingAttachOptions = {}): Ring {
    if (options === null || typeof options !== 'object') throw invalidArg('options', 'an object', options);
    checkBuffer(buffer);
    const byteOffset = checkAttachOffset(buffer, options.byteOffset);
    const parker = checkParker(options.parker);
    const policy = resolveWaitPolicy(options.waitPolicy);
    const bad = (what: string): RingError =>
      new RingError('ERR_RING_CORRUPT', `The buffer at byteOffset ${byteOffset} does not hold a valid ring: ${what}.`);
    // Too few bytes for a ring header is the same fault as too few for the data area: the memory from byteOffset
    // cannot hold a ring (§7, one code for a too-small segment, as ns_ring_attach).
    if (byteOffset + RING_HEADER_SIZE > buffer.byteLength) {
      throw bad(`only ${buffer.byteLength - byteOffset} bytes follow it, fewer than a ${RING_HEADER_SIZE}-byte ring header`);
    }
    const d = new DataView(buffer, byteOffset, RING_HEADER_SIZE);
    const magic = d.getUint32(RING_MAGIC_OFFSET, true);
    if (magic !== RING_MAGIC) throw bad(`its magic is 0x${hex(magic)}, expected 0x${hex(RING_MAGIC)}`);
    const version = d.getUint16(RING_VERSION_OFFSET, true);
    if (version !== RING_VERSION) throw bad(`its version is ${version}, expected ${RING_VERSION}`);
    const headerSize = d.getUint16(RING_HEADER_SIZE_OFFSET, true);
    if (headerSize !== RING_HEADER_SIZE) throw bad(`its header size is ${headerSize}, expected ${RING_HEADER_SIZE}`);
    const capacity = d.getUint32(RING_CAPACITY_OFFSET, true);
    if (!isValidCapacity(capacity)) throw bad(`its capacity ${capacity} is not a power of two from ${RING_MIN_CAPACITY} to ${RING_MAX_CAPACITY}`);
    const maxPayload = d.getUint32(RING_MAX_PAYLOAD_OFFSET, true);
    if (maxPayload === 0 || maxPayload > maxPayloadFor(capacity)) {
      throw bad(`its max_payload ${maxPayload} is not from 1 to ${maxPayloadFor(capacity)}`);
    }
    const flags = d.getUint32(RING_FLAGS_OFFSET, true);
    if (flags !== 0) throw bad(`its flags are 0x${hex(flags)}, expected 0`);
    // §1 "Reserved values": bits 2–31 of closed are refused like the flags (a seq_cst load; only these bits matter).
    const closed = Atomics.load(new Int32Array(buffer, byteOffset + RING_CLOSED_OFFSET, 1), 0) >>> 0;
    if ((closed & ~RING_CLOSED_MASK) !== 0) throw bad(`its closed word 0x${hex(closed)} has reserved bits set`);
    if (byteOffset + ringSegmentSize(capacity) > buffer.byteLength) {
      throw bad(`its capacity ${capacity} needs ${ringSegmentSize(capacity)} bytes but the buffer has ${buffer.byteLength - byteOffset} from there`);
    }
    return new Ring(buffer, byteOffset, capacity, maxPayload, parker, policy);
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Producer side. All of these run on the producer's JavaScript thread.

  /**
   * Copies one record into the ring and publishes it (and any staged records). Returns false, with no side effect,
   * when the ring has no room. Throws ERR_RING_TOO_BIG if `payload` exceeds maxPayload, ERR_RING_CLOSED after
   * closeProducer() or when the ring is full and the consumer has closed, ERR_INVALID_STATE while a claim is open,
   * ERR_ADDON_MISSING when the consumer is parked and no parker can wake it (the record is published nonetheless),
   * ERR_INVALID_ARG naming `type` or `payload` (also a payload whose buffer is detached; nothing is written then),
   * ERR_REGION_CLOSED once the ring's region was closed. The payload is copied; the caller keeps ownership of it.
   */
  tryWrite(type: number, payload: ArrayBufferView): boolean {
    this.checkProducer();
    const bytes = this.checkRecord(type, payload);
    if (!this.put(type, bytes)) return false;
    this.publishTail();
    return true;
  }

  /**
   * Like tryWrite but does not publish: the record becomes visible at the next publish() (or tryWrite, commit,
   * write, closeProducer). Batching saves one shared store and one wake check per record. Same errors as tryWrite
   * (the ones about waking excepted).
   */
  stage(type: number, payload: ArrayBufferView): boolean {
    // Fast path, for the common case only: a non-empty Uint8Array and a valid type on an open producer with no
    // claim, whose record fits before the end of the data area in the space already known to be free. It performs
    // exactly put()'s stores without the calls around them (measured with callgrind: ~430 of ~710 instructions per
    // 32-byte record were checks and calls, the rest is TypedArray.prototype.set). Everything else — and every error —
    // takes the general path below, which checks in the documented order.
    if (payload instanceof Uint8Array && !this.producerStop && this.claimPos < 0 && type >= 0 && type <= RECORD_TYPE_MAX_USER && (type | 0) === type) {
      const length = payload.length;
      const size = (length + RECORD_HEADER_SIZE + RECORD_ALIGN - 1) & ~(RECORD_ALIGN - 1);
      const tail = this.pTail;
      const idx = tail & this.mask;
      if (length !== 0 && length <= this.maxPayload && size <= this.capacity - idx && size <= this.capacity - ((tail - this.pHeadCache) >>> 0)) {
        this.bytes.set(payload, idx + RECORD_HEADER_SIZE);
        const w = idx >>> 2;
        this.headers[w + LENGTH_W] = length;
        this.headers[w + TYPE_W] = type;
        this.pTail = (tail + size) >>> 0;
        return true;
      }
    }
    this.checkProducer();
    const bytes = this.checkRecord(type, payload);
    return this.put(type, bytes);
  }

  /**
   * Stages up to `count` records of one `type`, each `recordLength` payload bytes, taken back to back from `records`
   * (record k is bytes [k × recordLength, (k + 1) × recordLength) of the view), and returns how many fit: 0 … count,
   * the first ones in order (records after the first that does not fit are not staged). Like stage() nothing is
   * published: the records become visible at the next publish() (or tryWrite, tryWriteMany, commit, write,
   * closeProducer). The ring bytes are exactly those of the same records staged one by one with stage(), padding
   * included; the arguments are checked, and head is re-read at most once, per call instead of per record.
   *
   * `count` defaults to as many whole records as `records` holds (it is required when recordLength is 0).
   * Producer thread only. The records are copied before the call returns; the caller keeps ownership of `records`,
   * which must not overlap this ring's data area. Fastest when `records` starts at a multiple of 4 bytes in its buffer
   * and recordLength is a multiple of 4 (the payload is then copied as 32-bit words).
   *
   * Throws ERR_INVALID_ARG naming the bad argument (type; records, also when its buffer is detached; recordLength;
   * count — count × recordLength more than records.byteLength), ERR_RING_TOO_BIG if recordLength exceeds maxPayload,
   * ERR_INVALID_STATE while a claim is open, ERR_RING_CLOSED after closeProducer() or when not one record fits and the
   * consumer has closed, ERR_RING_CORRUPT when the shared head is invalid, and ERR_REGION_CLOSED once the ring's
   * region was closed. A call that throws stages nothing.
   */
  stageMany(type: number, records: ArrayBufferView, recordLength: number, count?: number): number {
    this.checkProducer();
    this.checkNoClaim('Writing records');
    checkType(type);
    const src = toBytes(records, 'records');
    checkInteger('recordLength', recordLength, 0, U32_RANGE - 1);
    if (recordLength > this.maxPayload) throw this.tooBig('recordLength', recordLength);
    const n = checkCount(count, recordLength, src.length);
    return n === 0 ? 0 : this.putMany(type, src, recordLength, n, false);
  }

  /**
   * The fastest batch path: like stageMany() (same return value, publication, thread, memory contract and errors),
   * but `frames` already has the ring's record layout, so each contiguous run is copied with one set(). Frame k is
   * bytes [k × F, (k + 1) × F) of the view with F = ringLayout.recordSize(recordLength) (the 8-byte record header,
   * the payload, then alignment up to 8 bytes); its payload is at offset ringLayout.RECORD_HEADER_SIZE in the frame.
   * The ring writes every record header itself after the copy: what the caller leaves in a frame's header slot is
   * ignored. The alignment bytes after each payload (which no reader reads) are copied from the frame, where stage()
   * would leave the ring's old bytes. `count` defaults to the whole frames `frames` holds; count × F must fit in it.
   */
  stageFrames(type: number, frames: ArrayBufferView, recordLength: number, count?: number): number {
    this.checkProducer();
    this.checkNoClaim('Writing records');
    checkType(type);
    const src = toBytes(frames, 'frames');
    checkInteger('recordLength', recordLength, 0, U32_RANGE - 1);
    if (recordLength > this.maxPayload) throw this.tooBig('recordLength', recordLength);
    const n = checkCount(count, recordSize(recordLength), src.length);
    return n === 0 ? 0 : this.putMany(type, src, recordLength, n, true);
  }

  /**
   * stageMany() followed by publish() when at least one record was staged: returns how many of the `count` records
   * were written and published (0 when the ring has no room; then nothing changes). Same arguments, errors, thread
   * and memory contract as stageMany(); like tryWrite() it also publishes records staged earlier, and throws
   * ERR_ADDON_MISSING when the consumer is parked and no parker can wake it (the records are published nonetheless).
   */
  tryWriteMany(type: number, records: ArrayBufferView, recordLength: number, count?: number): number {
    const n = this.stageMany(type, records, recordLength, count);
    if (n > 0) this.publishTail();
    return n;
  }

  /** Publishes every staged record and wakes a parked consumer (§5 steps (d)–(f)). Cheap when nothing is staged. */
  publish(): void {
    this.checkProducer();
    this.publishTail();
  }

  /**
   * Reserves room for a record of `length` payload bytes and returns a writable view of its payload (8-byte aligned
   * in the buffer), or null when the ring has no room. The view is the ring's memory: write the payload into it, then
   * commit(type) or abort(). Do not touch it afterwards. At most one claim is open at a time, and no record can be
   * staged or written while it is.
   */
  claim(length: number): Uint8Array | null {
    this.checkProducer();
    this.checkNoClaim('claim');
    checkInteger('length', length, 0, U32_RANGE - 1);
    if (length > this.maxPayload) throw this.tooBig('length', length);
    const pos = this.reserve(length);
    if (pos < 0) return null;
    this.claimPos = pos;
    this.claimLength = length;
    const start = (pos & this.mask) + RECORD_HEADER_SIZE;
    return this.view(start, length);
  }

  /**
   * The allocation-free claim: like claim() (same room, padding, errors, and the same commit()/abort() rules), but
   * returns the byte offset of the payload in the ring's buffer — the buffer the Ring was created or attached over —
   * instead of a view, or -1 when the ring has no room. For writers that keep their own view of that buffer and write
   * small records at a high rate, where making one Uint8Array per record is a large part of the cost (agrona's
   * `tryClaim` returns an index for the same reason). The offset is a multiple of 8. Producer thread only.
   */
  claimAt(length: number): number {
    this.checkProducer();
    this.checkNoClaim('claim');
    checkInteger('length', length, 0, U32_RANGE - 1);
    if (length > this.maxPayload) throw this.tooBig('length', length);
    const pos = this.reserve(length);
    if (pos < 0) return -1;
    this.claimPos = pos;
    this.claimLength = length;
    return this.dataOffset + (pos & this.mask) + RECORD_HEADER_SIZE;
  }

  /**
   * Writes the header of the claimed record with `type` and publishes it (with any staged records). With
   * `publish` false the record is only staged, like stage(): it becomes visible at the next publish() (or tryWrite,
   * commit, write, closeProducer), so a batch of claimed records costs one publication. ERR_INVALID_STATE without a
   * claim.
   */
  commit(type: number, publish = true): void {
    this.checkProducer();
    if (this.claimPos < 0) throw invalidState('commit() needs an open claim; call claim() first.');
    checkType(type);
    this.writeHeader(this.claimPos & this.mask, this.claimLength, type);
    this.pTail = (this.claimPos + recordSize(this.claimLength)) >>> 0;
    this.claimPos = -1;
    if (publish) this.publishTail();
  }

  /** Forgets the open claim (if any); nothing is published and the room is free again. */
  abort(): void {
    this.checkProducer();
    this.claimPos = -1;
  }

  /**
   * Writes one record, waiting (per the wait policy, never blocking the thread) until there is room. Publishes staged
   * records before it waits, so a consumer is never left waiting for them. Rejects with ERR_TIMEOUT, ERR_ABORTED,
   * ERR_RING_CLOSED (either side closed), ERR_RING_TOO_BIG, ERR_RING_CORRUPT, ERR_ADDON_MISSING when it must park
   * and no parker exists, ERR_REGION_CLOSED when the ring's region is (or gets) closed — a pending write() settles
   * then, unwritten — and ERR_INVALID_ARG for bad arguments (`options.timeout`, `options.signal`, a detached
   * payload, or a payload whose buffer is detached while it waits: nothing is written then). Concurrent write()
   * calls may complete in any order: await each to keep records in order. The payload is copied before the promise
   * resolves; do not modify it until then.
   */
  async write(type: number, payload: ArrayBufferView, options?: RingWaitOptions): Promise<void> {
    this.checkProducer();
    const bytes = this.checkRecord(type, payload);
    const { timeout, signal } = checkWaitOptions(options);
    if (signal?.aborted) throw aborted(signal);
    if (this.put(type, bytes)) {
      this.publishTail();
      return;
    }
    this.publishTail();
    const length = bytes.length;
    const attempt = (): number => {
      this.checkProducer();
      this.checkNoClaim('write');
      // A payload transferred while we wait would read as empty: refuse it rather than write an empty record.
      if (bytes.length !== length) throw detachedArg('payload', 'was detached while write() waited for room');
      if (!this.put(type, bytes)) return NOT_READY;
      this.publishTail();
      return READY;
    };
    await this.waitUntil(PRODUCER, attempt, timeout, signal);
  }

  /**
   * Resolves once a record of `length` payload bytes fits (the next claim()/stage() of that size succeeds, as long as
   * nothing else is written first), waiting per the wait policy without blocking the thread. Publishes staged records
   * before it waits. Writes nothing (not even the padding a wrapping record would need). Rejects like write():
   * ERR_TIMEOUT, ERR_ABORTED, ERR_RING_CLOSED, ERR_RING_TOO_BIG, ERR_RING_CORRUPT, ERR_ADDON_MISSING, ERR_REGION_CLOSED
   * (the region closed, also while it waits), ERR_INVALID_ARG for a bad `length` or bad options. Producer thread.
   */
  async writable(length: number, options?: RingWaitOptions): Promise<void> {
    this.checkProducer();
    if (typeof length !== 'number' || !Number.isInteger(length) || length < 0) throw invalidArg('length', 'a non-negative integer', length);
    if (length > this.maxPayload) throw this.tooBig('length', length);
    const { timeout, signal } = checkWaitOptions(options);
    if (signal?.aborted) throw aborted(signal);
    if (this.fits(length)) return;
    this.publishTail();
    const attempt = (): number => {
      this.checkProducer();
      return this.fits(length) ? READY : NOT_READY;
    };
    await this.waitUntil(PRODUCER, attempt, timeout, signal);
  }

  /**
   * Ends the stream: aborts an open claim, publishes staged records, sets the producer-closed bit and wakes the
   * consumer. Idempotent; later producer calls throw ERR_RING_CLOSED. Pending write() calls reject with it.
   * After the ring's region was closed it throws ERR_REGION_CLOSED (the bit cannot be set: the peer will not see the
   * end), unless this side was closed before, when it stays a no-op.
   */
  closeProducer(): void {
    if (this.producerClosed) return;
    if (this.regionClosed) throw regionClosedError();
    this.claimPos = -1;
    if (this.brokenReason === undefined) this.publishTail();
    this.producerClosed = true;
    this.producerStop = true;
    // Seq_cst read-modify-write: ordered after the publication above, so a consumer that sees the bit sees every record.
    Atomics.or(this.words, CLOSED_I, RING_CLOSED_PRODUCER);
    this.wakeForClose(DATA_SEQ_I, CONSUMER_PARKED_I, this.parkedCount[CONSUMER] > 0);
    if (this.parkedCount[PRODUCER] > 0) this.wakeSelf(SPACE_SEQ_I);
  }

  /**
   * Crash recovery, producer side: returns copies of the records this producer wrote that the consumer never
   * released, oldest first, so that they can be handed to another consumer. Call it only after the consumer has
   * ended for good (its process died, its thread was joined): while a consumer still runs, records it is reading may
   * be returned too.
   *
   * The range is [head, t) with `head` loaded from shared memory and `t` this object's own tail: every record
   * published, and every record staged (stage(), stageMany(), commit(type, false)) but not yet published — both are
   * records no consumer released. An open claim is not a record and is left out. The shared tail is not read.
   *
   * The consumer-written head is untrusted and is validated as §3 says for a producer (a multiple of 8, and within
   * [the last head this object validated, the published tail], hence within capacity of the tail); then every header
   * from head on is validated exactly as a consumer reading it would (§4: type a user type or padding, padding ending
   * exactly at the end of the data area and skipped, length ≤ maxPayload, the record within the range and not crossing
   * the end of the data area). It stops at the first failure: `records` holds the records before it and `error` is
   * a RingError ERR_RING_CORRUPT describing the failure (it is returned, not thrown); `error` is undefined when the
   * whole range was valid. An empty range gives no records and no error.
   *
   * It changes nothing: no position, no closed bit, no wake-up, and it does not mark the ring corrupt. It works after
   * closeProducer(), after the consumer closed, and on a ring this object found corrupt earlier. Producer thread.
   * Throws only RingError ERR_REGION_CLOSED, when the ring's region was closed (its memory is gone).
   */
  salvage(): RingSalvage {
    if (this.regionClosed) throw regionClosedError();
    const records: SalvagedRecord[] = [];
    const stop = (detail: string): RingSalvage => ({
      records,
      error: new RingError(
        'ERR_RING_CORRUPT',
        `salvage() stopped after ${records.length} record${records.length === 1 ? '' : 's'}: the ring's shared memory is corrupt: ${detail}.`,
      ),
    });
    // Edge #4: acquire (seq_cst) load of head, pairing with the consumer's last release store of it (edge #3).
    const head = Atomics.load(this.words, HEAD_I) >>> 0;
    if (head % RECORD_ALIGN !== 0) return stop(`head ${head} is not a multiple of ${RECORD_ALIGN}`);
    if (((head - this.pHeadCache) >>> 0) > ((this.pPublished - this.pHeadCache) >>> 0)) {
      return stop(`head ${head} is outside [${this.pHeadCache}, tail ${this.pPublished}]`);
    }
    const end = this.pTail;
    let p = head;
    // The checks of locate(), on a range ending at this producer's tail. Both ends are multiples of 8 and every step
    // is too, so p reaches end exactly unless a check fails, and a non-zero avail is ≥ 8 (§4 check 1).
    while (p !== end) {
      const avail = (end - p) >>> 0;
      const idx = p & this.mask;
      const w = idx >>> 2;
      // Read each header word once: the checks apply to these values whatever the memory holds later.
      const length = this.headers[w + LENGTH_W]!;
      const type = this.headers[w + TYPE_W]!;
      if (type === RECORD_TYPE_PADDING) {
        if (idx === 0) return stop(`a padding record at ${p} starts at data index 0 (it would cover the whole data area)`);
        if (idx + RECORD_HEADER_SIZE + length !== this.capacity || RECORD_HEADER_SIZE + length > avail) {
          return stop(`a padding record at ${p} with length ${length} does not end exactly at the end of the data area within the written bytes`);
        }
        p = (p + RECORD_HEADER_SIZE + length) >>> 0;
        continue;
      }
      if (type > RECORD_TYPE_MAX_USER) return stop(`the record at ${p} has the invalid type 0x${hex(type)}`);
      if (length > this.maxPayload) return stop(`the record at ${p} has length ${length}, more than maxPayload ${this.maxPayload}`);
      const size = recordSize(length);
      if (size > avail || idx + size > this.capacity) {
        return stop(`the record at ${p} with length ${length} extends past the tail or the end of the data area`);
      }
      const start = idx + RECORD_HEADER_SIZE;
      records.push({ type, payload: this.bytes.slice(start, start + length), byteOffset: this.bytes.byteOffset + start });
      p = (p + size) >>> 0;
    }
    return { records, error: undefined };
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Consumer side. All of these run on the consumer's JavaScript thread.

  /**
   * Returns the next record without consuming it, or null when none is published. `payload` is a zero-copy view of
   * the ring's memory, 8-byte aligned in the buffer, valid until release() (or drain()); a new object each call.
   * Calling peek() again before release() returns the same record.
   */
  peek(): RingRecord | null {
    this.checkConsumer();
    const found = this.locate();
    // Padding skipped on the way is handed back to the producer now, record or not (§4 "Padding"), as ns_ring_peek().
    if (this.cHead !== this.cHeadStored) this.storeHead();
    if (!found) {
      this.peekNext = -1;
      return null;
    }
    this.peekNext = this.recNext;
    return { type: this.recType, payload: this.view(this.recIdx, this.recLength) };
  }

  /** Consumes the peeked record (its view becomes invalid) and wakes a parked producer. ERR_INVALID_STATE without peek. */
  release(): void {
    this.checkConsumer();
    if (this.peekNext < 0) throw invalidState('release() needs a record returned by peek(); call peek() first.');
    this.cHead = this.peekNext;
    this.peekNext = -1;
    this.storeHead();
  }

  /**
   * Calls `handler(type, payload)` synchronously for up to `limit` published records (default: all), in order, then
   * stores head once. `payload` is a zero-copy view valid only during that call (copy it to keep it). Returning
   * `true` stops after that record. A record is consumed only when its handler returns: if a handler throws, the
   * records before it are consumed, it and the rest are not, and the error propagates. The handler must not call
   * consumer methods of this Ring (ERR_INVALID_STATE). Returns the number of records consumed. A handler that closes
   * the ring's region ends the drain: it throws ERR_REGION_CLOSED (or returns the count if that handler asked to stop),
   * and head is not stored (the memory is gone).
   */
  drain(handler: (type: number, payload: Uint8Array) => void | boolean, limit?: number): number {
    return this.drainRecords(handler, limit, true);
  }

  /**
   * The allocation-free drain: like drain() (same consumption, limit, errors and rules for the handler), but the
   * handler gets the record's type, the byte offset of its payload in the ring's buffer (the buffer the Ring was
   * created or attached over; a multiple of 8) and its length instead of a view, so no object is made per record
   * (agrona's `MessageHandler(typeId, buffer, index, length)`). The bytes are the ring's and valid only during the call:
   * copy what must outlive it. Consumer thread only.
   */
  drainAt(handler: (type: number, byteOffset: number, length: number) => void | boolean, limit?: number): number {
    return this.drainRecords(handler, limit, false);
  }

  /** drain() (`views`) and drainAt(): one loop, so that both consume, stop and fail exactly alike. */
  private drainRecords(handler: unknown, limit: number | undefined, views: boolean): number {
    this.checkConsumer();
    if (typeof handler !== 'function') throw invalidArg('handler', 'a function', handler);
    const max = limit === undefined ? Number.MAX_SAFE_INTEGER : checkInteger('limit', limit, 0, Number.MAX_SAFE_INTEGER);
    this.peekNext = -1;
    this.draining = true;
    let count = 0;
    try {
      while (count < max && this.locate()) {
        const next = this.recNext;
        const stop: unknown = views
          ? handler(this.recType, this.view(this.recIdx, this.recLength))
          : handler(this.recType, this.dataOffset + this.recIdx, this.recLength);
        this.cHead = next;
        count++;
        if (stop === true) break;
      }
    } catch (error) {
      // Costs nothing unless thrown: a handler that closed the region makes the next view or Atomics call fail.
      if (this.regionClosed) throw regionClosedError(error);
      throw error;
    } finally {
      this.draining = false;
      // Also after padding alone (count 0): skipped padding is handed back to the producer (§4 "Padding").
      if (this.cHead !== this.cHeadStored && !this.regionClosed) this.storeHead();
    }
    return count;
  }

  /**
   * Resolves true when a record can be read (peek() returns it), false when the producer has closed and every record
   * was consumed. Waits per the wait policy without blocking the thread; rejects with ERR_TIMEOUT, ERR_ABORTED,
   * ERR_RING_CLOSED (after closeConsumer()), ERR_RING_CORRUPT, ERR_ADDON_MISSING when it must park and no parker
   * exists, ERR_REGION_CLOSED when the ring's region is (or gets) closed, and ERR_INVALID_ARG for bad options
   * (`options.timeout`, `options.signal`). Several readable() calls may be pending at once; all of them settle.
   */
  async readable(options?: RingWaitOptions): Promise<boolean> {
    this.checkConsumer();
    const { timeout, signal } = checkWaitOptions(options);
    if (signal?.aborted) throw aborted(signal);
    const now = this.pollReadable();
    if (now !== NOT_READY) return now === READY;
    return (await this.waitUntil(CONSUMER, this.pollReadableFn, timeout, signal)) === READY;
  }

  /**
   * Yields every record as `{ type, payload }` with `payload` a copy the caller owns, consuming each, and finishes
   * when the producer has closed and the ring is empty. Breaking out of the loop consumes nothing more.
   */
  async *[Symbol.asyncIterator](): AsyncGenerator<RingRecord, void, undefined> {
    while (await this.readable()) {
      const record = this.peek();
      if (record === null) continue;
      const copy = record.payload.slice();
      this.release();
      yield { type: record.type, payload: copy };
    }
  }

  /**
   * Stops consuming: sets the consumer-closed bit and wakes the producer (whose full-ring writes then fail with
   * ERR_RING_CLOSED). Idempotent; later consumer calls throw ERR_RING_CLOSED, pending readable() calls reject with it.
   * After the ring's region was closed it throws ERR_REGION_CLOSED, unless this side was closed before (a no-op).
   */
  closeConsumer(): void {
    if (this.consumerClosed) return;
    if (this.regionClosed) throw regionClosedError();
    this.consumerClosed = true;
    this.consumerStop = true;
    this.peekNext = -1;
    Atomics.or(this.words, CLOSED_I, RING_CLOSED_CONSUMER);
    this.wakeForClose(SPACE_SEQ_I, PRODUCER_PARKED_I, this.parkedCount[PRODUCER] > 0);
    if (this.parkedCount[CONSUMER] > 0) this.wakeSelf(DATA_SEQ_I);
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Memory lifetime.

  /**
   * @internal Called by the region's close() (src/ring/lifetime.ts), on this thread, while the memory is still
   * mapped and just before it is detached and unmapped. Marks the ring unusable (every later call: ERR_REGION_CLOSED),
   * forgets an open claim and a peeked record, lowers the parked flags this object raised, and cancels every parked
   * wait: first the parker's wait is aborted (NativeParker cancels its native waiter, which stops using the memory),
   * then the wait's promise rejects with ERR_REGION_CLOSED without waiting for the parker. Waits in 'spin' mode
   * reject at their next poll. Idempotent.
   */
  [kBufferClosing](): void {
    if (this.regionClosed) return;
    this.regionClosed = true;
    this.producerStop = true;
    this.consumerStop = true;
    this.claimPos = -1;
    this.peekNext = -1;
    // The last moment this memory may be touched: a parked flag left at 1 would only cost the peer a futile wake.
    if (this.parkedCount[PRODUCER] > 0) Atomics.store(this.words, PRODUCER_PARKED_I, 0);
    if (this.parkedCount[CONSUMER] > 0) Atomics.store(this.words, CONSUMER_PARKED_I, 0);
    const error = regionClosedError();
    this.lifetime?.abort(error);
    const parks = [...this.parks];
    this.parks.clear();
    for (const park of parks) park.controller.abort(error);
    for (const park of parks) park.reject(error);
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Producer internals.

  /**
   * Finds room for a record of `length` payload bytes at the local tail, writing a padding record first when the
   * record would cross the end of the data area (§4). Returns the record's position, or -1 when there is no room.
   * Changes no position: the caller advances pTail once the record is written.
   */
  private reserve(length: number): number {
    const size = recordSize(length);
    const tail = this.pTail;
    const idx = tail & this.mask;
    const toEnd = this.capacity - idx;
    const need = size <= toEnd ? size : toEnd + size;
    if (this.capacity - ((tail - this.pHeadCache) >>> 0) < need) {
      this.refreshHead();
      if (this.capacity - ((tail - this.pHeadCache) >>> 0) < need) {
        if ((Atomics.load(this.words, CLOSED_I) & RING_CLOSED_CONSUMER) !== 0) {
          throw new RingError('ERR_RING_CLOSED', 'The ring is full and its consumer has closed it; no record will be read again.');
        }
        return -1;
      }
    }
    if (size <= toEnd) return tail;
    this.writeHeader(idx, toEnd - RECORD_HEADER_SIZE, RECORD_TYPE_PADDING); // (a) padding to the end of the data area
    return (tail + toEnd) >>> 0;
  }

  /** Whether reserve(length) would succeed now, without writing the padding it may write. */
  private fits(length: number): boolean {
    const size = recordSize(length);
    const idx = this.pTail & this.mask;
    const toEnd = this.capacity - idx;
    const need = size <= toEnd ? size : toEnd + size;
    if (this.capacity - ((this.pTail - this.pHeadCache) >>> 0) >= need) return true;
    this.refreshHead();
    if (this.capacity - ((this.pTail - this.pHeadCache) >>> 0) >= need) return true;
    if ((Atomics.load(this.words, CLOSED_I) & RING_CLOSED_CONSUMER) !== 0) {
      throw new RingError('ERR_RING_CLOSED', 'The ring is full and its consumer has closed it; no record will be read again.');
    }
    return false;
  }

  /** Stages one record: (a) padding if any, (b) payload, (c) header (§5 publication order). */
  private put(type: number, payload: Uint8Array): boolean {
    const length = payload.length;
    const pos = this.reserve(length);
    if (pos < 0) return false;
    const idx = pos & this.mask;
    this.bytes.set(payload, idx + RECORD_HEADER_SIZE);
    this.writeHeader(idx, length, type);
    this.pTail = (pos + recordSize(length)) >>> 0;
    return true;
  }

  /**
   * Stages up to `count` (≥ 1) records of `length` bytes from `src` (arguments validated): returns how many fit.
   * `framed`: the source holds frames of recordSize(length) bytes with the payload at RECORD_HEADER_SIZE (stageFrames);
   * otherwise payloads back to back (stageMany). Works run by run: a run is as many records as fit both before the end
   * of the data area and in the free space; at the end of the data area it writes padding exactly as reserve() would
   * (only when the next record then fits at index 0). Head is refreshed only when the cached free space holds no
   * further record, as reserve() does per record.
   */
  private putMany(type: number, src: Uint8Array, length: number, count: number, framed: boolean): number {
    const size = recordSize(length);
    const capacity = this.capacity;
    // One Int32Array view of the source per call when every payload starts on a 4-byte boundary and is whole words.
    const wordSrc = !framed && (src.byteOffset & 3) === 0 && (length & 3) === 0
      ? new Int32Array(src.buffer, src.byteOffset, (count * length) / I32)
      : null;
    let tail = this.pTail;
    let done = 0;
    let refreshed = false;
    while (done < count) {
      const idx = tail & this.mask;
      const toEnd = capacity - idx;
      const free = capacity - ((tail - this.pHeadCache) >>> 0);
      const fitToEnd = Math.floor(toEnd / size);
      // Records that fit now: none at the end of the data area (padding first) or when the free space is short.
      const n = fitToEnd === 0 ? 0 : Math.min(count - done, fitToEnd, Math.floor(free / size));
      if (n > 0) {
        if (framed) this.copyFrames(idx, type, src, done * size, length, n, size);
        else if (wordSrc !== null) this.copyWords(idx, type, wordSrc, done * (length / I32), length, n, size);
        else this.copyBytes(idx, type, src, done * length, length, n, size);
        done += n;
        tail = (tail + n * size) >>> 0;
      } else if (fitToEnd === 0 && free >= toEnd + size) {
        this.writeHeader(idx, toEnd - RECORD_HEADER_SIZE, RECORD_TYPE_PADDING); // (a) padding to the end of the data area
        tail = (tail + toEnd) >>> 0;
      } else if (!refreshed) {
        this.pTail = tail; // the records copied so far stay staged even if refreshHead() finds the ring corrupt
        this.refreshHead();
        refreshed = true;
      } else {
        break;
      }
    }
    // Only padding with no record after it cannot happen: padding is written only when a record fits at index 0.
    this.pTail = tail;
    if (done === 0 && (Atomics.load(this.words, CLOSED_I) & RING_CLOSED_CONSUMER) !== 0) {
      throw new RingError('ERR_RING_CLOSED', 'The ring is full and its consumer has closed it; no record will be read again.');
    }
    return done;
  }

  /**
   * Copies a run of `n` frames with one set() (the source already has the ring's record layout), then writes every
   * header from the arguments, so whatever the caller left in the frames' header slots never reaches the consumer.
   */
  private copyFrames(idx: number, type: number, src: Uint8Array, srcByte: number, length: number, n: number, size: number): void {
    const bytes = n * size;
    this.bytes.set(srcByte === 0 && bytes === src.length ? src : src.subarray(srcByte, srcByte + bytes), idx);
    const dst = this.dataWords;
    const sizeWords = size / I32;
    let w = idx >>> 2;
    for (let k = 0; k < n; k++) {
      dst[w + LENGTH_W] = length;
      dst[w + TYPE_W] = type;
      w += sizeWords;
    }
  }

  /** Copies `n` records as 32-bit words: per record (b) the payload, then (c) its header (§5 publication order). */
  private copyWords(idx: number, type: number, src: Int32Array, srcWord: number, length: number, n: number, size: number): void {
    const dst = this.dataWords;
    const lengthWords = length / I32;
    const sizeWords = size / I32;
    const headerWords = RECORD_HEADER_SIZE / I32;
    let w = idx >>> 2;
    let s = srcWord;
    for (let k = 0; k < n; k++) {
      const p = w + headerWords;
      for (let j = 0; j < lengthWords; j++) dst[p + j] = src[s + j]!;
      dst[w + LENGTH_W] = length;
      dst[w + TYPE_W] = type;
      w += sizeWords;
      s += lengthWords;
    }
  }

  /**
   * Copies `n` records from a source that is not word-aligned: payloads up to SMALL_COPY bytes with a byte loop (a
   * subarray() and set() per record cost more than that), longer ones with one set() each; then each header.
   */
  private copyBytes(idx: number, type: number, src: Uint8Array, srcByte: number, length: number, n: number, size: number): void {
    const dst = this.bytes;
    let d = idx;
    let s = srcByte;
    for (let k = 0; k < n; k++) {
      const p = d + RECORD_HEADER_SIZE;
      if (length <= SMALL_COPY) for (let j = 0; j < length; j++) dst[p + j] = src[s + j]!;
      else dst.set(src.subarray(s, s + length), p);
      this.writeHeader(d, length, type);
      d += size;
      s += length;
    }
  }

  /** A view of `length` bytes at data index `idx` (the bounds were validated by the caller). */
  private view(idx: number, length: number): Uint8Array {
    return new Uint8Array(this.buffer, this.dataOffset + idx, length);
  }

  private writeHeader(idx: number, length: number, type: number): void {
    const w = idx >>> 2;
    this.headers[w + LENGTH_W] = length;
    this.headers[w + TYPE_W] = type;
  }

  /** §5 steps (d)–(f): store tail, then wake the consumer if it announced that it parks. */
  private publishTail(): void {
    if (this.pTail === this.pPublished) return;
    // (d) edge #1: Atomics.store is seq_cst, at least release. It orders every record byte written above before the
    // new tail; pairs with the acquire load of tail in refreshTail() / ns_ring's consumer (edge #2).
    Atomics.store(this.words, TAIL_I, this.pTail | 0);
    this.pPublished = this.pTail;
    // (e)+(f): the seq_cst store above and the seq_cst load in wakePeer are the full fence of edge #6.
    this.wakePeer(DATA_SEQ_I, CONSUMER_PARKED_I);
  }

  /** Loads and validates head (§3, producer column). */
  private refreshHead(): void {
    // Edge #4: acquire (seq_cst) load; pairs with the release store of head in storeHead() / ns_ring's consumer
    // (edge #3), so the consumer's reads of the records it released finish before the producer reuses their bytes.
    const head = Atomics.load(this.words, HEAD_I) >>> 0;
    if (head % RECORD_ALIGN !== 0) throw this.corrupt(`head ${head} is not a multiple of ${RECORD_ALIGN}`);
    // (head − cached) ≤ (tail − cached) rejects a head that moved backwards and one that passed the published tail
    // (and so (tail − head) ≤ capacity, given that it held for the cached head).
    if (((head - this.pHeadCache) >>> 0) > ((this.pPublished - this.pHeadCache) >>> 0)) {
      throw this.corrupt(`head moved from ${this.pHeadCache} to ${head}, outside [${this.pHeadCache}, tail ${this.pPublished}]`);
    }
    this.pHeadCache = head;
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Consumer internals.

  /**
   * Locates the next user record at cHead, skipping padding (which advances cHead locally), validating every header
   * per §4. Returns false when no record is published. Sets recType/recIdx/recLength/recNext.
   */
  private locate(): boolean {
    for (;;) {
      let avail = (this.cTailCache - this.cHead) >>> 0;
      if (avail === 0) {
        this.refreshTail();
        avail = (this.cTailCache - this.cHead) >>> 0;
        if (avail === 0) return false;
      }
      // Both positions are multiples of RECORD_ALIGN, so a non-zero avail ≥ RECORD_HEADER_SIZE: check 1 of §4 holds.
      const idx = this.cHead & this.mask;
      const w = idx >>> 2;
      // Read each header word once: a hostile peer may change the memory, the checks apply to these values.
      const length = this.headers[w + LENGTH_W]!;
      const type = this.headers[w + TYPE_W]!;
      if (type === RECORD_TYPE_PADDING) {
        // §4 check 3: no producer writes padding at index 0 (every record fits in a whole data area); skipping one
        // would consume the whole ring without delivering anything.
        if (idx === 0) throw this.corrupt(`a padding record at ${this.cHead} starts at data index 0 (it would cover the whole data area)`);
        if (idx + RECORD_HEADER_SIZE + length !== this.capacity || RECORD_HEADER_SIZE + length > avail) {
          throw this.corrupt(`a padding record at ${this.cHead} with length ${length} does not end exactly at the end of the data area within the published bytes`);
        }
        this.cHead = (this.cHead + RECORD_HEADER_SIZE + length) >>> 0;
        continue;
      }
      if (type > RECORD_TYPE_MAX_USER) throw this.corrupt(`the record at ${this.cHead} has the invalid type 0x${hex(type)}`);
      if (length > this.maxPayload) {
        throw this.corrupt(`the record at ${this.cHead} has length ${length}, more than maxPayload ${this.maxPayload}`);
      }
      const size = recordSize(length);
      if (size > avail || idx + size > this.capacity) {
        throw this.corrupt(`the record at ${this.cHead} with length ${length} extends past the published tail or the end of the data area`);
      }
      this.recType = type;
      this.recIdx = idx + RECORD_HEADER_SIZE;
      this.recLength = length;
      this.recNext = (this.cHead + size) >>> 0;
      return true;
    }
  }

  /** Loads and validates tail (§3, consumer column). */
  private refreshTail(): void {
    // Edge #2: acquire (seq_cst) load; pairs with the release store of tail in publishTail() / ns_ring_publish()
    // (edge #1), so every record below this tail is completely written before we read it.
    const tail = Atomics.load(this.words, TAIL_I) >>> 0;
    if (tail % RECORD_ALIGN !== 0) throw this.corrupt(`tail ${tail} is not a multiple of ${RECORD_ALIGN}`);
    const used = (tail - this.cHeadStored) >>> 0;
    if (used > this.capacity) throw this.corrupt(`tail ${tail} is more than capacity ${this.capacity} ahead of head ${this.cHeadStored}`);
    if (used < ((this.cTailCache - this.cHeadStored) >>> 0)) {
      throw this.corrupt(`tail moved backwards from ${this.cTailCache} to ${tail}`);
    }
    this.cTailCache = tail;
  }

  /** Stores cHead as the shared head and wakes a producer that parked for space. */
  private storeHead(): void {
    // Edge #3: seq_cst (at least release) store; the reads of the consumed records happen before it. Pairs with the
    // acquire load of head in refreshHead() / ns_ring's producer (edge #4).
    Atomics.store(this.words, HEAD_I, this.cHead | 0);
    this.cHeadStored = this.cHead;
    this.wakePeer(SPACE_SEQ_I, PRODUCER_PARKED_I);
  }

  private pollReadable(): number {
    this.checkConsumer();
    if (this.peekNext >= 0 || this.locate()) return READY;
    // Seq_cst load of closed; pairs with the Atomics.or in closeProducer(), which follows its last publication, so
    // after seeing the bit one more look at tail finds every record.
    if ((Atomics.load(this.words, CLOSED_I) & RING_CLOSED_PRODUCER) === 0) return NOT_READY;
    return this.locate() ? READY : ENDED;
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Waiting and waking (§5.1).

  /**
   * §5.1 step 7 for the other side: if it announced that it parks, clear the flag (exactly one of the racing wakers
   * wins the exchange, so wake-ups coalesce), bump its sequence word and wake it.
   */
  private wakePeer(seqI: number, parkedI: number): void {
    // This seq_cst load follows the seq_cst store of the position: together they are the full fence of edge #6,
    // pairing with the waiter's store of the flag and load of the position (edge #5).
    if (Atomics.load(this.words, parkedI) !== 0 && Atomics.exchange(this.words, parkedI, 0) !== 0) {
      Atomics.add(this.words, seqI, 1);
      this.parker().wake(this.words, seqI);
    }
  }

  /** The close wake of §5: bump the other side's sequence word; wake it if it may be parked. */
  private wakeForClose(seqI: number, parkedI: number, alsoOwnWaiters: boolean): void {
    Atomics.add(this.words, seqI, 1);
    // A peer that stores its flag after this load re-checks `closed` (step 4) after its fence and does not sleep;
    // a peer that stored it before is seen here. So the futex call is needed only when the flag is set.
    if (Atomics.load(this.words, parkedI) !== 0 || alsoOwnWaiters) this.parker().wake(this.words, seqI);
  }

  /** Wakes this object's own pending waits on `seqI` so that they observe a local close. */
  private wakeSelf(seqI: number): void {
    Atomics.add(this.words, seqI, 1);
    this.parker().wake(this.words, seqI);
  }

  private parker(): Parker {
    return this.givenParker ?? defaultParker();
  }

  /**
   * Waits until `attempt()` returns READY or ENDED, per the wait policy. `attempt` also performs the operation (and
   * throws for closed/corrupt rings), so a successful poll is never lost.
   */
  private async waitUntil(side: Side, attempt: () => number, timeout: number, signal: AbortSignal | undefined): Promise<number> {
    const deadline = timeout === Infinity ? Infinity : performance.now() + timeout;
    const { mode, spinMicros } = this.policy;
    if (mode === 'spin') {
      for (;;) {
        const result = spin(attempt, spinMicros);
        if (result !== NOT_READY) return result;
        if (signal?.aborted) throw aborted(signal);
        if (performance.now() >= deadline) throw timedOut(timeout);
        // 'spin' never parks: let the event loop run, then spin another slice.
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    }
    if (mode === 'park') return this.park(side, attempt, deadline, timeout, signal);
    // 'spin-then-park': one spin of the side's adaptive budget (src/ring/spin-budget.ts), then park.
    const budget = this.spinBudgets[side];
    const started = performance.now();
    const result = spin(attempt, budget.micros);
    if (result !== NOT_READY) {
      budget.afterSpin();
      return result;
    }
    if (signal?.aborted) throw aborted(signal);
    if (performance.now() >= deadline) throw timedOut(timeout);
    const parked = await this.park(side, attempt, deadline, timeout, signal);
    budget.afterPark((performance.now() - started) * 1000);
    return parked;
  }

  /** The park loop of §5.1 (steps 1–5) for `side`. */
  private async park(
    side: Side,
    attempt: () => number,
    deadline: number,
    timeout: number,
    signal: AbortSignal | undefined,
  ): Promise<number> {
    const parker = this.parker(); // ERR_ADDON_MISSING here, before any flag is set
    const seqI = side === CONSUMER ? DATA_SEQ_I : SPACE_SEQ_I;
    const parkedI = side === CONSUMER ? CONSUMER_PARKED_I : PRODUCER_PARKED_I;
    // The parker gets a signal that the region's close can abort too: the caller's own is forwarded to it.
    const controller = signal === undefined ? this.lifetimeController() : this.derivedController(signal);
    for (;;) {
      if (this.regionClosed) throw regionClosedError(); // closed while this wait was between two parks
      const seq = Atomics.load(this.words, seqI); // step 1
      this.parkedCount[side]++;
      // Steps 2–3: seq_cst store of the flag followed by the seq_cst loads inside attempt() form the full fence of
      // edge #5, pairing with the waker's store of the position and load of the flag (edge #6).
      Atomics.store(this.words, parkedI, 1);
      let result: number | undefined;
      let parked: Promise<ParkResult> | undefined;
      const entry: PendingPark = { controller, reject: noop };
      try {
        result = attempt(); // step 4
        if (result === NOT_READY) {
          // -1 asks the parker for no limit; a finite deadline already passed must not turn into -1.
          const remaining = deadline === Infinity ? -1 : Math.ceil(deadline - performance.now());
          if (deadline !== Infinity && remaining <= 0) throw timedOut(timeout);
          parked = new Promise<ParkResult>((resolve, reject) => {
            entry.reject = reject;
            parker.wait(this.words, seqI, seq, remaining, controller.signal).then(resolve, reject); // step 5
          });
          this.parks.add(entry);
          await parked;
        }
      } catch (error) {
        if (parked === undefined) throw error; // from attempt() or the timeout: already typed
        throw this.waitFailure(side, signal, error);
      } finally {
        this.parks.delete(entry);
        // Step 5's clear; with several local waits the last one out clears, so no local waiter is left parked with
        // the flag down (a waker then would not wake it). After the region's close the memory is gone (and the
        // close already cleared the flag).
        if (--this.parkedCount[side] === 0 && !this.regionClosed) Atomics.store(this.words, parkedI, 0);
      }
      if (result !== NOT_READY) return result;
      if (signal?.aborted) throw aborted(signal);
    }
  }

  /** The controller whose signal parked waits without a caller signal hand to the parker. */
  private lifetimeController(): AbortController {
    if (this.lifetime === undefined) {
      this.lifetime = new AbortController();
      setMaxListeners(0, this.lifetime.signal); // one listener per concurrent wait, by design
    }
    return this.lifetime;
  }

  /**
   * The controller for waits with the caller's `signal`, made once per signal (a fresh AbortController per wait
   * costs more than the park itself): aborted when `signal` aborts, or by the region's close.
   */
  private derivedController(signal: AbortSignal): AbortController {
    this.derived ??= new WeakMap();
    let controller = this.derived.get(signal);
    if (controller === undefined) {
      const made = new AbortController();
      setMaxListeners(0, made.signal);
      this.derived.set(signal, made);
      if (signal.aborted) made.abort(signal.reason);
      else signal.addEventListener('abort', () => made.abort(signal.reason), { once: true });
      controller = made;
    }
    return controller;
  }

  private waitFailure(side: Side, signal: AbortSignal | undefined, error: unknown): unknown {
    if (this.regionClosed) return regionClosedError();
    if (side === CONSUMER ? this.consumerClosed : this.producerClosed) return closedError(side);
    if (signal?.aborted) return aborted(signal);
    return error;
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Checks.

  private checkProducer(): void {
    if (this.producerStop) throw this.stopError(PRODUCER);
  }

  private checkConsumer(): void {
    if (this.consumerStop) throw this.stopError(CONSUMER);
    if (this.draining) throw invalidState('A drain() handler must not call consumer methods of the same Ring.');
  }

  /** Why `side` stopped, most fundamental first: the memory is gone, the ring is corrupt, the side was closed. */
  private stopError(side: Side): RingError {
    if (this.regionClosed) return regionClosedError();
    if (this.brokenReason !== undefined) return this.corruptAgain();
    return closedError(side);
  }

  private checkNoClaim(method: string): void {
    if (this.claimPos >= 0) throw invalidState(`${method}() is not allowed while a claim is open; commit() or abort() it first.`);
  }

  private checkRecord(type: number, payload: ArrayBufferView): Uint8Array {
    this.checkNoClaim('Writing a record');
    checkType(type);
    const bytes = toBytes(payload);
    if (bytes.length > this.maxPayload) throw this.tooBig('payload', bytes.length);
    return bytes;
  }

  private tooBig(name: string, length: number): RingError {
    return new RingError(
      'ERR_RING_TOO_BIG',
      `The argument '${name}' asks for ${length} payload bytes; this ring carries at most ${this.maxPayload} per record.`,
    );
  }

  /** Marks the ring unusable (every later producer/consumer call throws) and returns the error to throw. */
  private corrupt(detail: string): RingError {
    this.brokenReason = detail;
    this.producerStop = true;
    this.consumerStop = true;
    return new RingError('ERR_RING_CORRUPT', `The ring's shared memory is corrupt: ${detail}.`);
  }

  private corruptAgain(): RingError {
    return new RingError('ERR_RING_CORRUPT', `The ring was found corrupt earlier (${this.brokenReason}) and can no longer be used.`);
  }
}

/** Polls `attempt` for up to `micros` microseconds (at least once). */
function spin(attempt: () => number, micros: number): number {
  let result = attempt();
  if (result !== NOT_READY || micros === 0) return result;
  const end = performance.now() + micros / 1000;
  for (let i = 1; ; i++) {
    result = attempt();
    if (result !== NOT_READY) return result;
    if ((i & (POLLS_PER_CLOCK_READ - 1)) === 0 && performance.now() >= end) return NOT_READY;
  }
}

function checkBuffer(buffer: unknown): void {
  if (!isAnyArrayBuffer(buffer)) throw invalidArg('buffer', 'an ArrayBuffer or a SharedArrayBuffer', buffer);
  if (buffer.byteLength === 0 && isDetached(buffer)) {
    if (wasClosed(buffer)) {
      throw new RingError('ERR_REGION_CLOSED', "The argument 'buffer' is the buffer of a shared region that was closed; its memory is unmapped.");
    }
    throw detachedArg('buffer');
  }
}

/**
 * Whether `buffer` is detached. Node 20 has no ArrayBuffer.prototype.detached: there a detached buffer has
 * byteLength 0 and cannot back a new view. Callers test byteLength === 0 first, so live buffers never get here.
 */
function isDetached(buffer: ArrayBufferLike): boolean {
  const flag = (buffer as { detached?: unknown }).detached;
  if (typeof flag === 'boolean') return flag;
  if (buffer instanceof SharedArrayBuffer) return false;
  try {
    new Uint8Array(buffer);
    return false;
  } catch {
    return true;
  }
}

function detachedArg(name: string, what = 'is detached'): NativeSidecarError {
  return new NativeSidecarError(
    'ERR_INVALID_ARG',
    `The argument '${name}' must be a view of memory that is still attached; its buffer ${what} (transferred to another thread, or its region closed).`,
  );
}

function isValidCapacity(capacity: number): boolean {
  return Number.isInteger(capacity) && capacity >= RING_MIN_CAPACITY && capacity <= RING_MAX_CAPACITY && (capacity & (capacity - 1)) === 0;
}

function checkCapacity(capacity: unknown): number {
  if (typeof capacity !== 'number' || !isValidCapacity(capacity)) {
    throw invalidArg('capacity', `a power of two from ${RING_MIN_CAPACITY} to ${RING_MAX_CAPACITY}`, capacity);
  }
  return capacity;
}

/** Validates byteOffset (default 0) and that a segment of `capacity` data bytes (0: header only) fits. */
function checkByteOffset(buffer: ArrayBufferLike, byteOffset: unknown, capacity: number): number {
  const offset = byteOffset === undefined ? 0 : checkInteger('byteOffset', byteOffset, 0, Number.MAX_SAFE_INTEGER);
  if (offset % BLOCK_SIZE !== 0) throw invalidArg('byteOffset', `a multiple of ${BLOCK_SIZE}`, offset);
  const need = offset + ringSegmentSize(capacity);
  if (need > buffer.byteLength) {
    throw new NativeSidecarError(
      'ERR_INVALID_ARG',
      `The argument 'buffer' must be at least ${need} bytes long to hold a ring of capacity ${capacity} at byteOffset ${offset}; received ${buffer.byteLength} bytes.`,
    );
  }
  return offset;
}

/** byteOffset of attach(): a multiple of BLOCK_SIZE inside the buffer (ERR_INVALID_ARG); the size is checked by attach. */
function checkAttachOffset(buffer: ArrayBufferLike, byteOffset: unknown): number {
  const offset = byteOffset === undefined ? 0 : checkInteger('byteOffset', byteOffset, 0, Number.MAX_SAFE_INTEGER);
  if (offset % BLOCK_SIZE !== 0) throw invalidArg('byteOffset', `a multiple of ${BLOCK_SIZE}`, offset);
  if (offset > buffer.byteLength) throw invalidArg('byteOffset', `at most the buffer's length ${buffer.byteLength}`, offset);
  return offset;
}

function checkParker(parker: unknown): Parker | undefined {
  if (parker === undefined) return undefined;
  const p = parker as Partial<Parker> | null;
  if (p === null || typeof p !== 'object' || typeof p.wait !== 'function' || typeof p.wake !== 'function') {
    throw invalidArg('parker', 'an object with wait() and wake() methods (a Parker)', parker);
  }
  return parker as Parker;
}

function checkType(type: unknown): void {
  checkInteger('type', type, 0, RECORD_TYPE_MAX_USER);
}

/** `payload` as bytes; ERR_INVALID_ARG naming `name` when it is no view, or a view of a detached buffer. */
function toBytes(payload: unknown, name = 'payload'): Uint8Array {
  if (payload instanceof Uint8Array) {
    // Only an empty view can be detached: the check costs one comparison on the usual path.
    if (payload.length === 0 && isDetached(payload.buffer)) throw detachedArg(name);
    return payload;
  }
  if (ArrayBuffer.isView(payload)) {
    try {
      return new Uint8Array(payload.buffer, payload.byteOffset, payload.byteLength);
    } catch (error) {
      // A detached view: the constructor (or a DataView's byteLength) throws a TypeError.
      if (isDetached(payload.buffer)) throw detachedArg(name);
      throw error;
    }
  }
  throw invalidArg(name, 'an ArrayBufferView such as a Uint8Array', payload);
}

/** stageMany's count: default all whole records of the source; count × recordLength must fit in it. */
function checkCount(count: unknown, recordLength: number, available: number): number {
  if (count === undefined) {
    if (recordLength === 0) throw invalidArg('count', 'given (an integer ≥ 0) when recordLength is 0', count);
    return Math.floor(available / recordLength);
  }
  const limit = recordLength === 0 ? Number.MAX_SAFE_INTEGER : Math.floor(available / recordLength);
  return checkInteger('count', count, 0, limit);
}

function checkWaitOptions(options: unknown): { timeout: number; signal: AbortSignal | undefined } {
  if (options === undefined) return { timeout: Infinity, signal: undefined };
  if (options === null || typeof options !== 'object') throw invalidArg('options', 'an object', options);
  const { timeout, signal } = options as { timeout?: unknown; signal?: unknown };
  if (timeout !== undefined && (typeof timeout !== 'number' || Number.isNaN(timeout) || timeout < 0)) {
    throw invalidArg('options.timeout', 'a number of milliseconds ≥ 0', timeout);
  }
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw invalidArg('options.signal', 'an AbortSignal', signal);
  return { timeout: timeout ?? Infinity, signal };
}

function regionClosedError(cause?: unknown): RingError {
  return new RingError(
    'ERR_REGION_CLOSED',
    "The ring's shared region was closed and its memory unmapped; this Ring can no longer be used.",
    cause === undefined ? undefined : { cause },
  );
}

function noop(): void {}

function closedError(side: Side): RingError {
  const who = side === PRODUCER ? 'producer' : 'consumer';
  return new RingError('ERR_RING_CLOSED', `The ring's ${who} side was closed by this Ring object and cannot be used any more.`);
}

function invalidState(message: string): RingError {
  return new RingError('ERR_INVALID_STATE', message);
}

function aborted(signal: AbortSignal): RingError {
  return new RingError('ERR_ABORTED', 'The wait on the ring was aborted by its signal.', { cause: signal.reason });
}

function timedOut(timeout: number): RingError {
  return new RingError('ERR_TIMEOUT', `The wait on the ring did not finish within the timeout of ${timeout} ms.`);
}

function hex(value: number): string {
  return (value >>> 0).toString(16).toUpperCase().padStart(8, '0');
}
