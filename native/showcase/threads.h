/* threads.h — what a thread runs: a job. threads.c owns the thread table; each kind of job lives in its own file. */
#ifndef NS_SHOWCASE_THREADS_H
#define NS_SHOWCASE_THREADS_H

#include <stdatomic.h>

#include "internal.h"

typedef struct ns_sc_job ns_sc_job;
/* Runs on the new thread; fills `report`; returns when done or soon after *stop becomes non-zero. */
typedef void (*ns_sc_job_fn)(const ns_sc_job *job, atomic_int *stop, ns_sc_thread_report *report);

struct ns_sc_job {
  ns_sc_job_fn run;
  int32_t callback;     /* calls */
  uint32_t count;       /* calls, ring sink, ring source */
  uint32_t flags;       /* calls */
  uint32_t delay_ms;    /* calls */
  uint32_t timeout_ms;  /* calls */
  void *segment;        /* rings */
  uint32_t segment_size;
  uint32_t length;      /* ring source: payload bytes */
};

int32_t ns_sc_thread_spawn(const ns_sc_job *job); /* thread handle or error */

#endif /* NS_SHOWCASE_THREADS_H */
