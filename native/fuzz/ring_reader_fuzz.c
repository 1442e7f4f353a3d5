/* native/fuzz/ring_reader_fuzz.c — libFuzzer target for the code a peer's memory reaches: region header and segment
 * table validation (region.h), ring attach / descriptor and position validation, and reading records (ring.h), plus
 * the producer's use of the head a peer wrote.
 *
 * Input layout: byte 0 = mode, bytes 1..4 = a tail value a "peer" stores between two reads (little-endian),
 * bytes 5.. = the image, copied into a buffer of exactly that many bytes (so ASan sees any read past it):
 *   mode & 1 == 0: the image is a region (header + segment table, §1); every ring segment it lists is attached and read.
 *   mode & 1 == 1: the image is one ring segment (header + data area, as in test/vectors/c/NAME.bin, test/vectors/ts/NAME.bin).
 *   mode & 2:      read with peek/release instead of ns_ring_read.
 *   mode & 4:      afterwards attach a producer and write records into what is left (ns_ring_try_write, claim/commit).
 * Any crash, sanitizer report, or a violated invariant below (abort) is a finding.
 *
 * Build (native/fuzz/fuzz.sh): clang -fsanitize=fuzzer,address,undefined -Inative/include native/fuzz/ring_reader_fuzz.c */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "native_sidecar/region.h"
#include "native_sidecar/ring.h"

#define CHECK(c)                                                             \
  do {                                                                       \
    if (!(c)) {                                                              \
      fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #c); \
      abort();                                                               \
    }                                                                        \
  } while (0)

typedef struct {
  const ns_ring *r;
  uint64_t sum;
  uint32_t records;
} visit;

static int on_record(void *ctx, uint32_t type, const uint8_t *payload, uint32_t length) {
  visit *v = (visit *)ctx;
  /* every payload lies inside the data area and within max_payload */
  CHECK(length <= v->r->max_payload);
  CHECK(payload >= v->r->data && payload + length <= v->r->data + v->r->capacity);
  for (uint32_t i = 0; i < length; i++) v->sum += payload[i]; /* ASan checks each byte */
  v->sum += type;
  v->records++;
  return 0;
}

static void read_all(ns_ring *r, int use_peek, uint32_t peer_tail) {
  visit v = {r, 0, 0};
  for (int round = 0; round < 2; round++) {
    for (int guard = 0; guard < 4096; guard++) {
      int rc;
      if (use_peek) {
        uint32_t type, length;
        const uint8_t *payload;
        rc = ns_ring_peek(r, &type, &payload, &length);
        if (rc == NS_RING_OK) {
          on_record(&v, type, payload, length);
          CHECK(ns_ring_release(r) == NS_RING_OK);
          continue;
        }
      } else {
        rc = ns_ring_read(r, on_record, &v, 3);
        if (rc > 0) continue;
      }
      CHECK(rc == 0 || rc == NS_RING_EEMPTY || rc == NS_RING_ECLOSED || rc == NS_RING_ECORRUPT);
      break;
    }
    /* the peer moves tail (possibly to nonsense) and the consumer reads again */
    NS_ATOMIC_STORE(&r->shared->tail, peer_tail, NS_MO_RELEASE);
  }
}

static void write_some(void *mem, size_t size) {
  ns_ring p;
  if (ns_ring_attach(&p, mem, size) != NS_RING_OK) return;
  static const uint8_t payload[64] = {1, 2, 3};
  for (int i = 0; i < 64; i++) {
    int rc = (i & 1) ? ns_ring_try_write(&p, 7u, payload, (uint32_t)(i % 64))
                     : ({
                         void *at = NULL;
                         int c = ns_ring_try_claim(&p, 16u, &at);
                         if (c == NS_RING_OK) {
                           CHECK((uint8_t *)at >= p.data && (uint8_t *)at + 16 <= p.data + p.capacity);
                           memset(at, 0xAB, 16);
                           c = ns_ring_commit(&p, 9u);
                         }
                         c;
                       });
    CHECK(rc == NS_RING_OK || rc == NS_RING_EFULL || rc == NS_RING_ECORRUPT || rc == NS_RING_ECLOSED ||
          rc == NS_RING_ETOOBIG);
    if (rc == NS_RING_ECORRUPT || rc == NS_RING_ECLOSED) break;
    if ((i & 7) == 7) ns_ring_publish(&p);
    /* the producer never has more than capacity bytes outstanding past the head it saw */
    CHECK((uint32_t)(p.producer.tail - p.producer.head_cache) <= p.capacity);
  }
  ns_ring_publish(&p);
}

static void fuzz_ring(uint8_t *mem, size_t size, int mode, uint32_t peer_tail) {
  ns_ring r;
  int rc = ns_ring_attach(&r, mem, size);
  CHECK(rc == NS_RING_OK || rc == NS_RING_ECORRUPT || rc == NS_RING_EINVAL);
  if (rc != NS_RING_OK) return;
  CHECK((r.capacity & r.mask) == 0 && ns_ring_segment_size(r.capacity) <= size);
  read_all(&r, mode & 2, peer_tail);
  ns_ring_close_consumer(&r);
  if (mode & 4) write_some(mem, size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 5) return 0;
  const int mode = data[0];
  uint32_t peer_tail;
  memcpy(&peer_tail, data + 1, 4);
  const size_t n = size - 5;
  if (n == 0) return 0;
  /* exactly n bytes (ASan's redzone starts right after the image); malloc's 16-byte alignment covers the 8 bytes
   * ns_ring_attach requires, and segment offsets are multiples of 64 */
  uint8_t *mem = (uint8_t *)malloc(n);
  if (mem == NULL) return 0;
  memcpy(mem, data + 5, n);

  if (mode & 1) {
    fuzz_ring(mem, n, mode, peer_tail);
  } else {
    ns_region_header snap;
    int bad = -2;
    int rc = ns_region_validate(mem, n, &snap, &bad);
    /* validation codes: EMAGIC … EOVERLAP, and EFLAGS (reserved flags word, numbered after the fd codes) */
    CHECK(rc == NS_REGION_OK || (rc < 0 && rc >= NS_REGION_EOVERLAP) || rc == NS_REGION_EFLAGS);
    if (rc == NS_REGION_OK) {
      CHECK(bad == -1 && snap.segment_count <= NS_REGION_MAX_SEGMENTS);
      for (uint32_t i = 0; i < snap.segment_count; i++) {
        const ns_segment_entry *s = &snap.segments[i];
        CHECK((uint64_t)s->offset + s->size <= n && s->offset >= NS_REGION_HEADER_SIZE);
        if (s->kind == NS_SEGMENT_KIND_RING) fuzz_ring(mem + s->offset, s->size, mode, peer_tail);
      }
    } else {
      CHECK(rc == NS_REGION_ESEGMENT || rc == NS_REGION_EOVERLAP ? bad >= 0 : bad == -1);
    }
  }
  free(mem);
  return 0;
}
