/* demo.c — the demo plugin of `npm start`: every command is answered with the event 1 "OK"; a request
 * (sidecar.request()) is also replied to with "OK".
 *
 * Build by hand:  gcc -shared -fPIC -O2 -I native/include -o demo.so examples/plugins/demo.c
 * (npm install builds it as build/Release/demo.so.) */
#include <stdlib.h>

#include "native_sidecar/plugin.h"

typedef struct demo_state {
  const ns_host_services *host;
} demo_state;

static int demo_init(const ns_host_services *host, const uint8_t *config, uint32_t config_length, void **state,
                     char *error, uint32_t error_size) {
  demo_state *s;
  (void)config;
  (void)config_length;
  (void)error;
  (void)error_size;
  s = (demo_state *)malloc(sizeof *s);
  if (s == NULL) return 1;
  s->host = host;
  *state = s;
  return 0;
}

static int demo_process(void *state, uint32_t type, const uint8_t *payload, uint32_t length, uint32_t request_id) {
  demo_state *s = (demo_state *)state;
  int rc;
  (void)type;
  (void)payload;
  (void)length;
  rc = s->host->emit_event(s->host, 1, "OK", 2);
  if (rc == 0 && request_id != 0) rc = s->host->reply(s->host, request_id, "OK", 2);
  return rc;
}

static void demo_dispose(void *state) { free(state); }

static const ns_plugin demo_plugin = {
    NS_PLUGIN_ABI_VERSION, sizeof(ns_plugin), "demo", demo_init, demo_process, demo_dispose,
};

NS_PLUGIN_EXPORT const ns_plugin *ns_plugin_get(uint32_t host_abi_version) {
  return host_abi_version == NS_PLUGIN_ABI_VERSION ? &demo_plugin : NULL;
}
