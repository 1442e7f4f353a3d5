/* vtables.c — function tables both ways: the host's table called by native code, the library's table called by
 * the host. A table starts with its size so that either side can tell an older, shorter table apart. */
#include <stdio.h>

#include "internal.h"

int ns_sc_host_vtable_demo(const ns_sc_host_vtable *vt, int32_t *sum) {
  /* A host built against an older, shorter table would pass a smaller size: refuse rather than read past it. */
  if (vt == NULL || sum == NULL || vt->size < sizeof(ns_sc_host_vtable) || vt->log == NULL || vt->add == NULL) {
    return NS_SC_EINVAL;
  }
  vt->log(vt->user, "Hello World from Native C++ via V-Table!");
  int32_t result = vt->add(vt->user, 21, 21);
  char line[64];
  snprintf(line, sizeof line, "21 + 21 = %d", (int)result);
  vt->log(vt->user, line);
  *sum = result;
  return NS_SC_OK;
}

static int32_t native_add(int32_t a, int32_t b) { return ns_sc_add(a, b); }

static int32_t native_multiply(int32_t a, int32_t b) { return (int32_t)((uint32_t)a * (uint32_t)b); }

static uint32_t native_fnv1a(const uint8_t *data, uint32_t length) {
  uint32_t hash = NS_SC_FNV_OFFSET_BASIS;
  for (uint32_t i = 0; data != NULL && i < length; i++) {
    hash ^= data[i];
    hash *= 16777619u;
  }
  return hash;
}

static const char *native_describe(void) { return "Hello World from the Native V-Table!"; }

static const ns_sc_native_vtable NATIVE_VTABLE = {
    sizeof(ns_sc_native_vtable), NS_SC_NATIVE_VTABLE_VERSION, native_add, native_multiply, native_fnv1a,
    native_describe,
};

const ns_sc_native_vtable *ns_sc_native_vtable_get(void) { return &NATIVE_VTABLE; }
