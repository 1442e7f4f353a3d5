/* hash.c — a plugin doing real work: each request is answered with the SHA-256 digest (32 bytes) of its payload,
 * iterated `rounds` times (digest = SHA-256(digest) after the first round). `rounds` comes from the config: a u32
 * little-endian, default 1. With a large payload or many rounds a request takes milliseconds of CPU on the sidecar's
 * thread or process while the Node event loop stays free (test/sidecar-requests.test.ts checks the digests).
 *
 * Build by hand:  gcc -shared -fPIC -O2 -I native/include -o hash.so examples/plugins/hash.c */
#include <stdlib.h>
#include <string.h>

#include "native_sidecar/plugin.h"

/* ---- SHA-256 (FIPS 180-4) ---- */

typedef struct sha256 {
  uint32_t h[8];
  uint8_t block[64];
  uint64_t total;
  uint32_t used;
} sha256;

static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

static uint32_t ror(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

static void sha256_block(sha256 *c, const uint8_t *p) {
  uint32_t w[64], a, b, d, e, f, g, h, cc, t1, t2;
  int i;
  for (i = 0; i < 16; i++) w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
  for (i = 16; i < 64; i++) {
    uint32_t s0 = ror(w[i - 15], 7) ^ ror(w[i - 15], 18) ^ (w[i - 15] >> 3);
    uint32_t s1 = ror(w[i - 2], 17) ^ ror(w[i - 2], 19) ^ (w[i - 2] >> 10);
    w[i] = w[i - 16] + s0 + w[i - 7] + s1;
  }
  a = c->h[0]; b = c->h[1]; cc = c->h[2]; d = c->h[3]; e = c->h[4]; f = c->h[5]; g = c->h[6]; h = c->h[7];
  for (i = 0; i < 64; i++) {
    t1 = h + (ror(e, 6) ^ ror(e, 11) ^ ror(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i];
    t2 = (ror(a, 2) ^ ror(a, 13) ^ ror(a, 22)) + ((a & b) ^ (a & cc) ^ (b & cc));
    h = g; g = f; f = e; e = d + t1; d = cc; cc = b; b = a; a = t1 + t2;
  }
  c->h[0] += a; c->h[1] += b; c->h[2] += cc; c->h[3] += d; c->h[4] += e; c->h[5] += f; c->h[6] += g; c->h[7] += h;
}

static void sha256_init(sha256 *c) {
  static const uint32_t iv[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  memcpy(c->h, iv, sizeof iv);
  c->total = 0;
  c->used = 0;
}

static void sha256_update(sha256 *c, const uint8_t *p, size_t n) {
  c->total += n;
  while (n > 0) {
    size_t take = 64 - c->used < n ? 64 - c->used : n;
    memcpy(c->block + c->used, p, take);
    c->used += (uint32_t)take;
    p += take;
    n -= take;
    if (c->used == 64) {
      sha256_block(c, c->block);
      c->used = 0;
    }
  }
}

static void sha256_final(sha256 *c, uint8_t out[32]) {
  uint64_t bits = c->total * 8;
  uint8_t pad = 0x80, zero = 0, len[8];
  int i;
  sha256_update(c, &pad, 1);
  while (c->used != 56) sha256_update(c, &zero, 1);
  for (i = 0; i < 8; i++) len[i] = (uint8_t)(bits >> (56 - 8 * i));
  sha256_update(c, len, 8);
  for (i = 0; i < 8; i++) {
    out[4 * i] = (uint8_t)(c->h[i] >> 24);
    out[4 * i + 1] = (uint8_t)(c->h[i] >> 16);
    out[4 * i + 2] = (uint8_t)(c->h[i] >> 8);
    out[4 * i + 3] = (uint8_t)c->h[i];
  }
}

/* ---- the plugin ---- */

typedef struct hash_state {
  const ns_host_services *host;
  uint32_t rounds;
} hash_state;

static int hash_init(const ns_host_services *host, const uint8_t *config, uint32_t config_length, void **state,
                     char *error, uint32_t error_size) {
  hash_state *s;
  uint32_t rounds = 1;
  if (config_length != 0 && config_length != 4) {
    if (error_size > 0) {
      strncpy(error, "the config must be empty or a u32 little-endian round count", error_size - 1);
      error[error_size - 1] = '\0';
    }
    return 1;
  }
  if (config_length == 4)
    rounds = (uint32_t)config[0] | (uint32_t)config[1] << 8 | (uint32_t)config[2] << 16 | (uint32_t)config[3] << 24;
  if (rounds == 0) rounds = 1;
  s = (hash_state *)malloc(sizeof *s);
  if (s == NULL) return 2;
  s->host = host;
  s->rounds = rounds;
  *state = s;
  return 0;
}

static int hash_process(void *state, uint32_t type, const uint8_t *payload, uint32_t length, uint32_t request_id) {
  hash_state *s = (hash_state *)state;
  sha256 c;
  uint8_t digest[32];
  uint32_t i;
  (void)type;
  sha256_init(&c);
  sha256_update(&c, payload, length);
  sha256_final(&c, digest);
  for (i = 1; i < s->rounds; i++) {
    sha256_init(&c);
    sha256_update(&c, digest, sizeof digest);
    sha256_final(&c, digest);
  }
  if (request_id != 0) return s->host->reply(s->host, request_id, digest, sizeof digest);
  return s->host->emit_event(s->host, 1, digest, sizeof digest);
}

static void hash_dispose(void *state) { free(state); }

static const ns_plugin hash_plugin = {
    NS_PLUGIN_ABI_VERSION, sizeof(ns_plugin), "hash", hash_init, hash_process, hash_dispose,
};

NS_PLUGIN_EXPORT const ns_plugin *ns_plugin_get(uint32_t host_abi_version) {
  return host_abi_version == NS_PLUGIN_ABI_VERSION ? &hash_plugin : NULL;
}
