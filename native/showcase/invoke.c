/* invoke.c — one call of a registered callback: lookup, deadlock guard, then the function or the binding. */
#include "internal.h"

/* Does the caller wait for the owner thread? Always for plain function pointers called from a foreign thread (an FFI
 * such as koffi relays the call to the JS thread and blocks until it returns); for dispatching bindings only when
 * the call asks for a result. Calls on the owner thread run synchronously and never wait for anyone. */
static int waits_for_owner(const ns_sc_callback_ref *ref, int foreign, uint32_t flags) {
  if (!foreign) return 0;
  return ref->dispatch == NULL || (flags & NS_SC_CALL_BLOCKING) != 0;
}

static int call_through(const ns_sc_callback_ref *ref, const ns_sc_call *call, int32_t *result) {
  if (ref->dispatch != NULL) return ref->dispatch(ref->user, call, result);
  if (call->kind == NS_SC_CALL_MESSAGE) {
    ref->message_fn(ref->user, call->message);
    return NS_SC_OK;
  }
  *result = ref->value_fn(ref->user, call->value);
  return NS_SC_OK;
}

int ns_sc_invoke(int32_t handle, uint32_t kind, const char *message, int32_t value, uint32_t flags,
                 uint32_t timeout_ms, int32_t *result) {
  ns_sc_callback_ref ref;
  int rc = ns_sc_callback_acquire(handle, &ref);
  if (rc != NS_SC_OK) return rc;
  if (ref.kind != kind) {
    ns_sc_callback_put(&ref);
    return NS_SC_EINVAL;
  }
  int foreign = !ns_sc_guard_is_owner_thread(ref.owner);
  int waits = waits_for_owner(&ref, foreign, flags);
  if (waits) rc = ns_sc_guard_begin_wait_for_owner(ref.owner);
  if (rc == NS_SC_OK) {
    ns_sc_call call = {kind, flags, message, value, timeout_ms, foreign};
    int32_t ignored = 0;
    rc = call_through(&ref, &call, result != NULL ? result : &ignored);
    if (waits) ns_sc_guard_end_wait_for_owner(ref.owner);
  }
  ns_sc_callback_put(&ref);
  return rc;
}
