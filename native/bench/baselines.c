/* bench_baselines — C-only reference measurements for `npm run bench -- ring` (bench/ring.ts).
 *
 * They tell what this machine can do without JavaScript, so that the ring suite can state its figures as ratios to
 * them, measured in the same run:
 *   c_ring_32b_one_way  framed SPSC ring (native_sidecar/ring.h) between two native threads, 32-byte records,
 *                       batched publication (stage × batch, then one publish); msgs/s at the consumer.
 *   c_ring_rtt_spin     round trip through two such rings between two threads (echo), both spinning; rtt
 *                       p50/p99 — what the ring protocol itself costs per round trip (4 lines move, not 1).
 *   c_spin_pingpong     one cache line bounced between two threads with C11 atomics, both spinning; rtt p50/p99.
 *   c_futex_pingpong    the same with both sides sleeping in FUTEX_WAIT and woken by FUTEX_WAKE; rtt p50/p99.
 *   c_memcpy_64k        single-core memcpy of 64 KiB (source and destination in cache); GB/s.
 *
 * Usage: bench_baselines [--quick] [--seconds S] [--capacity BYTES] [--batch N] [scenario...]
 * Prints one JSON object per scenario on its own line on stdout. Each run is bounded in time (warm-up + S seconds,
 * S = 2 by default, 0.15 with --quick); spin loops yield after a bounded number of spins so that a descheduled peer on
 * this busy 2-core machine cannot turn a spin into a livelock. Threads are not pinned, like the JS scenarios.
 * Exit code 0, or 1 when a scenario failed (its line then carries "error"), 2 on bad arguments. */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "native_sidecar/layout.h"
#include "native_sidecar/ring.h"

/* ---- clock and bounded spinning ---- */

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}

/* Spins this many times before it yields the core. A pause is 10-140 cycles, so this is ~5-50 µs: long enough that a
 * running peer is practically never missed, short enough that a peer waiting for this very core (a loaded 2-core
 * machine) gets it soon. wait.h yields after the same number of polls. */
#define SPIN_LIMIT 1024u

typedef struct {
  uint32_t spins;
} backoff;

static inline void backoff_pause(backoff *b) {
  if (++b->spins < SPIN_LIMIT) {
    cpu_relax();
  } else {
    b->spins = 0;
    sched_yield();
  }
}

/* ---- a small log-linear latency histogram: exact below 1024 ns, 1/1024 relative precision above ---- */

#define HIST_SUB_BITS 10u
#define HIST_SUB (1u << HIST_SUB_BITS)
#define HIST_GROUPS 40u /* values up to 2^(10+40) ns: far beyond any bounded run */

typedef struct {
  uint64_t counts[HIST_GROUPS + 1][HIST_SUB];
  uint64_t total;
} histogram;

static void hist_record(histogram *h, uint64_t v) {
  unsigned group = 0;
  while ((v >> group) >= HIST_SUB && group < HIST_GROUPS) group++;
  uint64_t sub = v >> group;
  if (sub >= HIST_SUB) sub = HIST_SUB - 1;
  h->counts[group][sub]++;
  h->total++;
}

/* Smallest recorded value v such that at least `pct` % of the samples are ≤ v (upper edge of its bucket). */
static uint64_t hist_percentile(const histogram *h, double pct) {
  if (h->total == 0) return 0;
  uint64_t want = (uint64_t)((pct / 100.0) * (double)h->total + 0.5);
  if (want == 0) want = 1;
  uint64_t seen = 0;
  for (unsigned g = 0; g <= HIST_GROUPS; g++) {
    for (unsigned s = 0; s < HIST_SUB; s++) {
      seen += h->counts[g][s];
      if (seen >= want) return ((uint64_t)(s + 1) << g) - 1;
    }
  }
  return UINT64_MAX;
}

/* ---- options ---- */

typedef struct {
  double seconds;
  double warmup_seconds;
  uint32_t capacity;
  uint32_t batch;
} options;

/* ---- (a) framed SPSC ring between two threads ---- */

#define RING_RECORD_TYPE 1u
#define RING_RECORD_BYTES 32u
#define RING_READ_LIMIT 4096u

typedef struct {
  ns_ring producer;
  ns_ring consumer;
  uint32_t batch;
  atomic_int stop;         /* main → producer: stop staging */
  atomic_int producer_done; /* producer → consumer: the last publish happened before this store (release) */
  atomic_uint_fast64_t consumed; /* consumer → main: running count, relaxed (a progress gauge, not a sync edge) */
  uint32_t expected_seq;   /* consumer-local */
  int error;               /* consumer-local until joined */
} ring_bench;

static void *ring_producer(void *arg) {
  ring_bench *b = arg;
  uint8_t payload[RING_RECORD_BYTES];
  memset(payload, 0xA5, sizeof payload);
  uint32_t seq = 0;
  backoff bo = {0};
  while (!atomic_load_explicit(&b->stop, memory_order_relaxed)) {
    uint32_t staged = 0;
    while (staged < b->batch) {
      memcpy(payload, &seq, sizeof seq); /* a sequence number lets the consumer check nothing is lost */
      if (ns_ring_stage(&b->producer, RING_RECORD_TYPE, payload, RING_RECORD_BYTES) != NS_RING_OK) break;
      seq++;
      staged++;
    }
    if (staged > 0) {
      ns_ring_publish(&b->producer);
      bo.spins = 0;
    } else {
      backoff_pause(&bo); /* full: the consumer frees space by storing head */
    }
  }
  /* Release: pairs with the consumer's acquire load of producer_done; every publish above precedes it. */
  atomic_store_explicit(&b->producer_done, 1, memory_order_release);
  return NULL;
}

static int ring_handler(void *ctx, uint32_t type, const uint8_t *payload, uint32_t length) {
  ring_bench *b = ctx;
  uint32_t seq;
  if (type != RING_RECORD_TYPE || length != RING_RECORD_BYTES) {
    b->error = 1;
    return 1;
  }
  memcpy(&seq, payload, sizeof seq);
  if (seq != b->expected_seq) {
    b->error = 1;
    return 1;
  }
  b->expected_seq++;
  return 0;
}

static void *ring_consumer(void *arg) {
  ring_bench *b = arg;
  uint64_t count = 0;
  backoff bo = {0};
  for (;;) {
    int n = ns_ring_read(&b->consumer, ring_handler, b, RING_READ_LIMIT);
    if (b->error) break;
    if (n > 0) {
      count += (uint64_t)n;
      atomic_store_explicit(&b->consumed, count, memory_order_relaxed);
      bo.spins = 0;
      continue;
    }
    if (n < 0 && n != NS_RING_EEMPTY) {
      b->error = 1;
      break;
    }
    /* Empty. Acquire: pairs with the producer's release store of producer_done, so a read after it sees every
     * record published before it; one more empty read then means the stream is over. */
    if (atomic_load_explicit(&b->producer_done, memory_order_acquire)) {
      int last = ns_ring_read(&b->consumer, ring_handler, b, UINT32_MAX);
      if (last > 0) {
        count += (uint64_t)last;
        atomic_store_explicit(&b->consumed, count, memory_order_relaxed);
        continue;
      }
      break;
    }
    backoff_pause(&bo);
  }
  return NULL;
}

static int run_ring(const options *o) {
  size_t size = ns_ring_segment_size(o->capacity);
  void *mem = aligned_alloc(NS_BLOCK_SIZE, (size + NS_BLOCK_SIZE - 1) / NS_BLOCK_SIZE * NS_BLOCK_SIZE);
  ring_bench *b = aligned_alloc(NS_BLOCK_SIZE, (sizeof(ring_bench) + NS_BLOCK_SIZE - 1) / NS_BLOCK_SIZE * NS_BLOCK_SIZE);
  if (!mem || !b) {
    printf("{\"scenario\":\"c_ring_32b_one_way\",\"error\":\"out of memory\"}\n");
    return 1;
  }
  memset(b, 0, sizeof *b);
  b->batch = o->batch;
  int rc = ns_ring_init(mem, size, o->capacity, 0, 0);
  if (rc == NS_RING_OK) rc = ns_ring_attach(&b->producer, mem, size);
  if (rc == NS_RING_OK) rc = ns_ring_attach(&b->consumer, mem, size);
  if (rc != NS_RING_OK) {
    printf("{\"scenario\":\"c_ring_32b_one_way\",\"error\":\"ring init/attach failed with code %d\"}\n", rc);
    free(mem);
    free(b);
    return 1;
  }
  pthread_t pt, ct;
  pthread_create(&ct, NULL, ring_consumer, b);
  pthread_create(&pt, NULL, ring_producer, b);

  struct timespec warm = {(time_t)o->warmup_seconds, (long)((o->warmup_seconds - (time_t)o->warmup_seconds) * 1e9)};
  nanosleep(&warm, NULL);
  uint64_t c0 = atomic_load_explicit(&b->consumed, memory_order_relaxed), t0 = now_ns();
  struct timespec run = {(time_t)o->seconds, (long)((o->seconds - (time_t)o->seconds) * 1e9)};
  nanosleep(&run, NULL);
  uint64_t c1 = atomic_load_explicit(&b->consumed, memory_order_relaxed), t1 = now_ns();
  atomic_store_explicit(&b->stop, 1, memory_order_relaxed);
  pthread_join(pt, NULL);
  pthread_join(ct, NULL);

  double rate = (double)(c1 - c0) * 1e9 / (double)(t1 - t0);
  if (b->error) {
    printf("{\"scenario\":\"c_ring_32b_one_way\",\"error\":\"consumer saw a wrong record after %u records\"}\n",
           b->expected_seq);
  } else {
    printf("{\"scenario\":\"c_ring_32b_one_way\",\"message_bytes\":%u,\"msgs_per_s\":%.0f,\"batch\":%u,"
           "\"capacity\":%u,\"records\":%u}\n",
           RING_RECORD_BYTES, rate, o->batch, o->capacity, b->expected_seq);
  }
  int failed = b->error;
  free(mem);
  free(b);
  return failed;
}

/* ---- (a') round trip through two rings between two threads, both spinning (informative: the ring protocol's own
 * cost of a round trip, to compare the JS ↔ native figure with; no target refers to it) ---- */

typedef struct {
  ns_ring to_echo_producer, to_echo_consumer;     /* ring A: initiator → echo */
  ns_ring from_echo_producer, from_echo_consumer; /* ring B: echo → initiator */
  atomic_int stop;
  int error;
} ring_rtt;

/* Waits (bounded spinning, then yielding) for the next record of `r` and returns peek's code. */
static int ring_rtt_peek(ns_ring *r, atomic_int *stop, uint32_t *type, const uint8_t **payload, uint32_t *length) {
  backoff bo = {0};
  for (;;) {
    int rc = ns_ring_peek(r, type, payload, length);
    if (rc != NS_RING_EEMPTY) return rc;
    if (stop && atomic_load_explicit(stop, memory_order_relaxed)) return NS_RING_ECLOSED;
    backoff_pause(&bo);
  }
}

static void *ring_rtt_echo(void *arg) {
  ring_rtt *b = arg;
  for (;;) {
    uint32_t type, length;
    const uint8_t *payload;
    int rc = ring_rtt_peek(&b->to_echo_consumer, &b->stop, &type, &payload, &length);
    if (rc == NS_RING_ECLOSED) break;
    if (rc != NS_RING_OK) {
      b->error = 1;
      break;
    }
    backoff bo = {0};
    while ((rc = ns_ring_try_write(&b->from_echo_producer, type, payload, length)) == NS_RING_EFULL) backoff_pause(&bo);
    ns_ring_release(&b->to_echo_consumer);
    if (rc != NS_RING_OK) {
      b->error = 1;
      break;
    }
  }
  return NULL;
}

static int run_ring_rtt(const options *o) {
  const char *name = "c_ring_rtt_spin";
  size_t size = ns_ring_segment_size(o->capacity);
  size_t rounded = (size + NS_BLOCK_SIZE - 1) / NS_BLOCK_SIZE * NS_BLOCK_SIZE;
  uint8_t *mem = aligned_alloc(NS_BLOCK_SIZE, 2 * rounded);
  ring_rtt *b = aligned_alloc(NS_BLOCK_SIZE, (sizeof(ring_rtt) + NS_BLOCK_SIZE - 1) / NS_BLOCK_SIZE * NS_BLOCK_SIZE);
  histogram *h = calloc(1, sizeof(histogram));
  if (!mem || !b || !h) {
    printf("{\"scenario\":\"%s\",\"error\":\"out of memory\"}\n", name);
    return 1;
  }
  memset(b, 0, sizeof *b);
  int rc = ns_ring_init(mem, size, o->capacity, 0, 0);
  if (rc == NS_RING_OK) rc = ns_ring_init(mem + rounded, size, o->capacity, 0, 0);
  if (rc == NS_RING_OK) rc = ns_ring_attach(&b->to_echo_producer, mem, size);
  if (rc == NS_RING_OK) rc = ns_ring_attach(&b->to_echo_consumer, mem, size);
  if (rc == NS_RING_OK) rc = ns_ring_attach(&b->from_echo_producer, mem + rounded, size);
  if (rc == NS_RING_OK) rc = ns_ring_attach(&b->from_echo_consumer, mem + rounded, size);
  if (rc != NS_RING_OK) {
    printf("{\"scenario\":\"%s\",\"error\":\"ring init/attach failed with code %d\"}\n", name, rc);
    return 1;
  }
  pthread_t et;
  pthread_create(&et, NULL, ring_rtt_echo, b);
  uint8_t msg[RING_RECORD_BYTES] = {0};
  uint64_t start = now_ns();
  uint64_t measure_from = start + (uint64_t)(o->warmup_seconds * 1e9);
  uint64_t end = measure_from + (uint64_t)(o->seconds * 1e9);
  uint64_t t = start, trips = 0;
  int failed = 0;
  while (t < end && !failed) {
    uint64_t t0 = now_ns();
    uint32_t type, length;
    const uint8_t *payload;
    failed = ns_ring_try_write(&b->to_echo_producer, RING_RECORD_TYPE, msg, sizeof msg) != NS_RING_OK ||
             ring_rtt_peek(&b->from_echo_consumer, NULL, &type, &payload, &length) != NS_RING_OK;
    if (!failed) ns_ring_release(&b->from_echo_consumer);
    t = now_ns();
    if (t0 >= measure_from) {
      hist_record(h, t - t0);
      trips++;
    }
  }
  atomic_store_explicit(&b->stop, 1, memory_order_relaxed);
  pthread_join(et, NULL);
  failed |= b->error;
  if (failed) {
    printf("{\"scenario\":\"%s\",\"error\":\"a ring operation failed during the round trips\"}\n", name);
  } else {
    printf("{\"scenario\":\"%s\",\"message_bytes\":%u,\"rtt_p50_ns\":%llu,\"rtt_p99_ns\":%llu,\"round_trips\":%llu}\n",
           name, RING_RECORD_BYTES, (unsigned long long)hist_percentile(h, 50),
           (unsigned long long)hist_percentile(h, 99), (unsigned long long)trips);
  }
  free(mem);
  free(b);
  free(h);
  return failed;
}

/* ---- (b) and (c): ping-pong of one cache line, spinning or sleeping ---- */

/* The line bounced between the threads. The initiator stores odd values, the responder the next even value; the
 * value STOP ends the responder. */
#define PINGPONG_STOP 0xFFFFFFFFu

typedef struct {
  _Alignas(NS_BLOCK_SIZE) atomic_uint word;
  uint8_t pad[NS_BLOCK_SIZE - sizeof(atomic_uint)];
  int sleep;      /* 1: futex, 0: spin; read-only after start */
} pingpong;

static long futex(atomic_uint *addr, int op, uint32_t val, const struct timespec *timeout) {
  /* Not FUTEX_PRIVATE_FLAG: the ring's futexes are shared between processes, so the baseline pays the same. */
  return syscall(SYS_futex, (uint32_t *)addr, op, val, timeout, NULL, 0);
}

/* Waits until `word` differs from `last` and returns its new value. Acquire: pairs with the release store of the
 * other side in pingpong_send(), so what it wrote before is visible (nothing here, but the pattern is the ring's). */
static uint32_t pingpong_wait(pingpong *p, uint32_t last) {
  uint32_t v;
  if (p->sleep) {
    const struct timespec bound = {0, 100000000}; /* 100 ms: a lost wake-up would slow the run, never hang it */
    while ((v = atomic_load_explicit(&p->word, memory_order_acquire)) == last) futex(&p->word, FUTEX_WAIT, last, &bound);
  } else {
    backoff bo = {0};
    while ((v = atomic_load_explicit(&p->word, memory_order_acquire)) == last) backoff_pause(&bo);
  }
  return v;
}

/* Release: pairs with the acquire load in the other side's pingpong_wait(). */
static void pingpong_send(pingpong *p, uint32_t v) {
  atomic_store_explicit(&p->word, v, memory_order_release);
  if (p->sleep) futex(&p->word, FUTEX_WAKE, INT_MAX, NULL);
}

static void *pingpong_responder(void *arg) {
  pingpong *p = arg;
  uint32_t last = 0;
  for (;;) {
    uint32_t v = pingpong_wait(p, last);
    if (v == PINGPONG_STOP) break;
    last = v + 1;
    pingpong_send(p, last);
  }
  return NULL;
}

static int run_pingpong(const options *o, int sleep) {
  const char *name = sleep ? "c_futex_pingpong" : "c_spin_pingpong";
  pingpong *p = aligned_alloc(NS_BLOCK_SIZE, sizeof(pingpong));
  histogram *h = calloc(1, sizeof(histogram));
  if (!p || !h) {
    printf("{\"scenario\":\"%s\",\"error\":\"out of memory\"}\n", name);
    return 1;
  }
  memset(p, 0, sizeof *p);
  p->sleep = sleep;
  pthread_t rt;
  pthread_create(&rt, NULL, pingpong_responder, p);

  uint32_t v = 0;
  uint64_t start = now_ns();
  uint64_t measure_from = start + (uint64_t)(o->warmup_seconds * 1e9);
  uint64_t end = measure_from + (uint64_t)(o->seconds * 1e9);
  uint64_t t = start, trips = 0;
  while (t < end && v < PINGPONG_STOP - 4) {
    uint64_t t0 = now_ns();
    pingpong_send(p, v + 1);
    v = pingpong_wait(p, v + 1);
    t = now_ns();
    if (t0 >= measure_from) {
      hist_record(h, t - t0);
      trips++;
    }
  }
  pingpong_send(p, PINGPONG_STOP);
  pthread_join(rt, NULL);
  printf("{\"scenario\":\"%s\",\"message_bytes\":4,\"rtt_p50_ns\":%llu,\"rtt_p99_ns\":%llu,\"round_trips\":%llu}\n",
         name, (unsigned long long)hist_percentile(h, 50), (unsigned long long)hist_percentile(h, 99),
         (unsigned long long)trips);
  free(p);
  free(h);
  return 0;
}

/* ---- (d) single-core memcpy of 64 KiB ---- */

#define MEMCPY_BYTES (64u * 1024u)

static int run_memcpy(const options *o) {
  uint8_t *src = aligned_alloc(64, MEMCPY_BYTES), *dst = aligned_alloc(64, MEMCPY_BYTES);
  if (!src || !dst) {
    printf("{\"scenario\":\"c_memcpy_64k\",\"error\":\"out of memory\"}\n");
    return 1;
  }
  memset(src, 1, MEMCPY_BYTES);
  memset(dst, 2, MEMCPY_BYTES);
  uint64_t start = now_ns();
  uint64_t measure_from = start + (uint64_t)(o->warmup_seconds * 1e9);
  uint64_t end = measure_from + (uint64_t)(o->seconds * 1e9);
  while (now_ns() < measure_from) {
    memcpy(dst, src, MEMCPY_BYTES);
    __asm__ __volatile__("" ::"r"(dst) : "memory"); /* keeps every copy: the compiler cannot see dst unused */
  }
  uint64_t copies = 0, t0 = now_ns(), t = t0;
  while (t < end) {
    for (int i = 0; i < 64; i++) {
      memcpy(dst, src, MEMCPY_BYTES);
      __asm__ __volatile__("" ::"r"(dst) : "memory");
    }
    copies += 64;
    t = now_ns();
  }
  double gbps = (double)copies * MEMCPY_BYTES / (double)(t - t0);
  printf("{\"scenario\":\"c_memcpy_64k\",\"message_bytes\":%u,\"gbytes_per_s\":%.3f,\"copies\":%llu}\n", MEMCPY_BYTES,
         gbps, (unsigned long long)copies);
  free(src);
  free(dst);
  return 0;
}

/* ---- main ---- */

static int parse_u32(const char *s, uint32_t *out) {
  char *end;
  errno = 0;
  unsigned long v = strtoul(s, &end, 10);
  if (errno || *s == '\0' || *end != '\0' || v == 0 || v > UINT32_MAX) return -1;
  *out = (uint32_t)v;
  return 0;
}

static void usage(void) {
  fprintf(stderr,
          "usage: bench_baselines [--quick] [--seconds S] [--capacity BYTES] [--batch N] "
          "[c_ring_32b_one_way|c_ring_rtt_spin|c_spin_pingpong|c_futex_pingpong|c_memcpy_64k ...]\n");
}

int main(int argc, char **argv) {
  options o = {2.0, 0.5, 256u * 1024u, 64u};
  int quick = 0;
  double seconds = 0;
  const char *only[8];
  int nonly = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--quick") == 0) {
      quick = 1;
    } else if (strcmp(a, "--seconds") == 0 && i + 1 < argc) {
      char *end;
      seconds = strtod(argv[++i], &end);
      if (*end != '\0' || !(seconds > 0 && seconds <= 600)) {
        fprintf(stderr, "bench_baselines: --seconds must be a number in (0, 600]; received '%s'.\n", argv[i]);
        return 2;
      }
    } else if (strcmp(a, "--capacity") == 0 && i + 1 < argc) {
      if (parse_u32(argv[++i], &o.capacity) || (o.capacity & (o.capacity - 1)) || o.capacity < NS_RING_MIN_CAPACITY ||
          o.capacity > NS_RING_MAX_CAPACITY) {
        fprintf(stderr, "bench_baselines: --capacity must be a power of two from %u to %u; received '%s'.\n",
                NS_RING_MIN_CAPACITY, NS_RING_MAX_CAPACITY, argv[i]);
        return 2;
      }
    } else if (strcmp(a, "--batch") == 0 && i + 1 < argc) {
      if (parse_u32(argv[++i], &o.batch) || o.batch > 1000000u) {
        fprintf(stderr, "bench_baselines: --batch must be an integer from 1 to 1000000; received '%s'.\n", argv[i]);
        return 2;
      }
    } else if (a[0] != '-' && nonly < 8) {
      only[nonly++] = a;
    } else {
      usage();
      return 2;
    }
  }
  if (quick) {
    o.seconds = 0.15;
    o.warmup_seconds = 0.05;
  }
  if (seconds > 0) o.seconds = seconds;

  static const char *const names[] = {"c_ring_32b_one_way", "c_ring_rtt_spin", "c_spin_pingpong", "c_futex_pingpong",
                                      "c_memcpy_64k"};
  for (int i = 0; i < nonly; i++) {
    int known = 0;
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) known |= strcmp(only[i], names[k]) == 0;
    if (!known) {
      fprintf(stderr, "bench_baselines: unknown scenario '%s'.\n", only[i]);
      usage();
      return 2;
    }
  }
  int failed = 0;
  for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
    int wanted = nonly == 0;
    for (int i = 0; i < nonly; i++) wanted |= strcmp(only[i], names[k]) == 0;
    if (!wanted) continue;
    switch (k) {
      case 0: failed |= run_ring(&o); break;
      case 1: failed |= run_ring_rtt(&o); break;
      case 2: failed |= run_pingpong(&o, 0); break;
      case 3: failed |= run_pingpong(&o, 1); break;
      default: failed |= run_memcpy(&o); break;
    }
    fflush(stdout);
  }
  return failed ? 1 : 0;
}
