/* native_sidecar/plugin.h — the plugin ABI of a native-sidecar Sidecar (docs/plugin-abi.md).
 *
 * A plugin is a shared library that exports ONE C function, ns_plugin_get(), returning a constant table of function
 * pointers (the plugin V-table). The runtime that loads it hands the plugin a second table, the host services
 * (emit an event, reply to a request, log, and since ABI 1.1 the flags of the current command). Because both directions go through tables, a plugin links against
 * nothing of native-sidecar: it needs this header at compile time only, and `gcc -shared -fPIC` builds it.
 *
 * Versioning. Both tables start with { abi_version, struct_size }. abi_version is the MAJOR version: a runtime loads
 * only plugins whose abi_version equals its own NS_PLUGIN_ABI_VERSION. struct_size lets a MINOR revision append fields
 * at the end: a reader uses a field only if the table's struct_size covers it (NS_PLUGIN_HAS_FIELD). Fields are never
 * removed or reordered within a major version.
 *
 * Threading. init, process and dispose are called on ONE runtime thread (a native thread of the Node process in
 * thread mode, the main thread of the sidecar process in process mode), one at a time, never concurrently. The host
 * services may be called only from that thread, and only while init, process or dispose is running (they write to a
 * single-producer ring owned by that thread).
 *
 * Header-only, C11; also compiles as C++ (every declaration is extern "C"). */
#ifndef NATIVE_SIDECAR_PLUGIN_H
#define NATIVE_SIDECAR_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The major ABI version of both tables. */
#define NS_PLUGIN_ABI_VERSION 1u

/* The one symbol a plugin exports. */
#define NS_PLUGIN_ENTRY_SYMBOL "ns_plugin_get"

/* Marks the entry point as exported even when the plugin is built with -fvisibility=hidden. */
#if defined(__GNUC__)
#define NS_PLUGIN_EXPORT __attribute__((visibility("default")))
#else
#define NS_PLUGIN_EXPORT
#endif

/* True when a table whose struct_size is `table->struct_size` contains `field` (for fields added by minor
 * revisions). */
#define NS_PLUGIN_HAS_FIELD(table, type, field) \
  ((table)->struct_size >= offsetof(type, field) + sizeof(((type *)0)->field))

/* Return codes of the host services (negative) and of init/process (0 = success, anything else = failure). */
enum {
  NS_PLUGIN_OK = 0,
  NS_PLUGIN_EINVAL = -1,  /* a NULL pointer with a non-zero length, or an argument out of range */
  NS_PLUGIN_ETOOBIG = -2, /* the message does not fit in one record of the event ring (see max_message) */
  NS_PLUGIN_ECLOSED = -3, /* the host has gone away (its end of the event ring is closed); the message was dropped */
  NS_PLUGIN_ESTATE = -4   /* called outside init/process/dispose, or from another thread */
};

/* Log levels of ns_host_services.log. */
enum { NS_LOG_DEBUG = 0, NS_LOG_INFO = 1, NS_LOG_WARN = 2, NS_LOG_ERROR = 3 };

/* Flags of the command being processed, returned by ns_host_services.command_flags (ABI 1.1).
 *
 * NS_COMMAND_REDELIVERED: the runtime is delivering this command again. An earlier sidecar process called process
 * for it and died before process returned (a crash, a kill, the watchdog), and the host restarted the sidecar with
 * the command in front of its queue (docs/wire-format.md §8.3). Whatever that earlier call did before it died — events
 * it emitted, a reply it sent, files it wrote — may or may not have happened. A plugin that cares makes the command
 * idempotent, or checks (in its own durable state) which side effects it already did and skips them; a plugin that
 * does not care ignores the flag. If a redelivered command kills the sidecar again, the host quarantines it: it is
 * not delivered a third time. Only the command that was inside process is ever redelivered; a command whose process
 * returned is never delivered again. */
#define NS_COMMAND_REDELIVERED 1u

/* The host services table, filled in by the runtime and valid from the call of init until dispose returns. The
 * plugin keeps the pointer it receives in init (usually in its state) and passes it back as `host`. */
typedef struct ns_host_services {
  uint32_t abi_version; /* NS_PLUGIN_ABI_VERSION of the runtime */
  uint32_t struct_size; /* sizeof(ns_host_services) of the runtime */
  void *context;        /* private to the runtime; do not touch */
  /* Largest `length` emit_event and reply accept (the event ring's max payload minus the 8-byte message header). */
  uint32_t max_message;
  uint32_t reserved;

  /* Sends event `event_id` with `length` bytes (copied before the call returns) to the host, where it arrives as
   * sidecar.on('event', (id, data)) and host.event(id, data), in the order emitted. Blocks (with the wait policy of the
   * sidecar) while the event ring is full. Returns NS_PLUGIN_OK or a negative NS_PLUGIN_E* code. */
  int (*emit_event)(const struct ns_host_services *host, uint32_t event_id, const void *data, uint32_t length);

  /* Answers request `request_id` (the id process received; 0 is not a request and is refused with EINVAL) with
   * `length` bytes (copied before the call returns); the host's sidecar.request() promise resolves with them. A
   * plugin may reply during the process call of that request or during a later call. Replying twice, or to an id
   * the host no longer waits for, is harmless: the host ignores it. Same blocking and return codes as emit_event. */
  int (*reply)(const struct ns_host_services *host, uint32_t request_id, const void *data, uint32_t length);

  /* Sends a NUL-terminated UTF-8 log line at `level` (NS_LOG_*) to the host ('log' event). Messages longer than
   * max_message bytes are truncated. Never fails visibly: logging is best effort. */
  void (*log)(const struct ns_host_services *host, int level, const char *message);

  /* ---- ABI 1.1 (minor revision: present only when NS_PLUGIN_HAS_FIELD(host, ns_host_services, command_flags);
   * a runtime built before it hands out a table of NS_HOST_SERVICES_V1_SIZE bytes) ---- */

  /* Flags (NS_COMMAND_*) of the command whose process call is running: NS_COMMAND_REDELIVERED for a command the
   * runtime is delivering again, 0 otherwise. Returns 0 when called outside process (in init or dispose too) or from
   * another thread. Never fails. */
  uint32_t (*command_flags)(const struct ns_host_services *host);
} ns_host_services;

/* The plugin V-table, returned by ns_plugin_get(). It must stay valid (static storage) while the library is loaded. */
typedef struct ns_plugin {
  uint32_t abi_version; /* NS_PLUGIN_ABI_VERSION the plugin was built against */
  uint32_t struct_size; /* sizeof(ns_plugin) the plugin was built against */
  const char *name;     /* a short human-readable name (for messages); may be NULL */

  /* Called once, first. `config` is the host's config bytes (valid during the call only; NULL when
   * config_length is 0). On success store the plugin's state in *state (any pointer, or NULL) and return 0. On
   * failure return non-zero and, optionally, write a NUL-terminated sentence of at most error_size bytes to
   * `error`; Sidecar.start() then rejects with that message and neither process nor dispose is called. Events may
   * be emitted from init; the host delivers them right after host.init(). */
  int (*init)(const ns_host_services *host, const uint8_t *config, uint32_t config_length, void **state,
              char *error, uint32_t error_size);

  /* Called once per command, in the order the host sent them. `payload` is a zero-copy view into the command ring,
   * valid only until process returns (the runtime releases the command from the ring after that). `request_id` is
   * non-zero when the host awaits a reply (sidecar.request()) and 0 for sidecar.send(). Return 0 on success; a
   * non-zero return for a request that has not been replied to yet makes the host's request() reject with
   * ERR_SIDECAR_PLUGIN carrying that value. A command the host withdrew before the runtime took it never reaches
   * process. After a sidecar process died inside process, the command it was processing is delivered once more to
   * the restarted one, flagged NS_COMMAND_REDELIVERED (command_flags); no other command is delivered twice. */
  int (*process)(void *state, uint32_t type, const uint8_t *payload, uint32_t length, uint32_t request_id);

  /* Called once, last, after the host stopped the sidecar and every command before the stop was processed. Free
   * the state here. Events and replies may still be sent. */
  void (*dispose)(void *state);
} ns_plugin;

/* Signature of the exported entry point. `host_abi_version` is the runtime's NS_PLUGIN_ABI_VERSION, so a plugin that
 * supports several major versions can pick its table; return NULL to refuse to load. */
typedef const ns_plugin *(*ns_plugin_get_fn)(uint32_t host_abi_version);

/* Size of the version-1 tables: the smallest struct_size a runtime or a plugin accepts. NS_HOST_SERVICES_V1_SIZE
 * stays the size of version 1.0 (up to log): minor revisions append fields after it, and a plugin checks each with
 * NS_PLUGIN_HAS_FIELD. */
#define NS_PLUGIN_V1_SIZE (offsetof(ns_plugin, dispose) + sizeof(void (*)(void *)))
#define NS_HOST_SERVICES_V1_SIZE (offsetof(ns_host_services, log) + sizeof(void (*)(void)))
/* Size of the version-1.1 host services table (adds command_flags). */
#define NS_HOST_SERVICES_V1_1_SIZE (offsetof(ns_host_services, command_flags) + sizeof(void (*)(void)))

#ifdef __cplusplus
}
#endif

#endif /* NATIVE_SIDECAR_PLUGIN_H */
