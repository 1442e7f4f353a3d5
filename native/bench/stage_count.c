/* native/bench/stage_count.c — the C side of bench/instructions.ts: stages N 32-byte records with ns_ring_stage()
 * (publishing every 64, as the JavaScript producer does) and reads them back with ns_ring_read() in one thread, so
 * that `valgrind --tool=callgrind` can count the instructions per record of the library's C ring path. Run twice
 * with different N; the difference divided by the difference of N is the per-record cost without start-up.
 *
 *   stage_count N      (prints "staged read")
 *
 * Single-threaded on purpose: instruction counts, not timing, are what it is for. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "native_sidecar/ring.h"

static int count_record(void *ctx, uint32_t type, const uint8_t *payload, uint32_t length) {
  (void)type;
  (void)payload;
  (void)length;
  ++*(long *)ctx;
  return 0;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: stage_count N\n");
    return 2;
  }
  const long n = atol(argv[1]);
  const uint32_t capacity = 1u << 22; /* as bench/instructions.ts's JavaScript ring */
  const size_t size = ns_ring_segment_size(capacity);
  void *mem = aligned_alloc(4096, size);
  if (mem == NULL) return 1;
  memset(mem, 0, size);
  if (ns_ring_init(mem, size, capacity, ns_ring_max_payload_for(capacity), 0) != NS_RING_OK) return 1;
  ns_ring producer, consumer;
  if (ns_ring_attach(&producer, mem, size) != NS_RING_OK || ns_ring_attach(&consumer, mem, size) != NS_RING_OK) return 1;
  uint8_t payload[32] = {1};
  long staged = 0, read = 0;
  while (staged < n) {
    int k = 0;
    while (staged < n && ns_ring_stage(&producer, 1, payload, sizeof payload) == NS_RING_OK) {
      staged++;
      if ((++k & 63) == 0) ns_ring_publish(&producer);
    }
    ns_ring_publish(&producer);
    while (ns_ring_read(&consumer, count_record, &read, 4096) > 0) {
    }
  }
  printf("%ld %ld\n", staged, read);
  free(mem);
  return read == staged ? 0 : 1;
}
