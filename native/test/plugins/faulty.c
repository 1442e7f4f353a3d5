/* faulty.c — test plugin that misbehaves on request. Command type 1: segfault; 2: abort(); 3: exit(7); 4: hang
 * (sleeps forever inside process); 5: report the command's flags — a request is replied to, a plain command becomes
 * event 5, with 4 bytes: host->command_flags(host) as a little-endian u32 (0 from a runtime without the ABI 1.1
 * service); 6: segfault unless the command is flagged NS_COMMAND_REDELIVERED, and when it is, behave like any other
 * type; 7: reply to the request with its payload, then segfault (the host has the reply, the command never finished).
 * Any other type behaves like examples/plugins/echo.c: a request is replied to with its payload, a plain
 * command of type T becomes event T with the same bytes. */
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "native_sidecar/plugin.h"

static int faulty_init(const ns_host_services *host, const uint8_t *config, uint32_t config_length, void **state,
                       char *error, uint32_t error_size) {
  (void)config;
  (void)config_length;
  (void)error;
  (void)error_size;
  *state = (void *)host;
  return 0;
}

static uint32_t command_flags(const ns_host_services *host) {
  if (!NS_PLUGIN_HAS_FIELD(host, ns_host_services, command_flags) || host->command_flags == NULL) return 0;
  return host->command_flags(host);
}

static int faulty_process(void *state, uint32_t type, const uint8_t *payload, uint32_t length, uint32_t request_id) {
  const ns_host_services *host = (const ns_host_services *)state;
  switch (type) {
    case 1: raise(SIGSEGV); break; /* the same signal a wild pointer gets, without undefined behaviour in C */
    case 2: abort();
    case 3: exit(7);
    case 4:
      for (;;) pause();
    case 5: {
      const uint32_t flags = command_flags(host);
      const uint8_t bytes[4] = {(uint8_t)flags, (uint8_t)(flags >> 8), (uint8_t)(flags >> 16), (uint8_t)(flags >> 24)};
      if (request_id != 0) return host->reply(host, request_id, bytes, sizeof bytes);
      return host->emit_event(host, 5, bytes, sizeof bytes);
    }
    case 6:
      if ((command_flags(host) & NS_COMMAND_REDELIVERED) == 0) raise(SIGSEGV);
      break;
    case 7:
      if (request_id != 0) (void)host->reply(host, request_id, payload, length);
      raise(SIGSEGV);
      break;
    default: break;
  }
  if (request_id != 0) return host->reply(host, request_id, payload, length);
  return host->emit_event(host, type, payload, length);
}

static void faulty_dispose(void *state) { (void)state; }

static const ns_plugin faulty_plugin = {
    NS_PLUGIN_ABI_VERSION, sizeof(ns_plugin), "faulty", faulty_init, faulty_process, faulty_dispose,
};

NS_PLUGIN_EXPORT const ns_plugin *ns_plugin_get(uint32_t host_abi_version) {
  (void)host_abi_version;
  return &faulty_plugin;
}
