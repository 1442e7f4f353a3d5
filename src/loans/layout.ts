/**
 * The buffer pool of docs/wire-format.md §9, as named constants. Mirrors native/include/native_sidecar/buffers.h;
 * test/buffers-layout.test.ts compares every name with the C program native/test/buffers_dump.c.
 */
export const BUFFERS_MAGIC = 0x5042534e; // "NSBP"
export const BUFFERS_VERSION = 1;
/** Bytes of descriptor, owner words and segment table; segment 0 starts here. */
export const BUFFERS_HEADER_SIZE = 4096;
/** Entries of the segment table (the most `max_segments` may say). */
export const BUFFERS_MAX_SEGMENTS = 16;
/** Allocation grain and the alignment of every buffer's offset. */
export const BUFFERS_GRAIN = 64;
/** Segment sizes, `reserve_bytes` and growth steps are multiples of this. */
export const BUFFERS_PAGE = 4096;
export const BUFFERS_MIN_RESERVE = 8192;
export const BUFFERS_MAX_RESERVE = 2 ** 40;
/** The most `max_buffers` may say. */
export const BUFFERS_MAX_BUFFERS = 2 ** 20;
export const BUFFERS_HANDLE_SIZE = 24;
/** Record type of a RETURN record (payload: one handle), on whichever ring goes from receiver to owner. */
export const BUFFERS_RECORD_RETURN = 0x42;
/** The name of a pool's memfd (`/proc/<pid>/fd/<n>` → `/memfd:native-sidecar-buffers (deleted)`). */
export const BUFFERS_MEMFD_NAME = 'native-sidecar-buffers';

// descriptor (creator-written, block 0)
export const BUFFERS_MAGIC_OFFSET = 0;
export const BUFFERS_VERSION_OFFSET = 4;
export const BUFFERS_HEADER_SIZE_OFFSET = 6;
export const BUFFERS_FLAGS_OFFSET = 8;
export const BUFFERS_MAX_SEGMENTS_OFFSET = 12;
export const BUFFERS_RESERVE_BYTES_OFFSET = 16;
export const BUFFERS_MAX_BUFFERS_OFFSET = 24;
export const BUFFERS_CREATOR_PID_OFFSET = 28;
// owner words (block 1)
export const BUFFERS_SEGMENT_COUNT_OFFSET = 128;
export const BUFFERS_ALLOCATIONS_OFFSET = 136;
export const BUFFERS_FAILURES_OFFSET = 140;
export const BUFFERS_LIVE_BUFFERS_OFFSET = 144;
export const BUFFERS_INVALID_RETURNS_OFFSET = 148;
export const BUFFERS_LIVE_BYTES_OFFSET = 152;
// segment table: entry i at 256 + 16 i = {offset u64, size u64}
export const BUFFERS_SEGMENT_TABLE_OFFSET = 256;
export const BUFFERS_SEGMENT_ENTRY_SIZE = 16;

// handle (§9.1)
export const HANDLE_SEGMENT_OFFSET = 0;
export const HANDLE_GENERATION_OFFSET = 4;
export const HANDLE_OFFSET_OFFSET = 8;
export const HANDLE_LENGTH_OFFSET = 16;
export const HANDLE_RESERVED_OFFSET = 20;

// return codes, the same numbers as buffers.h (the TypeScript classes map them to errors at their boundary)
export const BUFFERS_OK = 0;
export const BUFFERS_EMAGIC = -1;
export const BUFFERS_EVERSION = -2;
export const BUFFERS_EHEADERSIZE = -3;
export const BUFFERS_EFLAGS = -4;
export const BUFFERS_ELIMITS = -5;
export const BUFFERS_ESEGMENT = -6;
export const BUFFERS_ECOUNT = -7;
export const BUFFERS_EHANDLE = -8;
export const BUFFERS_EBOUNDS = -9;
export const BUFFERS_ENOSPACE = -10;
export const BUFFERS_ETOOMANY = -11;
export const BUFFERS_EINVAL = -12;
export const BUFFERS_ENOTLIVE = -13;
export const BUFFERS_ESYSTEM = -14;

// who frees a buffer (buffers.h ns_buffers_free flags; PoolOwner.free() is FROM_OWNER, acceptReturn() FROM_PEER)
export const BUFFERS_FROM_OWNER = 0;
export const BUFFERS_FROM_PEER = 1;
