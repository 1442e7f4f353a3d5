/* sidecar/scheduling.c — scheduling priority and CPU placement of the runtime thread (see scheduling.h). */
#include "scheduling.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "native_sidecar/layout.h"

void ns_sched_init(ns_sched_config *c) {
  memset(c, 0, sizeof *c);
  CPU_ZERO(&c->cpus);
}

int ns_sched_parse_policy(const char *name) {
  if (strcmp(name, "other") == 0) return SCHED_OTHER;
  if (strcmp(name, "batch") == 0) return SCHED_BATCH;
  if (strcmp(name, "idle") == 0) return SCHED_IDLE;
  if (strcmp(name, "fifo") == 0) return SCHED_FIFO;
  if (strcmp(name, "rr") == 0) return SCHED_RR;
  return -1;
}

int ns_sched_parse_cpus(const char *text, cpu_set_t *set) {
  const char *p = text;
  CPU_ZERO(set);
  if (*p == '\0') return -1;
  for (;;) {
    char *end;
    long cpu;
    if (*p < '0' || *p > '9') return -1; /* no sign, no space */
    errno = 0;
    cpu = strtol(p, &end, 10);
    if (errno != 0 || cpu >= CPU_SETSIZE || CPU_ISSET((int)cpu, set)) return -1;
    CPU_SET((int)cpu, set);
    if (*end == '\0') return 0;
    if (*end != ',') return -1;
    p = end + 1;
  }
}

static const char *policy_name(int policy) {
  switch (policy) {
    case SCHED_OTHER: return "other";
    case SCHED_BATCH: return "batch";
    case SCHED_IDLE: return "idle";
    case SCHED_FIFO: return "fifo";
    case SCHED_RR: return "rr";
    default: return "?";
  }
}

/* The symbolic name of the errnos these calls document (strerrorname_np is glibc ≥ 2.32 only). */
static const char *errno_name(int e) {
  switch (e) {
    case EPERM: return "EPERM";
    case EINVAL: return "EINVAL";
    case EACCES: return "EACCES";
    case ESRCH: return "ESRCH";
    case EFAULT: return "EFAULT";
    case ENOSYS: return "ENOSYS";
    default: return "an errno";
  }
}

/* "0,2,3" for `set`, cut short with "…" when it does not fit. */
static void format_cpus(const cpu_set_t *set, char *out, size_t size) {
  size_t n = 0;
  int cpu;
  out[0] = '\0';
  for (cpu = 0; cpu < CPU_SETSIZE; cpu++) {
    int w;
    if (!CPU_ISSET(cpu, set)) continue;
    w = snprintf(out + n, size - n, n == 0 ? "%d" : ",%d", cpu);
    if (w < 0 || (size_t)w >= size - n) {
      if (size >= 4) memcpy(out + size - 4, "\xe2\x80\xa6", 4); /* "…" and the terminator */
      return;
    }
    n += (size_t)w;
  }
}

static uint32_t refuse(int err, int *error, char *message, size_t message_size, const char *option, const char *value,
                       const char *call, const char *hint) {
  *error = err;
  snprintf(message, message_size, "The option 'scheduling.%s' (%s) was refused by the kernel: %s failed with %s (%s)%s.",
           option, value, call, errno_name(err), strerror(err), hint);
  return NS_SIDECAR_EXIT_SCHEDULING;
}

uint32_t ns_sched_apply(const ns_sched_config *c, uint32_t *applied, int *error, char *message, size_t message_size) {
  char value[64];
  *applied = 0;
  *error = 0;
  /* pid 0 = the calling thread for all three calls; setpriority takes the tid explicitly (PRIO_PROCESS of a tid is
   * that thread's nice on Linux, whatever POSIX says). */
  if (c->set_cpus) {
    if (sched_setaffinity(0, sizeof c->cpus, &c->cpus) != 0) {
      int err = errno;
      format_cpus(&c->cpus, value, sizeof value);
      return refuse(err, error, message, message_size, "cpus", value, "sched_setaffinity",
                    err == EINVAL ? "; a CPU outside the set this process may use (its cpuset)" : "");
    }
    *applied |= NS_SCHED_CPUS;
  }
  if (c->set_policy) {
    struct sched_param param;
    memset(&param, 0, sizeof param);
    param.sched_priority = c->priority;
    if (sched_setscheduler(0, c->policy, &param) != 0) {
      int err = errno;
      if (c->policy == SCHED_FIFO || c->policy == SCHED_RR)
        snprintf(value, sizeof value, "'%s', priority %d", policy_name(c->policy), c->priority);
      else
        snprintf(value, sizeof value, "'%s'", policy_name(c->policy));
      return refuse(err, error, message, message_size, "policy", value, "sched_setscheduler",
                    err == EPERM ? "; a real-time policy needs CAP_SYS_NICE or a large enough RLIMIT_RTPRIO" : "");
    }
    *applied |= NS_SCHED_POLICY;
  }
  if (c->set_nice) {
    if (setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), c->nice) != 0) {
      int err = errno;
      snprintf(value, sizeof value, "%d", c->nice);
      return refuse(err, error, message, message_size, "nice", value, "setpriority",
                    err == EACCES || err == EPERM ? "; a lower nice value needs CAP_SYS_NICE or a large enough RLIMIT_NICE" : "");
    }
    *applied |= NS_SCHED_NICE;
  }
  return 0;
}
