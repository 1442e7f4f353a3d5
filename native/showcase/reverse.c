/* reverse.c — reverse calls made on the calling thread: JS calls in, native code calls a JS callback back. */
#include "internal.h"

static const char HELLO[] = "Hello World from Native C++!";

int ns_sc_say_hello(int32_t callback) {
  return ns_sc_invoke(callback, NS_SC_CALL_MESSAGE, HELLO, 0, 0, 0, NULL);
}

int ns_sc_say(int32_t callback, const char *message) {
  if (message == NULL) return NS_SC_EINVAL;
  return ns_sc_invoke(callback, NS_SC_CALL_MESSAGE, message, 0, 0, 0, NULL);
}

int ns_sc_call_value(int32_t callback, int32_t value, int32_t *result) {
  if (result == NULL) return NS_SC_EINVAL;
  return ns_sc_invoke(callback, NS_SC_CALL_VALUE, NULL, value, NS_SC_CALL_BLOCKING, 0, result);
}

int ns_sc_call_value_repeat(int32_t callback, uint32_t count, uint32_t *checksum) {
  if (checksum == NULL) return NS_SC_EINVAL;
  uint32_t hash = NS_SC_FNV_OFFSET_BASIS;
  for (uint32_t i = 0; i < count; i++) {
    int32_t result = 0;
    int rc = ns_sc_invoke(callback, NS_SC_CALL_VALUE, NULL, (int32_t)i, NS_SC_CALL_BLOCKING, 0, &result);
    if (rc != NS_SC_OK) return rc;
    hash = ns_sc_fnv1a_u32(hash, (uint32_t)result);
  }
  *checksum = hash;
  return NS_SC_OK;
}
