/* guard.c — the deadlock guard between owner (JavaScript) threads and foreign threads that wait for them.
 *
 * The deadlock: a foreign thread makes a *blocking* call to a JS callback, so it waits until the JS thread runs it;
 * meanwhile the JS thread sits in a blocking call of this library (ns_sc_thread_join) waiting for that foreign
 * thread. Neither moves. The guard keeps, per owner thread, a flag "blocked in this library" and a count of foreign
 * callers currently waiting for it, both under one mutex:
 *   - a foreign caller checks the flag and increments the count in one critical section (begin), so it either sees
 *     the owner blocked and fails with NS_SC_EDEADLOCK, or is counted before the owner can block;
 *   - the owner sets the flag and then, while it waits, gives up with NS_SC_EDEADLOCK as soon as the count is
 *     non-zero (a counted caller needs the owner's event loop to finish).
 * Every interleaving ends in one of the two errors or in progress; nothing waits for a party that waits back.
 *
 * Limits (documented in docs/interop-best-practices.md): only blocking in *this library* is seen. A JS thread
 * blocked elsewhere (Atomics.wait, a synchronous fs call, another addon) is not marked; a blocking foreign call then
 * waits until that ends — bounded only by the call's timeout (Node-API binding) — and would hang forever if that
 * other wait depends on the foreign thread. The guard also assumes the owner thread is the thread that runs the
 * callback, which holds for both bindings (Node-API and koffi run JS callbacks on the registering JS thread). */
#include "internal.h"

typedef struct owner {
  pthread_t thread;
  int used;
  int blocked;       /* the owner is inside ns_sc_guard_block_until */
  uint32_t waiting;  /* foreign callers between begin and end */
} owner;

static pthread_mutex_t guard_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t guard_cond = PTHREAD_COND_INITIALIZER;
static owner owners[NS_SC_MAX_OWNERS];

/* Owner entries are never freed: a JS thread lives as long as its callbacks can, and NS_SC_MAX_OWNERS bounds the
 * table. (A pthread_t reused by a later thread would share the entry, which is harmless: it is a JS thread too.) */
static int find_owner_locked(pthread_t self) {
  for (uint32_t i = 0; i < NS_SC_MAX_OWNERS; i++) {
    if (owners[i].used && pthread_equal(owners[i].thread, self)) return (int)i;
  }
  return -1;
}

int ns_sc_guard_owner_self(void) {
  pthread_t self = pthread_self();
  pthread_mutex_lock(&guard_lock);
  int index = find_owner_locked(self);
  for (uint32_t i = 0; index < 0 && i < NS_SC_MAX_OWNERS; i++) {
    if (!owners[i].used) {
      owners[i].used = 1;
      owners[i].thread = self;
      index = (int)i;
    }
  }
  pthread_mutex_unlock(&guard_lock);
  return index < 0 ? NS_SC_ENOSPC : index;
}

int ns_sc_guard_is_owner_thread(int index) {
  /* `thread` is written once, before the first callback of this owner is published under table_lock (which the
   * caller acquired to get `index`), so reading it here without guard_lock is ordered. */
  return pthread_equal(owners[index].thread, pthread_self()) != 0;
}

int ns_sc_guard_begin_wait_for_owner(int index) {
  pthread_mutex_lock(&guard_lock);
  if (owners[index].blocked) {
    pthread_mutex_unlock(&guard_lock);
    return NS_SC_EDEADLOCK;
  }
  /* No wake-up needed: the owner is not blocked, and when it blocks it checks `waiting` before it sleeps. */
  owners[index].waiting++;
  pthread_mutex_unlock(&guard_lock);
  return NS_SC_OK;
}

void ns_sc_guard_end_wait_for_owner(int index) {
  pthread_mutex_lock(&guard_lock);
  owners[index].waiting--;
  pthread_cond_broadcast(&guard_cond);
  pthread_mutex_unlock(&guard_lock);
}

int ns_sc_guard_block_until(ns_sc_done_fn done, void *ctx) {
  int rc = NS_SC_OK;
  pthread_mutex_lock(&guard_lock);
  int index = find_owner_locked(pthread_self());
  if (index >= 0) owners[index].blocked = 1;
  while (!done(ctx)) {
    if (index >= 0 && owners[index].waiting > 0) {
      rc = NS_SC_EDEADLOCK;
      break;
    }
    pthread_cond_wait(&guard_cond, &guard_lock);
  }
  if (index >= 0) owners[index].blocked = 0;
  pthread_mutex_unlock(&guard_lock);
  return rc;
}

void ns_sc_guard_notify(void) {
  /* Taking the lock orders the caller's preceding store of its `done` state before the waiter's next check:
   * the waiter checks under the lock, so it either sees the store or is already in pthread_cond_wait. */
  pthread_mutex_lock(&guard_lock);
  pthread_cond_broadcast(&guard_cond);
  pthread_mutex_unlock(&guard_lock);
}
