/* bench_baselines — the limits of this machine, for `npm run bench` (bench/limits.ts, bench/ring.ts via
 * bench/baselines/c.ts): what it can do without JavaScript, so that the suites state their figures as ratios to
 * them, measured in the same run.
 *   c_ring_limit        the fastest one-way stream through the library's ring (native_sidecar/ring.h): one native
 *                       thread stages records (ns_ring_stage, one publish per batch), another reads them in large
 *                       batches (ns_ring_read, one head store per batch) and does nothing else; both spin. Several
 *                       (batch, read limit) pairs are tried at each size and the best is reported, with all tried.
 *   c_ring_rtt_spin     round trip of a 32-byte record through two such rings between two threads, both spinning.
 *   c_spin_pingpong     one cache line bounced between two threads with C11 atomics, both spinning; round trip.
 *   c_futex_pingpong    the same with both sides sleeping in FUTEX_WAIT and woken by FUTEX_WAKE; round trip.
 *   c_memcpy            single-core memcpy (source and destination reused, so in cache where they fit); GB/s.
 * Round trips report p50, p99, p99.9 and max in ns; the size-swept scenarios (c_ring_limit, c_memcpy) print one line
 * per size of --sizes.
 *
 * Usage: bench_baselines [--seconds S] [--warmup S] [--sizes B,B,...] [scenario...]
 * Prints one JSON object per line on stdout. Each measurement is bounded in time (warm-up + S seconds; defaults
 * 0.15 and 0.05); spin loops yield after a bounded number of spins so that a descheduled peer on a busy machine
 * cannot turn a spin into a livelock. Threads are not pinned, like the JS scenarios.
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

/* Prints ,"latency":{"p50":…,"p99":…,"p999":…,"max":…,"count":…} (the upper edges of the buckets). */
static void print_latency(const histogram *h) {
  printf(",\"p50_ns\":%llu,\"p99_ns\":%llu,\"p999_ns\":%llu,\"max_ns\":%llu,\"count\":%llu",
         (unsigned long long)hist_percentile(h, 50), (unsigned long long)hist_percentile(h, 99),
         (unsigned long long)hist_percentile(h, 99.9), (unsigned long long)hist_percentile(h, 100),
         (unsigned long long)h->total);
}

/* ---- options ---- */

#define MAX_SIZES 16

typedef struct {
  double seconds;
  double warmup_seconds;
  uint32_t sizes[MAX_SIZES];
  int nsizes;
} options;

/* ---- (a) the ring limit: a producer and a consumer on the library's ring that do nothing else ---- */

#define RING_RECORD_TYPE 1u
#define RING_RECORD_BYTES 32u /* the ring round trip's message */
#define RING_MAX_TRIALS 8u

/* The (producer batch, consumer read limit) pairs tried at each size; the best one is the limit. */
static const uint32_t trial_batch[] = {16u, 64u, 256u, 1024u};
static const uint32_t trial_read[] = {1024u, 1024u, 4096u, 4096u};
#define RING_TRIALS (sizeof trial_batch / sizeof trial_batch[0])

typedef struct {
  ns_ring producer;
  ns_ring consumer;
  uint32_t batch;           /* records staged per publish */
  uint32_t read_limit;      /* records per ns_ring_read(), i.e. per head store */
  uint32_t length;          /* payload bytes per record */
  const uint8_t *source;    /* `length` bytes the producer copies into each record */
  atomic_int stop;          /* main → producer: stop staging (relaxed: a request, nothing is published with it) */
  atomic_int producer_done; /* producer → consumer: the last publish happened before this store (release) */
  atomic_uint_fast64_t consumed; /* consumer → main: running count, relaxed (a progress gauge, not a sync edge) */
  int error;                /* consumer-local until joined */
} ring_bench;

/* Stages `batch` records (fewer when the ring is full) and publishes them with one tail store: ns_ring_stage() is
 * the cheapest way the library's API writes a record (no claim bookkeeping, no publish per record). */
static void *ring_producer(void *arg) {
  ring_bench *b = arg;
  backoff bo = {0};
  while (!atomic_load_explicit(&b->stop, memory_order_relaxed)) {
    uint32_t staged = 0;
    while (staged < b->batch && ns_ring_stage(&b->producer, RING_RECORD_TYPE, b->source, b->length) == NS_RING_OK) staged++;
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

/* The consumer does nothing with a record: ns_ring_read() has validated it (§4), which is the library's cost. */
static int ring_handler(void *ctx, uint32_t type, const uint8_t *payload, uint32_t length) {
  (void)ctx;
  (void)type;
  (void)payload;
  (void)length;
  return 0;
}

static void *ring_consumer(void *arg) {
  ring_bench *b = arg;
  uint64_t count = 0;
  backoff bo = {0};
  for (;;) {
    int n = ns_ring_read(&b->consumer, ring_handler, b, b->read_limit);
    if (n > 0) {
      count += (uint64_t)n;
      atomic_store_explicit(&b->consumed, count, memory_order_relaxed);
      bo.spins = 0;
      continue;
    }
    if (n < 0) {
      b->error = 1;
      break;
    }
    /* Empty. Acquire: pairs with the producer's release store of producer_done, so a read after it sees every
     * record published before it; one more empty read then means the stream is over. */
    if (atomic_load_explicit(&b->producer_done, memory_order_acquire)) {
      int last = ns_ring_read(&b->consumer, ring_handler, b, 0);
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

static void sleep_seconds(double s) {
  struct timespec t = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
  while (nanosleep(&t, &t) != 0 && errno == EINTR) {
  }
}

/* Ring capacity for records of `length` bytes: room for at least 16 records, at least 256 KiB. */
static uint32_t ring_capacity_for(uint32_t length) {
  uint32_t need = 16u * ns_record_size(length), cap = 256u * 1024u;
  while (cap < need && cap < NS_RING_MAX_CAPACITY) cap <<= 1;
  return cap;
}

/* One trial: records/s at the consumer over o->seconds after o->warmup_seconds; < 0 on a failure. */
static double ring_trial(const options *o, void *mem, size_t size, uint32_t capacity, ring_bench *b) {
  int rc = ns_ring_init(mem, size, capacity, 0, 0);
  if (rc == NS_RING_OK) rc = ns_ring_attach(&b->producer, mem, size);
  if (rc == NS_RING_OK) rc = ns_ring_attach(&b->consumer, mem, size);
  if (rc != NS_RING_OK) return -1;
  atomic_store(&b->stop, 0);
  atomic_store(&b->producer_done, 0);
  atomic_store(&b->consumed, 0);
  b->error = 0;
  pthread_t pt, ct;
  if (pthread_create(&ct, NULL, ring_consumer, b) != 0) return -1;
  if (pthread_create(&pt, NULL, ring_producer, b) != 0) {
    atomic_store(&b->producer_done, 1);
    pthread_join(ct, NULL);
    return -1;
  }
  sleep_seconds(o->warmup_seconds);
  uint64_t c0 = atomic_load_explicit(&b->consumed, memory_order_relaxed), t0 = now_ns();
  sleep_seconds(o->seconds);
  uint64_t c1 = atomic_load_explicit(&b->consumed, memory_order_relaxed), t1 = now_ns();
  atomic_store_explicit(&b->stop, 1, memory_order_relaxed);
  pthread_join(pt, NULL);
  pthread_join(ct, NULL);
  if (b->error) return -1;
  return (double)(c1 - c0) * 1e9 / (double)(t1 - t0);
}

/* The ring limit at one message size: every (batch, read limit) pair of the trial table, the best reported. */
static int run_ring_limit(const options *o, uint32_t length) {
  const char *name = "c_ring_limit";
  uint32_t capacity = ring_capacity_for(length);
  if (length > ns_ring_max_payload_for(capacity)) {
    printf("{\"scenario\":\"%s\",\"message_bytes\":%u,\"error\":\"the message is larger than the largest ring allows\"}\n", name, length);
    return 1;
  }
  size_t size = ns_ring_segment_size(capacity);
  void *mem = aligned_alloc(NS_BLOCK_SIZE, (size + NS_BLOCK_SIZE - 1) / NS_BLOCK_SIZE * NS_BLOCK_SIZE);
  uint8_t *source = aligned_alloc(64, (length + 63u) / 64u * 64u);
  ring_bench *b = aligned_alloc(NS_BLOCK_SIZE, (sizeof(ring_bench) + NS_BLOCK_SIZE - 1) / NS_BLOCK_SIZE * NS_BLOCK_SIZE);
  if (!mem || !b || !source) {
    printf("{\"scenario\":\"%s\",\"message_bytes\":%u,\"error\":\"out of memory\"}\n", name, length);
    free(mem);
    free(source);
    free(b);
    return 1;
  }
  memset(source, 0xA5, length);
  memset(mem, 0, size); /* the data area is touched before the first trial: no page faults inside a window */
  memset(b, 0, sizeof *b);
  b->length = length;
  b->source = source;
  double best = -1, rates[RING_MAX_TRIALS];
  uint32_t best_i = 0;
  for (uint32_t i = 0; i < RING_TRIALS; i++) {
    b->batch = trial_batch[i];
    b->read_limit = trial_read[i];
    rates[i] = ring_trial(o, mem, size, capacity, b);
    if (rates[i] < 0) {
      printf("{\"scenario\":\"%s\",\"message_bytes\":%u,\"error\":\"a ring operation failed (batch %u)\"}\n", name, length, trial_batch[i]);
      free(mem);
      free(source);
      free(b);
      return 1;
    }
    if (rates[i] > best) {
      best = rates[i];
      best_i = i;
    }
  }
  printf("{\"scenario\":\"%s\",\"message_bytes\":%u,\"msgs_per_s\":%.0f,\"gbytes_per_s\":%.3f,\"batch\":%u,"
         "\"read_limit\":%u,\"capacity\":%u,\"tried\":[",
         name, length, best, best * (double)length / 1e9, trial_batch[best_i], trial_read[best_i], capacity);
  for (uint32_t i = 0; i < RING_TRIALS; i++) printf("%s{\"batch\":%u,\"read_limit\":%u,\"msgs_per_s\":%.0f}", i ? "," : "", trial_batch[i], trial_read[i], rates[i]);
  printf("]}\n");
  free(mem);
  free(source);
  free(b);
  return 0;
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

#define RTT_CAPACITY (64u * 1024u)

static int run_ring_rtt(const options *o) {
  const char *name = "c_ring_rtt_spin";
  size_t size = ns_ring_segment_size(RTT_CAPACITY);
  size_t rounded = (size + NS_BLOCK_SIZE - 1) / NS_BLOCK_SIZE * NS_BLOCK_SIZE;
  uint8_t *mem = aligned_alloc(NS_BLOCK_SIZE, 2 * rounded);
  ring_rtt *b = aligned_alloc(NS_BLOCK_SIZE, (sizeof(ring_rtt) + NS_BLOCK_SIZE - 1) / NS_BLOCK_SIZE * NS_BLOCK_SIZE);
  histogram *h = calloc(1, sizeof(histogram));
  if (!mem || !b || !h) {
    printf("{\"scenario\":\"%s\",\"error\":\"out of memory\"}\n", name);
    return 1;
  }
  memset(b, 0, sizeof *b);
  int rc = ns_ring_init(mem, size, RTT_CAPACITY, 0, 0);
  if (rc == NS_RING_OK) rc = ns_ring_init(mem + rounded, size, RTT_CAPACITY, 0, 0);
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
    (void)trips;
    printf("{\"scenario\":\"%s\",\"message_bytes\":%u", name, RING_RECORD_BYTES);
    print_latency(h);
    printf("}\n");
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
  (void)trips;
  printf("{\"scenario\":\"%s\",\"message_bytes\":4", name);
  print_latency(h);
  printf("}\n");
  free(p);
  free(h);
  return 0;
}

/* ---- (d) single-core memcpy at one size ---- */

static int run_memcpy(const options *o, uint32_t bytes) {
  uint8_t *src = aligned_alloc(64, (bytes + 63u) / 64u * 64u), *dst = aligned_alloc(64, (bytes + 63u) / 64u * 64u);
  if (!src || !dst) {
    printf("{\"scenario\":\"c_memcpy\",\"message_bytes\":%u,\"error\":\"out of memory\"}\n", bytes);
    free(src);
    free(dst);
    return 1;
  }
  memset(src, 1, bytes);
  memset(dst, 2, bytes);
  /* Copies between two clock reads: about 1 MiB of copying, so the clock costs little even at 32 bytes. */
  uint64_t per_read = bytes >= (1u << 20) ? 1 : (1u << 20) / bytes;
  uint64_t start = now_ns();
  uint64_t measure_from = start + (uint64_t)(o->warmup_seconds * 1e9);
  uint64_t end = measure_from + (uint64_t)(o->seconds * 1e9);
  while (now_ns() < measure_from) {
    for (uint64_t i = 0; i < per_read; i++) {
      memcpy(dst, src, bytes);
      __asm__ __volatile__("" ::"r"(dst) : "memory"); /* keeps every copy: the compiler cannot see dst unused */
    }
  }
  uint64_t copies = 0, t0 = now_ns(), t = t0;
  while (t < end) {
    for (uint64_t i = 0; i < per_read; i++) {
      memcpy(dst, src, bytes);
      __asm__ __volatile__("" ::"r"(dst) : "memory");
    }
    copies += per_read;
    t = now_ns();
  }
  double gbps = (double)copies * bytes / (double)(t - t0);
  printf("{\"scenario\":\"c_memcpy\",\"message_bytes\":%u,\"gbytes_per_s\":%.3f,\"msgs_per_s\":%.0f,\"copies\":%llu}\n",
         bytes, gbps, (double)copies * 1e9 / (double)(t - t0), (unsigned long long)copies);
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

static int parse_seconds(const char *s, double *out) {
  char *end;
  double v = strtod(s, &end);
  if (*s == '\0' || *end != '\0' || !(v >= 0 && v <= 600)) return -1;
  *out = v;
  return 0;
}

static const char *const names[] = {"c_ring_limit", "c_ring_rtt_spin", "c_spin_pingpong", "c_futex_pingpong", "c_memcpy"};
#define NNAMES (sizeof names / sizeof names[0])

static void usage(void) {
  fprintf(stderr, "usage: bench_baselines [--seconds S] [--warmup S] [--sizes B,B,...] [scenario...]\n  scenarios:");
  for (size_t k = 0; k < NNAMES; k++) fprintf(stderr, " %s", names[k]);
  fprintf(stderr, "\n");
}

int main(int argc, char **argv) {
  options o = {0.15, 0.05, {32u}, 1};
  const char *only[NNAMES];
  int nonly = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--seconds") == 0 && i + 1 < argc) {
      if (parse_seconds(argv[++i], &o.seconds) || o.seconds <= 0) {
        fprintf(stderr, "bench_baselines: --seconds must be a number in (0, 600]; received '%s'.\n", argv[i]);
        return 2;
      }
    } else if (strcmp(a, "--warmup") == 0 && i + 1 < argc) {
      if (parse_seconds(argv[++i], &o.warmup_seconds)) {
        fprintf(stderr, "bench_baselines: --warmup must be a number in [0, 600]; received '%s'.\n", argv[i]);
        return 2;
      }
    } else if (strcmp(a, "--sizes") == 0 && i + 1 < argc) {
      char list[256];
      snprintf(list, sizeof list, "%s", argv[++i]);
      o.nsizes = 0;
      for (char *save = NULL, *tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (o.nsizes == MAX_SIZES || parse_u32(tok, &o.sizes[o.nsizes]) || o.sizes[o.nsizes] > (256u << 20)) {
          fprintf(stderr, "bench_baselines: --sizes must be at most %d sizes from 1 to 268435456 bytes; received '%s'.\n", MAX_SIZES, argv[i]);
          return 2;
        }
        o.nsizes++;
      }
      if (o.nsizes == 0) {
        fprintf(stderr, "bench_baselines: --sizes needs at least one size.\n");
        return 2;
      }
    } else if (a[0] != '-') {
      int known = 0;
      for (size_t k = 0; k < NNAMES; k++) known |= strcmp(a, names[k]) == 0;
      if (!known) {
        fprintf(stderr, "bench_baselines: unknown scenario '%s'.\n", a);
        usage();
        return 2;
      }
      if (nonly < (int)NNAMES) only[nonly++] = a;
    } else {
      usage();
      return 2;
    }
  }
  int failed = 0;
  for (int i = 0; i < nonly || (nonly == 0 && i < (int)NNAMES); i++) {
    const char *n = nonly ? only[i] : names[i];
    if (strcmp(n, "c_ring_limit") == 0) {
      for (int k = 0; k < o.nsizes; k++, fflush(stdout)) failed |= run_ring_limit(&o, o.sizes[k]);
    } else if (strcmp(n, "c_ring_rtt_spin") == 0) {
      failed |= run_ring_rtt(&o);
    } else if (strcmp(n, "c_spin_pingpong") == 0) {
      failed |= run_pingpong(&o, 0);
    } else if (strcmp(n, "c_futex_pingpong") == 0) {
      failed |= run_pingpong(&o, 1);
    } else {
      for (int k = 0; k < o.nsizes; k++, fflush(stdout)) failed |= run_memcpy(&o, o.sizes[k]);
    }
    fflush(stdout);
  }
  return failed ? 1 : 0;
}
