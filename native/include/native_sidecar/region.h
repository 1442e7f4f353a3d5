/* native_sidecar/region.h — the region header of docs/wire-format.md §1: initialise, validate, allocate segments,
 * and map a region received as a file descriptor. Header-only C11, also compiles as C++17.
 *
 * Used by the addon (native/addon/region.cc) and by native programs that receive a region (native/test/ring_peer.c,
 * the sidecar executable).
 *
 * Threading and trust. A region header is written by its creator before the region is shared and is read-only
 * afterwards (§1). A reader cannot trust that: a buggy or hostile peer may write the header at any time. So
 * ns_region_validate() copies the header into a caller-owned snapshot and validates the snapshot; callers use the
 * snapshot's segment table from then on and never re-read the shared table (no check-then-use race).
 *
 * What may be mapped (§1.1): ns_region_map_fd() maps only a memfd sealed against shrinking, opened read-write
 * (ns_region_check_fd); a file that can shrink under a mapping turns accesses into SIGBUS. NS_REGION_TRUST_PEER
 * (ns_region_map_fd_flags) skips the seal checks for callers that accept that risk. The socket handover of §1.2
 * (ns_region_send_fd, ns_region_recv_fd, ns_peer_cred, ns_peer_uid_allowed) needs _GNU_SOURCE (struct ucred). */
#ifndef NATIVE_SIDECAR_REGION_H
#define NATIVE_SIDECAR_REGION_H

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "native_sidecar/layout.h"

#ifdef __linux__
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <unistd.h>
#endif

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
  NS_REGION_ESYSTEM = -11,     /* a system call failed; errno says why */
  /* ns_region_check_fd / ns_region_map_fd: the file behind the fd may not be mapped (docs/wire-format.md §1) */
  NS_REGION_ENOTREG = -12,     /* not a regular file (a pipe, socket, device, directory) */
  NS_REGION_EREADONLY = -13,   /* the fd was opened read-only; a region is mapped read-write */
  NS_REGION_ENOSEALS = -14,    /* the file does not support seals (F_GET_SEALS fails): not a memfd */
  NS_REGION_EUNSEALED = -15,   /* the file is not sealed against shrinking (F_SEAL_SHRINK) */
  /* the handover over a Unix domain socket (§1.2) */
  NS_REGION_ENOFD = -16,       /* ns_region_recv_fd: the peer closed the connection without sending a descriptor */
  NS_REGION_EPEER = -17,       /* the peer's uid (SO_PEERCRED) is not allowed */
  NS_REGION_EFLAGS = -18,      /* the reserved flags word of the header is not 0 (§1 "Reserved values") */
  NS_REGION_EFDCOUNT = -19     /* ns_region_recv_fd: the message carried more than one descriptor (all were closed) */
};

/* Flags of ns_region_check_fd / ns_region_map_fd_flags. */
enum {
  /* Skip the seal checks (NS_REGION_ENOSEALS, NS_REGION_EUNSEALED): the caller trusts every process that can resize
   * the file (its creator, anyone who can open its name) never to shrink it. If one does, touching the lost pages
   * raises SIGBUS, which kills the process. Needed for named shm objects, which cannot be sealed. */
  NS_REGION_TRUST_PEER = 1
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
    case NS_REGION_ENOTREG: return "is not a regular file (memfd or shm object)";
    case NS_REGION_EREADONLY: return "was opened read-only, and a region is mapped read-write";
    case NS_REGION_ENOSEALS:
      return "does not support seals, so it is not a memfd and could be shrunk under the mapping (SIGBUS)";
    case NS_REGION_EUNSEALED:
      return "is not sealed against shrinking (F_SEAL_SHRINK), so its creator could shrink it under the mapping (SIGBUS)";
    case NS_REGION_ENOFD: return "was not sent: the peer closed the connection or answered without a file descriptor";
    case NS_REGION_EFDCOUNT: return "was refused: the peer sent more than one file descriptor (all of them were closed)";
    case NS_REGION_EPEER: return "was not exchanged: the peer runs as a user that is not allowed";
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

#ifndef F_SEAL_SHRINK /* old libc headers: the values are the kernel's (include/uapi/linux/fcntl.h) */
#define F_GET_SEALS 1034
#define F_SEAL_SHRINK 0x0002
#endif

/* The seals a region's file must carry before it may be mapped without NS_REGION_TRUST_PEER. Shrinking is what
 * turns a peer's accesses into SIGBUS; growing is harmless to a mapping, so F_SEAL_GROW is not required. */
#define NS_REGION_REQUIRED_SEALS F_SEAL_SHRINK

/* Decides whether the file behind `fd` may be mapped as a region (docs/wire-format.md §1 "What may be mapped"):
 * a regular file, opened read-write, and — unless `flags` has NS_REGION_TRUST_PEER — carrying the seal
 * NS_REGION_REQUIRED_SEALS. On NS_REGION_OK, *size_out (if not NULL) is the file's size, read after the seal check
 * so a sealed size cannot change afterwards (seals are never removed). Any thread; does not take ownership of `fd`.
 * Returns NS_REGION_OK, NS_REGION_ENOTREG, NS_REGION_EREADONLY, NS_REGION_ENOSEALS, NS_REGION_EUNSEALED, or
 * NS_REGION_ESYSTEM (errno says why; EBADF for a closed fd). Does not check the size range: the caller does. */
static inline int ns_region_check_fd(int fd, unsigned flags, uint64_t *size_out) {
  struct stat st;
  int mode, seals;
  if (size_out) *size_out = 0;
  if (fstat(fd, &st) != 0) return NS_REGION_ESYSTEM;
  if (!S_ISREG(st.st_mode)) return NS_REGION_ENOTREG;
  mode = fcntl(fd, F_GETFL);
  if (mode < 0) return NS_REGION_ESYSTEM;
  if ((mode & O_ACCMODE) != O_RDWR) return NS_REGION_EREADONLY;
  if (!(flags & NS_REGION_TRUST_PEER)) {
    seals = fcntl(fd, F_GET_SEALS);
    if (seals < 0) {
      if (errno == EINVAL) return NS_REGION_ENOSEALS;
      return NS_REGION_ESYSTEM;
    }
    if ((seals & NS_REGION_REQUIRED_SEALS) != NS_REGION_REQUIRED_SEALS) return NS_REGION_EUNSEALED;
    if (fstat(fd, &st) != 0) return NS_REGION_ESYSTEM; /* the size is final now */
  }
  if (size_out) *size_out = (uint64_t)st.st_size;
  return NS_REGION_OK;
}

/* Maps the region behind `fd` (MAP_SHARED, read-write) after ns_region_check_fd(fd, flags) and validates its header.
 * Does not take ownership of `fd` (the mapping stays valid after the caller closes it). Returns NS_REGION_OK, a code
 * of ns_region_check_fd, NS_REGION_ESIZE for a size outside [NS_REGION_MIN_SIZE, NS_REGION_MAX_SIZE], a header code
 * of ns_region_validate, or NS_REGION_ESYSTEM (errno says why). On any failure nothing stays mapped. */
static inline int ns_region_map_fd_flags(int fd, unsigned flags, ns_region_map *out) {
  uint64_t size;
  void *base;
  int rc, saved;
  memset(out, 0, sizeof *out);
  rc = ns_region_check_fd(fd, flags, &size);
  if (rc != NS_REGION_OK) return rc;
  if (size < NS_REGION_MIN_SIZE || size > NS_REGION_MAX_SIZE) return NS_REGION_ESIZE;
  base = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (base == MAP_FAILED) return NS_REGION_ESYSTEM;
  rc = ns_region_validate(base, size, &out->header, NULL);
  if (rc != NS_REGION_OK) {
    saved = errno;
    munmap(base, (size_t)size);
    errno = saved;
    return rc;
  }
  out->base = (uint8_t *)base;
  out->size = (size_t)size;
  return NS_REGION_OK;
}

/* The safe default: ns_region_map_fd_flags(fd, 0, out) — only a memfd sealed against shrinking is mapped. */
static inline int ns_region_map_fd(int fd, ns_region_map *out) { return ns_region_map_fd_flags(fd, 0, out); }

/* ---- Handover over a Unix domain socket (docs/wire-format.md §1.2) ----
 * The server accepts a connection, checks the client's uid (ns_peer_cred, ns_peer_uid_allowed), and sends the
 * region's fd in one SCM_RIGHTS message carrying NS_REGION_HANDOVER_BYTE; the client checks the server's uid the same
 * way, receives the fd (ns_region_recv_fd, close-on-exec) and maps it with ns_region_map_fd (sealed memfds only).
 * These functions block like the socket calls they wrap; call them on a thread that may block, or on a non-blocking
 * socket (then NS_REGION_ESYSTEM with errno EAGAIN). */

/* The one data byte of the handover message (a message must carry at least one byte for the fd to travel). */
#define NS_REGION_HANDOVER_BYTE 'R'

/* Sends `fd` over the connected Unix stream socket `sock` (SCM_RIGHTS). Does not take ownership of either fd (the
 * kernel duplicates `fd` into the message). MSG_NOSIGNAL: a closed peer is NS_REGION_ESYSTEM/EPIPE, not SIGPIPE.
 * Returns NS_REGION_OK or NS_REGION_ESYSTEM (errno says why). */
static inline int ns_region_send_fd(int sock, int fd) {
  char byte = NS_REGION_HANDOVER_BYTE;
  struct iovec iov;
  struct msghdr msg;
  union { /* aligned cmsg buffer for exactly one fd */
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } control;
  struct cmsghdr *cmsg;
  ssize_t n;
  memset(&msg, 0, sizeof msg);
  memset(&control, 0, sizeof control);
  iov.iov_base = &byte;
  iov.iov_len = 1;
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.buf;
  msg.msg_controllen = sizeof control.buf;
  cmsg = CMSG_FIRSTHDR(&msg);
  cmsg->cmsg_level = SOL_SOCKET;
  cmsg->cmsg_type = SCM_RIGHTS;
  cmsg->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(cmsg), &fd, sizeof fd);
  do n = sendmsg(sock, &msg, MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  return n == 1 ? NS_REGION_OK : NS_REGION_ESYSTEM;
}

/* Receives one fd sent by ns_region_send_fd over `sock`. On NS_REGION_OK, *fd_out is a new close-on-exec descriptor
 * (MSG_CMSG_CLOEXEC) that the caller owns. A message that does not carry exactly one descriptor is refused whole:
 * none of the descriptors it brought stays open (a conforming server sends exactly one, §1.2, so a second one says
 * the peer is not following the protocol, and which of them would be "the region" is anybody's guess). On every
 * failure *fd_out is -1. Returns NS_REGION_OK, NS_REGION_ENOFD (the peer closed, or sent bytes without a
 * descriptor), NS_REGION_EFDCOUNT (more than one descriptor, or more than the control buffer holds: the kernel
 * then discards the rest and sets MSG_CTRUNC), or NS_REGION_ESYSTEM (errno says why). */
static inline int ns_region_recv_fd(int sock, int *fd_out) {
  char byte = 0;
  struct iovec iov;
  struct msghdr msg;
  union {
    char buf[CMSG_SPACE(sizeof(int) * 4)]; /* room for a few, so that a peer sending more is seen and refused */
    struct cmsghdr align;
  } control;
  struct cmsghdr *cmsg;
  ssize_t n;
  int got = -1;
  size_t received = 0;
  *fd_out = -1;
  memset(&msg, 0, sizeof msg);
  iov.iov_base = &byte;
  iov.iov_len = 1;
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.buf;
  msg.msg_controllen = sizeof control.buf;
  do n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
  while (n < 0 && errno == EINTR);
  if (n < 0) return NS_REGION_ESYSTEM;
  for (cmsg = CMSG_FIRSTHDR(&msg); cmsg != NULL; cmsg = CMSG_NXTHDR(&msg, cmsg)) {
    if (cmsg->cmsg_level == SOL_SOCKET && cmsg->cmsg_type == SCM_RIGHTS) {
      size_t count = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int), i;
      for (i = 0; i < count; i++) {
        int fd;
        memcpy(&fd, CMSG_DATA(cmsg) + i * sizeof(int), sizeof fd);
        if (received++ == 0) got = fd;
        else close(fd);
      }
    }
  }
  if (received > 1 || (msg.msg_flags & MSG_CTRUNC)) { /* not exactly one: keep none of them */
    if (got >= 0) close(got);
    return NS_REGION_EFDCOUNT;
  }
  if (got < 0) return NS_REGION_ENOFD;
  *fd_out = got;
  return NS_REGION_OK;
}

/* The credentials of the process at the other end of the connected Unix socket `sock`, as the kernel recorded them
 * at connect()/listen() time (SO_PEERCRED; they cannot be forged by the peer). Returns NS_REGION_OK or
 * NS_REGION_ESYSTEM. */
static inline int ns_peer_cred(int sock, uid_t *uid_out, pid_t *pid_out) {
  struct ucred cred;
  socklen_t len = sizeof cred;
  if (getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return NS_REGION_ESYSTEM;
  if (uid_out) *uid_out = cred.uid;
  if (pid_out) *pid_out = cred.pid;
  return NS_REGION_OK;
}

/* Whether a peer running as `uid` may take part: with `count` == 0, only our own effective uid; otherwise only the
 * uids listed in `allowed[0..count)` (list geteuid() too if it is meant to be allowed). */
static inline int ns_peer_uid_allowed(uid_t uid, const uid_t *allowed, size_t count) {
  size_t i;
  if (count == 0) return uid == geteuid();
  for (i = 0; i < count; i++)
    if (allowed[i] == uid) return 1;
  return 0;
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
