/* native/test/peer.h — the native peers that tests and benchmarks run against the TypeScript ring.
 *
 * One peer runs one mode on one or two rings, from one thread, until its stream ends:
 *   echo     read ring `in`, write the same type + payload to ring `out`, until `in` is closed and drained; then close
 *            `out`. Records are staged on `out` and published once per batch, or whenever `in` runs dry.
 *   verify   consume ring `in`, checking the stress payload of every record (native/test/stress_payload.h): the
 *            sequence (nothing lost, duplicated or reordered) and the checksum (nothing corrupted).
 *   produce  write `count` stress records of random length in [min_length, max_length] to ring `out`, then close it.
 *   sink     consume ring `in` and count records and bytes.
 * Used by the ring_peer executable (native/test/ring_peer.c, a separate process) and by the addon's RingPeerThread
 * (native/addon/ring_peer_thread.cc, a thread inside Node). Header-only C11, also valid C++17.
 *
 * Bounded by construction: every wait lasts at most NS_PEER_SLICE_NS before the peer re-checks its stop flag, and the
 * peer gives up with NS_PEER_EIDLE when no progress was possible for `idle_timeout_ns`. On any error the peer closes
 * its ends of both rings, so a JavaScript side waiting on them is woken (closed) instead of waiting forever. */
#ifndef NATIVE_SIDECAR_TEST_PEER_H
#define NATIVE_SIDECAR_TEST_PEER_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "native_sidecar/ring.h"
#include "native_sidecar/wait.h"
#include "stress_payload.h"

typedef enum { NS_PEER_ECHO = 0, NS_PEER_VERIFY = 1, NS_PEER_PRODUCE = 2, NS_PEER_SINK = 3 } ns_peer_mode;

/* Peer outcomes beyond the ring's codes (status.h). */
enum {
  NS_PEER_EVERIFY = -100, /* verify: a record failed its stress check */
  NS_PEER_EIDLE = -101,   /* no progress for idle_timeout_ns */
  NS_PEER_ESTOPPED = -102, /* the stop flag was raised */
  NS_PEER_ECOUNT = -103,  /* verify/sink: the stream ended after a number of records other than `count` */
  NS_PEER_ENOMEM = -104,
  NS_PEER_EINVAL = -105   /* bad options (mode, missing ring, lengths outside the ring's max_payload) */
};

/* Longest single wait before the peer re-checks its stop flag and idle deadline. */
#define NS_PEER_SLICE_NS 100000000LL /* 100 ms */
#define NS_PEER_DEFAULT_IDLE_TIMEOUT_NS 30000000000LL /* 30 s */
#define NS_PEER_DEFAULT_BATCH 64u
#define NS_PEER_ERROR_MAX 200

typedef struct ns_peer_options {
  ns_peer_mode mode;
  ns_wait_policy policy;
  uint64_t count;          /* produce: records to write; verify/sink: records expected (0 = any number) */
  uint32_t min_length;     /* produce: payload length range, NS_STRESS_MIN_LENGTH ≤ min ≤ max ≤ max_payload */
  uint32_t max_length;
  uint32_t seed;           /* produce: PRNG seed (0 is replaced by 1: xorshift needs a non-zero state) */
  uint32_t batch;          /* records per publication (echo, produce) and per read() call; 0 = NS_PEER_DEFAULT_BATCH */
  int64_t idle_timeout_ns; /* < 0: wait forever; 0: NS_PEER_DEFAULT_IDLE_TIMEOUT_NS */
  NS_ATOMIC_U32 *stop;     /* optional: another thread stores non-zero to make the peer stop (NS_PEER_ESTOPPED) */
} ns_peer_options;

typedef struct ns_peer_result {
  int code;              /* NS_RING_OK, a ring code (status.h) or an NS_PEER_* code */
  uint64_t records;      /* records read (echo, verify, sink) or written (produce) */
  uint64_t bytes;        /* their payload bytes */
  int64_t elapsed_ns;    /* from the first record to the end of the stream (0 when there was no record) */
  char error[NS_PEER_ERROR_MAX]; /* the first error as a sentence, "" when none */
} ns_peer_result;

static inline const char *ns_peer_mode_name(ns_peer_mode mode) {
  switch (mode) {
    case NS_PEER_ECHO: return "echo";
    case NS_PEER_VERIFY: return "verify";
    case NS_PEER_PRODUCE: return "produce";
    case NS_PEER_SINK: return "sink";
  }
  return "unknown";
}

/* Parses a mode name; returns 0 and sets *mode, or -1. */
static inline int ns_peer_parse_mode(const char *name, ns_peer_mode *mode) {
  static const ns_peer_mode modes[] = {NS_PEER_ECHO, NS_PEER_VERIFY, NS_PEER_PRODUCE, NS_PEER_SINK};
  for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
    if (strcmp(name, ns_peer_mode_name(modes[i])) == 0) {
      *mode = modes[i];
      return 0;
    }
  }
  return -1;
}

/* Parses a wait mode name ("spin", "spin-then-park", "park"); returns 0 and sets *mode, or -1. */
static inline int ns_peer_parse_wait_mode(const char *name, ns_wait_mode *mode) {
  if (strcmp(name, "spin") == 0) *mode = NS_WAIT_SPIN;
  else if (strcmp(name, "spin-then-park") == 0) *mode = NS_WAIT_SPIN_THEN_PARK;
  else if (strcmp(name, "park") == 0) *mode = NS_WAIT_PARK;
  else return -1;
  return 0;
}

/* A stable lower-case name for a result code (the `code` of the JSON result). */
static inline const char *ns_peer_code_name(int code) {
  switch (code) {
    case NS_RING_OK: return "ok";
    case NS_RING_EFULL: return "full";
    case NS_RING_EEMPTY: return "empty";
    case NS_RING_ETOOBIG: return "too-big";
    case NS_RING_ECORRUPT: return "corrupt";
    case NS_RING_EINVAL: return "invalid";
    case NS_RING_ECLOSED: return "closed";
    case NS_RING_ETIMEDOUT: return "timed-out";
    case NS_PEER_EVERIFY: return "verify-failed";
    case NS_PEER_EIDLE: return "idle-timeout";
    case NS_PEER_ESTOPPED: return "stopped";
    case NS_PEER_ECOUNT: return "count-mismatch";
    case NS_PEER_ENOMEM: return "no-memory";
    case NS_PEER_EINVAL: return "bad-options";
    default: return "unknown";
  }
}

/* Records the first error only: later ones are consequences. */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static inline int ns_peer__fail(ns_peer_result *res, int code, const char *fmt, ...) {
  if (res->code == NS_RING_OK) {
    va_list ap;
    res->code = code;
    va_start(ap, fmt);
    vsnprintf(res->error, sizeof res->error, fmt, ap);
    va_end(ap);
  }
  return code;
}

typedef struct ns_peer__run {
  const ns_peer_options *o;
  ns_peer_result *res;
  ns_ring *in;
  ns_ring *out;
  uint32_t batch;
  int64_t idle_timeout_ns;
  int64_t first_ns;     /* monotonic time of the first record, 0 before it */
  uint32_t staged;      /* records staged on `out` and not yet published */
  uint32_t expected;    /* verify: the next sequence number */
} ns_peer__run;

static inline void ns_peer__progress(ns_peer__run *run, uint32_t length) {
  if (run->first_ns == 0) run->first_ns = ns_monotonic_ns();
  run->res->records++;
  run->res->bytes += length;
}

/* Waits until ring `r` is readable (producer_side 0) or can take `length` bytes (producer_side 1), in slices, checking
 * the stop flag between slices. Returns NS_RING_OK, NS_RING_ECLOSED, NS_RING_ECORRUPT, NS_PEER_ESTOPPED or
 * NS_PEER_EIDLE. */
static inline int ns_peer__wait(ns_peer__run *run, ns_ring *r, int producer_side, uint32_t length) {
  const int64_t deadline = ns_deadline_after(run->idle_timeout_ns);
  for (;;) {
    /* acquire: pairs with the release store of the thread that raises the flag (RingPeerThread::Stop()). */
    if (run->o->stop != NULL && NS_ATOMIC_LOAD(run->o->stop, NS_MO_ACQUIRE) != 0) return NS_PEER_ESTOPPED;
    int64_t slice = NS_PEER_SLICE_NS;
    if (deadline >= 0) {
      const int64_t left = deadline - ns_monotonic_ns();
      if (left <= 0) return NS_PEER_EIDLE;
      if (left < slice) slice = left;
    }
    const int rc = producer_side ? ns_ring_wait_writable(r, length, &run->o->policy, slice)
                                 : ns_ring_wait_readable(r, &run->o->policy, slice);
    if (rc != NS_RING_ETIMEDOUT) return rc;
  }
}

/* Stages one record on `out`, waiting for space when it is full. */
static inline int ns_peer__stage(ns_peer__run *run, uint32_t type, const void *payload, uint32_t length) {
  for (;;) {
    int rc = ns_ring_stage(run->out, type, payload, length);
    if (rc == NS_RING_OK) break;
    if (rc != NS_RING_EFULL) return ns_peer__fail(run->res, rc, "writing a record of %u bytes to the output ring failed (%s)", length, ns_peer_code_name(rc));
    run->staged = 0; /* ns_ring_wait_writable() publishes what was staged */
    rc = ns_peer__wait(run, run->out, 1, length);
    if (rc != NS_RING_OK) return ns_peer__fail(run->res, rc, "waiting for space in the output ring failed (%s)", ns_peer_code_name(rc));
  }
  if (++run->staged >= run->batch) {
    ns_ring_publish(run->out);
    run->staged = 0;
  }
  return NS_RING_OK;
}

/* Handlers of ns_ring_read(): payload is valid only during the call. Nonzero return stops the batch. */
static inline int ns_peer__on_echo(void *ctx, uint32_t type, const uint8_t *payload, uint32_t length) {
  ns_peer__run *run = (ns_peer__run *)ctx;
  if (ns_peer__stage(run, type, payload, length) != NS_RING_OK) return 1;
  ns_peer__progress(run, length);
  return 0;
}

static inline int ns_peer__on_verify(void *ctx, uint32_t type, const uint8_t *payload, uint32_t length) {
  ns_peer__run *run = (ns_peer__run *)ctx;
  static const char *const why[] = {"ok", "is shorter than 8 bytes", "has the wrong sequence number", "has a wrong checksum"};
  if (type != NS_STRESS_TYPE) {
    ns_peer__fail(run->res, NS_PEER_EVERIFY, "record %llu has type %u instead of %u",
                  (unsigned long long)run->res->records, type, NS_STRESS_TYPE);
    return 1;
  }
  const int rc = ns_stress_verify(payload, length, run->expected);
  if (rc != NS_STRESS_OK) {
    const uint32_t seen = length >= 4 ? ns_stress_get_u32(payload) : 0;
    ns_peer__fail(run->res, NS_PEER_EVERIFY, "record %llu (%u bytes) %s: expected sequence %u, found %u",
                  (unsigned long long)run->res->records, length, why[rc >= 0 && rc <= 3 ? rc : 0], run->expected, seen);
    return 1;
  }
  run->expected++;
  ns_peer__progress(run, length);
  return 0;
}

static inline int ns_peer__on_sink(void *ctx, uint32_t type, const uint8_t *payload, uint32_t length) {
  (void)type;
  (void)payload;
  ns_peer__progress((ns_peer__run *)ctx, length);
  return 0;
}

/* Consumes `in` until it is closed and drained, calling `handler` per record (echo, verify, sink). */
static inline int ns_peer__consume(ns_peer__run *run, ns_ring_handler handler) {
  for (;;) {
    const int n = ns_ring_read(run->in, handler, run, run->batch);
    if (run->res->code != NS_RING_OK) return run->res->code; /* the handler failed */
    if (n == NS_RING_ECLOSED) return NS_RING_OK; /* end of stream: closed and drained */
    if (n < 0) {
      return ns_peer__fail(run->res, n, "reading the input ring failed (%s)", ns_peer_code_name(n));
    }
    if (n > 0) continue;
    /* Dry: hand over what we staged before sleeping, or the other side may be waiting for it. */
    if (run->out != NULL && run->staged > 0) {
      ns_ring_publish(run->out);
      run->staged = 0;
    }
    const int rc = ns_peer__wait(run, run->in, 0, 0);
    if (rc == NS_RING_ECLOSED) return NS_RING_OK; /* end of stream: closed and drained */
    if (rc != NS_RING_OK) return ns_peer__fail(run->res, rc, "waiting for the input ring failed (%s)", ns_peer_code_name(rc));
  }
}

static inline int ns_peer__produce(ns_peer__run *run) {
  const ns_peer_options *o = run->o;
  uint8_t *scratch = (uint8_t *)malloc(o->max_length > 0 ? o->max_length : 1);
  if (scratch == NULL) return ns_peer__fail(run->res, NS_PEER_ENOMEM, "no memory for a %u-byte record", o->max_length);
  uint32_t state = o->seed != 0 ? o->seed : 1u;
  const uint32_t span = o->max_length - o->min_length + 1u;
  int rc = NS_RING_OK;
  for (uint64_t i = 0; i < o->count; i++) {
    const uint32_t length = o->min_length + (span > 1 ? ns_stress_next_random(&state) % span : 0);
    ns_stress_fill(scratch, length, (uint32_t)i);
    rc = ns_peer__stage(run, NS_STRESS_TYPE, scratch, length);
    if (rc != NS_RING_OK) break;
    ns_peer__progress(run, length);
  }
  free(scratch);
  return rc;
}

/* Runs `o->mode` on `in` (echo, verify, sink) and/or `out` (echo, produce), attached handles whose sides this thread
 * owns. Fills *res (its `code` is also the return value). Ends the stream on `out` (close_producer) in every case, and
 * closes `in` (close_consumer) when it stops before the end of the stream, so that the other side never waits
 * forever. */
static inline int ns_peer_run(ns_ring *in, ns_ring *out, const ns_peer_options *o, ns_peer_result *res) {
  memset(res, 0, sizeof *res);
  ns_peer__run run;
  memset(&run, 0, sizeof run);
  run.o = o;
  run.res = res;
  run.in = in;
  run.out = out;
  run.batch = o->batch != 0 ? o->batch : NS_PEER_DEFAULT_BATCH;
  run.idle_timeout_ns = o->idle_timeout_ns == 0 ? NS_PEER_DEFAULT_IDLE_TIMEOUT_NS : o->idle_timeout_ns;

  const int needs_in = o->mode != NS_PEER_PRODUCE;
  const int needs_out = o->mode == NS_PEER_ECHO || o->mode == NS_PEER_PRODUCE;
  if ((needs_in && in == NULL) || (needs_out && out == NULL)) {
    ns_peer__fail(res, NS_PEER_EINVAL, "mode %s needs %s", ns_peer_mode_name(o->mode),
                  needs_in && needs_out ? "an input and an output ring" : needs_in ? "an input ring" : "an output ring");
  } else if (o->mode == NS_PEER_PRODUCE &&
             (o->min_length < NS_STRESS_MIN_LENGTH || o->min_length > o->max_length || o->max_length > out->max_payload)) {
    ns_peer__fail(res, NS_PEER_EINVAL, "record lengths %u..%u are not within %u..%u (the output ring's max_payload)",
                  o->min_length, o->max_length, NS_STRESS_MIN_LENGTH, out->max_payload);
  } else {
    switch (o->mode) {
      case NS_PEER_ECHO: ns_peer__consume(&run, ns_peer__on_echo); break;
      case NS_PEER_VERIFY: ns_peer__consume(&run, ns_peer__on_verify); break;
      case NS_PEER_SINK: ns_peer__consume(&run, ns_peer__on_sink); break;
      case NS_PEER_PRODUCE: ns_peer__produce(&run); break;
      default: ns_peer__fail(res, NS_PEER_EINVAL, "unknown mode %d", (int)o->mode); break;
    }
  }
  if (res->code == NS_RING_OK && needs_in && o->count != 0 && res->records != o->count) {
    ns_peer__fail(res, NS_PEER_ECOUNT, "the stream ended after %llu records instead of %llu",
                  (unsigned long long)res->records, (unsigned long long)o->count);
  }
  if (run.first_ns != 0) res->elapsed_ns = ns_monotonic_ns() - run.first_ns;
  if (out != NULL && needs_out) ns_ring_close_producer(out); /* publishes what is staged; wakes the reader */
  if (in != NULL && needs_in && res->code != NS_RING_OK) ns_ring_close_consumer(in); /* wakes a waiting writer */
  return res->code;
}

/* Writes the result as one JSON object (no newline) into buf; returns what snprintf returns. */
static inline int ns_peer_result_json(const ns_peer_result *res, ns_peer_mode mode, char *buf, size_t size) {
  char error[2 * NS_PEER_ERROR_MAX + 3];
  size_t j = 0;
  if (res->error[0] == '\0') {
    strcpy(error, "null");
  } else {
    error[j++] = '"';
    for (size_t i = 0; res->error[i] != '\0' && j < sizeof error - 3; i++) {
      const char c = res->error[i];
      if (c == '"' || c == '\\') error[j++] = '\\';
      error[j++] = (c >= 0x20) ? c : ' ';
    }
    error[j++] = '"';
    error[j] = '\0';
  }
  return snprintf(buf, size,
                  "{\"mode\":\"%s\",\"ok\":%s,\"code\":\"%s\",\"records\":%llu,\"bytes\":%llu,\"elapsedNs\":%lld,\"error\":%s}",
                  ns_peer_mode_name(mode), res->code == NS_RING_OK ? "true" : "false", ns_peer_code_name(res->code),
                  (unsigned long long)res->records, (unsigned long long)res->bytes, (long long)res->elapsed_ns, error);
}

#endif /* NATIVE_SIDECAR_TEST_PEER_H */
