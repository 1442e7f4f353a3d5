/* sidecar/plugin_loader.c — loading a plugin library and checking its V-table (docs/plugin-abi.md). */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include "runtime.h"

uint32_t ns_plugin_check(const ns_plugin *plugin, char *message, size_t message_size) {
  if (plugin == NULL) {
    snprintf(message, message_size, "The plugin's ns_plugin_get() returned NULL: it refused ABI version %u.",
             NS_PLUGIN_ABI_VERSION);
    return NS_SIDECAR_EXIT_NOT_PLUGIN;
  }
  if (plugin->abi_version != NS_PLUGIN_ABI_VERSION) {
    snprintf(message, message_size,
             "The plugin was built for plugin ABI version %u, but this runtime supports version %u only.",
             plugin->abi_version, NS_PLUGIN_ABI_VERSION);
    return NS_SIDECAR_EXIT_ABI_MISMATCH;
  }
  if (plugin->struct_size < NS_PLUGIN_V1_SIZE) {
    snprintf(message, message_size,
             "The plugin's V-table declares struct_size %u, smaller than the %u bytes of ABI version %u.",
             plugin->struct_size, (unsigned)NS_PLUGIN_V1_SIZE, NS_PLUGIN_ABI_VERSION);
    return NS_SIDECAR_EXIT_ABI_MISMATCH;
  }
  if (plugin->init == NULL || plugin->process == NULL || plugin->dispose == NULL) {
    snprintf(message, message_size, "The plugin's V-table has a NULL init, process or dispose function.");
    return NS_SIDECAR_EXIT_ABI_MISMATCH;
  }
  return 0;
}

uint32_t ns_plugin_load(const char *path, void **handle, const ns_plugin **plugin, char *message,
                        size_t message_size) {
  void *lib, *symbol;
  ns_plugin_get_fn get;
  const ns_plugin *table;
  uint32_t reason;
  const char *why;
  *handle = NULL;
  *plugin = NULL;
  /* RTLD_NOW: an unresolved symbol fails here, with a message, rather than as a crash in the middle of process.
   * RTLD_LOCAL: two plugins (or two sidecars of one plugin) never see each other's symbols. */
  lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (lib == NULL) {
    why = dlerror();
    snprintf(message, message_size, "The plugin '%s' could not be loaded: %s.", path, why ? why : "unknown error");
    return NS_SIDECAR_EXIT_LOAD_FAILED;
  }
  (void)dlerror();
  symbol = dlsym(lib, NS_PLUGIN_ENTRY_SYMBOL);
  if (symbol == NULL) {
    snprintf(message, message_size, "The library '%s' is not a native-sidecar plugin: it does not export %s().", path,
             NS_PLUGIN_ENTRY_SYMBOL);
    dlclose(lib);
    return NS_SIDECAR_EXIT_NOT_PLUGIN;
  }
  memcpy(&get, &symbol, sizeof get); /* object pointer → function pointer, the POSIX way */
  table = get(NS_PLUGIN_ABI_VERSION);
  reason = ns_plugin_check(table, message, message_size);
  if (reason != 0) {
    dlclose(lib);
    return reason;
  }
  *handle = lib;
  *plugin = table;
  return 0;
}
