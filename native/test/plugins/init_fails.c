/* init_fails.c — test plugin whose init refuses its config: returns 5 with the message "config rejected". */
#include <string.h>

#include "native_sidecar/plugin.h"

static int failing_init(const ns_host_services *host, const uint8_t *config, uint32_t config_length, void **state,
                        char *error, uint32_t error_size) {
  (void)host; (void)config; (void)config_length; (void)state;
  if (error_size > 0) {
    strncpy(error, "config rejected", error_size - 1);
    error[error_size - 1] = '\0';
  }
  return 5;
}
static int never_process(void *state, uint32_t type, const uint8_t *payload, uint32_t length, uint32_t request_id) {
  (void)state; (void)type; (void)payload; (void)length; (void)request_id;
  return 0;
}
static void never_dispose(void *state) { (void)state; }

static const ns_plugin failing_plugin = {
    NS_PLUGIN_ABI_VERSION, sizeof(ns_plugin), "init-fails", failing_init, never_process, never_dispose,
};

NS_PLUGIN_EXPORT const ns_plugin *ns_plugin_get(uint32_t host_abi_version) {
  (void)host_abi_version;
  return &failing_plugin;
}
