/* ledger.c — test plugin that keeps a durable record of every command whose process() completed: the ground truth
 * of the delivery-contract tests (test/sidecar-model.test.ts, bench/soak.ts).
 *
 * config: the path (UTF-8 bytes, no NUL needed) of the ledger file. init opens it O_WRONLY | O_APPEND | O_CREAT.
 *
 * For every command whose payload is at least 8 bytes long, the first 8 bytes are a u64 little-endian sequence
 * number (shorter payloads are recorded with the sequence number UINT64_MAX). Command types:
 *   0 (and any type not listed): normal — append one 16-byte record { u64 seq, u32 flags, u32 type } (flags: the
 *      host's command_flags() when its services table has it, else 0) with ONE write() (O_APPEND: atomic, and the
 *      kernel has it once write() returned, so it survives kill -9 of this process), then reply with the payload
 *      (a request) or emit event 0 with the payload (a send), then return 0;
 *   1: segfault (raise SIGSEGV) before writing anything;
 *   2: hang forever (a pause() loop) before writing anything;
 *   3: segfault unless the command is a redelivery (command_flags() says NS_COMMAND_REDELIVERED): then as type 0;
 *   4: slow — sleep (payload byte 8) % 16 + 1 milliseconds (2 ms for a shorter payload), then as type 0: keeps a
 *      command started-but-unfinished long enough for a timeout or abort to race with it (the withdrawal CAS, §8.3).
 * A record in the ledger therefore says "process() ran to its end for this command (apart from the reply)". */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "native_sidecar/plugin.h"


typedef struct {
  const ns_host_services *host;
  int fd;
} ledger_state;

static int ledger_init(const ns_host_services *host, const uint8_t *config, uint32_t config_length, void **state,
                       char *error, uint32_t error_size) {
  if (config == NULL || config_length == 0 || config_length > 4095) {
    snprintf(error, error_size, "ledger: the config must be the ledger file's path (1 to 4095 bytes)");
    return 1;
  }
  char path[4096];
  memcpy(path, config, config_length);
  path[config_length] = '\0';
  ledger_state *s = calloc(1, sizeof *s);
  if (s == NULL) {
    snprintf(error, error_size, "ledger: out of memory");
    return 2;
  }
  s->host = host;
  s->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (s->fd < 0) {
    snprintf(error, error_size, "ledger: cannot open '%s': %s", path, strerror(errno));
    free(s);
    return 3;
  }
  *state = s;
  return 0;
}

/* The flags of the command being processed: command_flags() of a runtime of ABI 1.1 or later, else 0. */
static uint32_t ledger_flags(const ns_host_services *host) {
  return NS_PLUGIN_HAS_FIELD(host, ns_host_services, command_flags) ? host->command_flags(host) : 0u;
}

static int ledger_process(void *state, uint32_t type, const uint8_t *payload, uint32_t length, uint32_t request_id) {
  ledger_state *s = state;
  const ns_host_services *host = s->host;
  uint32_t flags = ledger_flags(host);
  switch (type) {
    case 1: raise(SIGSEGV); break; /* the signal a wild pointer gets, without undefined behaviour in C */
    case 2:
      for (;;) pause();
    case 3:
      if ((flags & NS_COMMAND_REDELIVERED) == 0) raise(SIGSEGV);
      break;
    case 4: {
      unsigned ms = length > 8 ? (unsigned)(payload[8] % 16u) + 1u : 2u;
      struct timespec t = {0, (long)ms * 1000000L};
      while (nanosleep(&t, &t) != 0 && errno == EINTR) {
      }
      break;
    }
    default: break;
  }
  uint8_t record[16];
  uint64_t seq = UINT64_MAX;
  if (length >= 8) memcpy(&seq, payload, 8); /* little-endian host: the layout is the wire's */
  memcpy(record, &seq, 8);
  memcpy(record + 8, &flags, 4);
  memcpy(record + 12, &type, 4);
  ssize_t n;
  do {
    n = write(s->fd, record, sizeof record);
  } while (n < 0 && errno == EINTR);
  if (n != (ssize_t)sizeof record) return 100; /* the ledger is the proof: a short write must not pass silently */
  if (request_id != 0) return host->reply(host, request_id, payload, length);
  return host->emit_event(host, 0, payload, length);
}

static void ledger_dispose(void *state) {
  ledger_state *s = state;
  close(s->fd);
  free(s);
}

static const ns_plugin ledger_plugin = {
    NS_PLUGIN_ABI_VERSION, sizeof(ns_plugin), "ledger", ledger_init, ledger_process, ledger_dispose,
};

NS_PLUGIN_EXPORT const ns_plugin *ns_plugin_get(uint32_t host_abi_version) {
  return host_abi_version == NS_PLUGIN_ABI_VERSION ? &ledger_plugin : NULL;
}
