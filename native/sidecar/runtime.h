/* sidecar/runtime.h — the one loop of a Sidecar, shared by thread mode (native/addon/sidecar_thread.cc) and process
 * mode (native/sidecar/main.c): Init → Loop → Dispose over a region holding a control block and two rings
 * (docs/wire-format.md §8, docs/architecture.md).
 *
 * Threading: every function here runs on the runtime thread only; the region is shared with the host, which is
 * never trusted (descriptor fields and ring positions are validated before use). */
#ifndef NATIVE_SIDECAR_RUNTIME_H
#define NATIVE_SIDECAR_RUNTIME_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "native_sidecar/layout.h"
#include "native_sidecar/plugin.h"
#include "native_sidecar/ring.h"
#include "native_sidecar/wait.h"
#include "scheduling.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Polled when the loop is idle (after a timed-out park); return non-zero to stop the loop as if the host had died
 * (no dispose: the host cannot receive anything any more). May be NULL. */
typedef int (*ns_runtime_should_stop)(void *ctx);

typedef struct ns_runtime {
  ns_sidecar_control *control; /* in the shared region */
  const uint8_t *config;       /* in the shared region: read by init only */
  uint32_t config_length;
  ns_ring commands;            /* consumer end */
  ns_ring events;              /* producer end */
  ns_wait_policy wait;
  int64_t idle_poll_ns;        /* park timeout between should_stop polls */
  ns_runtime_should_stop should_stop;
  void *should_stop_ctx;
  const ns_plugin *plugin;
  void *state;
  ns_host_services services;
  uint32_t host_flags;
  pthread_t loop_thread;       /* the thread running ns_runtime_run(): the only one that may call host services */
  int in_call;                 /* services are usable only inside a plugin call */
  int host_gone;               /* the host closed its end of the event ring: drop messages */
  int failed;                  /* a ring failed validation: stop the loop */
  uint32_t current_request;    /* request id of the command being processed */
  uint32_t current_flags;      /* NS_COMMAND_* of the command being processed (0 outside process) */
  uint32_t redeliver_remaining; /* leading commands still to flag as redelivered (control block `redelivered`) */
  int replied;                 /* the current request was replied to */
} ns_runtime;

/* Finds and validates the control block (the first segment of kind NS_SEGMENT_KIND_SIDECAR_CONTROL in the validated
 * header snapshot `header`) and attaches to the two rings it names. On failure returns NS_SIDECAR_EXIT_BAD_REGION
 * and, when the control block itself could be found, records the failure in it. Returns 0 on success. */
int ns_runtime_attach(ns_runtime *rt, uint8_t *region_base, const ns_region_header *header, ns_wait_policy wait);

/* Records a start failure (reason NS_SIDECAR_EXIT_*, a value, a sentence) in the control block and closes the rings
 * so the host sees the end at once. Safe to call on an attached runtime only. */
void ns_runtime_fail(ns_runtime *rt, uint32_t reason, int32_t code, const char *message);

/* Runs plugin init, the loop until the host closes the command ring (then drains it), and plugin dispose. Returns
 * an NS_SIDECAR_EXIT_* reason (NORMAL when the host stopped it). The plugin must have passed ns_plugin_check(). */
uint32_t ns_runtime_run(ns_runtime *rt, const ns_plugin *plugin);

/* Checks a plugin table returned by ns_plugin_get: NULL → NOT_PLUGIN, wrong abi_version or too small struct_size,
 * or a NULL init/process/dispose → ABI_MISMATCH (a sentence in `message`). Returns 0 when usable. */
uint32_t ns_plugin_check(const ns_plugin *plugin, char *message, size_t message_size);

/* dlopen()s `path` and calls its ns_plugin_get. On failure returns an NS_SIDECAR_EXIT_* reason with a sentence in
 * `message` and leaves nothing loaded; on success *handle is the dlopen handle (dlclose it after the run). */
uint32_t ns_plugin_load(const char *path, void **handle, const ns_plugin **plugin, char *message, size_t message_size);

/* The whole life of a sidecar over an attached region: finds the control block and rings in the validated header
 * snapshot, loads the plugin at `plugin_path`, runs it, unloads it. Every failure is recorded in the control block
 * (when one was found) so the host can report it. Returns an NS_SIDECAR_EXIT_* reason. Runs on the calling thread,
 * which becomes the runtime thread. `event_wake_fd` (< 0: none) is the host's eventfd: every wake of the host's
 * event-ring consumer also writes it (ns_ring_set_consumer_wake_fd(), wire-format §5.1.1), so a host sleeping in its
 * event loop (EventfdParker) is woken directly. It is not owned: the caller keeps it open until this returns. */
/* What the process that runs the loop adds to it (native-sidecar-host); a thread passes NULL. */
typedef struct ns_runtime_hooks {
  /* May be NULL; see ns_runtime_should_stop. */
  ns_runtime_should_stop should_stop;
  /* May be NULL. Called once on the runtime thread after the region and control block were validated and before the
   * plugin is loaded: the place to confine the process (native/sidecar/sandbox.c), so that no plugin code — not even
   * a library constructor run by dlopen — runs unconfined. Stores the NS_SANDBOX_* layers in force and the Landlock
   * ABI found; returns 0, or an NS_SIDECAR_EXIT_* reason with a sentence in `message` (the start then fails with it). */
  uint32_t (*before_load)(void *ctx, uint32_t *sandbox, uint32_t *landlock_abi, char *message, size_t message_size);
  void *ctx;
} ns_runtime_hooks;

/* `sched` (NULL: none) is applied to the calling thread right after the control block was found, before
 * hooks->before_load (the sandbox) and before the plugin is loaded; the NS_SCHED_* bits of what was applied go to the
 * control block's `sched` word. A refusal fails the start with NS_SIDECAR_EXIT_SCHEDULING, the kernel's errno as
 * error_code and ns_sched_apply's sentence. */
uint32_t ns_runtime_main(uint8_t *region_base, const ns_region_header *header, const char *plugin_path,
                         ns_wait_policy wait, int event_wake_fd, const ns_sched_config *sched,
                         const ns_runtime_hooks *hooks);

#ifdef __cplusplus
}
#endif

#endif /* NATIVE_SIDECAR_RUNTIME_H */
