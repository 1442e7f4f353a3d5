/* calls.c — the plainest JS → C entry points (their cost is the cost of the binding) and the shared checksum. */
#include "internal.h"

int32_t ns_sc_add(int32_t a, int32_t b) { return (int32_t)((uint32_t)a + (uint32_t)b); }

void ns_sc_noop(void) {}

uint32_t ns_sc_fnv1a_u32(uint32_t hash, uint32_t value) {
  for (int i = 0; i < 4; i++) {
    hash ^= (value >> (8 * i)) & 0xFFu;
    hash *= 16777619u;
  }
  return hash;
}
