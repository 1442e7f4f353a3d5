/* native/test/buffers_test.c — unit tests of native_sidecar/buffers.h: the owner's allocator (first fit, coalescing,
 * growth, limits, generations, lend/free/return states, reclaim) and the reader's checks against a hostile table.
 * Pools live in malloc'd memory (fd -1: the file size is the mapping); growth "extends" a simulated file size.
 * Prints "ok - <name>" / "not ok - <name>" per test and "<N> passed, <N> failed"; exits 0 only when nothing failed.
 * Run by test/buffers-c.test.ts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "native_sidecar/buffers.h"
#include "check.h"

typedef struct fake_file {
  uint64_t size;
  int fail;
  int calls;
} fake_file;

static int fake_extend(void *ctx, uint64_t size) {
  fake_file *f = (fake_file *)ctx;
  f->calls++;
  if (f->fail) return -1;
  if (size > f->size) f->size = size;
  return 0;
}

typedef struct pool {
  uint8_t *base;
  uint64_t reserve;
  fake_file file;
  ns_buffers_owner *owner;
} pool;

static void pool_open(pool *p, uint64_t reserve, uint32_t max_segments, uint32_t max_buffers, uint64_t seg0,
                      uint64_t growth) {
  memset(p, 0, sizeof *p);
  p->base = (uint8_t *)calloc(1, (size_t)reserve);
  p->reserve = reserve;
  p->file.size = NS_BUFFERS_HEADER_SIZE + seg0;
  CHECK_EQ(ns_buffers_init(p->base, reserve, max_segments, max_buffers, seg0, 0), NS_BUFFERS_OK);
  CHECK_EQ(ns_buffers_owner_attach(&p->owner, p->base, reserve, -1, growth, fake_extend, &p->file), NS_BUFFERS_OK);
}

static void pool_close(pool *p) {
  ns_buffers_owner_destroy(p->owner);
  free(p->base);
}

static const ns_buffers_header *hdr(const pool *p) { return (const ns_buffers_header *)p->base; }
static uint32_t seg_count(pool *p) {
  return NS_ATOMIC_LOAD(&((ns_buffers_header *)p->base)->segment_count, NS_MO_ACQUIRE);
}

static void test_init_and_attach_validate_the_descriptor(void) {
  uint8_t *m = (uint8_t *)calloc(1, 65536);
  ns_buffers_reader r;
  CHECK_EQ(ns_buffers_init(m, 65536, 0, 1, 4096, 0), NS_BUFFERS_ELIMITS);
  CHECK_EQ(ns_buffers_init(m, 65536, 17, 1, 4096, 0), NS_BUFFERS_ELIMITS);
  CHECK_EQ(ns_buffers_init(m, 4096, 1, 1, 4096, 0), NS_BUFFERS_ELIMITS);
  CHECK_EQ(ns_buffers_init(m, 65536 + 64, 1, 1, 4096, 0), NS_BUFFERS_ELIMITS);
  CHECK_EQ(ns_buffers_init(m, 65536, 1, 0, 4096, 0), NS_BUFFERS_ELIMITS);
  CHECK_EQ(ns_buffers_init(m, 65536, 1, (1u << 20) + 1, 4096, 0), NS_BUFFERS_ELIMITS);
  CHECK_EQ(ns_buffers_init(m, 65536, 1, 1, 0, 0), NS_BUFFERS_EINVAL);
  CHECK_EQ(ns_buffers_init(m, 65536, 1, 1, 100, 0), NS_BUFFERS_EINVAL);
  CHECK_EQ(ns_buffers_init(m, 65536, 1, 1, 65536, 0), NS_BUFFERS_EINVAL);
  CHECK_EQ(ns_buffers_init(m, 65536, 4, 8, 61440, 0), NS_BUFFERS_OK);
  CHECK_EQ(ns_buffers_reader_attach(&r, m, 65536, -1), NS_BUFFERS_OK);
  CHECK_EQ(r.known, 1);
  CHECK_EQ(ns_buffers_reader_attach(&r, m, 32768, -1), NS_BUFFERS_ELIMITS); /* reserve > mapping */
  m[8] = 1;
  CHECK_EQ(ns_buffers_reader_attach(&r, m, 65536, -1), NS_BUFFERS_EFLAGS);
  m[7] = 0; /* header_size 4096 → 0 */
  CHECK_EQ(ns_buffers_reader_attach(&r, m, 65536, -1), NS_BUFFERS_EHEADERSIZE);
  m[4] = 2;
  CHECK_EQ(ns_buffers_reader_attach(&r, m, 65536, -1), NS_BUFFERS_EVERSION);
  m[0] = 0;
  CHECK_EQ(ns_buffers_reader_attach(&r, m, 65536, -1), NS_BUFFERS_EMAGIC);
  free(m);
}

static void test_first_fit_reuses_low_offsets(void) {
  pool p;
  ns_buffers_handle a, b, c, d;
  uint8_t *data;
  pool_open(&p, 1 << 20, 4, 64, 65536, 65536);
  CHECK_EQ(ns_buffers_alloc(p.owner, 100, &a, &data), NS_BUFFERS_OK);
  CHECK_EQ(a.offset, 0);
  CHECK(data == p.base + 4096);
  CHECK_EQ(ns_buffers_alloc(p.owner, 64, &b, NULL), NS_BUFFERS_OK);
  CHECK_EQ(b.offset, 128); /* 100 rounded to 128 */
  CHECK_EQ(ns_buffers_alloc(p.owner, 1, &c, NULL), NS_BUFFERS_OK);
  CHECK_EQ(c.offset, 192);
  CHECK_EQ(ns_buffers_free(p.owner, &a, NS_BUFFERS_FROM_OWNER), NS_BUFFERS_OK);
  CHECK_EQ(ns_buffers_alloc(p.owner, 200, &d, NULL), NS_BUFFERS_OK);
  CHECK_EQ(d.offset, 256); /* does not fit in the 128-byte hole */
  CHECK_EQ(ns_buffers_alloc(p.owner, 65, &d, NULL), NS_BUFFERS_OK);
  CHECK_EQ(d.offset, 0); /* fits: the lowest hole is reused */
  CHECK_EQ(hdr(&p)->live_bytes, 128 + 64 + 64 + 256 + 128 - 128);
  CHECK_EQ(NS_ATOMIC_LOAD(&((ns_buffers_header *)p.base)->allocations, NS_MO_RELAXED), 5);
  CHECK_EQ(NS_ATOMIC_LOAD(&((ns_buffers_header *)p.base)->live_buffers, NS_MO_RELAXED), 4);
  pool_close(&p);
}

static void test_a_free_coalesces_with_both_neighbours(void) {
  pool p;
  ns_buffers_handle a, b, c, big;
  pool_open(&p, 1 << 20, 1, 64, 4096, 4096);
  CHECK_EQ(ns_buffers_alloc(p.owner, 1024, &a, NULL), NS_BUFFERS_OK);
  CHECK_EQ(ns_buffers_alloc(p.owner, 1024, &b, NULL), NS_BUFFERS_OK);
  CHECK_EQ(ns_buffers_alloc(p.owner, 1024, &c, NULL), NS_BUFFERS_OK);
  CHECK_EQ(ns_buffers_free(p.owner, &a, 0), NS_BUFFERS_OK);
  CHECK_EQ(ns_buffers_free(p.owner, &c, 0), NS_BUFFERS_OK); /* merges with the tail extent [3072, 4096) */
  CHECK_EQ(p.owner->free_count[0], 2);
  CHECK_EQ(ns_buffers_free(p.owner, &b, 0), NS_BUFFERS_OK); /* both sides: one extent again */
  CHECK_EQ(p.owner->free_count[0], 1);
  CHECK_EQ(p.owner->free_list[0][0].offset, 0);
  CHECK_EQ(p.owner->free_list[0][0].size, 4096);
  CHECK_EQ(ns_buffers_alloc(p.owner, 4096, &big, NULL), NS_BUFFERS_OK);
  CHECK_EQ(big.offset, 0);
  CHECK_EQ(hdr(&p)->live_bytes, 4096);
  pool_close(&p);
}

static void test_the_pool_grows_by_one_segment_and_the_reader_sees_it(void) {
  pool p;
  ns_buffers_handle a, b, c, d;
  ns_buffers_reader r;
  uint8_t *data;
  pool_open(&p, 1 << 20, 4, 64, 4096, 8192);
  CHECK_EQ(ns_buffers_reader_attach(&r, p.base, p.reserve, -1), NS_BUFFERS_OK);
  CHECK_EQ(ns_buffers_alloc(p.owner, 4096, &a, NULL), NS_BUFFERS_OK);
  CHECK_EQ(p.file.calls, 0);
  CHECK_EQ(ns_buffers_alloc(p.owner, 10, &b, &data), NS_BUFFERS_OK);
  CHECK_EQ(b.segment, 1);
  CHECK_EQ(b.offset, 0);
  CHECK_EQ(seg_count(&p), 2);
  CHECK_EQ(hdr(&p)->segments[1].offset, 8192);
  CHECK_EQ(hdr(&p)->segments[1].size, 8192); /* growth_bytes > round_up(10, 4096) */
  CHECK_EQ(p.file.size, 16384);
  CHECK(data == p.base + 8192);
  CHECK_EQ(ns_buffers_alloc(p.owner, 20000, &c, NULL), NS_BUFFERS_OK); /* larger than growth: its own size */
  CHECK_EQ(c.segment, 2);
  CHECK_EQ(hdr(&p)->segments[2].size, 20480);
  CHECK_EQ(r.known, 1);
  CHECK_EQ(ns_buffers_resolve(&r, &c, &data), NS_BUFFERS_OK); /* refresh on demand */
  CHECK_EQ(r.known, 3);
  CHECK(data == p.base + 16384);
  CHECK_EQ(ns_buffers_alloc(p.owner, 100, &d, NULL), NS_BUFFERS_OK); /* fits in segment 1 now */
  CHECK_EQ(d.segment, 1);
  CHECK_EQ(d.offset, 64);
  p.file.fail = 1;
  CHECK_EQ(ns_buffers_alloc(p.owner, 30000, &d, NULL), NS_BUFFERS_ESYSTEM); /* extend fails: nothing published */
  CHECK_EQ(seg_count(&p), 3);
  pool_close(&p);
}

static void test_enospace_at_the_reserve_and_etoomany_at_max_buffers(void) {
  pool p;
  ns_buffers_handle h, refused;
  int i;
  pool_open(&p, 16384, 3, 64, 4096, 4096); /* room for 4096 + 4096 + 4096 after the header */
  CHECK_EQ(ns_buffers_alloc(p.owner, 4096, &h, NULL), NS_BUFFERS_OK);
  CHECK_EQ(ns_buffers_alloc(p.owner, 8192, &h, NULL), NS_BUFFERS_OK); /* segment 1 = 8192 = all the rest */
  CHECK_EQ(hdr(&p)->segments[1].size, 8192);
  CHECK_EQ(ns_buffers_alloc(p.owner, 1, &h, NULL), NS_BUFFERS_ENOSPACE); /* cap 0 */
  CHECK_EQ(NS_ATOMIC_LOAD(&((ns_buffers_header *)p.base)->failures, NS_MO_RELAXED), 1);
  pool_close(&p);
  pool_open(&p, 1 << 20, 2, 64, 4096, 65536);
  CHECK_EQ(ns_buffers_alloc(p.owner, 4096, &h, NULL), NS_BUFFERS_OK);
  CHECK_EQ(ns_buffers_alloc(p.owner, 1 << 21, &h, NULL), NS_BUFFERS_ENOSPACE); /* larger than the reserve left */
  CHECK_EQ(seg_count(&p), 1);
  CHECK_EQ(ns_buffers_alloc(p.owner, 100, &h, NULL), NS_BUFFERS_OK); /* a failed growth published nothing; this one grows by the step */
  CHECK_EQ(hdr(&p)->segments[1].size, 65536);
  CHECK_EQ(ns_buffers_alloc(p.owner, 65536, &h, NULL), NS_BUFFERS_ENOSPACE); /* table full (max_segments 2) */
  pool_close(&p);
  pool_open(&p, 1 << 20, 1, 3, 65536, 4096);
  for (i = 0; i < 3; i++) CHECK_EQ(ns_buffers_alloc(p.owner, 64, &h, NULL), NS_BUFFERS_OK);
  CHECK_EQ(ns_buffers_alloc(p.owner, 64, &refused, NULL), NS_BUFFERS_ETOOMANY);
  CHECK_EQ(refused.generation, 0); /* a refused allocation leaves an all-zero handle */
  CHECK_EQ(ns_buffers_alloc(p.owner, 0, &refused, NULL), NS_BUFFERS_EINVAL);
  CHECK_EQ(NS_ATOMIC_LOAD(&((ns_buffers_header *)p.base)->failures, NS_MO_RELAXED), 1);
  CHECK_EQ(ns_buffers_free(p.owner, &h, 0), NS_BUFFERS_OK);
  CHECK_EQ(ns_buffers_alloc(p.owner, 64, &h, NULL), NS_BUFFERS_OK);
  pool_close(&p);
}

static void test_generations_are_distinct_and_skip_zero_on_wrap(void) {
  pool p;
  ns_buffers_handle a, b, c;
  pool_open(&p, 1 << 20, 1, 64, 65536, 4096);
  CHECK_EQ(ns_buffers_alloc(p.owner, 64, &a, NULL), NS_BUFFERS_OK);
  CHECK_EQ(a.generation, 1);
  CHECK_EQ(ns_buffers_free(p.owner, &a, 0), NS_BUFFERS_OK);
  CHECK_EQ(ns_buffers_alloc(p.owner, 64, &b, NULL), NS_BUFFERS_OK);
  CHECK_EQ(b.offset, a.offset);
  CHECK_EQ(b.generation, 2);
  CHECK_EQ(ns_buffers_free(p.owner, &a, 0), NS_BUFFERS_ENOTLIVE); /* stale generation at the same offset */
  p.owner->next_generation = UINT32_MAX;                          /* the test hook */
  CHECK_EQ(ns_buffers_alloc(p.owner, 64, &a, NULL), NS_BUFFERS_OK);
  CHECK_EQ(a.generation, UINT32_MAX);
  CHECK_EQ(ns_buffers_alloc(p.owner, 64, &c, NULL), NS_BUFFERS_OK);
  CHECK_EQ(c.generation, 1);
  pool_close(&p);
}

static uint32_t invalid_returns(pool *p) {
  return NS_ATOMIC_LOAD(&((ns_buffers_header *)p->base)->invalid_returns, NS_MO_RELAXED);
}

static void test_lend_free_return_state_rules(void) {
  pool p;
  ns_buffers_handle a, b, forged;
  pool_open(&p, 1 << 20, 1, 64, 65536, 4096);
  CHECK_EQ(ns_buffers_alloc(p.owner, 100, &a, NULL), NS_BUFFERS_OK);
  CHECK_EQ(ns_buffers_alloc(p.owner, 100, &b, NULL), NS_BUFFERS_OK);
  CHECK_EQ(ns_buffers_free(p.owner, &a, NS_BUFFERS_FROM_PEER), NS_BUFFERS_ENOTLIVE); /* still OWNED */
  CHECK_EQ(invalid_returns(&p), 1);
  CHECK_EQ(ns_buffers_lend(p.owner, &a), NS_BUFFERS_OK);
  CHECK_EQ(ns_buffers_lend(p.owner, &a), NS_BUFFERS_ENOTLIVE); /* already LENT */
  CHECK_EQ(ns_buffers_free(p.owner, &a, NS_BUFFERS_FROM_OWNER), NS_BUFFERS_ENOTLIVE); /* the peer holds it */
  CHECK_EQ(invalid_returns(&p), 1);
  forged = a;
  forged.offset += 64;
  CHECK_EQ(ns_buffers_free(p.owner, &forged, NS_BUFFERS_FROM_PEER), NS_BUFFERS_ENOTLIVE);
  forged = a;
  forged.length = 99;
  CHECK_EQ(ns_buffers_free(p.owner, &forged, NS_BUFFERS_FROM_PEER), NS_BUFFERS_ENOTLIVE);
  forged = a;
  forged.generation++;
  CHECK_EQ(ns_buffers_free(p.owner, &forged, NS_BUFFERS_FROM_PEER), NS_BUFFERS_ENOTLIVE);
  CHECK_EQ(invalid_returns(&p), 4);
  CHECK_EQ(NS_ATOMIC_LOAD(&((ns_buffers_header *)p.base)->live_buffers, NS_MO_RELAXED), 2);
  CHECK_EQ(ns_buffers_free(p.owner, &a, NS_BUFFERS_FROM_PEER), NS_BUFFERS_OK);
  CHECK_EQ(ns_buffers_free(p.owner, &a, NS_BUFFERS_FROM_PEER), NS_BUFFERS_ENOTLIVE); /* double return */
  CHECK_EQ(invalid_returns(&p), 5);
  CHECK_EQ(ns_buffers_free(p.owner, &b, 2), NS_BUFFERS_EINVAL);
  CHECK_EQ(ns_buffers_free(p.owner, &b, NS_BUFFERS_FROM_OWNER), NS_BUFFERS_OK);
  CHECK_EQ(ns_buffers_free(p.owner, &b, NS_BUFFERS_FROM_OWNER), NS_BUFFERS_ENOTLIVE);
  CHECK_EQ(invalid_returns(&p), 5);
  CHECK_EQ(hdr(&p)->live_bytes, 0);
  pool_close(&p);
}

static void test_reclaim_lent_frees_only_lent_buffers(void) {
  pool p;
  ns_buffers_handle h[6];
  int i;
  pool_open(&p, 1 << 20, 1, 64, 65536, 4096);
  for (i = 0; i < 6; i++) CHECK_EQ(ns_buffers_alloc(p.owner, 64, &h[i], NULL), NS_BUFFERS_OK);
  for (i = 0; i < 6; i += 2) CHECK_EQ(ns_buffers_lend(p.owner, &h[i]), NS_BUFFERS_OK);
  CHECK_EQ(ns_buffers_reclaim_lent(p.owner), 3);
  CHECK_EQ(ns_buffers_reclaim_lent(p.owner), 0);
  CHECK_EQ(NS_ATOMIC_LOAD(&((ns_buffers_header *)p.base)->live_buffers, NS_MO_RELAXED), 3);
  for (i = 0; i < 6; i++)
    CHECK_EQ(ns_buffers_free(p.owner, &h[i], 0), i % 2 ? NS_BUFFERS_OK : NS_BUFFERS_ENOTLIVE);
  CHECK_EQ(hdr(&p)->live_bytes, 0);
  pool_close(&p);
}

static void test_resolve_against_a_hostile_table(void) {
  pool p;
  ns_buffers_reader r;
  ns_buffers_handle h, a;
  ns_buffers_header *w;
  uint8_t *data;
  pool_open(&p, 1 << 20, 4, 64, 8192, 8192);
  w = (ns_buffers_header *)p.base;
  CHECK_EQ(ns_buffers_reader_attach(&r, p.base, p.reserve, -1), NS_BUFFERS_OK);
  CHECK_EQ(ns_buffers_alloc(p.owner, 100, &a, NULL), NS_BUFFERS_OK);
  /* handle checks in order */
  h = a;
  h.reserved = 1;
  CHECK_EQ(ns_buffers_resolve(&r, &h, &data), NS_BUFFERS_EHANDLE);
  h = a;
  h.generation = 0;
  CHECK_EQ(ns_buffers_resolve(&r, &h, &data), NS_BUFFERS_EHANDLE);
  h = a;
  h.segment = 4;
  CHECK_EQ(ns_buffers_resolve(&r, &h, &data), NS_BUFFERS_EHANDLE);
  h.segment = 1; /* not grown yet */
  CHECK_EQ(ns_buffers_resolve(&r, &h, &data), NS_BUFFERS_EHANDLE);
  h = a;
  h.offset = 32;
  CHECK_EQ(ns_buffers_resolve(&r, &h, &data), NS_BUFFERS_EBOUNDS);
  h = a;
  h.length = 0;
  CHECK_EQ(ns_buffers_resolve(&r, &h, &data), NS_BUFFERS_EBOUNDS);
  h = a;
  h.offset = 8192;
  h.length = 1;
  CHECK_EQ(ns_buffers_resolve(&r, &h, &data), NS_BUFFERS_EBOUNDS);
  h.offset = 8128;
  h.length = 64;
  CHECK_EQ(ns_buffers_resolve(&r, &h, &data), NS_BUFFERS_OK);
  h.length = 65;
  CHECK_EQ(ns_buffers_resolve(&r, &h, &data), NS_BUFFERS_EBOUNDS);
  h.offset = UINT64_MAX - 63;
  CHECK_EQ(ns_buffers_resolve(&r, &h, &data), NS_BUFFERS_EBOUNDS);
  /* an entry rewritten after the snapshot changes nothing */
  w->segments[0].size = 1 << 19;
  h = a;
  h.offset = 65536;
  CHECK_EQ(ns_buffers_resolve(&r, &h, &data), NS_BUFFERS_EBOUNDS);
  CHECK_EQ(r.seg_size[0], 8192);
  w->segments[0].size = 8192;
  /* a segment past the file size (the fd path: the mapping stands in for the file) */
  w->segments[1].offset = 12288;
  w->segments[1].size = (1 << 20) - 8192; /* ends past the reserve */
  NS_ATOMIC_STORE(&w->segment_count, 2, NS_MO_RELEASE);
  h = a;
  h.segment = 1;
  CHECK_EQ(ns_buffers_resolve(&r, &h, &data), NS_BUFFERS_ESEGMENT);
  CHECK_EQ(r.known, 1);
  w->segments[1].offset = 8192; /* not contiguous: segment 0 ends at 12288 */
  w->segments[1].size = 4096;
  CHECK_EQ(ns_buffers_resolve(&r, &h, &data), NS_BUFFERS_ESEGMENT);
  w->segments[1].offset = 12288;
  w->segments[1].size = 4000; /* not a page multiple */
  CHECK_EQ(ns_buffers_resolve(&r, &h, &data), NS_BUFFERS_ESEGMENT);
  w->segments[1].size = 4096;
  r.mapped = 12288; /* as if the file ended at segment 0's end: fd -1 uses the mapping size */
  CHECK_EQ(ns_buffers_resolve(&r, &h, &data), NS_BUFFERS_ESEGMENT);
  r.mapped = p.reserve;
  NS_ATOMIC_STORE(&w->segment_count, 5, NS_MO_RELEASE); /* above max_segments */
  CHECK_EQ(ns_buffers_resolve(&r, &h, &data), NS_BUFFERS_ECOUNT);
  NS_ATOMIC_STORE(&w->segment_count, 2, NS_MO_RELEASE);
  CHECK_EQ(ns_buffers_resolve(&r, &h, &data), NS_BUFFERS_OK);
  CHECK_EQ(r.known, 2);
  NS_ATOMIC_STORE(&w->segment_count, 1, NS_MO_RELEASE); /* decreases */
  h.segment = 2;
  CHECK_EQ(ns_buffers_resolve(&r, &h, &data), NS_BUFFERS_ECOUNT);
  CHECK_EQ(r.known, 2);
  h.segment = 1;
  CHECK_EQ(ns_buffers_resolve(&r, &h, &data), NS_BUFFERS_OK); /* known segments still resolve */
  NS_ATOMIC_STORE(&w->segment_count, 0, NS_MO_RELEASE);
  CHECK_EQ(ns_buffers_reader_attach(&r, p.base, p.reserve, -1), NS_BUFFERS_ECOUNT);
  pool_close(&p);
}

static uint64_t g_rng = 0x9E3779B97F4A7C15ull;
static uint64_t next_random(void) { /* xorshift64* */
  g_rng ^= g_rng >> 12;
  g_rng ^= g_rng << 25;
  g_rng ^= g_rng >> 27;
  return g_rng * 0x2545F4914F6CDD1Dull;
}

static void test_a_million_random_handles_never_resolve_outside_the_pool(void) {
  pool p;
  ns_buffers_reader r;
  ns_buffers_handle h, g;
  uint8_t *data;
  uint64_t file_end, ok = 0;
  int i, outside = 0;
  pool_open(&p, 1 << 20, 4, 64, 8192, 12288);
  CHECK_EQ(ns_buffers_alloc(p.owner, 8192, &g, NULL), NS_BUFFERS_OK);
  CHECK_EQ(ns_buffers_alloc(p.owner, 100, &g, NULL), NS_BUFFERS_OK); /* segments 0 and 1: file end 24576 */
  file_end = p.file.size;
  CHECK_EQ(file_end, 24576);
  CHECK_EQ(ns_buffers_reader_attach(&r, p.base, file_end, -1), NS_BUFFERS_ELIMITS); /* reserve > mapping */
  CHECK_EQ(ns_buffers_reader_attach(&r, p.base, p.reserve, -1), NS_BUFFERS_OK);
  for (i = 0; i < 1000000; i++) {
    uint64_t x = next_random(), y = next_random();
    h.segment = (uint32_t)(x & 7);
    h.generation = (uint32_t)(x >> 8) & 3;
    h.reserved = (x >> 16) % 64 == 0;
    h.offset = (x >> 20) & 1 ? (y & 0x7FFF) : (y & 0x7FFF) & ~63ull; /* mostly aligned, near the segment sizes */
    if ((x >> 21) % 16 == 0) h.offset = y;
    h.length = (uint32_t)(next_random() % 20000);
    if (ns_buffers_resolve(&r, &h, &data) == NS_BUFFERS_OK) {
      uint64_t at = (uint64_t)(data - p.base);
      ok++;
      if (at < NS_BUFFERS_HEADER_SIZE || at >= file_end || h.length > file_end - at) outside++;
    }
  }
  CHECK_EQ(outside, 0);
  CHECK(ok > 1000); /* the loop exercised the accepting path too */
  pool_close(&p);
}

int main(void) {
  run_test("init and attach validate the descriptor in order", test_init_and_attach_validate_the_descriptor);
  run_test("first fit reuses low offsets", test_first_fit_reuses_low_offsets);
  run_test("a free coalesces with both neighbours", test_a_free_coalesces_with_both_neighbours);
  run_test("the pool grows by one segment of max(growth, length) and the reader sees it",
           test_the_pool_grows_by_one_segment_and_the_reader_sees_it);
  run_test("ENOSPACE at the reserve and the table's end, ETOOMANY at max_buffers",
           test_enospace_at_the_reserve_and_etoomany_at_max_buffers);
  run_test("generations are distinct and skip 0 on wrap", test_generations_are_distinct_and_skip_zero_on_wrap);
  run_test("lend, free and return follow the state rules; refused returns are counted",
           test_lend_free_return_state_rules);
  run_test("reclaim_lent frees only lent buffers", test_reclaim_lent_frees_only_lent_buffers);
  run_test("resolve against a hostile table", test_resolve_against_a_hostile_table);
  run_test("a million random handles never resolve outside the pool",
           test_a_million_random_handles_never_resolve_outside_the_pool);
  printf("%d passed, %d failed\n", g_passed, g_failed);
  return g_failed == 0 ? 0 : 1;
}
