/* native_sidecar/buffers.h — the buffer pool of zero-copy loans, docs/wire-format.md §9: the descriptor and segment
 * table of the pool file (init), the receiver's checks (reader: attach, resolve) and the owner's allocator (owner:
 * alloc, lend, free, reclaim). Header-only C11, also compiles as C++17 (extern "C").
 *
 * Trust. The file holds only the descriptor, the segment table and payload bytes; a peer may write any of them at any
 * time. A reader copies the descriptor and every segment entry into its private snapshot (ns_buffers_reader) once,
 * validates the copy, and never reads the shared entry again; resolve() uses only the snapshot. The owner keeps its
 * allocator metadata (free lists, live buffers) in malloc'd private memory, never in the file, so no peer can make it
 * free or hand out bytes that are still in use (§9.1 "Checks the owner makes").
 *
 * Threads. A reader and an owner are process-local and single-threaded: one thread at a time per object. The only
 * shared word with an ordering is segment_count (§9 "Growing"): owner store-release (G3), reader load-acquire (R1).
 * Return codes, never aborts: every function returns NS_BUFFERS_OK or a negative NS_BUFFERS_E* code. */
#ifndef NATIVE_SIDECAR_BUFFERS_H
#define NATIVE_SIDECAR_BUFFERS_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "native_sidecar/layout.h"

#ifdef __linux__
#include <sys/stat.h>
#endif

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "native_sidecar/buffers.h: the wire format is little-endian and this target is not"
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---- constants (src/loans/layout.ts defines the same numbers as BUFFERS_*; test/buffers-layout.test.ts compares) */
#define NS_BUFFERS_MAGIC 0x5042534Eu /* the bytes "NSBP" */
#define NS_BUFFERS_VERSION 1u
#define NS_BUFFERS_HEADER_SIZE 4096u /* segment 0 starts here */
#define NS_BUFFERS_MAX_SEGMENTS 16u  /* entries of the segment table */
#define NS_BUFFERS_GRAIN 64u         /* buffer offsets and rounded sizes are multiples of this (a cache line) */
#define NS_BUFFERS_PAGE 4096u        /* segment offsets and sizes, and reserve_bytes, are multiples of this */
#define NS_BUFFERS_MIN_RESERVE 8192ull
#define NS_BUFFERS_MAX_RESERVE (1ull << 40)
#define NS_BUFFERS_MAX_BUFFERS (1u << 20)
#define NS_BUFFERS_HANDLE_SIZE 24u
#define NS_BUFFERS_RECORD_RETURN 0x42u /* record type of a RETURN record: payload exactly one handle (§9.2) */
#define NS_BUFFERS_MEMFD_NAME "native-sidecar-buffers"
#define NS_BUFFERS_SEGMENT_COUNT_OFFSET 128u
#define NS_BUFFERS_SEGMENT_TABLE_OFFSET 256u
#define NS_BUFFERS_SEGMENT_ENTRY_SIZE 16u

/* ns_buffers_free() flags: who gives the buffer back. */
#define NS_BUFFERS_FROM_OWNER 0u /* the owner frees a buffer it still holds (state OWNED) */
#define NS_BUFFERS_FROM_PEER 1u  /* a RETURN record from the receiver (state LENT); refusals count in invalid_returns */

enum {
  NS_BUFFERS_OK = 0,
  NS_BUFFERS_EMAGIC = -1,      /* magic is not NS_BUFFERS_MAGIC */
  NS_BUFFERS_EVERSION = -2,    /* version is not NS_BUFFERS_VERSION */
  NS_BUFFERS_EHEADERSIZE = -3, /* header_size is not NS_BUFFERS_HEADER_SIZE */
  NS_BUFFERS_EFLAGS = -4,      /* the reserved flags word is not 0 */
  NS_BUFFERS_ELIMITS = -5,     /* max_segments, reserve_bytes or max_buffers out of range (or reserve > mapping) */
  NS_BUFFERS_ESEGMENT = -6,    /* a new segment entry is not contiguous, not page-sized, or past reserve/file end */
  NS_BUFFERS_ECOUNT = -7,      /* segment_count is 0, above max_segments, or below the count already validated */
  NS_BUFFERS_EHANDLE = -8,     /* a handle with reserved bits, generation 0, or a segment that does not exist */
  NS_BUFFERS_EBOUNDS = -9,     /* a handle whose offset/length is misaligned, empty, or outside its segment */
  NS_BUFFERS_ENOSPACE = -10,   /* alloc: nothing fits and the pool cannot grow (table full or reserve used up) */
  NS_BUFFERS_ETOOMANY = -11,   /* alloc: max_buffers buffers are live */
  NS_BUFFERS_EINVAL = -12,     /* a bad argument */
  NS_BUFFERS_ENOTLIVE = -13,   /* lend/free: the handle names no live buffer in the required state */
  NS_BUFFERS_ESYSTEM = -14     /* a system call failed (fstat, or the owner's extend callback); errno may say why */
};

/* A sentence fragment for each code ("the buffer pool ..."). */
static inline const char *ns_buffers_strerror(int code) {
  switch (code) {
    case NS_BUFFERS_OK: return "is valid";
    case NS_BUFFERS_EMAGIC: return "does not start with the buffer pool magic number";
    case NS_BUFFERS_EVERSION: return "has an unsupported format version";
    case NS_BUFFERS_EHEADERSIZE: return "has an unexpected header size";
    case NS_BUFFERS_EFLAGS: return "has reserved flags set";
    case NS_BUFFERS_ELIMITS: return "states limits out of range (segments, reserve or buffers), or a reserve larger than the mapping";
    case NS_BUFFERS_ESEGMENT: return "has a segment entry that is not contiguous, not a positive multiple of 4096, or past the reserve or the file";
    case NS_BUFFERS_ECOUNT: return "states a segment count that is zero, above its limit, or smaller than before";
    case NS_BUFFERS_EHANDLE: return "was given a handle with reserved bits, generation 0, or an unknown segment";
    case NS_BUFFERS_EBOUNDS: return "was given a handle whose offset or length is misaligned, empty or outside its segment";
    case NS_BUFFERS_ENOSPACE: return "has no room for the buffer and cannot grow any further";
    case NS_BUFFERS_ETOOMANY: return "has as many live buffers as its limit allows";
    case NS_BUFFERS_EINVAL: return "was given an invalid argument";
    case NS_BUFFERS_ENOTLIVE: return "holds no live buffer in the required state for that handle";
    case NS_BUFFERS_ESYSTEM: return "could not be accessed or grown because a system call failed";
    default: return "has an unknown problem";
  }
}

/* ---- the file (§9) ---- */
typedef struct ns_buffers_segment_entry {
  uint64_t offset; /* byte offset of the segment in the file */
  uint64_t size;   /* bytes; a multiple of 4096, > 0 */
} ns_buffers_segment_entry;

typedef struct ns_buffers_header {
  /* 0: descriptor (creator, before sharing; read-only afterwards) */
  uint32_t magic;
  uint16_t version;
  uint16_t header_size;
  uint32_t flags;
  uint32_t max_segments;
  uint64_t reserve_bytes;
  uint32_t max_buffers;
  uint32_t creator_pid; /* informational only, never trusted */
  uint8_t reserved0[96];
  /* 128: owner words */
  NS_ATOMIC_U32 segment_count; /* only grows; owner store-release (G3) ↔ reader load-acquire (R1) */
  uint32_t reserved1;
  /* statistics (§8.4's rules): display-only, owner relaxed stores, pair with nothing */
  NS_ATOMIC_U32 allocations;
  NS_ATOMIC_U32 failures;
  NS_ATOMIC_U32 live_buffers;
  NS_ATOMIC_U32 invalid_returns;
  uint64_t live_bytes; /* a gauge; plain store (a torn read only shows a wrong display value) */
  uint8_t reserved2[96];
  /* 256: segment table (owner, append-only: an entry is written once, before the count that covers it) */
  ns_buffers_segment_entry segments[NS_BUFFERS_MAX_SEGMENTS];
  uint8_t reserved3[NS_BUFFERS_HEADER_SIZE - 512];
} ns_buffers_header;

typedef struct ns_buffers_handle {
  uint32_t segment;
  uint32_t generation; /* ≠ 0 */
  uint64_t offset;     /* in its segment; a multiple of 64 */
  uint32_t length;     /* ≥ 1 */
  uint32_t reserved;   /* 0 */
} ns_buffers_handle;

NS_STATIC_ASSERT(sizeof(ns_buffers_header) == NS_BUFFERS_HEADER_SIZE, "pool header is 4096 bytes");
NS_STATIC_ASSERT(offsetof(ns_buffers_header, version) == 4, "version at 4");
NS_STATIC_ASSERT(offsetof(ns_buffers_header, header_size) == 6, "header_size at 6");
NS_STATIC_ASSERT(offsetof(ns_buffers_header, flags) == 8, "flags at 8");
NS_STATIC_ASSERT(offsetof(ns_buffers_header, max_segments) == 12, "max_segments at 12");
NS_STATIC_ASSERT(offsetof(ns_buffers_header, reserve_bytes) == 16, "reserve_bytes at 16");
NS_STATIC_ASSERT(offsetof(ns_buffers_header, max_buffers) == 24, "max_buffers at 24");
NS_STATIC_ASSERT(offsetof(ns_buffers_header, creator_pid) == 28, "creator_pid at 28");
NS_STATIC_ASSERT(offsetof(ns_buffers_header, segment_count) == NS_BUFFERS_SEGMENT_COUNT_OFFSET, "segment_count at 128");
NS_STATIC_ASSERT(offsetof(ns_buffers_header, allocations) == 136, "allocations at 136");
NS_STATIC_ASSERT(offsetof(ns_buffers_header, failures) == 140, "failures at 140");
NS_STATIC_ASSERT(offsetof(ns_buffers_header, live_buffers) == 144, "live_buffers at 144");
NS_STATIC_ASSERT(offsetof(ns_buffers_header, invalid_returns) == 148, "invalid_returns at 148");
NS_STATIC_ASSERT(offsetof(ns_buffers_header, live_bytes) == 152, "live_bytes at 152");
NS_STATIC_ASSERT(offsetof(ns_buffers_header, segments) == NS_BUFFERS_SEGMENT_TABLE_OFFSET, "segment table at 256");
NS_STATIC_ASSERT(sizeof(ns_buffers_segment_entry) == NS_BUFFERS_SEGMENT_ENTRY_SIZE, "segment entry is 16 bytes");
NS_STATIC_ASSERT(sizeof(ns_buffers_handle) == NS_BUFFERS_HANDLE_SIZE, "handle is 24 bytes");
NS_STATIC_ASSERT(offsetof(ns_buffers_handle, offset) == 8, "handle offset at 8");
NS_STATIC_ASSERT(offsetof(ns_buffers_handle, length) == 16, "handle length at 16");

static inline uint64_t ns_buffers_round_up(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }

/* The descriptor limits (§9 table). Shared by init and attach so that the creator cannot write what a reader
 * refuses. */
static inline int ns_buffers_limits_ok(uint32_t max_segments, uint64_t reserve, uint32_t max_buffers) {
  return max_segments >= 1 && max_segments <= NS_BUFFERS_MAX_SEGMENTS && reserve % NS_BUFFERS_PAGE == 0 &&
         reserve >= NS_BUFFERS_MIN_RESERVE && reserve <= NS_BUFFERS_MAX_RESERVE && max_buffers >= 1 &&
         max_buffers <= NS_BUFFERS_MAX_BUFFERS;
}

/* Writes a fresh pool header at `base`: zeroes bytes 0..4095, writes the descriptor, segment[0] = {4096,
 * segment0_bytes}, segment_count = 1. Creator only, before the file is shared (the handover orders these writes
 * before any access by a peer, so plain and relaxed stores suffice). The caller has sized the file to at least
 * 4096 + segment0_bytes. Returns NS_BUFFERS_OK, NS_BUFFERS_EINVAL (base NULL; segment0_bytes 0, not a multiple of
 * 4096, or 4096 + segment0_bytes > reserve) or NS_BUFFERS_ELIMITS (descriptor limits out of range). */
static inline int ns_buffers_init(void *base, uint64_t reserve_bytes, uint32_t max_segments, uint32_t max_buffers,
                                  uint64_t segment0_bytes, uint32_t creator_pid) {
  ns_buffers_header *h = (ns_buffers_header *)base;
  if (base == NULL) return NS_BUFFERS_EINVAL;
  if (!ns_buffers_limits_ok(max_segments, reserve_bytes, max_buffers)) return NS_BUFFERS_ELIMITS;
  if (segment0_bytes == 0 || segment0_bytes % NS_BUFFERS_PAGE != 0 ||
      segment0_bytes > reserve_bytes - NS_BUFFERS_HEADER_SIZE) /* reserve ≥ 8192: no underflow */
    return NS_BUFFERS_EINVAL;
  memset(base, 0, NS_BUFFERS_HEADER_SIZE); /* (void *): the struct holds atomics, so no memset of the struct type */
  h->magic = NS_BUFFERS_MAGIC;
  h->version = (uint16_t)NS_BUFFERS_VERSION;
  h->header_size = (uint16_t)NS_BUFFERS_HEADER_SIZE;
  h->flags = 0;
  h->max_segments = max_segments;
  h->reserve_bytes = reserve_bytes;
  h->max_buffers = max_buffers;
  h->creator_pid = creator_pid;
  h->segments[0].offset = NS_BUFFERS_HEADER_SIZE;
  h->segments[0].size = segment0_bytes;
  NS_ATOMIC_STORE(&h->segment_count, 1u, NS_MO_RELAXED); /* before sharing: the handover orders it */
  return NS_BUFFERS_OK;
}

/* ---- reader (receiver, and the owner's own view) ---- */
typedef struct ns_buffers_reader {
  uint8_t *base;     /* the mapping (reserve bytes of address space) */
  uint64_t mapped;   /* bytes mapped at base */
  int fd;            /* the pool file, for fstat (not owned); -1: the file size is `mapped` */
  uint32_t max_segments, max_buffers; /* the validated descriptor copy */
  uint64_t reserve;
  uint32_t known;    /* entries of the snapshot below (validated, never re-read) */
  uint64_t seg_offset[NS_BUFFERS_MAX_SEGMENTS], seg_size[NS_BUFFERS_MAX_SEGMENTS];
} ns_buffers_reader;

/* The size of the file as this side sees it: fstat when there is an fd (the file cannot shrink: sealed), else the
 * mapping. Returns NS_BUFFERS_OK or NS_BUFFERS_ESYSTEM. */
static inline int ns_buffers_file_size(const ns_buffers_reader *r, uint64_t *size) {
#ifdef __linux__
  if (r->fd >= 0) {
    struct stat st;
    if (fstat(r->fd, &st) != 0) return NS_BUFFERS_ESYSTEM;
    *size = (uint64_t)st.st_size;
    return NS_BUFFERS_OK;
  }
#endif
  *size = r->mapped;
  return NS_BUFFERS_OK;
}

/* Extends the snapshot to the current segment_count (§9 "Growing"). All new entries are validated before any is
 * committed, so a failure leaves the snapshot exactly as it was (NS_BUFFERS_ECOUNT, NS_BUFFERS_ESEGMENT,
 * NS_BUFFERS_ESYSTEM). The reader's thread only. */
static inline int ns_buffers_reader_refresh(ns_buffers_reader *r) {
  const ns_buffers_header *h = (const ns_buffers_header *)r->base;
  uint64_t off[NS_BUFFERS_MAX_SEGMENTS], sz[NS_BUFFERS_MAX_SEGMENTS], file_size, expected;
  uint32_t count, i;
  int rc;
  /* R1: acquire, pairs with the owner's store-release G3 in ns_buffers_grow: the entries below count were written
   * (G2) before it, so we read complete entries. */
  count = NS_ATOMIC_LOAD(&((ns_buffers_header *)r->base)->segment_count, NS_MO_ACQUIRE);
  if (count == 0 || count > r->max_segments || count < r->known) return NS_BUFFERS_ECOUNT;
  if (count == r->known) return NS_BUFFERS_OK;
  rc = ns_buffers_file_size(r, &file_size); /* after R1: covers the owner's ftruncate (G1), which came before G3 */
  if (rc != NS_BUFFERS_OK) return rc;
  expected = r->known == 0 ? NS_BUFFERS_HEADER_SIZE : r->seg_offset[r->known - 1] + r->seg_size[r->known - 1];
  for (i = r->known; i < count; i++) {
    uint64_t o, s;
    memcpy(&o, (const uint8_t *)&h->segments[i].offset, sizeof o); /* each shared entry is read exactly once */
    memcpy(&s, (const uint8_t *)&h->segments[i].size, sizeof s);
    /* written so that nothing overflows: o == expected ≤ reserve, then s ≤ reserve − o */
    if (o != expected || s == 0 || s % NS_BUFFERS_PAGE != 0 || o > r->reserve || s > r->reserve - o ||
        o + s > file_size)
      return NS_BUFFERS_ESEGMENT;
    off[i] = o;
    sz[i] = s;
    expected = o + s;
  }
  for (i = r->known; i < count; i++) {
    r->seg_offset[i] = off[i];
    r->seg_size[i] = sz[i];
  }
  r->known = count;
  return NS_BUFFERS_OK;
}

/* Attaches a reader to the pool mapped at `base` (`mapped_bytes` of address space; reserve_bytes must fit in it).
 * `fd` (not owned, may be -1) gives the file size by fstat. Copies and validates the descriptor in this order:
 * EMAGIC, EVERSION, EHEADERSIZE, EFLAGS, ELIMITS; then takes the first snapshot of the segment table (ECOUNT,
 * ESEGMENT, ESYSTEM). NS_BUFFERS_EINVAL for NULL arguments or a mapping smaller than the header. On failure *r is
 * zeroed (fd -1) and must not be used. Any thread; the reader is then used by one thread at a time. */
static inline int ns_buffers_reader_attach(ns_buffers_reader *r, void *base, uint64_t mapped_bytes, int fd) {
  ns_buffers_header d;
  int rc;
  if (r == NULL) return NS_BUFFERS_EINVAL;
  memset(r, 0, sizeof *r);
  r->fd = -1;
  if (base == NULL || mapped_bytes < NS_BUFFERS_HEADER_SIZE) return NS_BUFFERS_EINVAL;
  memcpy((void *)&d, base, 32); /* the descriptor only: copied once, checked on the copy */
  if (d.magic != NS_BUFFERS_MAGIC) return NS_BUFFERS_EMAGIC;
  if (d.version != NS_BUFFERS_VERSION) return NS_BUFFERS_EVERSION;
  if (d.header_size != NS_BUFFERS_HEADER_SIZE) return NS_BUFFERS_EHEADERSIZE;
  if (d.flags != 0) return NS_BUFFERS_EFLAGS;
  if (!ns_buffers_limits_ok(d.max_segments, d.reserve_bytes, d.max_buffers) || d.reserve_bytes > mapped_bytes)
    return NS_BUFFERS_ELIMITS;
  r->base = (uint8_t *)base;
  r->mapped = mapped_bytes;
  r->fd = fd;
  r->max_segments = d.max_segments;
  r->max_buffers = d.max_buffers;
  r->reserve = d.reserve_bytes;
  r->known = 0;
  rc = ns_buffers_reader_refresh(r); /* count ≥ 1 is required: refresh refuses 0 */
  if (rc != NS_BUFFERS_OK) {
    memset(r, 0, sizeof *r);
    r->fd = -1;
  }
  return rc;
}

/* The receiver's checks of §9.1, in order: reserved ≠ 0 or generation 0 → EHANDLE; segment ≥ max_segments →
 * EHANDLE; segment not in the snapshot → one refresh (its code if it fails), still not → EHANDLE; offset % 64 or
 * length 0 → EBOUNDS; offset > size or length > size − offset → EBOUNDS. On OK, *data = the buffer's first byte in
 * this side's mapping, inside [4096, end of the file). `h` may live in shared memory: it is copied first, so the
 * checked values are the used ones. Nothing is read from the buffer. The reader's thread only. */
static inline int ns_buffers_resolve(ns_buffers_reader *r, const ns_buffers_handle *h, uint8_t **data) {
  ns_buffers_handle c;
  int rc;
  if (r == NULL || h == NULL || data == NULL || r->base == NULL) return NS_BUFFERS_EINVAL;
  memcpy(&c, (const void *)h, sizeof c);
  if (c.reserved != 0 || c.generation == 0) return NS_BUFFERS_EHANDLE;
  if (c.segment >= r->max_segments) return NS_BUFFERS_EHANDLE;
  if (c.segment >= r->known) {
    rc = ns_buffers_reader_refresh(r);
    if (rc != NS_BUFFERS_OK) return rc;
    if (c.segment >= r->known) return NS_BUFFERS_EHANDLE;
  }
  if (c.offset % NS_BUFFERS_GRAIN != 0 || c.length == 0) return NS_BUFFERS_EBOUNDS;
  if (c.offset > r->seg_size[c.segment] || c.length > r->seg_size[c.segment] - c.offset) return NS_BUFFERS_EBOUNDS;
  *data = r->base + r->seg_offset[c.segment] + c.offset;
  return NS_BUFFERS_OK;
}

/* ---- owner (allocator; private memory only) ----
 * Lookups of live buffers are a linear scan of an unsorted array (O(live) per lend/free; swap-remove on free): fine
 * for the few thousand loans a pool holds in practice, and simple enough to mirror exactly in TypeScript. A pool near
 * max_buffers = 2^20 would want a hash keyed by (segment, offset). Free lists are arrays sorted by offset, one per
 * segment (first fit scans them in order, a free inserts by binary search and coalesces). */
#define NS_BUFFERS_STATE_OWNED 1u
#define NS_BUFFERS_STATE_LENT 2u

typedef struct ns_buffers_extent {
  uint64_t offset, size; /* in the segment; multiples of 64 */
} ns_buffers_extent;

typedef struct ns_buffers_live {
  uint32_t segment, generation;
  uint64_t offset;
  uint32_t length, state;
  uint64_t rounded; /* length rounded up to 64: the extent it occupies */
} ns_buffers_live;

typedef struct ns_buffers_owner {
  ns_buffers_reader view; /* the owner's snapshot; `known` is the number of segments it has grown */
  ns_buffers_header *header;
  uint64_t growth_bytes;
  int (*extend)(void *ctx, uint64_t new_file_size);
  void *ctx;
  uint32_t next_generation; /* the next generation to hand out (tests may set it to exercise the wrap) */
  ns_buffers_extent *free_list[NS_BUFFERS_MAX_SEGMENTS];
  uint32_t free_count[NS_BUFFERS_MAX_SEGMENTS], free_cap[NS_BUFFERS_MAX_SEGMENTS];
  ns_buffers_live *live;
  uint32_t live_count, live_cap;
  uint64_t live_bytes;
  uint32_t allocations, failures, invalid_returns; /* private copies of the stats words (never read back) */
} ns_buffers_owner;

/* Inserts [offset, offset+size) into segment s's free list, coalescing with both neighbours. 0 or NS_BUFFERS_ESYSTEM
 * (out of memory; nothing changed). */
static inline int ns_buffers_free_insert(ns_buffers_owner *o, uint32_t s, uint64_t offset, uint64_t size) {
  ns_buffers_extent *e = o->free_list[s];
  uint32_t n = o->free_count[s], lo = 0, hi = n;
  int left, right;
  while (lo < hi) { /* first extent with offset > `offset` */
    uint32_t mid = lo + (hi - lo) / 2;
    if (e[mid].offset > offset) hi = mid;
    else lo = mid + 1;
  }
  left = lo > 0 && e[lo - 1].offset + e[lo - 1].size == offset;
  right = lo < n && offset + size == e[lo].offset;
  if (left && right) {
    e[lo - 1].size += size + e[lo].size;
    memmove(&e[lo], &e[lo + 1], (size_t)(n - lo - 1) * sizeof *e);
    o->free_count[s] = n - 1;
  } else if (left) {
    e[lo - 1].size += size;
  } else if (right) {
    e[lo].offset = offset;
    e[lo].size += size;
  } else {
    if (n == o->free_cap[s]) {
      uint32_t cap = o->free_cap[s] ? o->free_cap[s] * 2 : 16;
      ns_buffers_extent *grown = (ns_buffers_extent *)realloc(e, (size_t)cap * sizeof *e);
      if (grown == NULL) return NS_BUFFERS_ESYSTEM;
      o->free_list[s] = e = grown;
      o->free_cap[s] = cap;
    }
    memmove(&e[lo + 1], &e[lo], (size_t)(n - lo) * sizeof *e);
    e[lo].offset = offset;
    e[lo].size = size;
    o->free_count[s] = n + 1;
  }
  return NS_BUFFERS_OK;
}

static inline void ns_buffers_owner_destroy(ns_buffers_owner *o) {
  uint32_t i;
  if (o == NULL) return;
  for (i = 0; i < NS_BUFFERS_MAX_SEGMENTS; i++) free(o->free_list[i]);
  free(o->live);
  free(o);
}

/* Creates the owner of a fresh pool at `base` (ns_buffers_init'd, `mapped_bytes` mapped, `fd` for fstat or -1):
 * attaches its own reader view (same checks as ns_buffers_reader_attach), and makes every known segment one free
 * extent. `growth_bytes`: a non-zero multiple of 4096 (else NS_BUFFERS_EINVAL), the size of a new segment.
 * `extend(ctx, new_file_size)` grows the file (ftruncate) before a new segment is published; non-zero = failure.
 * On OK *out is the owner (ns_buffers_owner_destroy frees it); on failure *out is NULL. One thread at a time. */
static inline int ns_buffers_owner_attach(ns_buffers_owner **out, void *base, uint64_t mapped_bytes, int fd,
                                          uint64_t growth_bytes, int (*extend)(void *ctx, uint64_t new_file_size),
                                          void *ctx) {
  ns_buffers_owner *o;
  uint32_t i;
  int rc;
  if (out == NULL) return NS_BUFFERS_EINVAL;
  *out = NULL;
  if (base == NULL || extend == NULL || growth_bytes == 0 || growth_bytes % NS_BUFFERS_PAGE != 0)
    return NS_BUFFERS_EINVAL;
  o = (ns_buffers_owner *)calloc(1, sizeof *o);
  if (o == NULL) return NS_BUFFERS_ESYSTEM;
  rc = ns_buffers_reader_attach(&o->view, base, mapped_bytes, fd);
  if (rc != NS_BUFFERS_OK) {
    free(o);
    return rc;
  }
  o->header = (ns_buffers_header *)base;
  o->growth_bytes = growth_bytes;
  o->extend = extend;
  o->ctx = ctx;
  o->next_generation = 1;
  for (i = 0; i < o->view.known; i++) {
    rc = ns_buffers_free_insert(o, i, 0, o->view.seg_size[i]);
    if (rc != NS_BUFFERS_OK) {
      ns_buffers_owner_destroy(o);
      return rc;
    }
  }
  *out = o;
  return NS_BUFFERS_OK;
}

/* Display-only statistics: relaxed/plain stores that pair with nothing (§8.4). */
static inline void ns_buffers_publish_stats(ns_buffers_owner *o) {
  NS_ATOMIC_STORE(&o->header->allocations, o->allocations, NS_MO_RELAXED);
  NS_ATOMIC_STORE(&o->header->failures, o->failures, NS_MO_RELAXED);
  NS_ATOMIC_STORE(&o->header->live_buffers, o->live_count, NS_MO_RELAXED);
  NS_ATOMIC_STORE(&o->header->invalid_returns, o->invalid_returns, NS_MO_RELAXED);
  o->header->live_bytes = o->live_bytes;
}

static inline int ns_buffers_refuse_alloc(ns_buffers_owner *o, int code) {
  o->failures++;
  ns_buffers_publish_stats(o);
  return code;
}

/* Grows the pool by one segment of max(growth_bytes, round_up(length, 4096)) bytes, capped by what is left of the
 * reserve (§9.3). NS_BUFFERS_ENOSPACE (table full, or the cap is below round_up(length, 4096)), NS_BUFFERS_ESYSTEM
 * (extend failed or out of memory; nothing published). */
static inline int ns_buffers_grow(ns_buffers_owner *o, uint64_t length) {
  ns_buffers_reader *v = &o->view;
  uint32_t i = v->known;
  uint64_t end, cap, need, size;
  if (i >= v->max_segments) return NS_BUFFERS_ENOSPACE;
  end = v->seg_offset[i - 1] + v->seg_size[i - 1];
  cap = v->reserve - end;
  need = ns_buffers_round_up(length, NS_BUFFERS_PAGE);
  if (cap < need) return NS_BUFFERS_ENOSPACE;
  size = o->growth_bytes > need ? o->growth_bytes : need;
  if (size > cap) size = cap;
  if (o->free_cap[i] == 0) { /* room for the extent first, so no failure can follow the publication */
    o->free_list[i] = (ns_buffers_extent *)malloc(16 * sizeof(ns_buffers_extent));
    if (o->free_list[i] == NULL) return NS_BUFFERS_ESYSTEM;
    o->free_cap[i] = 16;
  }
  if (o->extend(o->ctx, end + size) != 0) return NS_BUFFERS_ESYSTEM; /* G1: the file covers the segment */
  o->header->segments[i].offset = end;                               /* G2: the entry, written once */
  o->header->segments[i].size = size;
  /* G3: release, pairs with the reader's acquire R1 in ns_buffers_reader_refresh: a reader that sees i + 1 sees the
   * entry of G2 and a file extended by G1. */
  NS_ATOMIC_STORE(&o->header->segment_count, i + 1, NS_MO_RELEASE);
  v->seg_offset[i] = end;
  v->seg_size[i] = size;
  v->known = i + 1;
  o->free_list[i][0].offset = 0;
  o->free_list[i][0].size = size;
  o->free_count[i] = 1;
  return NS_BUFFERS_OK;
}

/* Allocates a buffer of `length` bytes (§9.3): first fit in the lowest segment with a fitting extent, else one new
 * segment. On OK, *h is its handle (state OWNED) and *data (if not NULL) its first byte; on failure *h is all zero
 * and *data NULL. Returns NS_BUFFERS_EINVAL
 * (length 0, NULL h), NS_BUFFERS_ETOOMANY (max_buffers live), NS_BUFFERS_ENOSPACE, NS_BUFFERS_ESYSTEM; ETOOMANY and
 * ENOSPACE count in failures. The owner's thread only. */
static inline int ns_buffers_alloc(ns_buffers_owner *o, uint32_t length, ns_buffers_handle *h, uint8_t **data) {
  uint64_t rounded;
  uint32_t s, k;
  ns_buffers_live *b;
  int rc;
  if (h != NULL) memset(h, 0, sizeof *h); /* on every failure: an all-zero handle (generation 0: never valid) */
  if (data != NULL) *data = NULL;
  if (o == NULL || h == NULL || length == 0) return NS_BUFFERS_EINVAL;
  if (o->live_count >= o->view.max_buffers) return ns_buffers_refuse_alloc(o, NS_BUFFERS_ETOOMANY);
  if (o->live_count == o->live_cap) {
    uint32_t cap = o->live_cap ? o->live_cap * 2 : 64;
    ns_buffers_live *grown = (ns_buffers_live *)realloc(o->live, (size_t)cap * sizeof *grown);
    if (grown == NULL) return NS_BUFFERS_ESYSTEM;
    o->live = grown;
    o->live_cap = cap;
  }
  rounded = ns_buffers_round_up(length, NS_BUFFERS_GRAIN);
  for (s = 0; s < o->view.known; s++) {
    for (k = 0; k < o->free_count[s]; k++)
      if (o->free_list[s][k].size >= rounded) goto found;
  }
  rc = ns_buffers_grow(o, length);
  if (rc == NS_BUFFERS_ENOSPACE) return ns_buffers_refuse_alloc(o, rc);
  if (rc != NS_BUFFERS_OK) return rc;
  s = o->view.known - 1;
  k = 0;
found:
  b = &o->live[o->live_count];
  b->segment = s;
  b->offset = o->free_list[s][k].offset;
  b->length = length;
  b->rounded = rounded;
  b->state = NS_BUFFERS_STATE_OWNED;
  b->generation = o->next_generation;
  o->next_generation = o->next_generation == UINT32_MAX ? 1u : o->next_generation + 1; /* wrap skips 0 */
  if (o->free_list[s][k].size == rounded) {
    memmove(&o->free_list[s][k], &o->free_list[s][k + 1], (size_t)(o->free_count[s] - k - 1) * sizeof(ns_buffers_extent));
    o->free_count[s]--;
  } else {
    o->free_list[s][k].offset += rounded;
    o->free_list[s][k].size -= rounded;
  }
  o->live_count++;
  o->live_bytes += rounded;
  o->allocations++;
  ns_buffers_publish_stats(o);
  h->segment = b->segment;
  h->generation = b->generation;
  h->offset = b->offset;
  h->length = b->length;
  h->reserved = 0;
  if (data) *data = o->view.base + o->view.seg_offset[s] + b->offset;
  return NS_BUFFERS_OK;
}

/* The live buffer whose segment, offset, length and generation all equal the handle's, or -1. Linear (see above). */
static inline long ns_buffers_find(const ns_buffers_owner *o, const ns_buffers_handle *h) {
  ns_buffers_handle c;
  uint32_t i;
  memcpy(&c, (const void *)h, sizeof c); /* the handle may sit in a ring: one copy, compared as copied */
  for (i = 0; i < o->live_count; i++) {
    const ns_buffers_live *b = &o->live[i];
    if (b->segment == c.segment && b->offset == c.offset && b->length == c.length && b->generation == c.generation)
      return (long)i;
  }
  return -1;
}

/* Marks an OWNED buffer LENT (the owner is about to publish its handle to the receiver). NS_BUFFERS_ENOTLIVE if the
 * handle names no live OWNED buffer with equal fields (nothing changes), NS_BUFFERS_EINVAL for NULL. Owner thread. */
static inline int ns_buffers_lend(ns_buffers_owner *o, const ns_buffers_handle *h) {
  long i;
  if (o == NULL || h == NULL) return NS_BUFFERS_EINVAL;
  i = ns_buffers_find(o, h);
  if (i < 0 || o->live[i].state != NS_BUFFERS_STATE_OWNED) return NS_BUFFERS_ENOTLIVE;
  o->live[i].state = NS_BUFFERS_STATE_LENT;
  return NS_BUFFERS_OK;
}

static inline void ns_buffers_release_at(ns_buffers_owner *o, uint32_t i) {
  ns_buffers_live *b = &o->live[i];
  /* the free list has room: an extent split or merge never needs more than the entries it had, except a hole
   * between two extents, which inserts one; on out-of-memory the extent is leaked (bytes lost, never handed out
   * twice) rather than the buffer kept live */
  (void)ns_buffers_free_insert(o, b->segment, b->offset, b->rounded);
  o->live_bytes -= b->rounded;
  o->live[i] = o->live[o->live_count - 1];
  o->live_count--;
}

/* Frees a buffer. flags NS_BUFFERS_FROM_OWNER: it must be live and OWNED; NS_BUFFERS_FROM_PEER (a RETURN record):
 * live and LENT, and a refusal counts in invalid_returns. Fields must all equal. A refusal (NS_BUFFERS_ENOTLIVE)
 * frees nothing. Other flags or NULL: NS_BUFFERS_EINVAL. Owner thread; after a FROM_PEER free the caller has done the
 * acquire of the return ring's tail (§9.2), so the receiver's accesses came before. */
static inline int ns_buffers_free(ns_buffers_owner *o, const ns_buffers_handle *h, unsigned flags) {
  long i;
  uint32_t want;
  if (o == NULL || h == NULL || (flags != NS_BUFFERS_FROM_OWNER && flags != NS_BUFFERS_FROM_PEER))
    return NS_BUFFERS_EINVAL;
  want = flags == NS_BUFFERS_FROM_PEER ? NS_BUFFERS_STATE_LENT : NS_BUFFERS_STATE_OWNED;
  i = ns_buffers_find(o, h);
  if (i < 0 || o->live[i].state != want) {
    if (flags == NS_BUFFERS_FROM_PEER) {
      o->invalid_returns++;
      ns_buffers_publish_stats(o);
    }
    return NS_BUFFERS_ENOTLIVE;
  }
  ns_buffers_release_at(o, (uint32_t)i);
  ns_buffers_publish_stats(o);
  return NS_BUFFERS_OK;
}

/* Frees every LENT buffer (the receiver died, §9.2) and returns how many. Owner thread. */
static inline uint32_t ns_buffers_reclaim_lent(ns_buffers_owner *o) {
  uint32_t i = 0, n = 0;
  if (o == NULL) return 0;
  while (i < o->live_count) {
    if (o->live[i].state == NS_BUFFERS_STATE_LENT) {
      ns_buffers_release_at(o, i); /* swap-remove: index i now holds another buffer, look at it again */
      n++;
    } else {
      i++;
    }
  }
  ns_buffers_publish_stats(o);
  return n;
}

#ifdef __cplusplus
}
#endif

#endif /* NATIVE_SIDECAR_BUFFERS_H */
