/* ring_peer — a native peer process for tests and benchmarks (built by binding.gyp as build/Release/ring_peer).
 *
 *   ring_peer --fd N --mode echo|verify|produce|sink [--in SEGMENT] [--out SEGMENT] [--count N]
 *             [--min-length N] [--max-length N] [--seed N] [--wait spin|spin-then-park|park] [--spin-us N]
 *             [--batch N] [--idle-timeout-ms N (negative: none)] [--parent-pid PID] [--wake-fd N]
 *
 * Maps the region on inherited fd N (validating its header, wire-format §1), attaches the ring segments by index,
 * runs the mode of native/test/peer.h and prints one JSON line of results on stdout:
 *   {"mode":"verify","ok":true,"code":"ok","records":1000000,"bytes":...,"elapsedNs":...,"error":null}
 * --wake-fd N: an inherited eventfd (the JavaScript side's EventfdParker) that the peer also writes each time it wakes
 * the other side of its rings (wire-format §5.1.1): when it publishes to --out while the consumer is parked, and when
 * it frees space in --in while the producer is parked.
 * Exit status: 0 when the mode succeeded, 1 when it failed (the JSON says why), 2 for bad arguments, an invalid
 * region or ring (the JSON says why).
 *
 * It never outlives its parent: PR_SET_PDEATHSIG delivers SIGKILL when the parent thread dies, and a parent that died
 * before that was set up is caught by comparing getppid() with --parent-pid (or, without it, with the parent seen at
 * start). */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "native_sidecar/region.h"
#include "peer.h"

#define EXIT_PEER_FAILED 1
#define EXIT_USAGE 2

static ns_peer_mode g_mode = NS_PEER_SINK;

/* Prints the one JSON line for a failure before the peer could run, and exits. */
static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...) {
  ns_peer_result res;
  memset(&res, 0, sizeof res);
  res.code = NS_PEER_EINVAL;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(res.error, sizeof res.error, fmt, ap);
  va_end(ap);
  char line[1024];
  ns_peer_result_json(&res, g_mode, line, sizeof line);
  printf("%s\n", line);
  fflush(stdout);
  exit(EXIT_USAGE);
}

static long long parse_int(const char *flag, const char *text, long long min, long long max) {
  char *end = NULL;
  errno = 0;
  const long long v = strtoll(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || v < min || v > max) {
    die("%s must be an integer from %lld to %lld, not '%s'", flag, min, max, text);
  }
  return v;
}

static void attach_segment(const ns_region_map *map, long long index, ns_ring *ring, const char *flag) {
  size_t size = 0;
  void *mem = ns_region_segment(map, (uint32_t)index, NS_SEGMENT_KIND_RING, &size);
  if (mem == NULL) die("%s %lld is not a ring segment of the region (it has %u segments)", flag, index, map->header.segment_count);
  const int rc = ns_ring_attach(ring, mem, size);
  if (rc != NS_RING_OK) die("segment %lld is not a valid ring (%s)", index, ns_peer_code_name(rc));
}

int main(int argc, char **argv) {
  const pid_t parent_at_start = getppid();
  long long fd = -1, in_index = -1, out_index = -1, parent_pid = -1, wake_fd = -1;
  ns_peer_options o;
  memset(&o, 0, sizeof o);
  o.mode = NS_PEER_SINK;
  o.policy.mode = NS_WAIT_SPIN_THEN_PARK;
  o.policy.spin_ns = NS_WAIT_DEFAULT_SPIN_NS;
  o.min_length = NS_STRESS_MIN_LENGTH;
  int have_mode = 0;

  for (int i = 1; i < argc; i++) {
    const char *flag = argv[i];
    if (i + 1 >= argc) die("%s needs a value", flag);
    const char *value = argv[++i];
    if (strcmp(flag, "--fd") == 0) fd = parse_int(flag, value, 0, INT_MAX);
    else if (strcmp(flag, "--mode") == 0) {
      if (ns_peer_parse_mode(value, &o.mode) != 0) die("--mode must be echo, verify, produce or sink, not '%s'", value);
      g_mode = o.mode;
      have_mode = 1;
    } else if (strcmp(flag, "--in") == 0) in_index = parse_int(flag, value, 0, NS_REGION_MAX_SEGMENTS - 1);
    else if (strcmp(flag, "--out") == 0) out_index = parse_int(flag, value, 0, NS_REGION_MAX_SEGMENTS - 1);
    else if (strcmp(flag, "--count") == 0) o.count = (uint64_t)parse_int(flag, value, 0, LLONG_MAX);
    else if (strcmp(flag, "--min-length") == 0) o.min_length = (uint32_t)parse_int(flag, value, NS_STRESS_MIN_LENGTH, UINT32_MAX);
    else if (strcmp(flag, "--max-length") == 0) o.max_length = (uint32_t)parse_int(flag, value, NS_STRESS_MIN_LENGTH, UINT32_MAX);
    else if (strcmp(flag, "--seed") == 0) o.seed = (uint32_t)parse_int(flag, value, 0, UINT32_MAX);
    else if (strcmp(flag, "--batch") == 0) o.batch = (uint32_t)parse_int(flag, value, 1, UINT32_MAX);
    else if (strcmp(flag, "--spin-us") == 0) o.policy.spin_ns = (uint32_t)(parse_int(flag, value, 0, UINT32_MAX / 1000));
    else if (strcmp(flag, "--idle-timeout-ms") == 0) {
      const long long ms = parse_int(flag, value, LLONG_MIN, LLONG_MAX / 1000000);
      o.idle_timeout_ns = ms < 0 ? -1 : ms * 1000000LL; /* 0: the default */
    } else if (strcmp(flag, "--wait") == 0) {
      if (ns_peer_parse_wait_mode(value, &o.policy.mode) != 0) die("--wait must be spin, spin-then-park or park, not '%s'", value);
    } else if (strcmp(flag, "--wake-fd") == 0) wake_fd = parse_int(flag, value, 0, INT_MAX);
    else if (strcmp(flag, "--parent-pid") == 0) parent_pid = parse_int(flag, value, 1, INT_MAX);
    else die("unknown option %s", flag);
  }

  /* Die with the parent. The check after prctl() closes the window in which the parent died before it was set. */
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) die("prctl(PR_SET_PDEATHSIG) failed: %s", strerror(errno));
  if (getppid() != (parent_pid > 0 ? (pid_t)parent_pid : parent_at_start)) return EXIT_PEER_FAILED;

  if (!have_mode) die("--mode is required");
  if (fd < 0) die("--fd is required");

  ns_region_map map;
  int rc = ns_region_map_fd((int)fd, &map);
  if (rc == NS_REGION_ESYSTEM) die("mapping the region on fd %lld failed: %s", fd, strerror(errno));
  if (rc != NS_REGION_OK) die("the region on fd %lld is invalid: its header %s", fd, ns_region_strerror(rc));

  static ns_ring in_ring, out_ring; /* static: ns_ring is over-aligned and large-ish */
  ns_ring *in = NULL, *out = NULL;
  if (in_index >= 0) {
    attach_segment(&map, in_index, &in_ring, "--in");
    in = &in_ring;
  }
  if (out_index >= 0) {
    if (out_index == in_index) die("--in and --out must be different segments");
    attach_segment(&map, out_index, &out_ring, "--out");
    out = &out_ring;
  }
  if (wake_fd >= 0) {
    if (fcntl((int)wake_fd, F_GETFD) < 0) die("--wake-fd %lld is not an open file descriptor: %s", wake_fd, strerror(errno));
    if (out != NULL) ns_ring_set_consumer_wake_fd(out, (int)wake_fd);
    if (in != NULL) ns_ring_set_producer_wake_fd(in, (int)wake_fd);
  }
  if (o.max_length == 0) {
    const uint32_t limit = out != NULL ? out->max_payload : 4096u;
    o.max_length = limit < 4096u ? limit : 4096u;
    if (o.max_length < o.min_length) o.max_length = o.min_length;
  }

  ns_peer_result res;
  ns_peer_run(in, out, &o, &res);
  char line[1024];
  ns_peer_result_json(&res, o.mode, line, sizeof line);
  printf("%s\n", line);
  fflush(stdout);
  ns_region_unmap(&map);
  return res.code == NS_RING_OK ? 0 : EXIT_PEER_FAILED;
}
