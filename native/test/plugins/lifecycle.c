/* lifecycle.c — test plugin that makes every lifecycle step visible: init emits event 100 carrying the config
 * bytes, each command of type T is replied to (requests) or echoed as event T (plain commands) after a log line,
 * and dispose emits event 101 "bye". A request of type 9 makes process return 3 without replying; a command of
 * type 10 is swallowed (no reply, no event, success). */
#include <stdio.h>

#include "native_sidecar/plugin.h"

static int lc_init(const ns_host_services *host, const uint8_t *config, uint32_t config_length, void **state,
                   char *error, uint32_t error_size) {
  (void)error; (void)error_size;
  *state = (void *)host;
  return host->emit_event(host, 100, config, config_length);
}

static int lc_process(void *state, uint32_t type, const uint8_t *payload, uint32_t length, uint32_t request_id) {
  const ns_host_services *host = (const ns_host_services *)state;
  char line[64];
  if (type == 9) return 3;
  if (type == 10) return 0;
  snprintf(line, sizeof line, "processing type %u", type);
  host->log(host, NS_LOG_INFO, line);
  if (request_id != 0) return host->reply(host, request_id, payload, length);
  return host->emit_event(host, type, payload, length);
}

static void lc_dispose(void *state) {
  const ns_host_services *host = (const ns_host_services *)state;
  host->emit_event(host, 101, "bye", 3);
}

static const ns_plugin lc_plugin = {
    NS_PLUGIN_ABI_VERSION, sizeof(ns_plugin), "lifecycle", lc_init, lc_process, lc_dispose,
};

NS_PLUGIN_EXPORT const ns_plugin *ns_plugin_get(uint32_t host_abi_version) {
  (void)host_abi_version;
  return &lc_plugin;
}
