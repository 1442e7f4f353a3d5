/* native/test/ring_test.c — unit, corruption, park/wake and C↔C stress tests of native_sidecar/ring.h + wait.h.
 *
 * Usage: ring_test [--stress-records N]   (default 1,000,000 records per stress run)
 * Prints "ok - <name>" / "not ok - <name>" per test, diagnostics on stderr, and as its last line
 * "<N> passed, <N> failed". Exits 0 only when nothing failed. Run by test/c-ring.test.ts. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "native_sidecar/ring.h"
#include "native_sidecar/wait.h"
#include "stress_payload.h"
#include "check.h"

/* The harness (CHECK, CHECK_EQ, run_test) is check.h. */

static uint32_t g_stress_records = 1000000u;

/* A test whose helper thread is stuck cannot be joined: report and leave with a failure. */
static void abandon_run(const char *name, const char *why) {
  fprintf(stderr, "  %s: %s\n", name, why);
  printf("not ok - %s\n", name);
  printf("%d passed, %d failed\n", g_passed, g_failed + 1);
  fflush(stdout);
  _exit(1);
}

static void sleep_ns(int64_t ns) {
  struct timespec ts = {(time_t)(ns / NS_NSEC_PER_SEC), (long)(ns % NS_NSEC_PER_SEC)};
  nanosleep(&ts, NULL);
}

/* Polls *flag until it is nonzero, at most timeout_ns. Returns 1 if it became nonzero. */
static int wait_flag(atomic_int *flag, int64_t timeout_ns) {
  const int64_t deadline = ns_monotonic_ns() + timeout_ns;
  while (atomic_load(flag) == 0) {
    if (ns_monotonic_ns() > deadline) return 0;
    sleep_ns(1000000);
  }
  return 1;
}

/* Polls a shared word until it equals `value`, at most timeout_ns. */
static int wait_word(NS_ATOMIC_U32 *word, uint32_t value, int64_t timeout_ns) {
  const int64_t deadline = ns_monotonic_ns() + timeout_ns;
  while (NS_ATOMIC_LOAD(word, NS_MO_SEQ_CST) != value) {
    if (ns_monotonic_ns() > deadline) return 0;
    sleep_ns(1000000);
  }
  return 1;
}

#define SECOND_NS 1000000000LL
#define WATCHDOG_NS (20 * SECOND_NS) /* bound on anything that would hang if a wake-up were lost */

/* ----------------------------------------------------------------------------------------------- fixtures */

typedef struct fixture {
  uint8_t *mem;
  size_t size;
  ns_ring r;
} fixture;

/* Allocates exactly one segment (so AddressSanitizer sees any access past it) and fills the data area with a
 * non-zero pattern so that nothing can rely on zeroed memory. */
static uint8_t *alloc_segment(size_t size) {
  void *mem = NULL;
  if (posix_memalign(&mem, NS_BLOCK_SIZE, size) != 0) abort();
  memset(mem, 0xEE, size);
  return (uint8_t *)mem;
}

static void fixture_open(fixture *f, uint32_t capacity, uint32_t max_payload, uint32_t initial_position) {
  f->size = ns_ring_segment_size(capacity);
  f->mem = alloc_segment(f->size);
  CHECK_EQ(ns_ring_init(f->mem, f->size, capacity, max_payload, initial_position), NS_RING_OK);
  CHECK_EQ(ns_ring_attach(&f->r, f->mem, f->size), NS_RING_OK);
}

static void fixture_close(fixture *f) {
  free(f->mem);
  f->mem = NULL;
}

static ns_ring_shared *as_shared(void *mem) {
  return (ns_ring_shared *)mem;
}

static ns_ring_shared *shared_of(fixture *f) {
  return as_shared(f->mem);
}

static uint32_t shared_tail(fixture *f) {
  return NS_ATOMIC_LOAD(&shared_of(f)->tail, NS_MO_SEQ_CST);
}

static uint32_t shared_head(fixture *f) {
  return NS_ATOMIC_LOAD(&shared_of(f)->head, NS_MO_SEQ_CST);
}

static void set_tail(fixture *f, uint32_t v) {
  NS_ATOMIC_STORE(&shared_of(f)->tail, v, NS_MO_SEQ_CST);
}

static void set_head(fixture *f, uint32_t v) {
  NS_ATOMIC_STORE(&shared_of(f)->head, v, NS_MO_SEQ_CST);
}

/* Writes a record header the way a (possibly hostile) peer would, at position `pos`. */
static void put_header(fixture *f, uint32_t pos, uint32_t length, uint32_t type) {
  ns_record_header h;
  h.length = length;
  h.type = type;
  memcpy(f->mem + NS_RING_HEADER_SIZE + (pos & (f->r.capacity - 1u)), &h, sizeof h);
}

/* Records a read delivers, copied out. */
#define MAX_COLLECT 64
typedef struct collected {
  int count;
  int stop_after; /* 0: never stop */
  uint32_t types[MAX_COLLECT];
  uint32_t lengths[MAX_COLLECT];
  uint8_t bytes[MAX_COLLECT][64];
  int misaligned;
} collected;

static int collect(void *ctx, uint32_t type, const uint8_t *payload, uint32_t length) {
  collected *c = (collected *)ctx;
  if ((uintptr_t)payload % NS_RECORD_ALIGN != 0) c->misaligned = 1;
  if (c->count < MAX_COLLECT) {
    c->types[c->count] = type;
    c->lengths[c->count] = length;
    memcpy(c->bytes[c->count], payload, length < 64 ? length : 64);
  }
  ++c->count;
  return c->stop_after != 0 && c->count >= c->stop_after;
}

static void fill_pattern(uint8_t *buf, uint32_t length, uint32_t seed) {
  for (uint32_t i = 0; i < length; ++i) buf[i] = (uint8_t)(seed * 31u + i);
}

/* ----------------------------------------------------------------------------------------- init and attach */

static void test_init_rejects_bad_arguments(void) {
  const uint32_t cap = 1024;
  uint8_t *mem = alloc_segment(ns_ring_segment_size(cap) + 8);
  const size_t size = ns_ring_segment_size(cap);
  CHECK_EQ(ns_ring_init(NULL, size, cap, 0, 0), NS_RING_EINVAL);
  CHECK_EQ(ns_ring_init(mem + 4, size, cap, 0, 0), NS_RING_EINVAL);         /* misaligned */
  CHECK_EQ(ns_ring_init(mem, size, 1536, 0, 0), NS_RING_EINVAL);            /* not a power of two */
  CHECK_EQ(ns_ring_init(mem, size, 512, 0, 0), NS_RING_EINVAL);             /* below the minimum */
  CHECK_EQ(ns_ring_init(mem, size, 0x80000000u, 0, 0), NS_RING_EINVAL);     /* above the maximum */
  CHECK_EQ(ns_ring_init(mem, size, 0, 0, 0), NS_RING_EINVAL);
  CHECK_EQ(ns_ring_init(mem, size - 1, cap, 0, 0), NS_RING_EINVAL);         /* too small for the data area */
  CHECK_EQ(ns_ring_init(mem, size, cap, cap / 2 - 7, 0), NS_RING_EINVAL);   /* max_payload > capacity/2 - 8 */
  CHECK_EQ(ns_ring_init(mem, size, cap, 0, 4), NS_RING_EINVAL);             /* unaligned start */
  CHECK_EQ(ns_ring_init(mem, size, cap, 0, 0xFFFFFFF8u), NS_RING_OK);
  ns_ring r = {0};
  CHECK_EQ(ns_ring_attach(&r, mem, size), NS_RING_OK);
  CHECK_EQ(r.max_payload, ns_ring_max_payload_for(cap)); /* 0 = the largest allowed */
  CHECK_EQ(r.capacity, cap);
  CHECK_EQ(as_shared(mem)->descriptor.magic, NS_RING_MAGIC);
  CHECK_EQ(ns_ring_init(mem, size, cap, 100, 0), NS_RING_OK);
  CHECK_EQ(ns_ring_attach(&r, mem, size), NS_RING_OK);
  CHECK_EQ(r.max_payload, 100);
  free(mem);
}

static void test_attach_rejects_a_bad_descriptor(void) {
  const uint32_t cap = 1024;
  const size_t size = ns_ring_segment_size(cap);
  uint8_t *mem = alloc_segment(size);
  uint8_t *good = alloc_segment(size);
  CHECK_EQ(ns_ring_init(good, size, cap, 0, 0), NS_RING_OK);
  ns_ring r = {0};
  ns_ring_descriptor *d = &((ns_ring_shared *)(void *)mem)->descriptor;

  CHECK_EQ(ns_ring_attach(NULL, good, size), NS_RING_EINVAL);
  CHECK_EQ(ns_ring_attach(&r, NULL, size), NS_RING_EINVAL);
  /* a segment too small for the ring is one code, whether it lacks header bytes or data bytes (§7) */
  CHECK_EQ(ns_ring_attach(&r, good, NS_RING_HEADER_SIZE - 1), NS_RING_ECORRUPT);
  CHECK_EQ(ns_ring_attach(&r, good, 0), NS_RING_ECORRUPT);
  CHECK_EQ(ns_ring_attach(&r, good, size - 8), NS_RING_ECORRUPT); /* descriptor says more than is mapped */

  uint32_t seed = 12345;
  for (size_t i = 0; i < size; ++i) mem[i] = (uint8_t)ns_stress_next_random(&seed); /* garbage */
  CHECK_EQ(ns_ring_attach(&r, mem, size), NS_RING_ECORRUPT);

#define MUTATE(stmt)                                  \
  do {                                                \
    memcpy(mem, good, size);                          \
    stmt;                                             \
    CHECK_EQ(ns_ring_attach(&r, mem, size), NS_RING_ECORRUPT); \
  } while (0)
  MUTATE(d->magic ^= 1u);
  MUTATE(d->version = 2);
  MUTATE(d->header_size = 256);
  MUTATE(d->capacity = 1536);                      /* not a power of two */
  MUTATE(d->capacity = 512);                       /* below the minimum */
  MUTATE(d->capacity = 2048);                      /* more than is mapped */
  MUTATE(d->max_payload = 0);
  MUTATE(d->max_payload = cap / 2 - 7);            /* too big */
  MUTATE(d->flags = 1);
  ns_ring_shared *sh = as_shared(mem);
  MUTATE(NS_ATOMIC_STORE(&sh->tail, 4u, NS_MO_RELAXED));             /* unaligned tail */
  MUTATE(NS_ATOMIC_STORE(&sh->head, 4u, NS_MO_RELAXED));             /* unaligned head */
  MUTATE(NS_ATOMIC_STORE(&sh->tail, cap + 8u, NS_MO_RELAXED));       /* tail − head > capacity */
  MUTATE(NS_ATOMIC_STORE(&sh->head, 8u, NS_MO_RELAXED));             /* head past tail */
  MUTATE(NS_ATOMIC_STORE(&sh->closed, 4u, NS_MO_RELAXED));           /* reserved bit 2 of closed (§1) */
  MUTATE(NS_ATOMIC_STORE(&sh->closed, 0x80000003u, NS_MO_RELAXED));  /* reserved bit 31 of closed */
#undef MUTATE
  memcpy(mem, good, size); /* head 8 bytes behind tail, across the u32 wrap: valid */
  NS_ATOMIC_STORE(&sh->head, 0xFFFFFFF8u, NS_MO_RELAXED);
  NS_ATOMIC_STORE(&sh->tail, 0u, NS_MO_RELAXED);
  CHECK_EQ(ns_ring_attach(&r, mem, size), NS_RING_OK);
  memcpy(mem, good, size);
  memset(((ns_ring_shared *)(void *)mem)->descriptor.reserved, 0x5A, sizeof d->reserved);
  CHECK_EQ(ns_ring_attach(&r, mem, size), NS_RING_OK); /* reserved bytes are ignored by readers */
  memcpy(mem, good, size);
  NS_ATOMIC_STORE(&as_shared(mem)->closed, NS_RING_CLOSED_MASK, NS_MO_RELAXED);
  CHECK_EQ(ns_ring_attach(&r, mem, size), NS_RING_OK); /* both defined closed bits: a valid (closed) ring */
  uint8_t *big = alloc_segment(size + 4096);
  memcpy(big, good, size);
  CHECK_EQ(ns_ring_attach(&r, big, size + 4096), NS_RING_OK); /* more bytes than 512 + capacity: accepted (§2) */
  free(big);
  free(mem);
  free(good);
}

/* ----------------------------------------------------------------------------------------- write and read */

/* wire-format §2, §7: correctness needs 8-byte alignment, which is all init and attach check (NS_RING_EINVAL); a
 * ring at an 8- but not 128-aligned address works (the block alignment is a performance property that region
 * segments and the TypeScript Ring's byteOffset enforce). */
static void test_init_and_attach_need_8_byte_alignment_not_128(void) {
  const uint32_t cap = 1024;
  const size_t size = ns_ring_segment_size(cap);
  uint8_t *block = alloc_segment(size + NS_BLOCK_SIZE);
  ns_ring r = {0};
  CHECK_EQ(ns_ring_init(block + 4, size, cap, 0, 0), NS_RING_EINVAL);
  CHECK_EQ(ns_ring_init(block + 8, size, cap, 0, 0), NS_RING_OK);
  CHECK_EQ(ns_ring_attach(&r, block + 4, size), NS_RING_EINVAL);
  CHECK_EQ(ns_ring_attach(&r, block + 8, size), NS_RING_OK);
  CHECK_EQ(ns_ring_try_write(&r, 7, "eight", 5), NS_RING_OK);
  collected c = {0};
  CHECK_EQ(ns_ring_read(&r, collect, &c, 0), 1);
  CHECK_EQ(c.types[0], 7u);
  CHECK_EQ(c.misaligned, 0);
  free(block);
}

static void test_records_round_trip_in_order(void) {
  fixture f;
  fixture_open(&f, 1024, 0, 0);
  uint8_t buf[64];
  for (uint32_t i = 0; i < 6; ++i) {
    fill_pattern(buf, 64, i);
    CHECK_EQ(ns_ring_try_write(&f.r, i * 1000u, buf, i * 9u), NS_RING_OK);
  }
  CHECK_EQ(ns_ring_try_write(&f.r, NS_RECORD_TYPE_MAX_USER, NULL, 0), NS_RING_OK); /* zero-length payload */
  collected c = {0};
  CHECK_EQ(ns_ring_read(&f.r, collect, &c, 0), 7);
  CHECK_EQ(c.misaligned, 0);
  for (uint32_t i = 0; i < 6; ++i) {
    fill_pattern(buf, 64, i);
    CHECK_EQ(c.types[i], i * 1000u);
    CHECK_EQ(c.lengths[i], i * 9u);
    CHECK(memcmp(c.bytes[i], buf, i * 9u) == 0);
  }
  CHECK_EQ(c.types[6], NS_RECORD_TYPE_MAX_USER);
  CHECK_EQ(c.lengths[6], 0);
  CHECK_EQ(shared_head(&f), shared_tail(&f));
  CHECK_EQ(ns_ring_read(&f.r, collect, &c, 0), 0); /* empty */
  fixture_close(&f);
}

static void test_record_arguments_are_checked(void) {
  fixture f;
  fixture_open(&f, 1024, 100, 0);
  uint8_t buf[128] = {0};
  void *claim = NULL;
  CHECK_EQ(ns_ring_try_write(&f.r, 1, buf, 101), NS_RING_ETOOBIG);
  CHECK_EQ(ns_ring_stage(&f.r, 1, buf, 101), NS_RING_ETOOBIG);
  CHECK_EQ(ns_ring_try_claim(&f.r, 101, &claim), NS_RING_ETOOBIG);
  CHECK_EQ(ns_ring_try_write(&f.r, 0x80000000u, buf, 1), NS_RING_EINVAL);
  CHECK_EQ(ns_ring_try_write(&f.r, NS_RECORD_TYPE_PADDING, buf, 1), NS_RING_EINVAL);
  CHECK_EQ(ns_ring_try_write(&f.r, 1, NULL, 1), NS_RING_EINVAL);
  CHECK_EQ(ns_ring_try_claim(&f.r, 1, NULL), NS_RING_EINVAL);
  CHECK_EQ(ns_ring_read(&f.r, NULL, NULL, 0), NS_RING_EINVAL);
  CHECK_EQ(shared_tail(&f), 0); /* nothing happened */
  CHECK_EQ(ns_ring_try_write(&f.r, 1, buf, 100), NS_RING_OK);
  fixture_close(&f);
}

static void test_a_full_ring_refuses_a_write_without_side_effects(void) {
  fixture f;
  fixture_open(&f, 1024, 0, 0);
  uint8_t buf[200];
  int written = 0;
  while (ns_ring_try_write(&f.r, 7, buf, 120) == NS_RING_OK) {
    fill_pattern(buf, 120, (uint32_t)written);
    ++written;
  }
  CHECK_EQ(written, 1024 / 128);
  uint8_t *before = (uint8_t *)malloc(f.size);
  memcpy(before, f.mem, f.size);
  const ns_ring_producer_local p_before = f.r.producer;
  CHECK_EQ(ns_ring_try_write(&f.r, 7, buf, 120), NS_RING_EFULL);
  CHECK_EQ(ns_ring_try_write(&f.r, 7, buf, 0), NS_RING_EFULL);
  CHECK_EQ(ns_ring_stage(&f.r, 7, buf, 1), NS_RING_EFULL);
  void *claim = NULL;
  CHECK_EQ(ns_ring_try_claim(&f.r, 1, &claim), NS_RING_EFULL);
  CHECK(claim == NULL);
  CHECK(memcmp(before, f.mem, f.size) == 0);
  CHECK(memcmp(&p_before, &f.r.producer, sizeof p_before) == 0);
  collected c = {0};
  CHECK_EQ(ns_ring_read(&f.r, collect, &c, 0), written);
  CHECK_EQ(ns_ring_try_write(&f.r, 7, buf, 120), NS_RING_OK);
  free(before);
  fixture_close(&f);
}

static void test_padding_fills_the_end_and_the_record_starts_at_index_zero(void) {
  const uint32_t cap = 1024;
  fixture f;
  fixture_open(&f, cap, 0, cap - 48); /* 48 bytes before the end */
  uint8_t buf[100];
  fill_pattern(buf, 100, 3);
  CHECK_EQ(ns_ring_try_write(&f.r, 5, buf, 100), NS_RING_OK); /* needs 112 > 48 */
  ns_record_header pad;
  memcpy(&pad, f.mem + NS_RING_HEADER_SIZE + cap - 48, sizeof pad);
  CHECK_EQ(pad.type, NS_RECORD_TYPE_PADDING);
  CHECK_EQ(pad.length, 48 - NS_RECORD_HEADER_SIZE);
  ns_record_header rec;
  memcpy(&rec, f.mem + NS_RING_HEADER_SIZE, sizeof rec);
  CHECK_EQ(rec.type, 5);
  CHECK_EQ(rec.length, 100);
  CHECK(memcmp(f.mem + NS_RING_HEADER_SIZE + NS_RECORD_HEADER_SIZE, buf, 100) == 0);
  CHECK_EQ(shared_tail(&f), cap - 48 + 48 + ns_record_size(100));
  collected c = {0};
  CHECK_EQ(ns_ring_read(&f.r, collect, &c, 0), 1); /* the padding is skipped silently */
  CHECK_EQ(c.types[0], 5);
  CHECK(memcmp(c.bytes[0], buf, 64) == 0);
  /* A record that fits exactly up to the end needs no padding. */
  fixture g;
  fixture_open(&g, cap, 0, cap - 48);
  CHECK_EQ(ns_ring_try_write(&g.r, 6, buf, 40), NS_RING_OK);
  CHECK_EQ(shared_tail(&g), cap);
  memcpy(&rec, g.mem + NS_RING_HEADER_SIZE + cap - 48, sizeof rec);
  CHECK_EQ(rec.type, 6);
  fixture_close(&f);
  fixture_close(&g);
}

/* Random records through a ring whose positions start just below 2^32: crosses the u32 wrap and the end of the
 * data area many times, with padding. */
static void test_positions_wrap_past_two_to_the_32(void) {
  const uint32_t start = 0xFFFFFFFFu - 4096u + 1u; /* 2^32 − 4096 */
  fixture f;
  fixture_open(&f, 1024, 0, start);
  uint8_t buf[512];
  uint32_t rng = 99, sent = 0, received = 0;
  int crossed = 0;
  for (int round = 0; round < 4000 && !g_test_failed; ++round) {
    for (;;) {
      const uint32_t len = ns_stress_random_length(&rng, f.r.max_payload);
      ns_stress_fill(buf, len, sent);
      const int rc = ns_ring_try_write(&f.r, NS_STRESS_TYPE, buf, len);
      if (rc == NS_RING_EFULL) break;
      CHECK_EQ(rc, NS_RING_OK);
      ++sent;
    }
    uint32_t type, length;
    const uint8_t *payload;
    while (ns_ring_peek(&f.r, &type, &payload, &length) == NS_RING_OK) {
      CHECK_EQ(type, NS_STRESS_TYPE);
      CHECK_EQ(ns_stress_verify(payload, length, received), NS_STRESS_OK);
      CHECK_EQ(ns_ring_release(&f.r), NS_RING_OK);
      ++received;
    }
    if (shared_tail(&f) < start) crossed = 1;
  }
  CHECK(crossed);
  CHECK_EQ(received, sent);
  CHECK(sent > 4000);
  fixture_close(&f);
}

static void test_claim_commit_and_abort(void) {
  fixture f;
  fixture_open(&f, 1024, 0, 1024 - 16);
  void *p = NULL;
  CHECK_EQ(ns_ring_commit(&f.r, 1), NS_RING_EINVAL); /* nothing claimed */
  CHECK_EQ(ns_ring_try_claim(&f.r, 50, &p), NS_RING_OK); /* needs padding of 16 bytes first */
  CHECK(p != NULL && (uintptr_t)p % NS_RECORD_ALIGN == 0);
  CHECK(p == (void *)(f.mem + NS_RING_HEADER_SIZE + NS_RECORD_HEADER_SIZE));
  void *q = NULL;
  CHECK_EQ(ns_ring_try_claim(&f.r, 8, &q), NS_RING_EINVAL); /* one claim at a time */
  CHECK_EQ(ns_ring_try_write(&f.r, 1, "x", 1), NS_RING_EINVAL);
  CHECK_EQ(ns_ring_stage(&f.r, 1, "x", 1), NS_RING_EINVAL);
  memcpy(p, "aborted", 7);
  ns_ring_abort(&f.r);
  CHECK_EQ(shared_tail(&f), 1024 - 16); /* an aborted claim never moves tail */
  collected c = {0};
  CHECK_EQ(ns_ring_read(&f.r, collect, &c, 0), 0);

  CHECK_EQ(ns_ring_try_claim(&f.r, 11, &p), NS_RING_OK);
  memcpy(p, "hello world", 11);
  CHECK_EQ(ns_ring_commit(&f.r, 0x80000000u), NS_RING_EINVAL); /* bad type: the claim stays */
  CHECK_EQ(ns_ring_commit(&f.r, 42), NS_RING_OK);
  CHECK_EQ(ns_ring_commit(&f.r, 42), NS_RING_EINVAL);
  CHECK_EQ(ns_ring_try_claim(&f.r, 0, &p), NS_RING_OK); /* zero-length claim */
  CHECK_EQ(ns_ring_commit(&f.r, 43), NS_RING_OK);
  CHECK_EQ(ns_ring_read(&f.r, collect, &c, 0), 2);
  CHECK_EQ(c.types[0], 42);
  CHECK_EQ(c.lengths[0], 11);
  CHECK(memcmp(c.bytes[0], "hello world", 11) == 0);
  CHECK_EQ(c.types[1], 43);
  CHECK_EQ(c.lengths[1], 0);
  fixture_close(&f);
}

static void test_staged_records_stay_invisible_until_publish(void) {
  fixture f;
  fixture_open(&f, 1024, 0, 0);
  ns_ring consumer = {0};
  CHECK_EQ(ns_ring_attach(&consumer, f.mem, f.size), NS_RING_OK);
  CHECK_EQ(ns_ring_stage(&f.r, 1, "a", 1), NS_RING_OK);
  CHECK_EQ(ns_ring_stage(&f.r, 2, "bb", 2), NS_RING_OK);
  void *p = NULL;
  CHECK_EQ(ns_ring_try_claim(&f.r, 3, &p), NS_RING_OK);
  memcpy(p, "ccc", 3);
  collected c = {0};
  CHECK_EQ(shared_tail(&f), 0);
  CHECK_EQ(ns_ring_read(&consumer, collect, &c, 0), 0);
  CHECK_EQ(ns_ring_commit(&f.r, 3), NS_RING_OK); /* publishes the staged records with it */
  CHECK_EQ(ns_ring_stage(&f.r, 4, "dddd", 4), NS_RING_OK);
  CHECK_EQ(ns_ring_read(&consumer, collect, &c, 0), 3);
  ns_ring_publish(&f.r);
  ns_ring_publish(&f.r); /* nothing new: a no-op */
  CHECK_EQ(ns_ring_read(&consumer, collect, &c, 0), 1);
  CHECK_EQ(c.count, 4);
  for (int i = 0; i < 4; ++i) CHECK_EQ(c.types[i], i + 1);
  CHECK(memcmp(c.bytes[2], "ccc", 3) == 0);
  fixture_close(&f);
}

static void test_read_honours_the_limit_and_a_stopping_handler(void) {
  fixture f;
  fixture_open(&f, 1024, 0, 0);
  for (uint32_t i = 0; i < 10; ++i) CHECK_EQ(ns_ring_try_write(&f.r, i, &i, sizeof i), NS_RING_OK);
  collected c = {0};
  CHECK_EQ(ns_ring_read(&f.r, collect, &c, 3), 3);
  const uint32_t head_after_three = shared_head(&f);
  CHECK_EQ(head_after_three, 3 * ns_record_size(4));
  c.stop_after = 5; /* stop after the 5th record collected overall, i.e. 2 more */
  CHECK_EQ(ns_ring_read(&f.r, collect, &c, 0), 2);
  c.stop_after = 0;
  CHECK_EQ(ns_ring_read(&f.r, collect, &c, 100), 5);
  CHECK_EQ(c.count, 10);
  for (int i = 0; i < 10; ++i) CHECK_EQ(c.types[i], i);
  fixture_close(&f);
}

static void test_peek_and_release(void) {
  fixture f;
  fixture_open(&f, 1024, 0, 0);
  uint32_t type = 0, length = 0;
  const uint8_t *payload = NULL;
  CHECK_EQ(ns_ring_peek(&f.r, &type, &payload, &length), NS_RING_EEMPTY);
  CHECK_EQ(ns_ring_release(&f.r), NS_RING_EINVAL);
  CHECK_EQ(ns_ring_peek(&f.r, NULL, &payload, &length), NS_RING_EINVAL);
  uint8_t big[400];
  fill_pattern(big, sizeof big, 1);
  CHECK_EQ(ns_ring_try_write(&f.r, 9, big, 400), NS_RING_OK);
  CHECK_EQ(ns_ring_try_write(&f.r, 10, "next", 4), NS_RING_OK);
  CHECK_EQ(ns_ring_peek(&f.r, &type, &payload, &length), NS_RING_OK);
  CHECK_EQ(type, 9);
  CHECK_EQ(length, 400);
  CHECK((uintptr_t)payload % NS_RECORD_ALIGN == 0);
  const uint8_t *first = payload;
  CHECK_EQ(ns_ring_peek(&f.r, &type, &payload, &length), NS_RING_OK); /* the same record again */
  CHECK(payload == first && type == 9);
  collected c = {0};
  CHECK_EQ(ns_ring_read(&f.r, collect, &c, 0), NS_RING_EINVAL); /* not while a peek is outstanding */
  /* While peeked, the record's bytes are not the producer's: the ring fills up around it. */
  int writes = 0;
  while (ns_ring_try_write(&f.r, 11, big, 200) == NS_RING_OK) ++writes;
  CHECK_EQ(shared_head(&f), 0);
  CHECK(memcmp(first, big, 400) == 0);
  CHECK_EQ(ns_ring_release(&f.r), NS_RING_OK);
  CHECK_EQ(shared_head(&f), ns_record_size(400));
  CHECK_EQ(ns_ring_peek(&f.r, &type, &payload, &length), NS_RING_OK);
  CHECK_EQ(type, 10);
  CHECK(memcmp(payload, "next", 4) == 0);
  CHECK_EQ(ns_ring_release(&f.r), NS_RING_OK);
  CHECK_EQ(ns_ring_read(&f.r, collect, &c, 0), writes);
  fixture_close(&f);
}

/* ----------------------------------------------------------------------------------------------- closing */

static void test_closing_the_producer_ends_the_stream_after_the_last_record(void) {
  fixture f;
  fixture_open(&f, 1024, 0, 0);
  ns_ring consumer = {0};
  CHECK_EQ(ns_ring_attach(&consumer, f.mem, f.size), NS_RING_OK);
  CHECK_EQ(ns_ring_try_write(&f.r, 1, "a", 1), NS_RING_OK);
  CHECK_EQ(ns_ring_stage(&f.r, 2, "b", 1), NS_RING_OK); /* staged: close publishes it */
  ns_ring_close_producer(&f.r);
  ns_ring_close_producer(&f.r); /* idempotent */
  CHECK_EQ(ns_ring_try_write(&f.r, 3, "c", 1), NS_RING_ECLOSED);
  void *p = NULL;
  CHECK_EQ(ns_ring_try_claim(&f.r, 1, &p), NS_RING_ECLOSED);
  CHECK_EQ(shared_of(&f)->closed & NS_RING_CLOSED_PRODUCER, NS_RING_CLOSED_PRODUCER);
  CHECK_EQ(ns_ring_wait_readable(&consumer, NULL, 0), NS_RING_OK);
  collected c = {0};
  CHECK_EQ(ns_ring_read(&consumer, collect, &c, 0), 2);
  CHECK_EQ(ns_ring_read(&consumer, collect, &c, 0), NS_RING_ECLOSED);
  uint32_t t, l;
  const uint8_t *pl;
  CHECK_EQ(ns_ring_peek(&consumer, &t, &pl, &l), NS_RING_ECLOSED);
  CHECK_EQ(ns_ring_wait_readable(&consumer, NULL, SECOND_NS), NS_RING_ECLOSED);
  fixture_close(&f);
}

static void test_closing_the_consumer_is_reported_to_a_producer_that_finds_the_ring_full(void) {
  fixture f;
  fixture_open(&f, 1024, 0, 0);
  ns_ring consumer = {0};
  CHECK_EQ(ns_ring_attach(&consumer, f.mem, f.size), NS_RING_OK);
  ns_ring_close_consumer(&consumer);
  collected c = {0};
  CHECK_EQ(ns_ring_read(&consumer, collect, &c, 0), NS_RING_ECLOSED);
  CHECK_EQ(ns_ring_release(&consumer), NS_RING_ECLOSED);
  uint8_t buf[100] = {0};
  int rc;
  while ((rc = ns_ring_try_write(&f.r, 1, buf, 100)) == NS_RING_OK) {
  }
  CHECK_EQ(rc, NS_RING_ECLOSED);
  CHECK_EQ(ns_ring_wait_writable(&f.r, 100, NULL, SECOND_NS), NS_RING_ECLOSED);
  fixture_close(&f);
}

/* --------------------------------------------------------------------------------------------- corruption */

/* Each case: a ring with some valid history, then a peer writes something invalid; the reading side must return
 * NS_RING_ECORRUPT (never crash, hang or read outside the segment) and stay broken afterwards. */
typedef void (*corruptor)(fixture *f);

static void expect_consumer_corrupt(const char *what, corruptor corrupt) {
  fixture f;
  fixture_open(&f, 1024, 200, 0);
  uint8_t buf[200] = {0};
  for (int i = 0; i < 3; ++i) CHECK_EQ(ns_ring_try_write(&f.r, 1, buf, 40), NS_RING_OK);
  collected c = {0};
  CHECK_EQ(ns_ring_read(&f.r, collect, &c, 2), 2); /* head = 96, cached tail = 144 */
  corrupt(&f);
  uint32_t t, l;
  const uint8_t *p;
  int rc_read = ns_ring_read(&f.r, collect, &c, 0);
  /* The third (valid, cached) record may be delivered first; the next call must then fail. */
  if (rc_read == 1) rc_read = ns_ring_read(&f.r, collect, &c, 0);
  if (rc_read != NS_RING_ECORRUPT) fprintf(stderr, "  case '%s': read returned %d\n", what, rc_read);
  CHECK_EQ(rc_read, NS_RING_ECORRUPT);
  CHECK_EQ(ns_ring_peek(&f.r, &t, &p, &l), NS_RING_ECORRUPT);
  CHECK_EQ(ns_ring_wait_readable(&f.r, NULL, 0), NS_RING_ECORRUPT);
  /* broken stays broken, even once the memory looks fine again */
  ns_ring fresh = {0};
  CHECK_EQ(ns_ring_init(f.mem, f.size, 1024, 200, 0), NS_RING_OK);
  CHECK_EQ(ns_ring_attach(&fresh, f.mem, f.size), NS_RING_OK);
  CHECK_EQ(ns_ring_try_write(&fresh, 1, buf, 8), NS_RING_OK);
  CHECK_EQ(ns_ring_read(&f.r, collect, &c, 0), NS_RING_ECORRUPT);
  fixture_close(&f);
}

/* The consumer has read two 48-byte records (head 96) and cached tail 144 (the third record). */
static void corrupt_tail_backwards(fixture *f) { set_tail(f, 96 - 48); }
static void corrupt_tail_past_capacity(fixture *f) { set_tail(f, 144 + 1024 + 8); }
static void corrupt_tail_unaligned(fixture *f) { set_tail(f, 144 + 4); }
static void corrupt_reserved_type(fixture *f) {
  put_header(f, 144, 8, 0x80000000u);
  set_tail(f, 160);
}
static void corrupt_type_just_below_padding(fixture *f) {
  put_header(f, 144, 8, 0xFFFFFFFEu);
  set_tail(f, 160);
}
static void corrupt_length_over_max_payload(fixture *f) {
  put_header(f, 144, 201, 1);
  set_tail(f, 144 + 8 + 208);
}
static void corrupt_length_huge(fixture *f) {
  put_header(f, 144, 0xFFFFFFF8u, 1);
  set_tail(f, 144 + 64);
}
static void corrupt_record_past_tail(fixture *f) {
  put_header(f, 144, 100, 1); /* 112 bytes, only 16 published */
  set_tail(f, 160);
}
static void corrupt_padding_not_ending_at_the_end(fixture *f) {
  put_header(f, 144, 16, NS_RECORD_TYPE_PADDING);
  set_tail(f, 144 + 24 + 16);
}
static void corrupt_padding_past_tail(fixture *f) {
  put_header(f, 144, 1024 - 144 - 8, NS_RECORD_TYPE_PADDING); /* ends at the end, but tail is before it */
  set_tail(f, 144 + 64);
}
static void corrupt_padding_huge_length(fixture *f) {
  put_header(f, 144, 0xFFFFFFFFu - 7u, NS_RECORD_TYPE_PADDING); /* index + 8 + length wraps to 144 in 32 bits */
  set_tail(f, 144 + 64);
}
static void test_every_corruption_of_positions_and_records_is_rejected(void) {
  expect_consumer_corrupt("tail moved backwards", corrupt_tail_backwards);
  expect_consumer_corrupt("tail past capacity", corrupt_tail_past_capacity);
  expect_consumer_corrupt("tail unaligned", corrupt_tail_unaligned);
  expect_consumer_corrupt("reserved type 0x80000000", corrupt_reserved_type);
  expect_consumer_corrupt("reserved type 0xFFFFFFFE", corrupt_type_just_below_padding);
  expect_consumer_corrupt("length > max_payload", corrupt_length_over_max_payload);
  expect_consumer_corrupt("length near 2^32", corrupt_length_huge);
  expect_consumer_corrupt("record longer than published", corrupt_record_past_tail);
  expect_consumer_corrupt("padding not ending at the end", corrupt_padding_not_ending_at_the_end);
  expect_consumer_corrupt("padding past tail", corrupt_padding_past_tail);
  expect_consumer_corrupt("padding length near 2^32", corrupt_padding_huge_length);
  /* A record that crosses the end of the data area, with everything published. */
  fixture f;
  fixture_open(&f, 1024, 0, 1024 - 16);
  put_header(&f, 1024 - 16, 32, 1);
  set_tail(&f, 1024 - 16 + 48);
  collected c = {0};
  CHECK_EQ(ns_ring_read(&f.r, collect, &c, 0), NS_RING_ECORRUPT);
  CHECK_EQ(c.count, 0);
  fixture_close(&f);
}

/* §4 check 3 (issue 8, rule 1): a padding record at data index 0 would cover the whole data area; no producer writes
 * one, and skipping it would deliver nothing while consuming everything — refused as corrupt by read and peek, and
 * the producer is not left waiting on it silently. Padding that a consumer skips without finding a record after it is
 * handed back (head stored), so the producer sees the space. */
static void test_padding_at_index_zero_is_corrupt_and_skipped_padding_is_handed_back(void) {
  for (int via_peek = 0; via_peek < 2; ++via_peek) {
    fixture f;
    fixture_open(&f, 1024, 0, 0x10000u); /* index 0 */
    put_header(&f, 0x10000u, 1024 - 8, NS_RECORD_TYPE_PADDING);
    set_tail(&f, 0x10000u + 1024);
    collected c = {0};
    uint32_t t, l;
    const uint8_t *p;
    if (via_peek) {
      CHECK_EQ(ns_ring_peek(&f.r, &t, &p, &l), NS_RING_ECORRUPT);
    } else {
      CHECK_EQ(ns_ring_read(&f.r, collect, &c, 0), NS_RING_ECORRUPT);
    }
    CHECK_EQ(ns_ring_read(&f.r, collect, &c, 0), NS_RING_ECORRUPT); /* stays broken */
    CHECK_EQ(shared_head(&f), 0x10000u);
    CHECK_EQ(c.count, 0);
    fixture_close(&f);
  }
  for (int via_peek = 0; via_peek < 2; ++via_peek) {
    fixture f;
    fixture_open(&f, 1024, 0, 0x10000u + 512); /* index 512 */
    put_header(&f, 0x10000u + 512, 512 - 8, NS_RECORD_TYPE_PADDING);
    set_tail(&f, 0x10000u + 1024); /* padding published alone: nothing after it */
    collected c = {0};
    uint32_t t, l;
    const uint8_t *p;
    if (via_peek) {
      CHECK_EQ(ns_ring_peek(&f.r, &t, &p, &l), NS_RING_EEMPTY);
    } else {
      CHECK_EQ(ns_ring_read(&f.r, collect, &c, 0), 0);
    }
    CHECK_EQ(shared_head(&f), 0x10000u + 1024); /* handed back */
    fixture_close(&f);
  }
}

/* Handler that, at the last record of the cached window, publishes (as a hostile producer) a tail that is within
 * capacity of the consumer's local head but more than capacity ahead of the head it stored, with valid records up to
 * it: §3 bounds tail by the *published* head. */
typedef struct far_tail_ctx {
  fixture *f;
  int calls;
} far_tail_ctx;
static int far_tail_handler(void *ctx, uint32_t type, const uint8_t *payload, uint32_t length) {
  (void)type, (void)payload, (void)length;
  far_tail_ctx *x = (far_tail_ctx *)ctx;
  if (++x->calls == 2) { /* head_published 48, local head becomes 144 */
    put_header(x->f, 144, 496, 1);  /* 144 .. 648 */
    put_header(x->f, 648, 368, 1);  /* 648 .. 1024 */
    put_header(x->f, 1024, 48, 1);  /* 1024 .. 1080 (index 0, over the released first record) */
    set_tail(x->f, 1080);           /* 1080 − 144 ≤ 1024, but 1080 − 48 > 1024 */
  }
  return 0;
}

/* §3 and §4 details of issue 8, rule 4, in C. */
static void test_positions_are_checked_against_published_values_and_failed_writes_publish_nothing(void) {
  {
    fixture f;
    fixture_open(&f, 1024, 0, 0);
    uint8_t buf[40] = {0};
    for (int i = 0; i < 3; ++i) CHECK_EQ(ns_ring_try_write(&f.r, 1, buf, 40), NS_RING_OK);
    collected first = {0};
    CHECK_EQ(ns_ring_read(&f.r, collect, &first, 1), 1); /* caches tail 144, stores head 48 */
    far_tail_ctx x = {&f, 0};
    const int rc = ns_ring_read(&f.r, far_tail_handler, &x, 0);
    CHECK_EQ(rc, 2); /* the two cached records, then the reload of tail fails */
    CHECK_EQ(x.calls, 2);
    CHECK_EQ(ns_ring_read(&f.r, far_tail_handler, &x, 0), NS_RING_ECORRUPT);
    fixture_close(&f);
  }
  { /* try_write that returns FULL publishes nothing, not even records staged before it */
    fixture f;
    fixture_open(&f, 1024, 0, 0);
    uint8_t buf[504] = {0};
    CHECK_EQ(ns_ring_stage(&f.r, 1, buf, 8), NS_RING_OK);
    CHECK_EQ(ns_ring_stage(&f.r, 1, buf, 496), NS_RING_OK);
    CHECK_EQ(ns_ring_try_write(&f.r, 1, buf, 504), NS_RING_EFULL);
    CHECK_EQ(shared_tail(&f), 0u);
    collected c = {0};
    CHECK_EQ(ns_ring_read(&f.r, collect, &c, 0), 0);
    ns_ring_publish(&f.r);
    CHECK_EQ(ns_ring_read(&f.r, collect, &c, 0), 2);
    fixture_close(&f);
  }
  { /* an aborted claim's padding is rolled back: the next record that fits before the end goes where it was */
    fixture f;
    fixture_open(&f, 1024, 0, 1024 - 64);
    void *p = NULL;
    CHECK_EQ(ns_ring_try_claim(&f.r, 100, &p), NS_RING_OK); /* needs padding at 960 */
    ns_ring_abort(&f.r);
    uint8_t buf[48] = {7};
    CHECK_EQ(ns_ring_try_write(&f.r, 5, buf, 48), NS_RING_OK); /* 56 bytes fit before the end */
    collected c = {0};
    CHECK_EQ(ns_ring_read(&f.r, collect, &c, 0), 1);
    CHECK_EQ(c.types[0], 5u);
    CHECK_EQ(shared_head(&f), 1024u - 64u + 56u);
    fixture_close(&f);
  }
  { /* closing wakes the peer but leaves its parked flag to it */
    fixture f;
    fixture_open(&f, 1024, 0, 0);
    ns_ring_shared *s = shared_of(&f);
    NS_ATOMIC_STORE(&s->consumer_parked, 1u, NS_MO_SEQ_CST);
    NS_ATOMIC_STORE(&s->producer_parked, 1u, NS_MO_SEQ_CST);
    const uint32_t data_seq = NS_ATOMIC_LOAD(&s->data_seq, NS_MO_SEQ_CST);
    const uint32_t space_seq = NS_ATOMIC_LOAD(&s->space_seq, NS_MO_SEQ_CST);
    ns_ring_close_producer(&f.r);
    ns_ring_close_consumer(&f.r);
    CHECK_EQ(NS_ATOMIC_LOAD(&s->consumer_parked, NS_MO_SEQ_CST), 1u);
    CHECK_EQ(NS_ATOMIC_LOAD(&s->producer_parked, NS_MO_SEQ_CST), 1u);
    CHECK_EQ(NS_ATOMIC_LOAD(&s->data_seq, NS_MO_SEQ_CST), data_seq + 1u);
    CHECK_EQ(NS_ATOMIC_LOAD(&s->space_seq, NS_MO_SEQ_CST), space_seq + 1u);
    fixture_close(&f);
  }
}

/* §7 (issue 8, rule 5): a timed-out C wait makes no last check. A record made visible during the park *without* a
 * wake (tail stored directly, as a producer that lost its wake-up would leave it) is reported as a timeout, and the
 * next call sees the record. */
typedef struct silent_publisher {
  fixture *f;
  atomic_int done;
} silent_publisher;
static void *publish_silently(void *arg) {
  silent_publisher *sp = (silent_publisher *)arg;
  sleep_ns(20 * 1000000LL); /* the consumer is parked by now (a 300 ms park) */
  put_header(sp->f, 0, 8, 3);
  set_tail(sp->f, 16); /* no fence, no look at consumer_parked, no futex_wake */
  atomic_store(&sp->done, 1);
  return NULL;
}
static void test_a_timed_out_wait_makes_no_last_check(void) {
  fixture f;
  fixture_open(&f, 1024, 0, 0);
  const ns_wait_policy park = {NS_WAIT_PARK, 0};
  silent_publisher sp = {&f, 0};
  pthread_t t;
  CHECK_EQ(pthread_create(&t, NULL, publish_silently, &sp), 0);
  const int rc = ns_ring_wait_readable(&f.r, &park, 300 * 1000000LL);
  pthread_join(t, NULL);
  CHECK_EQ(atomic_load(&sp.done), 1);
  CHECK_EQ(rc, NS_RING_ETIMEDOUT); /* the lost wake-up shows as a timeout, although the record is there now */
  CHECK_EQ(ns_ring_wait_readable(&f.r, &park, 0), NS_RING_OK); /* the next call sees it */
  collected c = {0};
  CHECK_EQ(ns_ring_read(&f.r, collect, &c, 0), 1);
  fixture_close(&f);
}

/* §7 "attach" (issue 8, rule 6): an observer attaching while a producer and a consumer both run never sees an
 * inconsistent (head, tail) pair. Bounded in time: 1 s of attaching (millions of attaches). */
typedef struct live_ring {
  ns_ring *r;
  atomic_int stop;
  uint64_t written, read;
} live_ring;
static int count_record(void *ctx, uint32_t type, const uint8_t *payload, uint32_t length) {
  (void)type, (void)payload, (void)length;
  ++*(uint64_t *)ctx;
  return 0;
}
static void *live_producer(void *arg) {
  live_ring *lr = (live_ring *)arg;
  uint8_t buf[64] = {0};
  uint32_t n = 0;
  while (!atomic_load_explicit(&lr->stop, memory_order_relaxed)) {
    if (ns_ring_try_write(lr->r, 1, buf, (n++ * 8u) % 64u) == NS_RING_OK) ++lr->written;
    else sched_yield();
  }
  return NULL;
}
static void *live_consumer(void *arg) {
  live_ring *lr = (live_ring *)arg;
  while (!atomic_load_explicit(&lr->stop, memory_order_relaxed)) {
    if (ns_ring_read(lr->r, count_record, &lr->read, 3) <= 0) sched_yield();
  }
  return NULL;
}
static void test_an_observer_attaching_to_a_live_ring_always_succeeds(void) {
  fixture f;
  fixture_open(&f, 1024, 0, 0xFFFF0000u); /* crosses the u32 wrap while it runs */
  live_ring lr = {&f.r, 0, 0, 0};
  pthread_t producer, consumer;
  CHECK_EQ(pthread_create(&producer, NULL, live_producer, &lr), 0);
  CHECK_EQ(pthread_create(&consumer, NULL, live_consumer, &lr), 0);
  const int64_t until = ns_monotonic_ns() + 1000000000LL;
  uint32_t attaches = 0, failures = 0;
  while ((attaches & 63u) != 0 || ns_monotonic_ns() < until) {
    ns_ring observer;
    if (ns_ring_attach(&observer, f.mem, f.size) != NS_RING_OK) ++failures;
    ++attaches;
  }
  atomic_store(&lr.stop, 1);
  pthread_join(producer, NULL);
  pthread_join(consumer, NULL);
  fprintf(stderr, "  observer: %u attaches, %u failures, %llu records written, %llu read\n", attaches, failures,
          (unsigned long long)lr.written, (unsigned long long)lr.read);
  CHECK_EQ(failures, 0u);
  CHECK(lr.read > 0);
  fixture_close(&f);
}

static void test_the_producer_rejects_a_corrupt_head(void) {
  static const struct {
    const char *what;
    uint32_t head_delta; /* added to the valid head */
  } cases[] = {{"head unaligned", 4}, {"head moved backwards", (uint32_t)-8}, {"head past tail", 2048}};
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; ++k) {
    fixture f;
    fixture_open(&f, 1024, 0, 0x10000u);
    uint8_t buf[120] = {0};
    while (ns_ring_try_write(&f.r, 1, buf, 120) == NS_RING_OK) {
    }
    collected c = {0};
    CHECK_EQ(ns_ring_read(&f.r, collect, &c, 2), 2);
    CHECK_EQ(ns_ring_try_write(&f.r, 1, buf, 120), NS_RING_OK); /* producer caches the new head */
    set_head(&f, shared_head(&f) + cases[k].head_delta);
    int rc;
    while ((rc = ns_ring_try_write(&f.r, 1, buf, 120)) == NS_RING_OK) {
    }
    if (rc != NS_RING_ECORRUPT) fprintf(stderr, "  case '%s': write returned %d\n", cases[k].what, rc);
    CHECK_EQ(rc, NS_RING_ECORRUPT);
    void *p = NULL;
    CHECK_EQ(ns_ring_try_claim(&f.r, 8, &p), NS_RING_ECORRUPT);
    CHECK_EQ(ns_ring_wait_writable(&f.r, 8, NULL, 0), NS_RING_ECORRUPT);
    fixture_close(&f);
  }
}

/* Random bytes in the data area and random positions: every call must return (records or an error code) without
 * touching memory outside the segment (run under AddressSanitizer to see that) and without looping forever. */
static void test_garbage_memory_never_crashes_or_hangs_the_consumer(void) {
  uint32_t rng = 2024;
  int corrupt = 0;
  for (int iter = 0; iter < 20000; ++iter) {
    fixture f;
    fixture_open(&f, 1024, (ns_stress_next_random(&rng) % 504u) + 1u, 0);
    for (size_t i = NS_RING_HEADER_SIZE; i < f.size; ++i) f.mem[i] = (uint8_t)ns_stress_next_random(&rng);
    if (iter % 2 == 0) { /* plausible headers: small lengths, types mostly valid */
      for (uint32_t pos = 0; pos < 1024; pos += 8 * (1 + ns_stress_next_random(&rng) % 8)) {
        const uint32_t pick = ns_stress_next_random(&rng);
        put_header(&f, pos, pick % 600, pick % 5 == 0 ? NS_RECORD_TYPE_PADDING : pick % 7);
      }
    }
    const uint32_t head = ns_stress_next_random(&rng) & ~7u;
    set_head(&f, head);
    set_tail(&f, head + (ns_stress_next_random(&rng) % 1100u));
    ns_ring r = {0};
    int rc = ns_ring_attach(&r, f.mem, f.size);
    if (rc == NS_RING_OK) {
      collected c = {0};
      for (int calls = 0; calls < 300 && rc >= 0; ++calls) {
        rc = ns_ring_read(&r, collect, &c, 1 + ns_stress_next_random(&rng) % 4);
        if (rc == 0) break;
      }
    }
    CHECK(rc == 0 || rc == NS_RING_ECORRUPT || rc > 0);
    if (rc == NS_RING_ECORRUPT) ++corrupt;
    fixture_close(&f);
  }
  CHECK(corrupt > 0);
}

/* ------------------------------------------------------------------------------------------------ waiting */

static void test_futex_wait_returns_on_a_changed_word_and_times_out(void) {
  NS_ATOMIC_U32 word;
  NS_ATOMIC_STORE(&word, 5, NS_MO_RELAXED);
  CHECK_EQ(ns_futex_wait(&word, 4, SECOND_NS), NS_RING_OK); /* differs: returns at once */
  CHECK_EQ(ns_futex_wait(&word, 5, 1000000), NS_RING_ETIMEDOUT);
  CHECK_EQ(ns_futex_wait(&word, 5, 0), NS_RING_ETIMEDOUT);
  CHECK_EQ(ns_futex_wake(&word), 0);
}

static void test_waits_time_out_and_succeed_at_once_when_ready(void) {
  fixture f;
  fixture_open(&f, 1024, 0, 0);
  const ns_wait_policy policies[3] = {{NS_WAIT_SPIN, 0}, NS_WAIT_POLICY_DEFAULT, {NS_WAIT_PARK, 0}};
  for (int i = 0; i < 3; ++i) {
    CHECK_EQ(ns_ring_wait_readable(&f.r, &policies[i], 0), NS_RING_ETIMEDOUT);
    CHECK_EQ(ns_ring_wait_readable(&f.r, &policies[i], 2000000), NS_RING_ETIMEDOUT);
    CHECK_EQ(NS_ATOMIC_LOAD(&shared_of(&f)->consumer_parked, NS_MO_RELAXED), 0);
  }
  CHECK_EQ(ns_ring_wait_writable(&f.r, f.r.max_payload + 1, NULL, 0), NS_RING_ETOOBIG);
  const ns_wait_policy bad = {(ns_wait_mode)7, 0};
  CHECK_EQ(ns_ring_wait_readable(&f.r, &bad, 0), NS_RING_EINVAL);
  CHECK_EQ(ns_ring_try_write(&f.r, 1, "x", 1), NS_RING_OK);
  for (int i = 0; i < 3; ++i) CHECK_EQ(ns_ring_wait_readable(&f.r, &policies[i], -1), NS_RING_OK);
  uint8_t buf[500] = {0};
  while (ns_ring_try_write(&f.r, 1, buf, 500) == NS_RING_OK) {
  }
  for (int i = 0; i < 3; ++i) {
    CHECK_EQ(ns_ring_wait_writable(&f.r, 500, &policies[i], 2000000), NS_RING_ETIMEDOUT);
    CHECK_EQ(ns_ring_wait_writable(&f.r, 0, &policies[i], 0), NS_RING_OK);
    CHECK_EQ(NS_ATOMIC_LOAD(&shared_of(&f)->producer_parked, NS_MO_RELAXED), 0);
  }
  fixture_close(&f);
}

typedef struct waiter_args {
  ns_ring *r;
  int producer_side;
  uint32_t length;
  ns_wait_policy policy;
  int result;
  atomic_int done;
} waiter_args;

static void *waiter_main(void *arg) {
  waiter_args *w = (waiter_args *)arg;
  w->result = w->producer_side ? ns_ring_wait_writable(w->r, w->length, &w->policy, -1)
                               : ns_ring_wait_readable(w->r, &w->policy, -1); /* no timeout: only a wake ends it */
  atomic_store(&w->done, 1);
  return NULL;
}

/* Starts a thread that waits with no timeout, waits until it has announced that it is parked, lets it reach
 * futex_wait, runs `act`, and expects the thread to return `expected`. Without the wake it would wait forever; the
 * watchdog turns that into a failure. */
static void expect_parked_waiter_woken(const char *name, fixture *f, ns_ring *waiter_ring, int producer_side,
                                       void (*act)(fixture *f), int expected) {
  waiter_args w;
  memset(&w, 0, sizeof w);
  w.r = waiter_ring;
  w.producer_side = producer_side;
  w.length = 500;
  w.policy.mode = NS_WAIT_PARK;
  atomic_init(&w.done, 0);
  pthread_t t;
  if (pthread_create(&t, NULL, waiter_main, &w) != 0) abort();
  NS_ATOMIC_U32 *parked = producer_side ? &shared_of(f)->producer_parked : &shared_of(f)->consumer_parked;
  if (!wait_word(parked, 1, WATCHDOG_NS)) abandon_run(name, "the waiter never announced that it parked");
  sleep_ns(20000000); /* let it get into futex_wait; the test is correct either way */
  CHECK_EQ(atomic_load(&w.done), 0);
  act(f);
  if (!wait_flag(&w.done, WATCHDOG_NS)) abandon_run(name, "the parked waiter was never woken (lost wake-up)");
  pthread_join(t, NULL);
  CHECK_EQ(w.result, expected);
  CHECK_EQ(NS_ATOMIC_LOAD(parked, NS_MO_SEQ_CST), 0);
}

static void act_write_one(fixture *f) { CHECK_EQ(ns_ring_try_write(&f->r, 1, "wake", 4), NS_RING_OK); }
static void act_close_producer(fixture *f) { ns_ring_close_producer(&f->r); }
static void act_read_one(fixture *f) {
  collected c = {0};
  CHECK_EQ(ns_ring_read(&f->r, collect, &c, 1), 1);
}
static void act_close_consumer(fixture *f) { ns_ring_close_consumer(&f->r); }

static void test_a_parked_consumer_is_woken_by_a_publication(void) {
  fixture f;
  fixture_open(&f, 1024, 0, 0);
  ns_ring consumer = {0};
  CHECK_EQ(ns_ring_attach(&consumer, f.mem, f.size), NS_RING_OK);
  const uint32_t seq_before = NS_ATOMIC_LOAD(&shared_of(&f)->data_seq, NS_MO_RELAXED);
  expect_parked_waiter_woken("a parked consumer is woken by a publication", &f, &consumer, 0, act_write_one,
                             NS_RING_OK);
  CHECK_EQ(NS_ATOMIC_LOAD(&shared_of(&f)->data_seq, NS_MO_RELAXED), seq_before + 1);
  /* Once nobody is parked, publications make no system call and leave data_seq alone. */
  CHECK_EQ(ns_ring_try_write(&f.r, 1, "more", 4), NS_RING_OK);
  CHECK_EQ(NS_ATOMIC_LOAD(&shared_of(&f)->data_seq, NS_MO_RELAXED), seq_before + 1);
  fixture_close(&f);
}

static void test_closing_the_producer_wakes_a_parked_consumer(void) {
  fixture f;
  fixture_open(&f, 1024, 0, 0);
  ns_ring consumer = {0};
  CHECK_EQ(ns_ring_attach(&consumer, f.mem, f.size), NS_RING_OK);
  expect_parked_waiter_woken("closing the producer wakes a parked consumer", &f, &consumer, 0, act_close_producer,
                             NS_RING_ECLOSED);
  fixture_close(&f);
}

static void fill_with_500(fixture *f) {
  uint8_t buf[500] = {0};
  while (ns_ring_try_write(&f->r, 1, buf, 500) == NS_RING_OK) {
  }
}

static void test_a_parked_producer_is_woken_when_the_consumer_frees_space(void) {
  fixture f;
  fixture_open(&f, 1024, 0, 0);
  fill_with_500(&f);
  ns_ring producer = {0};
  CHECK_EQ(ns_ring_attach(&producer, f.mem, f.size), NS_RING_OK);
  expect_parked_waiter_woken("a parked producer is woken when the consumer frees space", &f, &producer, 1,
                             act_read_one, NS_RING_OK);
  fixture_close(&f);
}

static void test_closing_the_consumer_wakes_a_parked_producer(void) {
  fixture f;
  fixture_open(&f, 1024, 0, 0);
  fill_with_500(&f);
  ns_ring producer = {0};
  CHECK_EQ(ns_ring_attach(&producer, f.mem, f.size), NS_RING_OK);
  expect_parked_waiter_woken("closing the consumer wakes a parked producer", &f, &producer, 1, act_close_consumer,
                             NS_RING_ECLOSED);
  fixture_close(&f);
}

/* wire-format §5.1 step 4, "space is available" for the producer: the record it waits for fits — with the padding
 * to the end of the data area when it does not fit before it — not "any free byte". Records of 128 bytes fill
 * [0, 896), one of 64 bytes [896, 960); the waiter wants a 144-byte record, which does not fit in the 64 bytes before
 * the end, so it needs 64 + 144 = 208 free bytes. The first read frees 128 (192 free: the record alone would fit, but
 * not with its padding): the waiter is woken, looks, and parks again. The second read frees 256 more: it returns. */
static void test_a_waiting_producer_is_released_when_its_record_fits_not_before(void) {
  const char *name = "a producer waiting for space is released by the head store that makes room for its record";
  fixture f;
  fixture_open(&f, 1024, 0, 0);
  uint8_t buf[136] = {0};
  for (int i = 0; i < 7; ++i) CHECK_EQ(ns_ring_try_write(&f.r, 1, buf, 120), NS_RING_OK);
  CHECK_EQ(ns_ring_try_write(&f.r, 1, buf, 56), NS_RING_OK);
  CHECK_EQ(shared_tail(&f), 960u);
  ns_ring producer = {0};
  CHECK_EQ(ns_ring_attach(&producer, f.mem, f.size), NS_RING_OK);
  waiter_args w;
  memset(&w, 0, sizeof w);
  w.r = &producer;
  w.producer_side = 1;
  w.length = 136;
  w.policy.mode = NS_WAIT_PARK;
  atomic_init(&w.done, 0);
  pthread_t t;
  if (pthread_create(&t, NULL, waiter_main, &w) != 0) abort();
  NS_ATOMIC_U32 *parked = &shared_of(&f)->producer_parked;
  if (!wait_word(parked, 1, WATCHDOG_NS)) abandon_run(name, "the waiter never announced that it parked");
  collected c = {0};
  const uint32_t seq_before = NS_ATOMIC_LOAD(&shared_of(&f)->space_seq, NS_MO_SEQ_CST);
  CHECK_EQ(ns_ring_read(&f.r, collect, &c, 1), 1); /* head 128: 192 bytes free, 208 needed */
  CHECK_EQ(NS_ATOMIC_LOAD(&shared_of(&f)->space_seq, NS_MO_SEQ_CST), seq_before + 1u); /* it was woken */
  /* It looks again and parks again: the exchange of the wake cleared its flag, so a 1 is its new park. */
  if (!wait_word(parked, 1, WATCHDOG_NS)) abandon_run(name, "the waiter did not park again after a head store too small for it");
  sleep_ns(20000000); /* a waiter that wrongly counted 192 free bytes as enough would return now */
  CHECK_EQ(atomic_load(&w.done), 0);
  CHECK_EQ(ns_ring_read(&f.r, collect, &c, 1), 1); /* head 256: 320 free ≥ 208 */
  if (!wait_flag(&w.done, WATCHDOG_NS)) abandon_run(name, "the waiter was not released by the head store that made room");
  pthread_join(t, NULL);
  CHECK_EQ(w.result, NS_RING_OK);
  CHECK_EQ(ns_ring_try_write(&producer, 1, buf, 136), NS_RING_OK); /* the record it waited for fits, after padding */
  CHECK_EQ(shared_tail(&f), 1024u + 144u);
  fixture_close(&f);
}

/* --------------------------------------------------------------------------------------------- C↔C stress */

#define STRESS_CAPACITY 65536u
#define STRESS_MAX_LENGTH 2000u
#define STRESS_WAIT_NS (10 * SECOND_NS) /* per wait: expiring without progress is a failure (a lost wake-up) */

typedef struct stress_run {
  uint8_t *mem;
  size_t size;
  ns_wait_policy policy;
  uint32_t records;
  /* results */
  uint32_t received;
  int producer_error;   /* first unexpected return code on the producer side, 0 if none */
  int consumer_error;
  int verify_error;     /* NS_STRESS_* of the first bad record */
  uint32_t verify_seq;
  uint64_t producer_waits, consumer_waits;
} stress_run;

static int stress_produce_one(ns_ring *r, uint32_t seq, uint32_t len, uint32_t how, uint8_t *scratch) {
  if (how % 4 == 0) { /* claim/commit: write the stress payload straight into the ring */
    void *p = NULL;
    int rc = ns_ring_try_claim(r, len, &p);
    if (rc != NS_RING_OK) return rc;
    ns_stress_fill((uint8_t *)p, len, seq);
    return ns_ring_commit(r, NS_STRESS_TYPE);
  }
  ns_stress_fill(scratch, len, seq);
  return how % 4 == 1 ? ns_ring_stage(r, NS_STRESS_TYPE, scratch, len) /* batched: published below */
                      : ns_ring_try_write(r, NS_STRESS_TYPE, scratch, len);
}

static void *stress_producer(void *arg) {
  stress_run *s = (stress_run *)arg;
  ns_ring r = {0};
  int rc = ns_ring_attach(&r, s->mem, s->size);
  if (rc != NS_RING_OK) {
    s->producer_error = rc;
    return NULL;
  }
  uint8_t scratch[STRESS_MAX_LENGTH];
  uint32_t rng = 0x9E3779B9u;
  for (uint32_t seq = 0; seq < s->records;) {
    const uint32_t len = ns_stress_random_length(&rng, STRESS_MAX_LENGTH);
    const uint32_t how = ns_stress_next_random(&rng);
    rc = stress_produce_one(&r, seq, len, how, scratch);
    if (rc == NS_RING_OK) {
      ++seq;
      if (how % 4 == 1 && how % 32 == 1) ns_ring_publish(&r); /* end of a batch now and then */
      continue;
    }
    if (rc != NS_RING_EFULL) {
      s->producer_error = rc;
      break;
    }
    ++s->producer_waits;
    rc = ns_ring_wait_writable(&r, len, &s->policy, STRESS_WAIT_NS); /* also publishes a pending batch */
    if (rc != NS_RING_OK) {
      s->producer_error = rc;
      break;
    }
  }
  ns_ring_close_producer(&r);
  return NULL;
}

static int stress_check(void *ctx, uint32_t type, const uint8_t *payload, uint32_t length) {
  stress_run *s = (stress_run *)ctx;
  int v = type == NS_STRESS_TYPE ? ns_stress_verify(payload, length, s->received) : NS_STRESS_ESEQUENCE;
  if (v != NS_STRESS_OK && s->verify_error == 0) {
    s->verify_error = v;
    s->verify_seq = s->received;
  }
  ++s->received;
  return v != NS_STRESS_OK; /* stop at the first bad record */
}

static void *stress_consumer(void *arg) {
  stress_run *s = (stress_run *)arg;
  ns_ring r = {0};
  int rc = ns_ring_attach(&r, s->mem, s->size);
  if (rc != NS_RING_OK) {
    s->consumer_error = rc;
    return NULL;
  }
  uint32_t rng = 77;
  for (;;) {
    if (s->verify_error != 0) break;
    if (ns_stress_next_random(&rng) % 8 == 0) { /* zero-copy path */
      uint32_t type, length;
      const uint8_t *payload;
      rc = ns_ring_peek(&r, &type, &payload, &length);
      if (rc == NS_RING_OK) {
        stress_check(s, type, payload, length);
        rc = ns_ring_release(&r);
        if (rc != NS_RING_OK) break;
        continue;
      }
      if (rc == NS_RING_EEMPTY) rc = 0;
    } else {
      rc = ns_ring_read(&r, stress_check, s, 1 + ns_stress_next_random(&rng) % 64);
    }
    if (rc > 0) continue;
    if (rc < 0) break;
    ++s->consumer_waits;
    rc = ns_ring_wait_readable(&r, &s->policy, STRESS_WAIT_NS);
    if (rc != NS_RING_OK) break;
  }
  if (rc != NS_RING_ECLOSED) s->consumer_error = rc;
  ns_ring_close_consumer(&r);
  return NULL;
}

static void run_stress(ns_wait_policy policy, const char *label) {
  stress_run s;
  memset(&s, 0, sizeof s);
  s.size = ns_ring_segment_size(STRESS_CAPACITY);
  s.mem = alloc_segment(s.size);
  s.policy = policy;
  s.records = g_stress_records;
  CHECK_EQ(ns_ring_init(s.mem, s.size, STRESS_CAPACITY, 0, 0u - 32768u), NS_RING_OK);
  const int64_t t0 = ns_monotonic_ns();
  pthread_t p, c;
  if (pthread_create(&c, NULL, stress_consumer, &s) != 0 || pthread_create(&p, NULL, stress_producer, &s) != 0) {
    abort();
  }
  pthread_join(p, NULL);
  pthread_join(c, NULL);
  const double secs = (double)(ns_monotonic_ns() - t0) / 1e9;
  fprintf(stderr, "  stress %s: %u records in %.2f s (%.2f M/s), producer waits %llu, consumer waits %llu\n", label,
          s.received, secs, s.received / secs / 1e6, (unsigned long long)s.producer_waits,
          (unsigned long long)s.consumer_waits);
  CHECK_EQ(s.producer_error, 0);
  CHECK_EQ(s.consumer_error, 0);
  if (s.verify_error != 0) fprintf(stderr, "  record %u failed verification (%d)\n", s.verify_seq, s.verify_error);
  CHECK_EQ(s.verify_error, 0);
  CHECK_EQ(s.received, s.records);
  free(s.mem);
}

static void test_stress_spin_then_park(void) {
  const ns_wait_policy p = NS_WAIT_POLICY_DEFAULT;
  run_stress(p, "spin-then-park");
}

static void test_stress_park(void) {
  const ns_wait_policy p = {NS_WAIT_PARK, 0};
  run_stress(p, "park");
}

/* ------------------------------------------------------------------------------------------------------ main */

int main(int argc, char **argv) {
  for (int i = 1; i < argc; ++i) {
    if (strcmp(argv[i], "--stress-records") == 0 && i + 1 < argc) {
      g_stress_records = (uint32_t)strtoul(argv[++i], NULL, 10);
    } else {
      fprintf(stderr, "usage: %s [--stress-records N]\n", argv[0]);
      return 2;
    }
  }
  run_test("init rejects bad arguments", test_init_rejects_bad_arguments);
  run_test("attach rejects a bad descriptor or bad positions", test_attach_rejects_a_bad_descriptor);
  run_test("init and attach need 8-byte alignment, not 128: 4-aligned memory is NS_RING_EINVAL, 8-aligned works",
           test_init_and_attach_need_8_byte_alignment_not_128);
  run_test("records round trip in order with their types and payloads", test_records_round_trip_in_order);
  run_test("record arguments are checked before anything is written", test_record_arguments_are_checked);
  run_test("a full ring refuses a write without side effects", test_a_full_ring_refuses_a_write_without_side_effects);
  run_test("padding fills the end and the record starts at index 0",
           test_padding_fills_the_end_and_the_record_starts_at_index_zero);
  run_test("positions wrap past 2^32", test_positions_wrap_past_two_to_the_32);
  run_test("claim, commit and abort", test_claim_commit_and_abort);
  run_test("staged records stay invisible until published", test_staged_records_stay_invisible_until_publish);
  run_test("read honours the limit and a stopping handler", test_read_honours_the_limit_and_a_stopping_handler);
  run_test("peek returns a stable zero-copy view until release", test_peek_and_release);
  run_test("closing the producer ends the stream after the last record",
           test_closing_the_producer_ends_the_stream_after_the_last_record);
  run_test("closing the consumer is reported to a producer that finds the ring full",
           test_closing_the_consumer_is_reported_to_a_producer_that_finds_the_ring_full);
  run_test("every corruption of positions and records is rejected and the side stays broken",
           test_every_corruption_of_positions_and_records_is_rejected);
  run_test("padding at index 0 is corrupt, and skipped padding is handed back",
           test_padding_at_index_zero_is_corrupt_and_skipped_padding_is_handed_back);
  run_test("positions are checked against published values; a FULL try_write publishes nothing; abort rolls back "
           "padding; closing leaves the peer's parked flag",
           test_positions_are_checked_against_published_values_and_failed_writes_publish_nothing);
  run_test("the producer rejects a corrupt head", test_the_producer_rejects_a_corrupt_head);
  run_test("an observer attaching to a live ring always succeeds", test_an_observer_attaching_to_a_live_ring_always_succeeds);
  run_test("a timed-out wait makes no last check (a lost wake-up shows as a timeout)",
           test_a_timed_out_wait_makes_no_last_check);
  run_test("garbage memory never crashes or hangs the consumer",
           test_garbage_memory_never_crashes_or_hangs_the_consumer);
  run_test("futex wait returns on a changed word and times out", test_futex_wait_returns_on_a_changed_word_and_times_out);
  run_test("waits time out, and succeed at once when ready", test_waits_time_out_and_succeed_at_once_when_ready);
  run_test("a parked consumer is woken by a publication", test_a_parked_consumer_is_woken_by_a_publication);
  run_test("closing the producer wakes a parked consumer", test_closing_the_producer_wakes_a_parked_consumer);
  run_test("a parked producer is woken when the consumer frees space",
           test_a_parked_producer_is_woken_when_the_consumer_frees_space);
  run_test("closing the consumer wakes a parked producer", test_closing_the_consumer_wakes_a_parked_producer);
  run_test("a producer waiting for space is released by the head store that makes room for its record, padding "
           "included, not by an earlier one",
           test_a_waiting_producer_is_released_when_its_record_fits_not_before);
  run_test("C to C stress with spin-then-park loses nothing", test_stress_spin_then_park);
  run_test("C to C stress with park loses nothing", test_stress_park);
  printf("%d passed, %d failed\n", g_passed, g_failed);
  return g_failed == 0 ? 0 : 1;
}
