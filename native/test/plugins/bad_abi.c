/* bad_abi.c — test plugin built for a future major ABI version: every runtime of version 1 must refuse it. */
#include "native_sidecar/plugin.h"

static int never_init(const ns_host_services *host, const uint8_t *config, uint32_t config_length, void **state,
                      char *error, uint32_t error_size) {
  (void)host; (void)config; (void)config_length; (void)state; (void)error; (void)error_size;
  return 0;
}
static int never_process(void *state, uint32_t type, const uint8_t *payload, uint32_t length, uint32_t request_id) {
  (void)state; (void)type; (void)payload; (void)length; (void)request_id;
  return 0;
}
static void never_dispose(void *state) { (void)state; }

static const ns_plugin future_plugin = {
    NS_PLUGIN_ABI_VERSION + 98, sizeof(ns_plugin), "future", never_init, never_process, never_dispose,
};

NS_PLUGIN_EXPORT const ns_plugin *ns_plugin_get(uint32_t host_abi_version) {
  (void)host_abi_version;
  return &future_plugin;
}
