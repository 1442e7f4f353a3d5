/* call_thread.c — a native thread that calls a JS callback: fire-and-forget or blocking with a result. */
#include "threads.h"

static void run_calls(const ns_sc_job *job, atomic_int *stop, ns_sc_thread_report *report) {
  if (job->delay_ms > 0) ns_sc_sleep_ns((uint64_t)job->delay_ms * 1000000u);
  int blocking = (job->flags & NS_SC_CALL_BLOCKING) != 0;
  uint32_t hash = NS_SC_FNV_OFFSET_BASIS;
  uint64_t start = ns_sc_now_ns();
  for (uint32_t i = 0; i < job->count && !atomic_load_explicit(stop, memory_order_relaxed); i++) {
    int32_t result = 0;
    int rc = ns_sc_invoke(job->callback, NS_SC_CALL_VALUE, NULL, (int32_t)i, job->flags, job->timeout_ms, &result);
    if (rc != NS_SC_OK) {
      /* Stop at the first failure: a released callback, a closing binding or a refused (deadlocking) call would
       * fail the same way again, and the report names the first cause. */
      report->failures++;
      report->first_error = rc;
      break;
    }
    report->calls_ok++;
    hash = ns_sc_fnv1a_u32(hash, blocking ? (uint32_t)result : i);
  }
  report->elapsed_ns = ns_sc_now_ns() - start;
  report->checksum = hash;
}

int32_t ns_sc_thread_start_calls(int32_t callback, uint32_t count, uint32_t flags, uint32_t delay_ms,
                                 uint32_t timeout_ms) {
  if (callback <= 0 || (flags & ~NS_SC_CALL_BLOCKING) != 0) return NS_SC_EINVAL;
  ns_sc_job job = {0};
  job.run = run_calls;
  job.callback = callback;
  job.count = count;
  job.flags = flags;
  job.delay_ms = delay_ms;
  job.timeout_ms = timeout_ms;
  return ns_sc_thread_spawn(&job);
}
