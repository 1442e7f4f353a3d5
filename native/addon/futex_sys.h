// Raw Linux futex system calls used by the addon's waiters. Shared (not PRIVATE) futexes for words in shared memory
// (wire-format §5.1: they must work across processes on a MAP_SHARED mapping); PRIVATE ones for process-local words.
#ifndef NATIVE_SIDECAR_ADDON_FUTEX_SYS_H
#define NATIVE_SIDECAR_ADDON_FUTEX_SYS_H

#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdint>

#ifndef SYS_futex_waitv
#define SYS_futex_waitv 449
#endif
#ifndef FUTEX_32
#define FUTEX_32 2
#endif

namespace ns_addon {

// FUTEX_WAKE of every waiter on `word`; returns the number woken or -1 (errno).
inline long FutexWakeAll(const volatile void *word, bool process_private) {
  return syscall(SYS_futex, word, FUTEX_WAKE | (process_private ? FUTEX_PRIVATE_FLAG : 0), INT_MAX, nullptr, nullptr, 0);
}

// FUTEX_WAIT on a shared word with a relative timeout (nullptr = forever). 0, or -1 with errno EAGAIN (the word
// did not hold `expected`), ETIMEDOUT or EINTR.
inline long FutexWaitShared(const volatile void *word, uint32_t expected, const struct timespec *relative) {
  return syscall(SYS_futex, word, FUTEX_WAIT, expected, relative, nullptr, 0);
}

// futex_waitv (Linux 5.16+): sleeps until any of `n` words is woken. `absolute` is a CLOCK_MONOTONIC deadline
// (nullptr = forever). Returns the index of the woken word, or -1 with errno EAGAIN (some word did not hold its
// expected value), ETIMEDOUT, EINTR (ERESTARTSYS), or ENOSYS on older kernels.
inline long FutexWaitv(struct futex_waitv *waiters, unsigned n, const struct timespec *absolute) {
  return syscall(SYS_futex_waitv, waiters, n, 0, absolute, CLOCK_MONOTONIC);
}

}  // namespace ns_addon

#endif
