/* ring_scribbler — a hostile peer process for test/ring-hostile-peer.test.ts (built by binding.gyp as
 * build/Release/ring_scribbler). It maps a region it inherited and, while Node reads one of its rings, alternates
 * legitimate producer work with random stores anywhere in that ring segment: the peer of issue 8, "a peer must not
 * be able to crash Node through a region".
 *
 *   ring_scribbler --fd N --ring SEGMENT --control SEGMENT [--scribbles N] [--records N] [--seed N]
 *                  [--writes N] [--max-length N] [--pause-us N] [--max-ms N] [--parent-pid PID]
 *
 * --scribbles N > 0 (hostile mode): until N scribbles are done (or --max-ms passed), repeat: a burst of 0 … 2×writes
 *   legitimate producer operations on the ring (ns_ring_try_write, ns_ring_stage + ns_ring_publish, ns_ring_try_claim +
 *   ns_ring_commit or ns_ring_abort; stress payloads of native/test/stress_payload.h, 8 … --max-length bytes), then
 *   one scribble: a 32- or 64-bit store of a chosen value at a chosen offset of the ring segment (see scribble()),
 *   then --pause-us microseconds of sleep. Exits 0 when done.
 * --scribbles 0 (legitimate mode): writes --records stress records with sequence numbers 0, 1, … using the same mix
 *   of producer calls, waiting for space with ns_ring_wait_writable, then closes the producer end. Exits 0 when every
 *   record was written, 1 when the ring failed (the JSON says why).
 *
 * The control segment (a user-defined segment of at least CTL_WORDS u32 words, zeroed by the creator) lets the reader
 * re-initialise a ring the scribbles broke without a new process. Its words, each written by one side:
 *   [0] reset_request (reader)   a new generation number: "stop touching the ring, I want to re-initialise it"
 *   [1] reset_ack     (scribbler) the request it has stopped for; it then touches the ring no more
 *   [2] reset_done    (reader)   the generation whose ring is initialised; the scribbler re-attaches and goes on
 *   [3] needs_reset   (scribbler) generation + 1 when its own producer end failed (ECORRUPT, ECLOSED): only a reset
 *                                  lets it write again
 *   [4] scribbles     (scribbler) scribbles done so far (progress, for diagnostics)
 *   [5] finished      (scribbler) 1 once it will touch the ring no more (it then exits)
 * test/helpers/ring-scribbler.ts has the same indices.
 *
 * Output: one JSON line on stdout, {"ok":…,"scribbles":…,"records":…,"resets":…,"producerFailures":…,"full":…,
 * "elapsedNs":…,"error":null|"sentence"}. Exit status 0 on success, 1 when the run failed, 2 for bad arguments or
 * an invalid region. Dies with its parent (PR_SET_PDEATHSIG, as ring_peer). */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "native_sidecar/region.h"
#include "native_sidecar/ring.h"
#include "native_sidecar/wait.h"
#include "stress_payload.h"

#define EXIT_FAILED 1
#define EXIT_USAGE 2

enum { CTL_RESET_REQUEST = 0, CTL_RESET_ACK = 1, CTL_RESET_DONE = 2, CTL_NEEDS_RESET = 3, CTL_SCRIBBLES = 4, CTL_FINISHED = 5, CTL_WORDS = 6 };

/* Record header positions the producer wrote recently: the targets of header scribbles (a random header slot would
 * mostly hit bytes nobody reads). A power of two. */
#define HISTORY 64u
/* A reset the reader asked for must complete within this; otherwise the reader is gone or stuck (the test fails). */
#define RESET_BOUND_NS (10LL * 1000000000LL)
/* legitimate mode: no progress for this long is a failure, not a hang. */
#define IDLE_BOUND_NS (10LL * 1000000000LL)

typedef struct scribbler {
  ns_region_map map;
  uint8_t *seg;             /* the ring segment */
  size_t seg_size;
  NS_ATOMIC_U32 *ctl;       /* the control words */
  ns_ring ring;             /* this process's producer handle */
  int producer_ok;          /* the handle is attached and not broken or closed */
  uint32_t generation;      /* the reset_done value the handle was attached under */
  uint32_t rng;             /* xorshift32 state */
  uint32_t seq;             /* sequence number of the next stress record */
  uint32_t max_length;      /* stress payload lengths are 8 … max_length */
  uint32_t history[HISTORY];
  uint32_t history_count;
  uint8_t *payload;         /* scratch for one payload */
  /* results */
  uint64_t scribbles, records, resets, producer_failures, full;
} scribbler;

static void print_result(const scribbler *s, int ok, int64_t elapsed_ns, const char *error) {
  printf("{\"ok\":%s,\"scribbles\":%" PRIu64 ",\"records\":%" PRIu64 ",\"resets\":%" PRIu64
         ",\"producerFailures\":%" PRIu64 ",\"full\":%" PRIu64 ",\"elapsedNs\":%" PRId64 ",\"error\":",
         ok ? "true" : "false", s->scribbles, s->records, s->resets, s->producer_failures, s->full, elapsed_ns);
  if (error == NULL) {
    printf("null}\n");
  } else {
    putchar('"');
    for (const char *c = error; *c; c++) putchar(*c == '"' || *c == '\\' ? '\'' : *c);
    printf("\"}\n");
  }
  fflush(stdout);
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...) {
  static scribbler none;
  char text[300];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(text, sizeof text, fmt, ap);
  va_end(ap);
  print_result(&none, 0, 0, text);
  exit(EXIT_USAGE);
}

static long long parse_int(const char *flag, const char *text, long long min, long long max) {
  char *end = NULL;
  errno = 0;
  const long long v = strtoll(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || v < min || v > max) die("%s must be an integer from %lld to %lld, not '%s'", flag, min, max, text);
  return v;
}

static void sleep_us(long us) {
  if (us <= 0) return;
  struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

static uint32_t next_random(scribbler *s) { return ns_stress_next_random(&s->rng); }

/* --------------------------------------------------------------------------------------------- control words */

/* The generation the reader wants, or the current one. acquire: pairs with the reader's seq_cst store of the
 * request; nothing else is published with it, but it keeps the request ordered before our ack below. */
static uint32_t reset_requested(scribbler *s) { return NS_ATOMIC_LOAD(&s->ctl[CTL_RESET_REQUEST], NS_MO_ACQUIRE); }

/* Attaches (again) to the ring the reader initialised for the current generation. */
static void attach_ring(scribbler *s) {
  s->producer_ok = ns_ring_attach(&s->ring, s->seg, s->seg_size) == NS_RING_OK;
  s->history_count = 0;
  /* release, as in producer_failed(): a ring we cannot attach to needs the reader's reset as much as a broken one. */
  if (!s->producer_ok) NS_ATOMIC_STORE(&s->ctl[CTL_NEEDS_RESET], s->generation + 1u, NS_MO_RELEASE);
}

/* Marks our producer end unusable until the next reset and asks the reader for one. */
static void producer_failed(scribbler *s) {
  if (!s->producer_ok) return;
  s->producer_ok = 0;
  s->producer_failures++;
  /* release: only a flag; the reader acts on it by requesting a reset (which we acknowledge with release). */
  NS_ATOMIC_STORE(&s->ctl[CTL_NEEDS_RESET], s->generation + 1u, NS_MO_RELEASE);
}

/* When the reader asked for a reset: acknowledge it (we stop touching the ring), wait until it has re-initialised the
 * ring, re-attach. Returns 0, or -1 when the reader did not finish the reset in RESET_BOUND_NS. */
static int handle_reset(scribbler *s) {
  const uint32_t request = reset_requested(s);
  if (request == s->generation) return 0;
  /* release: every store this process made to the ring — records, positions, scribbles — happens before the reader's
   * re-initialisation, which starts only after its seq_cst load of this ack returns `request`. So no late store of
   * ours lands in the fresh ring header. */
  NS_ATOMIC_STORE(&s->ctl[CTL_RESET_ACK], request, NS_MO_RELEASE);
  const int64_t deadline = ns_monotonic_ns() + RESET_BOUND_NS;
  /* acquire: pairs with the reader's seq_cst store of reset_done after Ring.create(), so ns_ring_attach below reads the
   * re-initialised descriptor and positions. */
  while (NS_ATOMIC_LOAD(&s->ctl[CTL_RESET_DONE], NS_MO_ACQUIRE) != request) {
    if (ns_monotonic_ns() > deadline) return -1;
    sleep_us(20);
  }
  s->generation = request;
  s->resets++;
  attach_ring(s);
  return 0;
}

/* ------------------------------------------------------------------------------------------ legitimate writes */

static void remember(scribbler *s, uint32_t header_pos) {
  s->history[s->history_count % HISTORY] = header_pos;
  s->history_count++;
}

/* Remembers the headers a successful write of `length` bytes put between tail `before` and tail `after`: the record's
 * and, when it wrapped, the padding's. */
static void remember_write(scribbler *s, uint32_t before, uint32_t after, uint32_t length) {
  const uint32_t record = after - ns_record_size(length);
  if (record != before) remember(s, before); /* padding at the old tail */
  remember(s, record);
}

/* One producer operation with a stress payload. Returns 1 when a record was written (published or staged), 0 when the
 * ring had no room (or the claim was aborted on purpose), -1 when the producer end failed. */
static int one_write(scribbler *s, int may_stage) {
  const uint32_t length = ns_stress_random_length(&s->rng, s->max_length);
  const uint32_t before = s->ring.producer.tail;
  const uint32_t how = next_random(s) % 4u;
  int rc;
  if (how == 0 || how == 1) {
    ns_stress_fill(s->payload, length, s->seq);
    rc = how == 0 || !may_stage ? ns_ring_try_write(&s->ring, NS_STRESS_TYPE, s->payload, length)
                                : ns_ring_stage(&s->ring, NS_STRESS_TYPE, s->payload, length);
  } else {
    void *at = NULL;
    rc = ns_ring_try_claim(&s->ring, length, &at);
    if (rc == NS_RING_OK) {
      if (how == 3 && next_random(s) % 2u == 0) {
        ns_ring_abort(&s->ring); /* its padding, if any, lies past the tail and must never be read */
        return 0;
      }
      ns_stress_fill((uint8_t *)at, length, s->seq);
      rc = ns_ring_commit(&s->ring, NS_STRESS_TYPE);
    }
  }
  if (rc == NS_RING_OK) {
    remember_write(s, before, s->ring.producer.tail, length);
    s->seq++;
    s->records++;
    return 1;
  }
  if (rc == NS_RING_EFULL) {
    s->full++;
    return 0;
  }
  return -1; /* NS_RING_ECORRUPT (our head check failed: a scribble hit head), NS_RING_ECLOSED (a scribble set bit 1) */
}

/* A burst of 0 … 2 × writes producer operations, published at the end. On a full ring it waits up to 1 ms for room
 * once (a producer parked for space is part of what the reader's head stores must handle), then ends the burst. */
static void legitimate_burst(scribbler *s, uint32_t writes) {
  if (!s->producer_ok) return;
  const uint32_t n = next_random(s) % (2u * writes + 1u);
  static const ns_wait_policy policy = NS_WAIT_POLICY_DEFAULT;
  int waited = 0;
  for (uint32_t i = 0; i < n; i++) {
    const int rc = one_write(s, 1);
    if (rc < 0) return producer_failed(s);
    if (rc == 0 && !waited) {
      waited = 1;
      const int w = ns_ring_wait_writable(&s->ring, s->max_length, &policy, 1000000);
      if (w != NS_RING_OK && w != NS_RING_ETIMEDOUT) return producer_failed(s);
    }
  }
  ns_ring_publish(&s->ring);
}

/* ------------------------------------------------------------------------------------------------- scribbles */

static uint32_t load_u32(const uint8_t *at) {
  uint32_t v;
  memcpy(&v, at, sizeof v);
  return v;
}

/* A value to store: random bits, small numbers, plausible positions and lengths, the ring's own constants, or the
 * current value slightly changed — values a validator must tell apart, not only noise. */
static uint32_t pick_value(scribbler *s, uint32_t current) {
  const uint32_t tail = NS_ATOMIC_LOAD(&((ns_ring_shared *)(void *)s->seg)->tail, NS_MO_RELAXED);
  const uint32_t head = NS_ATOMIC_LOAD(&((ns_ring_shared *)(void *)s->seg)->head, NS_MO_RELAXED);
  const uint32_t capacity = s->ring.capacity != 0 ? s->ring.capacity : 4096u;
  const uint32_t max_payload = s->ring.max_payload != 0 ? s->ring.max_payload : capacity / 2u - 8u;
  const uint32_t specials[] = {0u, 1u, 2u, 3u, 4u, 0x7FFFFFFFu, 0x80000000u, 0xFFFFFFFFu, 0xFFFFFFFEu, capacity,
                               capacity - 8u, capacity + 8u, max_payload, max_payload + 1u, NS_RING_MAGIC,
                               NS_RING_MIN_CAPACITY, 2u * capacity, NS_RING_CLOSED_PRODUCER | NS_RING_CLOSED_CONSUMER};
  const int32_t step = (int32_t)(next_random(s) % 33u) - 16;
  switch (next_random(s) % 10u) {
    case 0:
    case 1:
    case 2: return next_random(s);
    case 3: return next_random(s) % 4097u;
    case 4: return (next_random(s) % 512u) * 8u;
    case 5: return tail + (uint32_t)(step * 8);
    case 6: return head + (uint32_t)(step * 8);
    case 7: return specials[next_random(s) % (sizeof specials / sizeof specials[0])];
    case 8: return current ^ (1u << (next_random(s) % 32u));
    default: return current + (uint32_t)(step * 8);
  }
}

/* One random store into the ring segment. Targets, by share: the descriptor (10 %), tail and head (15 %), the park
 * words and `closed` (10 %), a record header the producer wrote recently (35 %), the data area (20 %), anywhere
 * (10 %). 32 bits (2/3) or 64 bits (1/3); the data area and "anywhere" also get unaligned offsets. Aligned stores
 * are relaxed atomics (as a real peer's would be); unaligned ones are plain byte copies. */
static void scribble(scribbler *s) {
  const uint32_t capacity = s->ring.capacity != 0 ? s->ring.capacity : (uint32_t)(s->seg_size - NS_RING_HEADER_SIZE);
  const uint32_t mask = capacity - 1u;
  const uint32_t width = next_random(s) % 3u == 0 ? 8u : 4u;
  const uint32_t where = next_random(s) % 100u;
  size_t offset;
  int may_unalign = 0;
  if (where < 10) offset = next_random(s) % 128u;
  else if (where < 25) offset = next_random(s) % 2u == 0 ? offsetof(ns_ring_shared, tail) : offsetof(ns_ring_shared, head);
  else if (where < 35) offset = offsetof(ns_ring_shared, data_seq) + 4u * (next_random(s) % 5u);
  else if (where < 70 && s->history_count > 0) {
    const uint32_t recent = s->history_count < HISTORY ? s->history_count : HISTORY;
    const uint32_t pos = s->history[(s->history_count - 1u - next_random(s) % recent) % HISTORY];
    offset = NS_RING_HEADER_SIZE + (pos & mask) + 4u * (next_random(s) % 2u); /* length or type (64 bits: both) */
  } else if (where < 90) {
    offset = NS_RING_HEADER_SIZE + next_random(s) % capacity;
    may_unalign = 1;
  } else {
    offset = next_random(s) % s->seg_size;
    may_unalign = 1;
  }
  if (!may_unalign || next_random(s) % 5u != 0) offset &= ~(size_t)(width == 8u && offset % 8u == 0 ? 7u : 3u);
  if (offset + width > s->seg_size) offset = s->seg_size - width;
  uint8_t *at = s->seg + offset;

  const uint32_t low = pick_value(s, load_u32(at));
  if (width == 4u) {
    if ((uintptr_t)at % 4u == 0) __atomic_store_n((uint32_t *)(void *)at, low, __ATOMIC_RELAXED);
    else memcpy(at, &low, sizeof low);
  } else {
    const uint32_t high = pick_value(s, load_u32(at + 4));
    const uint64_t both = (uint64_t)high << 32 | low; /* little-endian: low is the length, high the type */
    if ((uintptr_t)at % 8u == 0) __atomic_store_n((uint64_t *)(void *)at, both, __ATOMIC_RELAXED);
    else memcpy(at, &both, sizeof both);
  }
  s->scribbles++;
  /* relaxed: a progress counter for diagnostics; nothing is ordered by it. */
  NS_ATOMIC_STORE(&s->ctl[CTL_SCRIBBLES], (uint32_t)s->scribbles, NS_MO_RELAXED);
}

/* ------------------------------------------------------------------------------------------------------ modes */

static int run_hostile(scribbler *s, uint64_t scribbles, uint32_t writes, long pause_us, int64_t max_ns, const char **error) {
  const int64_t end = max_ns > 0 ? ns_monotonic_ns() + max_ns : -1;
  while (s->scribbles < scribbles && (end < 0 || ns_monotonic_ns() < end)) {
    if (handle_reset(s) != 0) {
      *error = "the reader asked for a reset and did not finish it within 10 s";
      return -1;
    }
    if (!s->producer_ok) {
      /* Our end is unusable until the reader resets the ring: give it up to 1 ms to ask before scribbling on. */
      for (int i = 0; i < 50 && reset_requested(s) == s->generation; i++) sleep_us(20);
      if (reset_requested(s) != s->generation) continue;
    }
    legitimate_burst(s, writes);
    scribble(s);
    sleep_us(pause_us);
  }
  return 0;
}

static int run_legitimate(scribbler *s, uint64_t records, const char **error) {
  static const ns_wait_policy policy = NS_WAIT_POLICY_DEFAULT;
  int64_t idle_since = ns_monotonic_ns();
  if (!s->producer_ok) {
    *error = "the ring segment does not hold a valid ring";
    return -1;
  }
  while (s->records < records) {
    const int rc = one_write(s, 0);
    if (rc < 0) {
      *error = "a write to the ring failed (corrupt or closed)";
      return -1;
    }
    if (rc > 0) {
      idle_since = ns_monotonic_ns();
      continue;
    }
    const int w = ns_ring_wait_writable(&s->ring, s->max_length, &policy, 100000000);
    if (w != NS_RING_OK && w != NS_RING_ETIMEDOUT) {
      *error = "waiting for room in the ring failed (corrupt or closed)";
      return -1;
    }
    if (ns_monotonic_ns() - idle_since > IDLE_BOUND_NS) {
      *error = "no room in the ring for 10 s: the reader stopped";
      return -1;
    }
  }
  ns_ring_close_producer(&s->ring);
  return 0;
}

int main(int argc, char **argv) {
  const pid_t parent_at_start = getppid();
  long long fd = -1, ring_index = -1, control_index = -1, parent_pid = -1, max_ms = 0, pause_us = 0;
  long long scribbles = 0, records = 0, seed = 1, writes = 8, max_length = 256;
  for (int i = 1; i < argc; i++) {
    const char *flag = argv[i];
    if (i + 1 >= argc) die("%s needs a value", flag);
    const char *value = argv[++i];
    if (strcmp(flag, "--fd") == 0) fd = parse_int(flag, value, 0, INT_MAX);
    else if (strcmp(flag, "--ring") == 0) ring_index = parse_int(flag, value, 0, NS_REGION_MAX_SEGMENTS - 1);
    else if (strcmp(flag, "--control") == 0) control_index = parse_int(flag, value, 0, NS_REGION_MAX_SEGMENTS - 1);
    else if (strcmp(flag, "--scribbles") == 0) scribbles = parse_int(flag, value, 0, LLONG_MAX);
    else if (strcmp(flag, "--records") == 0) records = parse_int(flag, value, 0, LLONG_MAX);
    else if (strcmp(flag, "--seed") == 0) seed = parse_int(flag, value, 1, UINT32_MAX);
    else if (strcmp(flag, "--writes") == 0) writes = parse_int(flag, value, 0, 1000000);
    else if (strcmp(flag, "--max-length") == 0) max_length = parse_int(flag, value, NS_STRESS_MIN_LENGTH, UINT32_MAX);
    else if (strcmp(flag, "--pause-us") == 0) pause_us = parse_int(flag, value, 0, 1000000);
    else if (strcmp(flag, "--max-ms") == 0) max_ms = parse_int(flag, value, 0, LLONG_MAX / 1000000);
    else if (strcmp(flag, "--parent-pid") == 0) parent_pid = parse_int(flag, value, 1, INT_MAX);
    else die("unknown option %s", flag);
  }
  /* Die with the parent; the check after prctl() closes the window in which it died before that was set up. */
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) die("prctl(PR_SET_PDEATHSIG) failed: %s", strerror(errno));
  if (getppid() != (parent_pid > 0 ? (pid_t)parent_pid : parent_at_start)) return EXIT_FAILED;
  if (fd < 0 || ring_index < 0 || control_index < 0) die("--fd, --ring and --control are required");
  if (ring_index == control_index) die("--ring and --control must be different segments");

  static scribbler s; /* static: ns_ring is over-aligned and large-ish */
  int rc = ns_region_map_fd((int)fd, &s.map);
  if (rc == NS_REGION_ESYSTEM) die("mapping the region on fd %lld failed: %s", fd, strerror(errno));
  if (rc != NS_REGION_OK) die("the region on fd %lld is invalid: its header %s", fd, ns_region_strerror(rc));
  size_t control_size = 0;
  s.seg = (uint8_t *)ns_region_segment(&s.map, (uint32_t)ring_index, NS_SEGMENT_KIND_RING, &s.seg_size);
  void *control = ns_region_segment(&s.map, (uint32_t)control_index, 0, &control_size);
  if (s.seg == NULL || s.seg_size < NS_RING_HEADER_SIZE + NS_RING_MIN_CAPACITY) die("--ring %lld is not a ring segment of the region", ring_index);
  if (control == NULL || control_size < CTL_WORDS * sizeof(uint32_t)) die("--control %lld is not a segment of at least %zu bytes", control_index, CTL_WORDS * sizeof(uint32_t));
  s.ctl = (NS_ATOMIC_U32 *)control;
  s.rng = (uint32_t)seed;
  /* acquire: the reader set up generation 0 before handing over the fd (the handover orders that); a later value
   * means it already reset once, and then this load pairs with its seq_cst store of reset_done. */
  s.generation = NS_ATOMIC_LOAD(&s.ctl[CTL_RESET_DONE], NS_MO_ACQUIRE);
  attach_ring(&s);
  if (s.producer_ok && max_length > s.ring.max_payload) max_length = s.ring.max_payload;
  s.max_length = (uint32_t)max_length;
  s.payload = (uint8_t *)malloc(s.max_length);
  if (s.payload == NULL) die("no memory for a %u-byte payload", s.max_length);

  const int64_t start = ns_monotonic_ns();
  const char *error = NULL;
  rc = scribbles > 0 ? run_hostile(&s, (uint64_t)scribbles, (uint32_t)writes, (long)pause_us, max_ms * 1000000LL, &error)
                     : run_legitimate(&s, (uint64_t)records, &error);
  /* release: every store to the ring happens before the reader sees this flag (and stops resetting). */
  NS_ATOMIC_STORE(&s.ctl[CTL_FINISHED], 1u, NS_MO_RELEASE);
  print_result(&s, rc == 0, ns_monotonic_ns() - start, error);
  free(s.payload);
  ns_region_unmap(&s.map);
  return rc == 0 ? 0 : EXIT_FAILED;
}
