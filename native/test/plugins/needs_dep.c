/* needs_dep.c — a test plugin linked against libns_test_dep.so (dep_lib.c) with RPATH $ORIGIN: each request is
 * answered with the dependency's answer as one byte (42). */
#include "native_sidecar/plugin.h"

int ns_test_dep_answer(void);

static int dep_init(const ns_host_services *host, const uint8_t *config, uint32_t config_length, void **state,
                    char *error, uint32_t error_size) {
  (void)config;
  (void)config_length;
  (void)error;
  (void)error_size;
  *state = (void *)host;
  return 0;
}

static int dep_process(void *state, uint32_t type, const uint8_t *payload, uint32_t length, uint32_t id) {
  const ns_host_services *host = (const ns_host_services *)state;
  uint8_t answer = (uint8_t)ns_test_dep_answer();
  (void)type;
  (void)payload;
  (void)length;
  return id != 0 ? host->reply(host, id, &answer, 1) : 0;
}

static void dep_dispose(void *state) { (void)state; }

static const ns_plugin dep_plugin = {
    NS_PLUGIN_ABI_VERSION, sizeof(ns_plugin), "needs_dep", dep_init, dep_process, dep_dispose,
};

NS_PLUGIN_EXPORT const ns_plugin *ns_plugin_get(uint32_t host_abi_version) {
  (void)host_abi_version;
  return &dep_plugin;
}
