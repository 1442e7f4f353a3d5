/* native/test/stress_payload.h — the stress record format every stress test uses, in C and in TypeScript
 * (test/helpers/stress-payload.ts implements the same bytes).
 *
 * A stress record has type NS_STRESS_TYPE and a payload of length L ≥ NS_STRESS_MIN_LENGTH:
 *   bytes [0, 4)  sequence number, u32 little-endian, 0 for the first record, +1 per record;
 *   bytes [4, 8)  FNV-1a-32 of bytes [8, L);
 *   bytes [8, L)  filler: byte i (index within the payload) = (seq * 131 + i * 7) & 0xFF.
 * A verifier checks the sequence (nothing lost, duplicated or reordered) and the checksum (nothing corrupted). */
#ifndef NATIVE_SIDECAR_TEST_STRESS_PAYLOAD_H
#define NATIVE_SIDECAR_TEST_STRESS_PAYLOAD_H

#include <stdint.h>

#define NS_STRESS_TYPE 1u
#define NS_STRESS_MIN_LENGTH 8u
#define NS_STRESS_FNV_OFFSET_BASIS 2166136261u
#define NS_STRESS_FNV_PRIME 16777619u

enum {
  NS_STRESS_OK = 0,
  NS_STRESS_ESHORT = 1,    /* payload shorter than NS_STRESS_MIN_LENGTH */
  NS_STRESS_ESEQUENCE = 2, /* sequence number differs from the expected one */
  NS_STRESS_ECHECKSUM = 3  /* checksum does not match the filler */
};

static inline uint32_t ns_stress_get_u32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline void ns_stress_put_u32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
  p[2] = (uint8_t)(v >> 16);
  p[3] = (uint8_t)(v >> 24);
}

/* FNV-1a-32 of `length` bytes. */
static inline uint32_t ns_stress_fnv1a(const uint8_t *bytes, uint32_t length) {
  uint32_t h = NS_STRESS_FNV_OFFSET_BASIS;
  for (uint32_t i = 0; i < length; ++i) {
    h ^= bytes[i];
    h *= NS_STRESS_FNV_PRIME;
  }
  return h;
}

/* Writes the stress payload for sequence `seq` into `payload` (`length` ≥ NS_STRESS_MIN_LENGTH bytes). */
static inline void ns_stress_fill(uint8_t *payload, uint32_t length, uint32_t seq) {
  for (uint32_t i = NS_STRESS_MIN_LENGTH; i < length; ++i) payload[i] = (uint8_t)((seq * 131u + i * 7u) & 0xFFu);
  ns_stress_put_u32(payload, seq);
  ns_stress_put_u32(payload + 4, ns_stress_fnv1a(payload + NS_STRESS_MIN_LENGTH, length - NS_STRESS_MIN_LENGTH));
}

/* Checks a received stress payload against the expected sequence number. Returns NS_STRESS_OK or the first
 * mismatch found. */
static inline int ns_stress_verify(const uint8_t *payload, uint32_t length, uint32_t expected_seq) {
  if (length < NS_STRESS_MIN_LENGTH) return NS_STRESS_ESHORT;
  if (ns_stress_get_u32(payload) != expected_seq) return NS_STRESS_ESEQUENCE;
  const uint32_t sum = ns_stress_fnv1a(payload + NS_STRESS_MIN_LENGTH, length - NS_STRESS_MIN_LENGTH);
  if (ns_stress_get_u32(payload + 4) != sum) return NS_STRESS_ECHECKSUM;
  return NS_STRESS_OK;
}

/* xorshift32: the length generator of the C stress tests (any PRNG will do; this one is tiny and seedable). */
static inline uint32_t ns_stress_next_random(uint32_t *state) {
  uint32_t x = *state;
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  *state = x;
  return x;
}

/* A random length in [NS_STRESS_MIN_LENGTH, max_length]. */
static inline uint32_t ns_stress_random_length(uint32_t *state, uint32_t max_length) {
  return NS_STRESS_MIN_LENGTH + ns_stress_next_random(state) % (max_length - NS_STRESS_MIN_LENGTH + 1u);
}

#endif /* NATIVE_SIDECAR_TEST_STRESS_PAYLOAD_H */
