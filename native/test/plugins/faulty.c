/* faulty.c — test plugin that misbehaves on request. Command type 1: segfault; 2: abort(); 3: exit(7); 4: hang
 * (sleeps forever inside process); 5: report the command's flags — a request is replied to, a plain command becomes
 * event 5, with 4 bytes: host->command_flags(host) as a little-endian u32 (0 from a runtime without the ABI 1.1
 * service); 6: segfault unless the command is flagged NS_COMMAND_REDELIVERED, and when it is, behave like any other
 * type; 7: reply to the request with its payload, then segfault (the host has the reply, the command never finished);
 * 8: sleep for the little-endian u32 of the payload's first 4 bytes in milliseconds (0 when the payload is shorter
 * than 4 bytes), then behave like any other type (a request is replied to with the payload, a plain command becomes
 * event 8 with the payload); 9: identify this instance — 8 bytes, the little-endian u32 getpid() then the
 * little-endian u32 instance number of this init (taken from a process-wide atomic counter incremented at each
 * successful init, starting at 1, so two instances in one process — thread mode — are told apart); a request is
 * replied to with them, a plain command becomes event 9 with them.
 * Any other type behaves like examples/plugins/echo.c: a request is replied to with its payload, a plain
 * command of type T becomes event T with the same bytes.
 *
 * State: one heap-allocated faulty_state per init (the host table and the instance number), freed by dispose. */
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "native_sidecar/plugin.h"

typedef struct faulty_state {
  const ns_host_services *host;
  uint32_t instance; /* this init's number, 1 for the first init in the process */
} faulty_state;

/* Counts the inits of this process (several in thread mode, one per process in process mode). */
static atomic_uint faulty_instances = 0;

static int faulty_init(const ns_host_services *host, const uint8_t *config, uint32_t config_length, void **state,
                       char *error, uint32_t error_size) {
  (void)config;
  (void)config_length;
  faulty_state *self = (faulty_state *)malloc(sizeof *self);
  if (self == NULL) {
    if (error != NULL && error_size > 0) {
      static const char message[] = "faulty: out of memory for the plugin state";
      const uint32_t n = error_size - 1 < sizeof message - 1 ? error_size - 1 : (uint32_t)(sizeof message - 1);
      for (uint32_t i = 0; i < n; i++) error[i] = message[i];
      error[n] = '\0';
    }
    return 1;
  }
  self->host = host;
  self->instance = atomic_fetch_add(&faulty_instances, 1u) + 1u;
  *state = self;
  return 0;
}

static void put_u32_le(uint8_t *out, uint32_t value) {
  out[0] = (uint8_t)value;
  out[1] = (uint8_t)(value >> 8);
  out[2] = (uint8_t)(value >> 16);
  out[3] = (uint8_t)(value >> 24);
}

/* Sleeps `ms` milliseconds in full, resuming after signal interruptions. */
static void sleep_ms(uint32_t ms) {
  struct timespec left = {(time_t)(ms / 1000u), (long)(ms % 1000u) * 1000000L};
  while (nanosleep(&left, &left) != 0 && errno == EINTR) {
  }
}

static uint32_t command_flags(const ns_host_services *host) {
  if (!NS_PLUGIN_HAS_FIELD(host, ns_host_services, command_flags) || host->command_flags == NULL) return 0;
  return host->command_flags(host);
}

static int faulty_process(void *state, uint32_t type, const uint8_t *payload, uint32_t length, uint32_t request_id) {
  const faulty_state *self = (const faulty_state *)state;
  const ns_host_services *host = self->host;
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
    case 8:
      if (length >= 4) {
        sleep_ms((uint32_t)payload[0] | (uint32_t)payload[1] << 8 | (uint32_t)payload[2] << 16 |
                 (uint32_t)payload[3] << 24);
      }
      break;
    case 9: {
      uint8_t bytes[8];
      put_u32_le(bytes, (uint32_t)getpid());
      put_u32_le(bytes + 4, self->instance);
      if (request_id != 0) return host->reply(host, request_id, bytes, sizeof bytes);
      return host->emit_event(host, 9, bytes, sizeof bytes);
    }
    default: break;
  }
  if (request_id != 0) return host->reply(host, request_id, payload, length);
  return host->emit_event(host, type, payload, length);
}

static void faulty_dispose(void *state) { free(state); }

static const ns_plugin faulty_plugin = {
    NS_PLUGIN_ABI_VERSION, sizeof(ns_plugin), "faulty", faulty_init, faulty_process, faulty_dispose,
};

NS_PLUGIN_EXPORT const ns_plugin *ns_plugin_get(uint32_t host_abi_version) {
  (void)host_abi_version;
  return &faulty_plugin;
}
