/* callbacks.c — the callback table: registration, generation-checked lookup, deferred release.
 *
 * Why handles and not pointers: JavaScript (through koffi, or a buggy caller) can hand back any number. A slot
 * index plus a generation lets every lookup prove the callback still exists; a released or reused slot is an
 * error code. Why a busy count: a foreign thread may be inside a call when the owner unregisters; the slot (and
 * the binding's data behind `user`) must outlive that call, but unregister must not wait for it — the owner thread
 * may be the very thread that call is waiting for. So the last call out frees the slot. */
#include <string.h>

#include "internal.h"

enum { SLOT_FREE = 0, SLOT_LIVE = 1, SLOT_RETIRING = 2 };

typedef struct slot {
  uint32_t generation; /* of the current (or last) registration; bumped when the slot is taken */
  uint32_t state;
  uint32_t busy;       /* calls between acquire and put */
  uint32_t kind;
  int owner;
  ns_sc_message_fn message_fn;
  ns_sc_value_fn value_fn;
  ns_sc_dispatch_fn dispatch;
  ns_sc_release_fn release;
  void *user;
} slot;

/* One mutex for the whole table: a lookup is a few loads under an uncontended lock (tens of ns), small next to
 * any call into JavaScript, and it makes the state machine FREE → LIVE → RETIRING → FREE easy to reason about. */
static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static slot table[NS_SC_MAX_CALLBACKS];

static int32_t register_slot(uint32_t kind, ns_sc_message_fn message_fn, ns_sc_value_fn value_fn,
                             ns_sc_dispatch_fn dispatch, ns_sc_release_fn release, void *user) {
  int owner = ns_sc_guard_owner_self();
  if (owner < 0) return owner;
  pthread_mutex_lock(&table_lock);
  for (uint32_t i = 0; i < NS_SC_MAX_CALLBACKS; i++) {
    slot *s = &table[i];
    if (s->state != SLOT_FREE) continue;
    s->generation = ns_sc_next_generation(s->generation);
    s->state = SLOT_LIVE;
    s->busy = 0;
    s->kind = kind;
    s->owner = owner;
    s->message_fn = message_fn;
    s->value_fn = value_fn;
    s->dispatch = dispatch;
    s->release = release;
    s->user = user;
    int32_t handle = ns_sc_handle_make(i, s->generation);
    pthread_mutex_unlock(&table_lock);
    return handle;
  }
  pthread_mutex_unlock(&table_lock);
  return NS_SC_ENOSPC;
}

int32_t ns_sc_callback_register_message(ns_sc_message_fn fn, void *user) {
  if (fn == NULL) return NS_SC_EINVAL;
  return register_slot(NS_SC_CALL_MESSAGE, fn, NULL, NULL, NULL, user);
}

int32_t ns_sc_callback_register_value(ns_sc_value_fn fn, void *user) {
  if (fn == NULL) return NS_SC_EINVAL;
  return register_slot(NS_SC_CALL_VALUE, NULL, fn, NULL, NULL, user);
}

int32_t ns_sc_callback_register_dispatch(uint32_t kind, ns_sc_dispatch_fn dispatch, ns_sc_release_fn release,
                                         void *user) {
  if (dispatch == NULL || (kind != NS_SC_CALL_MESSAGE && kind != NS_SC_CALL_VALUE)) return NS_SC_EINVAL;
  return register_slot(kind, NULL, NULL, dispatch, release, user);
}

/* The slot a handle names, or NULL when the handle is malformed. Caller holds table_lock. */
static slot *slot_of(int32_t handle) {
  if (handle <= 0) return NULL;
  uint32_t index = ns_sc_handle_index(handle);
  if (index >= NS_SC_MAX_CALLBACKS) return NULL;
  return &table[index];
}

int ns_sc_callback_acquire(int32_t handle, ns_sc_callback_ref *ref) {
  pthread_mutex_lock(&table_lock);
  slot *s = slot_of(handle);
  if (s == NULL || s->state != SLOT_LIVE || s->generation != ns_sc_handle_generation(handle)) {
    pthread_mutex_unlock(&table_lock);
    return NS_SC_ERELEASED;
  }
  s->busy++;
  ref->index = ns_sc_handle_index(handle);
  ref->kind = s->kind;
  ref->owner = s->owner;
  ref->message_fn = s->message_fn;
  ref->value_fn = s->value_fn;
  ref->dispatch = s->dispatch;
  ref->user = s->user;
  pthread_mutex_unlock(&table_lock);
  return NS_SC_OK;
}

/* Frees a retiring slot whose last call returned; returns the release function to run outside the lock. */
static ns_sc_release_fn retire_if_idle(slot *s, void **user) {
  if (s->state != SLOT_RETIRING || s->busy != 0) return NULL;
  ns_sc_release_fn release = s->release;
  *user = s->user;
  s->state = SLOT_FREE;
  s->message_fn = NULL;
  s->value_fn = NULL;
  s->dispatch = NULL;
  s->release = NULL;
  s->user = NULL;
  return release;
}

void ns_sc_callback_put(const ns_sc_callback_ref *ref) {
  void *user = NULL;
  pthread_mutex_lock(&table_lock);
  slot *s = &table[ref->index];
  s->busy--;
  ns_sc_release_fn release = retire_if_idle(s, &user);
  pthread_mutex_unlock(&table_lock);
  /* Outside the lock: a binding's release may take its own locks or queue work to its JS thread. */
  if (release != NULL) release(user);
}

int32_t ns_sc_callback_unregister(int32_t handle) {
  void *user = NULL;
  pthread_mutex_lock(&table_lock);
  slot *s = slot_of(handle);
  if (s == NULL || s->state != SLOT_LIVE || s->generation != ns_sc_handle_generation(handle)) {
    pthread_mutex_unlock(&table_lock);
    return NS_SC_ERELEASED;
  }
  s->state = SLOT_RETIRING;
  int32_t running = (int32_t)s->busy;
  ns_sc_release_fn release = retire_if_idle(s, &user);
  pthread_mutex_unlock(&table_lock);
  if (release != NULL) release(user);
  return running;
}

int32_t ns_sc_callback_inflight(int32_t handle) {
  pthread_mutex_lock(&table_lock);
  slot *s = slot_of(handle);
  int32_t result;
  if (s == NULL) {
    result = NS_SC_EINVAL;
  } else if (s->generation != ns_sc_handle_generation(handle) || s->state == SLOT_FREE) {
    result = 0; /* freed (and perhaps reused by a later registration): nothing of this handle runs */
  } else if (s->state == SLOT_LIVE) {
    result = NS_SC_EINVAL; /* not unregistered */
  } else {
    result = (int32_t)s->busy;
  }
  pthread_mutex_unlock(&table_lock);
  return result;
}
