/* bench_original_ring — the consumer side of "the original design" for `npm run bench -- alternatives`
 * (bench/baselines/alt-original-ring.ts): the seed of this project moved bytes through an unframed byte ring whose
 * consumer polled it and slept 1 ms (Thread.Sleep(1)) whenever it was empty, wrapping positions with `%`. This
 * program is that consumer, in C, so the benchmark can show what the design costs next to the framed, parked rings.
 * It is a benchmark reference only, not part of the product or of its wire format.
 *
 * Usage: bench_original_ring echo|sink   (the region's memfd is fd 3, as SharedRegion hands it to a child)
 *   echo  every byte read from the request ring is written to the reply ring (a round trip when the producer waits
 *         for its bytes to come back);
 *   sink  bytes are read (copied out to a local buffer, as a consumer that uses them would) and dropped.
 *
 * Shared memory (segment 0 of the region, kind ORIG_SEGMENT_KIND; the JS side writes it before it starts this
 * program): two byte rings, request (JS → C) at offset 0 and reply (C → JS) at offset ORIG_RING_BYTES(capacity),
 * each laid out as
 *   +0   int32 capacity      written once by the JS creator before the start
 *   +4   int32 stop          JS sets it to 1 to end this program (request ring only)
 *   +64  int32 write_pos     producer-owned, in [0, capacity)
 *   +128 int32 read_pos      consumer-owned, in [0, capacity)
 *   +192 data[capacity]
 * A ring is empty when write_pos == read_pos and full when (write_pos + 1) % capacity == read_pos (one byte is never
 * used), the classic unframed byte ring: a reader gets whatever bytes are there, there are no records.
 * Memory ordering: the producer writes data, then store-release write_pos [pairs with the consumer's load-acquire of
 * write_pos]; the consumer reads data, then store-release read_pos [pairs with the producer's load-acquire of
 * read_pos, so the producer never overwrites bytes not yet read]. The JS side uses Atomics.load/Atomics.store
 * (sequentially consistent, stronger than needed).
 * Validation: the capacity is checked against the segment size at start; every position read from shared memory is
 * checked to be in [0, capacity) before it is used (a bad one ends the program with exit code 3).
 * Exit codes: 0 after stop (or when the parent died), 2 bad arguments or region, 3 a corrupt position. */
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "native_sidecar/region.h"

#define ORIG_SEGMENT_KIND 0x10042u
#define ORIG_HEADER 192u
#define ORIG_RING_BYTES(cap) (((uint64_t)ORIG_HEADER + (uint64_t)(cap) + 127u) / 128u * 128u)

typedef struct {
  _Atomic int32_t *capacity;
  _Atomic int32_t *stop;
  _Atomic int32_t *write_pos;
  _Atomic int32_t *read_pos;
  uint8_t *data;
  int32_t cap;
} byte_ring;

static void ring_at(byte_ring *r, uint8_t *base, int32_t cap) {
  r->capacity = (_Atomic int32_t *)(base + 0);
  r->stop = (_Atomic int32_t *)(base + 4);
  r->write_pos = (_Atomic int32_t *)(base + 64);
  r->read_pos = (_Atomic int32_t *)(base + 128);
  r->data = base + ORIG_HEADER;
  r->cap = cap;
}

static int32_t checked(int32_t pos, int32_t cap) {
  if (pos < 0 || pos >= cap) {
    fprintf(stderr, "bench_original_ring: a position read from shared memory (%d) is outside [0, %d)\n", pos, cap);
    exit(3);
  }
  return pos;
}

int main(int argc, char **argv) {
  ns_region_map map;
  byte_ring req, rep;
  int echo, rc;
  int32_t cap;
  uint8_t *scratch;
  pid_t parent = getppid();
  const ns_segment_entry *seg;

  if (argc != 2 || (strcmp(argv[1], "echo") != 0 && strcmp(argv[1], "sink") != 0)) {
    fprintf(stderr, "usage: bench_original_ring echo|sink  (region memfd on fd 3)\n");
    return 2;
  }
  echo = strcmp(argv[1], "echo") == 0;
  rc = ns_region_map_fd(3, &map);
  if (rc != NS_REGION_OK) {
    fprintf(stderr, "bench_original_ring: fd 3 is not a region: %s\n", ns_region_strerror(rc));
    return 2;
  }
  seg = &map.header.segments[0];
  if (map.header.segment_count < 1 || seg->kind != ORIG_SEGMENT_KIND) {
    fprintf(stderr, "bench_original_ring: segment 0 is not a byte-ring segment\n");
    return 2;
  }
  cap = atomic_load_explicit((_Atomic int32_t *)(map.base + seg->offset), memory_order_relaxed);
  if (cap < 2 || 2 * ORIG_RING_BYTES(cap) > seg->size) {
    fprintf(stderr, "bench_original_ring: capacity %d does not fit the %u-byte segment\n", cap, seg->size);
    return 2;
  }
  ring_at(&req, map.base + seg->offset, cap);
  ring_at(&rep, map.base + seg->offset + ORIG_RING_BYTES(cap), cap);
  scratch = malloc((size_t)cap);
  if (scratch == NULL) return 2;

  for (;;) {
    int32_t w, r, avail, chunk;
    if (atomic_load_explicit(req.stop, memory_order_relaxed) != 0 || getppid() != parent) break;
    /* [acquire: pairs with the producer's release store of write_pos] */
    w = checked(atomic_load_explicit(req.write_pos, memory_order_acquire), cap);
    r = checked(atomic_load_explicit(req.read_pos, memory_order_relaxed), cap);
    if (w == r) {
      usleep(1000); /* the original design: sleep 1 ms whenever the ring is empty */
      continue;
    }
    avail = (w - r + cap) % cap;
    if (echo) {
      /* Copy as many bytes as the reply ring has room for, straight from ring to ring. */
      int32_t rw = checked(atomic_load_explicit(rep.write_pos, memory_order_relaxed), cap);
      /* [acquire: pairs with the JS consumer's store of the reply ring's read_pos] */
      int32_t rr = checked(atomic_load_explicit(rep.read_pos, memory_order_acquire), cap);
      int32_t room = (rr - rw - 1 + cap) % cap;
      int32_t n = avail < room ? avail : room, done = 0;
      if (n == 0) {
        usleep(1000); /* the reply ring is full: the same 1 ms poll */
        continue;
      }
      while (done < n) {
        int32_t from = (r + done) % cap, to = (rw + done) % cap;
        chunk = n - done;
        if (chunk > cap - from) chunk = cap - from;
        if (chunk > cap - to) chunk = cap - to;
        memcpy(rep.data + to, req.data + from, (size_t)chunk);
        done += chunk;
      }
      /* [release: pairs with the JS consumer's load of the reply ring's write_pos] */
      atomic_store_explicit(rep.write_pos, (rw + n) % cap, memory_order_release);
      /* [release: pairs with the JS producer's load of read_pos] */
      atomic_store_explicit(req.read_pos, (r + n) % cap, memory_order_release);
    } else {
      int32_t done = 0;
      while (done < avail) {
        int32_t from = (r + done) % cap;
        chunk = avail - done;
        if (chunk > cap - from) chunk = cap - from;
        memcpy(scratch + done, req.data + from, (size_t)chunk);
        done += chunk;
      }
      /* [release: pairs with the JS producer's load of read_pos] */
      atomic_store_explicit(req.read_pos, (r + avail) % cap, memory_order_release);
    }
  }
  free(scratch);
  return 0;
}
