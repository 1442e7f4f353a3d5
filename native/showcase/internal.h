/* internal.h — shared by the files of libns_showcase; not part of the public API (see showcase.h). */
#ifndef NS_SHOWCASE_INTERNAL_H
#define NS_SHOWCASE_INTERNAL_H

#include <pthread.h>

#include "showcase.h"


/* ---- handles: (generation << 8) | slot index; generation in [1, 2^23), so a handle is a positive int32 ---- */
#define NS_SC_HANDLE_INDEX_BITS 8u
#define NS_SC_HANDLE_GEN_MASK 0x7FFFFFu

static inline int32_t ns_sc_handle_make(uint32_t index, uint32_t generation) {
  return (int32_t)((generation << NS_SC_HANDLE_INDEX_BITS) | index);
}
static inline uint32_t ns_sc_handle_index(int32_t handle) { return (uint32_t)handle & 0xFFu; }
static inline uint32_t ns_sc_handle_generation(int32_t handle) {
  return (uint32_t)handle >> NS_SC_HANDLE_INDEX_BITS;
}
/* Generation 0 never appears in a handle, so handle 0 (and every handle <= 0) is invalid. */
static inline uint32_t ns_sc_next_generation(uint32_t generation) {
  uint32_t next = (generation + 1u) & NS_SC_HANDLE_GEN_MASK;
  return next == 0 ? 1u : next;
}

/* ---- callbacks.c ---- */
/* A counted reference on a live callback slot, taken for the duration of one call. */
typedef struct ns_sc_callback_ref {
  uint32_t index;
  uint32_t kind;
  int owner;
  ns_sc_message_fn message_fn;
  ns_sc_value_fn value_fn;
  ns_sc_dispatch_fn dispatch;
  void *user;
} ns_sc_callback_ref;

int ns_sc_callback_acquire(int32_t handle, ns_sc_callback_ref *ref);
void ns_sc_callback_put(const ns_sc_callback_ref *ref);

/* ---- invoke.c: one call through the table, the guard and the binding ---- */
int ns_sc_invoke(int32_t handle, uint32_t kind, const char *message, int32_t value, uint32_t flags,
                 uint32_t timeout_ms, int32_t *result);

/* ---- guard.c: the deadlock guard ---- */
int ns_sc_guard_owner_self(void);              /* owner index of the calling thread (registers it), or ENOSPC */
int ns_sc_guard_is_owner_thread(int owner);    /* 1 if the calling thread is that owner */
int ns_sc_guard_begin_wait_for_owner(int owner); /* a foreign thread is about to wait for `owner`: OK or EDEADLOCK */
void ns_sc_guard_end_wait_for_owner(int owner);
typedef int (*ns_sc_done_fn)(void *ctx);       /* evaluated with the guard lock held */
int ns_sc_guard_block_until(ns_sc_done_fn done, void *ctx); /* OK, or EDEADLOCK (see ns_sc_thread_join) */
void ns_sc_guard_notify(void);                 /* wakes ns_sc_guard_block_until after `done` may have changed */

/* ---- time ---- */
uint64_t ns_sc_now_ns(void);
void ns_sc_sleep_ns(uint64_t ns);

#endif /* NS_SHOWCASE_INTERNAL_H */
