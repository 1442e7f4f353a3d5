/* lifecycle.c — test plugin that makes every lifecycle step visible: init emits event 100 carrying the config
 * bytes, each command of type T is replied to (requests) or echoed as event T (plain commands) after a log line,
 * and dispose emits event 101 "bye". A request of type 9 makes process return 3 without replying; a command of
 * type 10 is swallowed (no reply, no event, success). A request of type 11 calls emit_event and reply from a thread
 * of the plugin's own and replies with the two return codes (int32 LE each): the runtime must refuse both. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "native_sidecar/plugin.h"

static int lc_init(const ns_host_services *host, const uint8_t *config, uint32_t config_length, void **state,
                   char *error, uint32_t error_size) {
  (void)error; (void)error_size;
  *state = (void *)host;
  return host->emit_event(host, 100, config, config_length);
}

typedef struct {
  const ns_host_services *host;
  uint32_t request_id;
  int32_t codes[2];
} lc_foreign_call;

static void *lc_foreign_thread(void *arg) {
  lc_foreign_call *call = (lc_foreign_call *)arg;
  call->codes[0] = call->host->emit_event(call->host, 11, "x", 1);
  call->codes[1] = call->host->reply(call->host, call->request_id, "x", 1);
  return NULL;
}

/* Calls the host services from another thread while process() runs on the runtime thread. */
static int lc_call_from_other_thread(const ns_host_services *host, uint32_t request_id) {
  lc_foreign_call call = {host, request_id, {0, 0}};
  pthread_t thread;
  uint8_t reply[sizeof call.codes];
  if (pthread_create(&thread, NULL, lc_foreign_thread, &call) != 0) return 5;
  pthread_join(thread, NULL);
  memcpy(reply, call.codes, sizeof reply);
  return host->reply(host, request_id, reply, sizeof reply);
}

static int lc_process(void *state, uint32_t type, const uint8_t *payload, uint32_t length, uint32_t request_id) {
  const ns_host_services *host = (const ns_host_services *)state;
  char line[64];
  if (type == 9) return 3;
  if (type == 10) return 0;
  if (type == 11 && request_id != 0) return lc_call_from_other_thread(host, request_id);
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
