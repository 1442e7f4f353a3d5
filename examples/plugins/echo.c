/* echo.c — replies to every request with its own payload, and turns every plain command (sidecar.send()) of type T
 * into event T carrying the same bytes. Used by the tests and the `sidecar` benchmark.
 *
 * Build by hand:  gcc -shared -fPIC -O2 -I native/include -o echo.so examples/plugins/echo.c */
#include <stdlib.h>

#include "native_sidecar/plugin.h"

static int echo_init(const ns_host_services *host, const uint8_t *config, uint32_t config_length, void **state,
                     char *error, uint32_t error_size) {
  (void)config;
  (void)config_length;
  (void)error;
  (void)error_size;
  *state = (void *)host; /* the only state echo needs is the services table */
  return 0;
}

static int echo_process(void *state, uint32_t type, const uint8_t *payload, uint32_t length, uint32_t request_id) {
  const ns_host_services *host = (const ns_host_services *)state;
  if (request_id != 0) return host->reply(host, request_id, payload, length);
  return host->emit_event(host, type, payload, length);
}

static void echo_dispose(void *state) { (void)state; }

static const ns_plugin echo_plugin = {
    NS_PLUGIN_ABI_VERSION, sizeof(ns_plugin), "echo", echo_init, echo_process, echo_dispose,
};

NS_PLUGIN_EXPORT const ns_plugin *ns_plugin_get(uint32_t host_abi_version) {
  return host_abi_version == NS_PLUGIN_ABI_VERSION ? &echo_plugin : NULL;
}
