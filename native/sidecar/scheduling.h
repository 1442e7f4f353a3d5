/* sidecar/scheduling.h — scheduling priority and CPU placement of the thread that runs a Sidecar's loop (the Sidecar option
 * `scheduling`, docs/architecture.md "Priority and placement").
 *
 * Threading: ns_sched_apply() acts on the calling thread only (the runtime thread: a thread of Node in thread mode,
 * the single thread of the sidecar process in process mode, before any plugin code runs). The parsers are pure. */
#ifndef NATIVE_SIDECAR_SCHEDULING_H
#define NATIVE_SIDECAR_SCHEDULING_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <sched.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* What to apply. A zeroed struct (ns_sched_init) applies nothing. */
typedef struct ns_sched_config {
  int set_cpus;  /* 1: sched_setaffinity(cpus) */
  cpu_set_t cpus;
  int set_policy; /* 1: sched_setscheduler(policy, priority) */
  int policy;     /* SCHED_OTHER, SCHED_BATCH, SCHED_IDLE, SCHED_FIFO or SCHED_RR */
  int priority;   /* 1…99 for SCHED_FIFO/SCHED_RR, 0 otherwise */
  int set_nice;   /* 1: setpriority(PRIO_PROCESS, gettid(), nice) — per thread on Linux */
  int nice;       /* -20…19 */
} ns_sched_config;

void ns_sched_init(ns_sched_config *c);

/* "other", "batch", "idle", "fifo" or "rr" → SCHED_*; -1 for anything else. */
int ns_sched_parse_policy(const char *name);

/* A comma-separated list of CPU numbers ("0,2,3"; each < CPU_SETSIZE, none twice, at least one) into `set`.
 * Returns 0, or -1 for a malformed list (`set` is then unspecified). */
int ns_sched_parse_cpus(const char *text, cpu_set_t *set);

/* Applies `c` to the calling thread: affinity, then policy and priority, then nice. Stops at the first refusal and
 * returns NS_SIDECAR_EXIT_SCHEDULING with the kernel's errno in *error and a sentence naming the option and the
 * errno name in `message` (what was applied before the refusal stays applied: the caller ends the thread anyway).
 * Returns 0 when everything was applied. *applied receives the NS_SCHED_* bits of what was applied (both cases). */
uint32_t ns_sched_apply(const ns_sched_config *c, uint32_t *applied, int *error, char *message, size_t message_size);

#ifdef __cplusplus
}
#endif

#endif /* NATIVE_SIDECAR_SCHEDULING_H */
