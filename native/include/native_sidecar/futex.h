/* native_sidecar/futex.h — the two Linux futex operations the park/wake handshake of docs/wire-format.md §5.1 uses.
 *
 * Kept apart from wait.h so that ring.h can wake a parked peer without depending on the wait policies (which in
 * turn depend on the ring). Include wait.h (which includes this file) for everything about waiting.
 *
 * Both operations use the shared (not FUTEX_PRIVATE_FLAG) futex, keyed by the physical page, so that they work
 * between processes on a MAP_SHARED mapping as well as between threads. Header-only C11, also valid C++17.
 * C programs must be compiled with _GNU_SOURCE or _DEFAULT_SOURCE (gnu11 does it; binding.gyp passes -D_GNU_SOURCE)
 * for syscall() and clock_gettime(). */
#ifndef NATIVE_SIDECAR_FUTEX_H
#define NATIVE_SIDECAR_FUTEX_H

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "native_sidecar/layout.h"
#include "native_sidecar/status.h"

#if !defined(__cplusplus) && !defined(_DEFAULT_SOURCE)
#error "native_sidecar/futex.h needs syscall() and clock_gettime(): compile with -D_GNU_SOURCE (or -std=gnu11)"
#endif

#define NS_NSEC_PER_SEC 1000000000LL

/* Monotonic clock in nanoseconds (vDSO, no system call on x86-64 Linux). Any thread. */
static inline int64_t ns_monotonic_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * NS_NSEC_PER_SEC + (int64_t)ts.tv_nsec;
}

/* Absolute CLOCK_MONOTONIC deadline `timeout_ns` from now, or -1 for "no limit" (timeout_ns < 0, or so large that
 * the sum would overflow). */
static inline int64_t ns_deadline_after(int64_t timeout_ns) {
  if (timeout_ns < 0) return -1;
  const int64_t now = ns_monotonic_ns();
  return timeout_ns > INT64_MAX - now ? -1 : now + timeout_ns;
}

/* Sleeps while *word == expected, for at most timeout_ns nanoseconds (< 0: no limit; the limit is relative, measured
 * on CLOCK_MONOTONIC). Any thread. Returns NS_RING_OK when woken, when *word != expected on entry (the kernel compares
 * atomically with going to sleep), or after a spurious wake-up — callers always re-check their condition;
 * NS_RING_ETIMEDOUT when the time ran out; NS_RING_EINVAL when the kernel refuses the address. A signal (EINTR) does
 * not end the wait early: it resumes with the time that is left. `word` must be 4-byte aligned. */
static inline int ns_futex_wait(NS_ATOMIC_U32 *word, uint32_t expected, int64_t timeout_ns) {
  const int64_t deadline = ns_deadline_after(timeout_ns);
  for (;;) {
    struct timespec ts;
    struct timespec *tsp = NULL;
    if (deadline >= 0) {
      int64_t remaining = deadline - ns_monotonic_ns();
      if (remaining < 0) remaining = 0;
      ts.tv_sec = (time_t)(remaining / NS_NSEC_PER_SEC);
      ts.tv_nsec = (long)(remaining % NS_NSEC_PER_SEC);
      tsp = &ts;
    }
    long rc = syscall(SYS_futex, (uint32_t *)(void *)word, FUTEX_WAIT, expected, tsp, NULL, 0);
    if (rc == 0) return NS_RING_OK;
    if (errno == EAGAIN) return NS_RING_OK; /* the word already differed: whatever we wait for may have happened */
    if (errno == ETIMEDOUT) return NS_RING_ETIMEDOUT;
    if (errno == EINTR) continue;           /* a signal handler ran; resume with the remaining time */
    return NS_RING_EINVAL;
  }
}

/* Wakes every thread (in any process) sleeping in ns_futex_wait() on `word`. Any thread. Returns the number woken
 * (≥ 0) or NS_RING_EINVAL when the kernel refuses the address. Callers change *word before waking, so a waiter that
 * has not yet gone to sleep sees the change and does not sleep. */
static inline int ns_futex_wake(NS_ATOMIC_U32 *word) {
  long rc = syscall(SYS_futex, (uint32_t *)(void *)word, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
  return rc < 0 ? NS_RING_EINVAL : (int)rc;
}

#endif /* NATIVE_SIDECAR_FUTEX_H */
