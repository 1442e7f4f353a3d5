/**
 * The region header of docs/wire-format.md §1, as named constants.
 * Mirrors native/include/native_sidecar/layout.h; test/layout.test.ts checks both against each other.
 */
export const REGION_MAGIC = 0x4752534e; // "NSRG"
/** The name of every anonymous region's memfd: `/proc/<pid>/fd/<n>` links to `/memfd:native-sidecar (deleted)` (§8.4). */
export const REGION_MEMFD_NAME = 'native-sidecar';
export const REGION_VERSION = 1;
export const REGION_HEADER_SIZE = 256;
export const REGION_MAX_SEGMENTS = 12;
export const REGION_MIN_SIZE = 4096;
export const REGION_MAX_SIZE = 0x80000000;
export const SEGMENT_ALIGN = 128;

export const REGION_MAGIC_OFFSET = 0;
export const REGION_VERSION_OFFSET = 4;
export const REGION_HEADER_SIZE_OFFSET = 6;
export const REGION_SIZE_OFFSET = 8;
export const REGION_SEGMENT_COUNT_OFFSET = 12;
export const REGION_FLAGS_OFFSET = 16;
export const REGION_CREATOR_PID_OFFSET = 20;
export const REGION_SEGMENTS_OFFSET = 64;
export const SEGMENT_ENTRY_SIZE = 16;
export const SEGMENT_KIND_OFFSET = 0;
export const SEGMENT_OFFSET_OFFSET = 4;
export const SEGMENT_SIZE_OFFSET = 8;

export const SEGMENT_KIND_RING = 1;
export const SEGMENT_KIND_SIDECAR_CONTROL = 2;
export const SEGMENT_KIND_USER_MIN = 0x10000;
