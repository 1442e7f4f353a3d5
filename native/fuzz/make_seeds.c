/* native/fuzz/make_seeds.c — writes the region-image seeds of native/fuzz/corpus/ (the ring-segment seeds are the
 * committed test vectors, see native/fuzz/fuzz.sh --seeds). Each seed is the fuzz input of ring_reader_fuzz.c:
 * mode byte, 4-byte peer tail, image. Usage: make_seeds OUT_DIR */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "native_sidecar/region.h"
#include "native_sidecar/ring.h"

static void emit(const char *dir, const char *name, int mode, uint32_t peer_tail, const void *img, size_t n) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "wb");
  if (f == NULL) { perror(path); exit(1); }
  unsigned char head[5] = {(unsigned char)mode};
  memcpy(head + 1, &peer_tail, 4);
  fwrite(head, 1, 5, f);
  fwrite(img, 1, n, f);
  fclose(f);
}

/* A 4096-byte (or `size`) region with `rings` ring segments of capacity 1024, each holding a few records. */
static void region_seed(const char *dir, const char *name, uint32_t size, int rings, uint32_t initial, int mode) {
  static uint8_t img[1 << 16] __attribute__((aligned(64)));
  memset(img, 0, sizeof img);
  if (ns_region_init(img, size, 1234) != NS_REGION_OK) exit(2);
  uint32_t tail = 0;
  for (int i = 0; i < rings; i++) {
    uint32_t off;
    if (ns_region_add_segment(img, NS_SEGMENT_KIND_RING, (uint32_t)ns_ring_segment_size(1024), NULL, &off) != 0) exit(3);
    if (ns_ring_init(img + off, ns_ring_segment_size(1024), 1024, 0, initial) != NS_RING_OK) exit(4);
    ns_ring r;
    if (ns_ring_attach(&r, img + off, ns_ring_segment_size(1024)) != NS_RING_OK) exit(5);
    char payload[200];
    for (int k = 0; k < 6; k++) {
      memset(payload, 'a' + k, sizeof payload);
      if (ns_ring_try_write(&r, 1u + (uint32_t)k, payload, (uint32_t)(k * 37)) != NS_RING_OK) break;
    }
    ns_ring_publish(&r);
    tail = r.producer.published;
  }
  if (rings > 1) { /* a user segment too, so the table has a non-ring entry */
    if (ns_region_add_segment(img, NS_SEGMENT_KIND_USER_MIN, 128, NULL, NULL) != 0) exit(6);
  }
  emit(dir, name, mode, tail + 64, img, size);
}

int main(int argc, char **argv) {
  if (argc != 2) { fprintf(stderr, "usage: make_seeds OUT_DIR\n"); return 2; }
  region_seed(argv[1], "region-empty", 4096, 0, 0, 0);
  region_seed(argv[1], "region-one-ring", 4096, 1, 0, 0);
  region_seed(argv[1], "region-one-ring-peek-write", 4096, 1, 0, 6);
  region_seed(argv[1], "region-two-rings-wrap", 8192, 2, 0xFFFFFF00u, 4);
  return 0;
}
