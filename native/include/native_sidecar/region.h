/* native_sidecar/region.h — the region header of docs/wire-format.md §1: initialise, validate, allocate segments,
 * and map a region received as a file descriptor. Header-only C11, also compiles as C++17.
 *
 * Used by the addon (native/addon/region.cc) and by native programs that receive a region (native/test/ring_peer.c,
 * the sidecar executable).
 *
 * Threading and trust. A region header is written by its creator before the region is shared and is read-only
 * afterwards (§1). A reader cannot trust that: a buggy or hostile peer may write the header at any time. So
 * ns_region_validate() copies the header into a caller-owned snapshot and validates the snapshot; callers use the
 * snapshot's segment table from then on and never re-read the shared table (no check-then-use race). */
#ifndef NATIVE_SIDECAR_REGION_H
#define NATIVE_SIDECAR_REGION_H

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "native_sidecar/layout.h"

#ifdef __linux__
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#endif

/* The reserved flags word of the header is not 0 (§1 "Reserved values"). Its own enum, numbered after the codes of
 * the sealed-regions work (-12 … -17), so that the two sets merge without renumbering. */
enum { NS_REGION_EFLAGS = -18 };

/* Return codes. Every code below 0 except NS_REGION_ESYSTEM means "this memory is not a valid region"
 * (ERR_REGION_INVALID at the JS boundary) or, for the allocation functions, that the request does not fit. */
enum {
  NS_REGION_OK = 0,
  NS_REGION_EMAGIC = -1,       /* magic is not NS_REGION_MAGIC */
  NS_REGION_EVERSION = -2,     /* version is not NS_REGION_VERSION */
  NS_REGION_EHEADERSIZE = -3,  /* header_size is not NS_REGION_HEADER_SIZE */
  NS_REGION_ESIZE = -4,        /* region_size differs from the mapping, or is out of [MIN, MAX] */
  NS_REGION_ECOUNT = -5,       /* segment_count > NS_REGION_MAX_SEGMENTS */
  NS_REGION_ESEGMENT = -6,     /* a segment has kind 0, a bad offset, size 0, or lies outside the region */
  NS_REGION_EOVERLAP = -7,     /* two segments overlap */
  NS_REGION_ETABLEFULL = -8,   /* ns_region_add_segment: all NS_REGION_MAX_SEGMENTS entries are used */
  NS_REGION_ENOSPACE = -9,     /* ns_region_add_segment: the segment does not fit in the rest of the region */
  NS_REGION_EINVAL = -10,      /* a bad argument (kind 0, size 0, size out of range) */
  NS_REGION_ESYSTEM = -11      /* a system call failed; errno says why */
};

/* A sentence fragment for each code, for error messages ("the region header ..."). */
static inline const char *ns_region_strerror(int code) {
  switch (code) {
    case NS_REGION_OK: return "is valid";
    case NS_REGION_EFLAGS: return "has reserved flags set";
    case NS_REGION_EMAGIC: return "does not start with the region magic number";
    case NS_REGION_EVERSION: return "has an unsupported format version";
    case NS_REGION_EHEADERSIZE: return "has an unexpected header size";
    case NS_REGION_ESIZE: return "states a region size that differs from the size of the mapping or is out of range";
    case NS_REGION_ECOUNT: return "states more segments than the table holds";
    case NS_REGION_ESEGMENT: return "has a segment with kind 0 or a reserved kind, a misaligned offset, size 0, or bytes outside the region";
    case NS_REGION_EOVERLAP: return "has two segments that overlap";
    case NS_REGION_ETABLEFULL: return "has no free segment table entry";
    case NS_REGION_ENOSPACE: return "has not enough free space left for the segment";
    case NS_REGION_EINVAL: return "was given an invalid argument";
    case NS_REGION_ESYSTEM: return "could not be accessed because a system call failed";
    default: return "has an unknown problem";
  }
}

static inline uint64_t ns_region_align_up(uint64_t value, uint64_t align) { return (value + align - 1) / align * align; }

/* Writes a fresh header for an empty region of `size` bytes at `mem` (which must be at least NS_REGION_HEADER_SIZE
 * bytes and zero-filled or about to be: every reserved byte and the segment table are written as zero).
 * Creator only, before the region is shared. */
static inline int ns_region_init(void *mem, uint64_t size, uint32_t creator_pid) {
  ns_region_header h;
  if (mem == NULL || size < NS_REGION_MIN_SIZE || size > NS_REGION_MAX_SIZE) return NS_REGION_EINVAL;
  memset(&h, 0, sizeof h);
  h.magic = NS_REGION_MAGIC;
  h.version = (uint16_t)NS_REGION_VERSION;
  h.header_size = (uint16_t)NS_REGION_HEADER_SIZE;
  h.region_size = (uint32_t)size;
  h.segment_count = 0;
  h.flags = 0;
  h.creator_pid = creator_pid;
  memcpy(mem, &h, sizeof h); /* little-endian host (x86-64, arm64): the struct is the wire image */
  return NS_REGION_OK;
}

/* A segment kind this version defines: ring, sidecar control block, or user-defined (≥ NS_SEGMENT_KIND_USER_MIN).
 * 0 is invalid and 3 … 0xFFFF are reserved for later versions (§1 "Reserved values"). */
static inline int ns_region_kind_ok(uint32_t kind) {
  return kind == NS_SEGMENT_KIND_RING || kind == NS_SEGMENT_KIND_SIDECAR_CONTROL || kind >= NS_SEGMENT_KIND_USER_MIN;
}

/* Checks one segment entry against the region size (§1): a defined kind, offset a multiple of NS_SEGMENT_ALIGN and
 * ≥ NS_REGION_HEADER_SIZE, size > 0, entirely inside the region. */
static inline int ns_region_segment_ok(const ns_segment_entry *s, uint64_t region_size) {
  return ns_region_kind_ok(s->kind) && s->offset % NS_SEGMENT_ALIGN == 0 && s->offset >= NS_REGION_HEADER_SIZE && s->size > 0 &&
         (uint64_t)s->offset + (uint64_t)s->size <= region_size;
}

/* Validates a snapshot of the header (§1 "A region is valid when"). `mapped_size` is the size of the mapping the
 * reader obtained (fstat). On failure, *bad_segment (if not NULL) is the index of the offending segment or -1. */
static inline int ns_region_validate_header(const ns_region_header *h, uint64_t mapped_size, int *bad_segment) {
  uint32_t i, j;
  if (bad_segment) *bad_segment = -1;
  if (h->magic != NS_REGION_MAGIC) return NS_REGION_EMAGIC;
  if (h->version != NS_REGION_VERSION) return NS_REGION_EVERSION;
  if (h->header_size != NS_REGION_HEADER_SIZE) return NS_REGION_EHEADERSIZE;
  if (h->region_size != mapped_size || h->region_size < NS_REGION_MIN_SIZE || h->region_size > NS_REGION_MAX_SIZE)
    return NS_REGION_ESIZE;
  if (h->segment_count > NS_REGION_MAX_SEGMENTS) return NS_REGION_ECOUNT;
  if (h->flags != 0) return NS_REGION_EFLAGS; /* reserved: a later version's meaning must not be misread (§1) */
  for (i = 0; i < h->segment_count; i++) {
    const ns_segment_entry *a = &h->segments[i];
    if (!ns_region_segment_ok(a, h->region_size)) {
      if (bad_segment) *bad_segment = (int)i;
      return NS_REGION_ESEGMENT;
    }
    for (j = 0; j < i; j++) {
      const ns_segment_entry *b = &h->segments[j];
      /* both lie inside the region (checked above), so these sums do not overflow 64 bits */
      if ((uint64_t)a->offset < (uint64_t)b->offset + b->size && (uint64_t)b->offset < (uint64_t)a->offset + a->size) {
        if (bad_segment) *bad_segment = (int)i;
        return NS_REGION_EOVERLAP;
      }
    }
  }
  return NS_REGION_OK;
}

/* Copies the header at `mem` (a mapping of `mapped_size` bytes, shared with peers that may write it at any time)
 * into *snapshot and validates the copy. Use only the snapshot afterwards. */
static inline int ns_region_validate(const void *mem, uint64_t mapped_size, ns_region_header *snapshot,
                                     int *bad_segment) {
  if (bad_segment) *bad_segment = -1;
  if (mem == NULL || snapshot == NULL) return NS_REGION_EINVAL;
  if (mapped_size < NS_REGION_HEADER_SIZE) return NS_REGION_ESIZE;
  memcpy(snapshot, mem, sizeof *snapshot);
  return ns_region_validate_header(snapshot, mapped_size, bad_segment);
}

/* Bump-allocates a segment of `size` bytes of `kind` after the last one, at the next multiple of NS_SEGMENT_ALIGN,
 * and appends its entry to the table. Creator only, before the region is shared; the header at `mem` must be valid.
 * On success *index_out / *offset_out (if not NULL) tell where it went. Does not touch the segment's bytes. */
static inline int ns_region_add_segment(void *mem, uint32_t kind, uint32_t size, uint32_t *index_out,
                                        uint32_t *offset_out) {
  ns_region_header h;
  uint64_t next = NS_REGION_HEADER_SIZE;
  uint32_t i;
  int rc;
  if (mem == NULL || !ns_region_kind_ok(kind) || size == 0) return NS_REGION_EINVAL;
  memcpy(&h, mem, sizeof h);
  rc = ns_region_validate_header(&h, h.region_size, NULL);
  if (rc != NS_REGION_OK) return rc;
  if (h.segment_count >= NS_REGION_MAX_SEGMENTS) return NS_REGION_ETABLEFULL;
  for (i = 0; i < h.segment_count; i++) {
    uint64_t end = (uint64_t)h.segments[i].offset + h.segments[i].size;
    if (end > next) next = end;
  }
  next = ns_region_align_up(next, NS_SEGMENT_ALIGN);
  if (next + size > h.region_size) return NS_REGION_ENOSPACE;
  h.segments[h.segment_count].kind = kind;
  h.segments[h.segment_count].offset = (uint32_t)next;
  h.segments[h.segment_count].size = size;
  h.segments[h.segment_count].reserved = 0;
  if (index_out) *index_out = h.segment_count;
  if (offset_out) *offset_out = (uint32_t)next;
  h.segment_count++;
  memcpy(mem, &h, sizeof h);
  return NS_REGION_OK;
}

#ifdef __linux__
/* A region mapped by a native program. `header` is the validated snapshot; use its segment table. */
typedef struct ns_region_map {
  uint8_t *base;
  size_t size;
  ns_region_header header;
} ns_region_map;

/* Maps the region behind `fd` (MAP_SHARED, read-write) and validates its header. Does not take ownership of `fd`
 * (the mapping stays valid after the caller closes it). On NS_REGION_ESYSTEM, errno says why; on any failure nothing
 * stays mapped. */
static inline int ns_region_map_fd(int fd, ns_region_map *out) {
  struct stat st;
  void *base;
  int rc, saved;
  memset(out, 0, sizeof *out);
  if (fstat(fd, &st) != 0) return NS_REGION_ESYSTEM;
  if (!S_ISREG(st.st_mode) || st.st_size < (off_t)NS_REGION_MIN_SIZE || st.st_size > (off_t)NS_REGION_MAX_SIZE)
    return NS_REGION_ESIZE;
  base = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (base == MAP_FAILED) return NS_REGION_ESYSTEM;
  rc = ns_region_validate(base, (uint64_t)st.st_size, &out->header, NULL);
  if (rc != NS_REGION_OK) {
    saved = errno;
    munmap(base, (size_t)st.st_size);
    errno = saved;
    return rc;
  }
  out->base = (uint8_t *)base;
  out->size = (size_t)st.st_size;
  return NS_REGION_OK;
}

/* Returns a pointer to segment `index` if it exists and has `kind` (0 = any kind), else NULL. *size_out gets its size. */
static inline void *ns_region_segment(const ns_region_map *m, uint32_t index, uint32_t kind, size_t *size_out) {
  const ns_segment_entry *s;
  if (index >= m->header.segment_count) return NULL;
  s = &m->header.segments[index];
  if (kind != 0 && s->kind != kind) return NULL;
  if (size_out) *size_out = s->size;
  return m->base + s->offset;
}

static inline void ns_region_unmap(ns_region_map *m) {
  if (m->base != NULL) munmap(m->base, m->size);
  m->base = NULL;
  m->size = 0;
}
#endif /* __linux__ */

#endif /* NATIVE_SIDECAR_REGION_H */
