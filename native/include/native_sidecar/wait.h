/* native_sidecar/wait.h — blocking waits on a ring: spin, spin-then-park, park (docs/wire-format.md §5.1).
 *
 * The parking side announces itself (`*_parked = 1`), fences, re-checks, and sleeps on a futex word (`data_seq` for
 * the consumer, `space_seq` for the producer); the other side's publication (ns_ring_publish(), the consumer's head
 * store in ring.h) fences, sees the announcement and wakes it. Wake-ups coalesce: one publication per park pays for
 * the system call. Header-only C11, also valid C++17. Includes futex.h (ns_futex_wait / ns_futex_wake). */
#ifndef NATIVE_SIDECAR_WAIT_H
#define NATIVE_SIDECAR_WAIT_H

#include <sched.h>

#include "native_sidecar/futex.h"
#include "native_sidecar/ring.h"

typedef enum {
  NS_WAIT_SPIN = 0,           /* poll with a pause instruction (yielding the core now and then); lowest latency */
  NS_WAIT_SPIN_THEN_PARK = 1, /* poll for spin_ns, then sleep on the futex */
  NS_WAIT_PARK = 2            /* sleep on the futex at once; no CPU while idle, a system call per wake-up */
} ns_wait_mode;

typedef struct ns_wait_policy {
  ns_wait_mode mode;
  uint32_t spin_ns; /* NS_WAIT_SPIN_THEN_PARK: how long to poll before parking */
} ns_wait_policy;

/* Default spin before parking: 50 µs. A park costs the waker a futex_wake system call and the sleeper a wake-up
 * latency of several microseconds (a C futex ping-pong, both sides sleeping, measured ≈ 10.5 µs round trip on the
 * project's 2-core x86-64 test machine); spinning a few times that long catches the next record of a burst, or the reply to a request
 * that a Node event loop turns around (worker postMessage ≈ 24 µs round trip on the same machine), without any
 * system call, while an idle side stops burning CPU after 50 µs. */
#define NS_WAIT_DEFAULT_SPIN_NS 50000u
#define NS_WAIT_POLICY_DEFAULT { NS_WAIT_SPIN_THEN_PARK, NS_WAIT_DEFAULT_SPIN_NS }

/* Spin loop pacing: read the clock every NS_WAIT_CLOCK_EVERY polls (a vDSO call is ~20 ns, a pause 10–140 cycles),
 * and give the core away every NS_WAIT_YIELD_EVERY polls so that a spinning side cannot starve its peer on a
 * machine with fewer free cores than spinning threads. */
#define NS_WAIT_CLOCK_EVERY 64u
#define NS_WAIT_YIELD_EVERY 1024u

/* The CPU's spin-wait hint: lets the sibling hyper-thread run and saves power while polling. */
static inline void ns_cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__) || defined(__arm__)
  __asm__ __volatile__("yield" ::: "memory");
#endif
}

/* 1 when the consumer can read a record now, 0 when not, NS_RING_ECLOSED when the ring is empty and the producer
 * closed (or the consumer closed its end), NS_RING_ECORRUPT. Consumer thread only. */
static inline int ns_ring__readable_now(ns_ring *r) {
  int rc = ns_ring__consumer_usable(r);
  if (rc != NS_RING_OK) return rc;
  if (r->consumer.peeked) return 1;
  ns_ring__record rec;
  int may_reload = 1;
  rc = ns_ring__consumer_next(r, &rec, &may_reload);
  ns_ring__consumer_store_head(r); /* padding skipped on the way is the producer's again */
  if (rc == NS_RING_OK) return 1;
  return rc == NS_RING_EEMPTY ? 0 : rc;
}

/* 1 when a record of `length` payload bytes fits now, 0 when not, or NS_RING_ETOOBIG / NS_RING_ECLOSED /
 * NS_RING_ECORRUPT. Producer thread only. */
static inline int ns_ring__writable_now(ns_ring *r, uint32_t length) {
  const int rc = ns_ring__producer_usable(r);
  if (rc != NS_RING_OK) return rc;
  if (length > r->max_payload) return NS_RING_ETOOBIG;
  return ns_ring__producer_fits(r, ns_record_size(length));
}

static inline int ns_ring__ready(ns_ring *r, int producer_side, uint32_t length) {
  return producer_side ? ns_ring__writable_now(r, length) : ns_ring__readable_now(r);
}

/* The wait loop shared by both sides: poll (spin phase), then park as §5.1 prescribes. A wait that times out while
 * parked returns NS_RING_ETIMEDOUT without a last check, so a lost wake-up shows up as a timeout instead of being
 * hidden by it; the condition may have become true at that very moment, and the caller's next call will see it. */
static inline int ns_ring__wait(ns_ring *r, int producer_side, uint32_t length, const ns_wait_policy *policy,
                                int64_t timeout_ns) {
  static const ns_wait_policy default_policy = NS_WAIT_POLICY_DEFAULT;
  if (r == NULL) return NS_RING_EINVAL;
  if (policy == NULL) policy = &default_policy;
  if (policy->mode != NS_WAIT_SPIN && policy->mode != NS_WAIT_SPIN_THEN_PARK && policy->mode != NS_WAIT_PARK) {
    return NS_RING_EINVAL;
  }
  int rc = ns_ring__ready(r, producer_side, length);
  if (rc != 0) return rc > 0 ? NS_RING_OK : rc;
  if (timeout_ns == 0) return NS_RING_ETIMEDOUT;
  const int64_t deadline = ns_deadline_after(timeout_ns); /* -1: no limit */

  if (policy->mode != NS_WAIT_PARK) {
    int64_t spin_until = deadline;
    if (policy->mode == NS_WAIT_SPIN_THEN_PARK) {
      const int64_t spin_end = ns_monotonic_ns() + (int64_t)policy->spin_ns;
      if (deadline < 0 || spin_end < deadline) spin_until = spin_end;
    }
    for (uint32_t i = 1;; ++i) {
      ns_cpu_relax();
      rc = ns_ring__ready(r, producer_side, length);
      if (rc != 0) return rc > 0 ? NS_RING_OK : rc;
      if (i % NS_WAIT_CLOCK_EVERY == 0 && spin_until >= 0 && ns_monotonic_ns() >= spin_until) break;
      if (i % NS_WAIT_YIELD_EVERY == 0) sched_yield();
    }
    if (policy->mode == NS_WAIT_SPIN) return NS_RING_ETIMEDOUT;
  }

  ns_ring_shared *s = r->shared;
  NS_ATOMIC_U32 *seq_word = producer_side ? &s->space_seq : &s->data_seq;
  NS_ATOMIC_U32 *parked = producer_side ? &s->producer_parked : &s->consumer_parked;
  for (;;) {
    /* §5.1 step 1. acquire, pairs with the waker's seq_cst fetch_add (ns_ring_publish(), the consumer's head store,
     * the close functions): if we read its increment, its load of *parked cannot have seen our store below, so the
     * value we sleep on is never one that no wake will follow. */
    const uint32_t seq = NS_ATOMIC_LOAD(seq_word, NS_MO_ACQUIRE);
    NS_ATOMIC_STORE(parked, 1u, NS_MO_RELAXED); /* step 2; ordered by the fence below */
    /* step 3, §5 #5: pairs with the waker's fence between its position store and its load of *parked (#6). */
    NS_ATOMIC_FENCE(NS_MO_SEQ_CST);
    rc = ns_ring__ready(r, producer_side, length); /* step 4: reloads the peer's position after the fence */
    if (rc != 0) {
      NS_ATOMIC_STORE(parked, 0u, NS_MO_RELAXED);
      return rc > 0 ? NS_RING_OK : rc;
    }
    int64_t remaining = -1;
    if (deadline >= 0) {
      remaining = deadline - ns_monotonic_ns();
      if (remaining <= 0) {
        NS_ATOMIC_STORE(parked, 0u, NS_MO_RELAXED);
        return NS_RING_ETIMEDOUT;
      }
    }
    rc = ns_futex_wait(seq_word, seq, remaining); /* step 5 */
    NS_ATOMIC_STORE(parked, 0u, NS_MO_RELAXED);
    if (rc != NS_RING_OK) return rc; /* NS_RING_ETIMEDOUT, or NS_RING_EINVAL for an address the kernel refuses */
  }
}

/* Blocks the consumer until a record can be read, following `policy` (NULL: NS_WAIT_POLICY_DEFAULT), for at most
 * `timeout_ns` (< 0: no limit; 0: check once). Consumer thread only. Consumes nothing (padding on the way excepted).
 * Returns NS_RING_OK (read now), NS_RING_ETIMEDOUT, NS_RING_ECLOSED (the producer closed and everything was read, or
 * this side closed), NS_RING_ECORRUPT, or NS_RING_EINVAL (bad policy). */
static inline int ns_ring_wait_readable(ns_ring *r, const ns_wait_policy *policy, int64_t timeout_ns) {
  return ns_ring__wait(r, 0, 0, policy, timeout_ns);
}

/* Blocks the producer until a record of `length` payload bytes fits, like ns_ring_wait_readable(). Publishes any
 * staged records first: the space it waits for can only come from the consumer reading them. Producer thread only.
 * Returns NS_RING_OK, NS_RING_ETIMEDOUT, NS_RING_ECLOSED (the consumer closed its end, or this side closed),
 * NS_RING_ETOOBIG, NS_RING_ECORRUPT, or NS_RING_EINVAL (bad policy). */
static inline int ns_ring_wait_writable(ns_ring *r, uint32_t length, const ns_wait_policy *policy,
                                        int64_t timeout_ns) {
  if (r == NULL) return NS_RING_EINVAL;
  ns_ring_publish(r);
  return ns_ring__wait(r, 1, length, policy, timeout_ns);
}

#endif /* NATIVE_SIDECAR_WAIT_H */
