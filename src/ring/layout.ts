/**
 * The ring byte layout of docs/wire-format.md §2–§4, as named constants.
 * Mirrors native/include/native_sidecar/layout.h; test/layout.test.ts checks both against each other.
 * Offsets are bytes from the start of the ring segment; `*_I32` are the same offsets as Int32Array indices.
 */
export const BLOCK_SIZE = 128;

export const RING_MAGIC = 0x4252534e; // "NSRB"
export const RING_VERSION = 1;
export const RING_HEADER_SIZE = 512;
export const RING_MIN_CAPACITY = 1024;
export const RING_MAX_CAPACITY = 0x40000000;

// Block 0: descriptor, read-only after init.
export const RING_MAGIC_OFFSET = 0;
export const RING_VERSION_OFFSET = 4;
export const RING_HEADER_SIZE_OFFSET = 6;
export const RING_CAPACITY_OFFSET = 8;
export const RING_MAX_PAYLOAD_OFFSET = 12;
export const RING_FLAGS_OFFSET = 16;
// Block 1: producer. Block 2: consumer. Block 3: park/wake words.
export const RING_TAIL_OFFSET = 128;
export const RING_HEAD_OFFSET = 256;
export const RING_DATA_SEQ_OFFSET = 384;
export const RING_CONSUMER_PARKED_OFFSET = 388;
export const RING_SPACE_SEQ_OFFSET = 392;
export const RING_PRODUCER_PARKED_OFFSET = 396;
export const RING_CLOSED_OFFSET = 400;
export const RING_DATA_OFFSET = RING_HEADER_SIZE;

export const RING_CLOSED_PRODUCER = 1;
export const RING_CLOSED_CONSUMER = 2;
/** The defined bits of `closed`; bits 2–31 are reserved (0) and refused at attach (§1 "Reserved values"). */
export const RING_CLOSED_MASK = 3;
/** attach: looks at (head, tail, head) until head holds still, at most this many times (wire-format §7). */
export const RING_ATTACH_TRIES = 64;

export const RECORD_HEADER_SIZE = 8;
export const RECORD_ALIGN = 8;
export const RECORD_LENGTH_OFFSET = 0;
export const RECORD_TYPE_OFFSET = 4;
export const RECORD_TYPE_MAX_USER = 0x7fffffff;
export const RECORD_TYPE_PADDING = 0xffffffff;

/** Bytes a ring segment of `capacity` data bytes occupies. */
export function ringSegmentSize(capacity: number): number {
  return RING_HEADER_SIZE + capacity;
}

/** Largest payload a ring of `capacity` bytes can carry (§4: a record plus the padding before it must fit). */
export function maxPayloadFor(capacity: number): number {
  return capacity / 2 - RECORD_HEADER_SIZE;
}

/** Bytes a record with `length` payload bytes occupies in the data area. */
export function recordSize(length: number): number {
  return (RECORD_HEADER_SIZE + length + RECORD_ALIGN - 1) & ~(RECORD_ALIGN - 1);
}
