/* ring_threads.c — native threads at the other end of a ring: a sink that consumes, a source that produces.
 * Used by the calls benchmark to price one 32-byte ring message each way against a thread-safe-function call. */
#include <sched.h>
#include <string.h>

#include "ring_codes.h"
#include "threads.h"

#define SOURCE_MAX_LENGTH 4096u

/* Bounded spinning, then yielding, then short sleeps: an idle peer must not burn a core that the JS thread (or
 * another test) needs on this 2-core machine. */
static void back_off(uint32_t *idle) {
  uint32_t n = (*idle)++;
  if (n < 64) return;
  if (n < 128) {
    sched_yield();
    return;
  }
  ns_sc_sleep_ns(50000);
}

typedef struct sink_state {
  uint32_t hash;
  uint32_t count;
} sink_state;

static int on_record(void *ctx, uint32_t type, const uint8_t *payload, uint32_t length) {
  (void)type;
  sink_state *s = (sink_state *)ctx;
  uint32_t seq = 0;
  if (length >= 4) memcpy(&seq, payload, 4); /* little-endian host (Linux x64), as the wire format requires */
  s->hash = ns_sc_fnv1a_u32(s->hash, seq);
  s->count++;
  return 0;
}

static void run_sink(const ns_sc_job *job, atomic_int *stop, ns_sc_thread_report *report) {
  ns_ring ring;
  int rc = ns_ring_attach(&ring, job->segment, job->segment_size);
  sink_state state = {NS_SC_FNV_OFFSET_BASIS, 0};
  uint64_t start = ns_sc_now_ns();
  uint32_t idle = 0;
  while (rc == NS_RING_OK && state.count < job->count && !atomic_load_explicit(stop, memory_order_relaxed)) {
    int n = ns_ring_read(&ring, on_record, &state, job->count - state.count);
    if (n > 0) {
      idle = 0;
    } else if (n == 0 || n == NS_RING_EEMPTY) {
      back_off(&idle);
    } else {
      rc = n; /* ECLOSED: the producer ended the stream early; anything else: corrupt */
    }
  }
  report->elapsed_ns = ns_sc_now_ns() - start;
  report->calls_ok = state.count;
  report->checksum = state.hash;
  if (rc != NS_RING_OK) {
    report->failures = 1;
    report->first_error = ns_sc_from_ring(rc);
  }
  if (rc != NS_RING_EINVAL && rc != NS_RING_ECORRUPT) ns_ring_close_consumer(&ring);
}

static void run_source(const ns_sc_job *job, atomic_int *stop, ns_sc_thread_report *report) {
  ns_ring ring;
  int rc = ns_ring_attach(&ring, job->segment, job->segment_size);
  uint8_t payload[SOURCE_MAX_LENGTH];
  memset(payload, 0, sizeof payload);
  uint32_t hash = NS_SC_FNV_OFFSET_BASIS;
  uint32_t sent = 0, idle = 0;
  uint64_t start = ns_sc_now_ns();
  while (rc == NS_RING_OK && sent < job->count && !atomic_load_explicit(stop, memory_order_relaxed)) {
    memcpy(payload, &sent, 4);
    int w = ns_ring_try_write(&ring, NS_SC_RING_TEXT_TYPE, payload, job->length);
    if (w == NS_RING_OK) {
      hash = ns_sc_fnv1a_u32(hash, sent);
      sent++;
      idle = 0;
    } else if (w == NS_RING_EFULL) {
      back_off(&idle);
    } else {
      rc = w;
    }
  }
  report->elapsed_ns = ns_sc_now_ns() - start;
  report->calls_ok = sent;
  report->checksum = hash;
  if (rc != NS_RING_OK) {
    report->failures = 1;
    report->first_error = ns_sc_from_ring(rc);
  }
  if (rc != NS_RING_EINVAL && rc != NS_RING_ECORRUPT) ns_ring_close_producer(&ring);
}

int32_t ns_sc_thread_start_ring_sink(void *segment, uint32_t segment_size, uint32_t count) {
  if (segment == NULL) return NS_SC_EINVAL;
  ns_sc_job job = {0};
  job.run = run_sink;
  job.count = count;
  job.segment = segment;
  job.segment_size = segment_size;
  return ns_sc_thread_spawn(&job);
}

int32_t ns_sc_thread_start_ring_source(void *segment, uint32_t segment_size, uint32_t count, uint32_t length) {
  if (segment == NULL || length < 4 || length > SOURCE_MAX_LENGTH) return NS_SC_EINVAL;
  ns_sc_job job = {0};
  job.run = run_source;
  job.count = count;
  job.segment = segment;
  job.segment_size = segment_size;
  job.length = length;
  return ns_sc_thread_spawn(&job);
}
