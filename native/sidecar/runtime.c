/* sidecar/runtime.c — Init → Loop → Dispose, the one loop of both Sidecar modes (see runtime.h). */
#include "runtime.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Commands consumed per ns_ring_read: the head is stored once per batch (one release instead of one per command).
 * Which commands of an unreleased batch are finished is told by the progress counters of wire-format §8.3, not by
 * the head, so a restarting host delivers none of them again. */
#define NS_RUNTIME_BATCH 64u
/* Park timeout between polls of should_stop and heartbeat bumps while idle. */
#define NS_RUNTIME_IDLE_POLL_NS 100000000LL

/* ---- control block: status words (sidecar-written, host-read) ---- */

static void set_state(ns_runtime *rt, uint32_t state) {
  /* release: pairs with the host's Atomics.load of state; everything written before (the error message, the
   * exit reason) is visible to a host that sees the new state. */
  NS_ATOMIC_STORE(&rt->control->state, state, NS_MO_RELEASE);
}

static void beat(ns_runtime *rt) {
  /* single writer: load+store instead of a locked RMW. Relaxed: the watchdog only needs to see it change. */
  uint32_t hb = NS_ATOMIC_LOAD(&rt->control->heartbeat, NS_MO_RELAXED);
  NS_ATOMIC_STORE(&rt->control->heartbeat, hb + 1u, NS_MO_RELAXED);
}

static void enter_call(ns_runtime *rt, uint32_t call) {
  beat(rt);
  NS_ATOMIC_STORE(&rt->control->in_plugin, call, NS_MO_RELAXED);
  rt->in_call = 1;
}

static void leave_call(ns_runtime *rt) {
  rt->in_call = 0;
  NS_ATOMIC_STORE(&rt->control->in_plugin, NS_SIDECAR_CALL_NONE, NS_MO_RELAXED);
  beat(rt);
}

static void write_error(ns_runtime *rt, const char *message) {
  size_t n = strlen(message);
  if (n > NS_SIDECAR_ERROR_MAX) n = NS_SIDECAR_ERROR_MAX;
  memcpy(rt->control->error, message, n);
  rt->control->error_length = (uint32_t)n;
}

void ns_runtime_fail(ns_runtime *rt, uint32_t reason, int32_t code, const char *message) {
  write_error(rt, message);
  NS_ATOMIC_STORE(&rt->control->error_code, (uint32_t)code, NS_MO_RELAXED);
  NS_ATOMIC_STORE(&rt->control->exit_reason, reason, NS_MO_RELAXED);
  set_state(rt, NS_SIDECAR_STATE_FAILED); /* release: orders the three stores above before it */
  /* Closing wakes the host's parked event reader so it learns of the failure now, not at its next timeout. */
  ns_ring_close_producer(&rt->events);
  ns_ring_close_consumer(&rt->commands);
}

/* ---- attach ---- */

static int attach_ring(ns_ring *ring, uint8_t *base, const ns_region_header *h, uint32_t index) {
  const ns_segment_entry *s;
  if (index >= h->segment_count) return -1;
  s = &h->segments[index];
  if (s->kind != NS_SEGMENT_KIND_RING) return -1;
  return ns_ring_attach(ring, base + s->offset, s->size) == NS_RING_OK ? 0 : -1;
}

int ns_runtime_attach(ns_runtime *rt, uint8_t *region_base, const ns_region_header *header, ns_wait_policy wait) {
  uint32_t i, control_size = 0, command_segment, event_segment, config_length;
  ns_sidecar_control *control = NULL;
  memset(rt, 0, sizeof *rt);
  for (i = 0; i < header->segment_count; i++) {
    if (header->segments[i].kind == NS_SEGMENT_KIND_SIDECAR_CONTROL) {
      control = (ns_sidecar_control *)(region_base + header->segments[i].offset);
      control_size = header->segments[i].size;
      break;
    }
  }
  if (control == NULL || control_size < NS_SIDECAR_CONTROL_SIZE) return (int)NS_SIDECAR_EXIT_BAD_REGION;
  rt->control = control;
  /* The descriptor is host-written and never trusted: read each field once into a local, then validate. */
  command_segment = control->command_segment;
  event_segment = control->event_segment;
  config_length = control->config_length;
  if (control->magic != NS_SIDECAR_MAGIC || control->version != NS_SIDECAR_VERSION ||
      control->header_size != NS_SIDECAR_CONTROL_SIZE || config_length > control_size - NS_SIDECAR_CONTROL_SIZE ||
      command_segment == event_segment) {
    rt->control = NULL; /* not a control block we may write to */
    return (int)NS_SIDECAR_EXIT_BAD_REGION;
  }
  NS_ATOMIC_STORE(&control->pid, (uint32_t)getpid(), NS_MO_RELAXED);
  set_state(rt, NS_SIDECAR_STATE_LOADING);
  rt->config = (const uint8_t *)control + NS_SIDECAR_CONTROL_SIZE;
  rt->config_length = config_length;
  rt->host_flags = control->host_flags;
  /* Host-written and untrusted, read once: any value is harmless, it only flags that many leading commands. */
  rt->redeliver_remaining = control->redelivered;
  rt->wait = wait;
  rt->idle_poll_ns = NS_RUNTIME_IDLE_POLL_NS;
  if (attach_ring(&rt->commands, region_base, header, command_segment) != 0 ||
      attach_ring(&rt->events, region_base, header, event_segment) != 0) {
    write_error(rt, "The sidecar region's command or event ring segment is missing or failed validation.");
    NS_ATOMIC_STORE(&control->exit_reason, NS_SIDECAR_EXIT_BAD_REGION, NS_MO_RELAXED);
    set_state(rt, NS_SIDECAR_STATE_FAILED);
    return (int)NS_SIDECAR_EXIT_BAD_REGION;
  }
  return 0;
}

/* ---- publishing messages on the event ring (producer end, this thread only) ---- */

static int wait_space(ns_runtime *rt, uint32_t payload_length) {
  for (;;) {
    int rc = ns_ring_wait_writable(&rt->events, payload_length, &rt->wait, rt->idle_poll_ns);
    if (rc == NS_RING_OK) return NS_RING_OK;
    if (rc != NS_RING_ETIMEDOUT) return rc;
    beat(rt); /* blocked on a slow host is not hung: keep the watchdog fed */
    if (rt->should_stop != NULL && rt->should_stop(rt->should_stop_ctx)) return NS_RING_ECLOSED;
  }
}

/* Statistics (wire-format §8.4): display-only counters of what this thread committed to the event ring. Relaxed
 * load and store (this thread is their only writer; no read-modify-write needed); they pair with nothing: a reader
 * outside sees them some time later, in any order. */
static void count_message(ns_runtime *rt, uint32_t kind) {
  NS_ATOMIC_STORE(&rt->control->messages_sent, NS_ATOMIC_LOAD(&rt->control->messages_sent, NS_MO_RELAXED) + 1u,
                  NS_MO_RELAXED);
  if (kind == NS_SIDECAR_MSG_REPLY)
    NS_ATOMIC_STORE(&rt->control->replies_sent, NS_ATOMIC_LOAD(&rt->control->replies_sent, NS_MO_RELAXED) + 1u,
                    NS_MO_RELAXED);
}

/* Writes one message {arg0, arg1, data} of `kind`; claim + commit so the data is copied once, straight into the
 * ring. Returns an NS_PLUGIN_* code. */
static int put_message(ns_runtime *rt, uint32_t kind, uint32_t arg0, uint32_t arg1, const void *data,
                       uint32_t length) {
  ns_sidecar_msg_header header;
  void *slot;
  int rc;
  if (rt->host_gone) return NS_PLUGIN_ECLOSED;
  if (length > rt->services.max_message) return NS_PLUGIN_ETOOBIG;
  header.arg0 = arg0;
  header.arg1 = arg1;
  for (;;) {
    rc = ns_ring_try_claim(&rt->events, NS_SIDECAR_MSG_HEADER_SIZE + length, &slot);
    if (rc == NS_RING_OK) {
      memcpy(slot, &header, sizeof header);
      if (length > 0) memcpy((uint8_t *)slot + NS_SIDECAR_MSG_HEADER_SIZE, data, length);
      rc = ns_ring_commit(&rt->events, kind); /* release of tail: pairs with the host's acquire load of tail */
      if (rc == NS_RING_OK) {
        count_message(rt, kind);
        return NS_PLUGIN_OK;
      }
    } else if (rc == NS_RING_EFULL) {
      rc = wait_space(rt, NS_SIDECAR_MSG_HEADER_SIZE + length);
      if (rc == NS_RING_OK) continue;
    }
    if (rc == NS_RING_ETOOBIG) return NS_PLUGIN_ETOOBIG;
    /* ECLOSED: the host closed its end. Anything else: the host corrupted the ring; stop using it either way. */
    if (rc != NS_RING_ECLOSED) rt->failed = 1;
    rt->host_gone = 1;
    return NS_PLUGIN_ECLOSED;
  }
}

/* ---- host services (the table the plugin calls) ---- */

static ns_runtime *services_owner(const ns_host_services *host) {
  ns_runtime *rt;
  if (host == NULL) return NULL;
  rt = (ns_runtime *)host->context;
  /* The event ring has one producer: the runtime thread. A plugin thread of its own must not write to it, so it gets
   * NS_PLUGIN_ESTATE. loop_thread is written before the plugin's first call, so any thread the plugin starts reads it
   * after that write; in_call is then read only by the runtime thread itself. */
  if (rt == NULL || !pthread_equal(pthread_self(), rt->loop_thread)) return NULL;
  return rt->in_call ? rt : NULL;
}

static int service_emit_event(const ns_host_services *host, uint32_t event_id, const void *data, uint32_t length) {
  ns_runtime *rt = services_owner(host);
  if (rt == NULL) return NS_PLUGIN_ESTATE;
  if (data == NULL && length > 0) return NS_PLUGIN_EINVAL;
  return put_message(rt, NS_SIDECAR_MSG_EVENT, event_id, 0, data, length);
}

static int service_reply(const ns_host_services *host, uint32_t request_id, const void *data, uint32_t length) {
  ns_runtime *rt = services_owner(host);
  int rc;
  if (rt == NULL) return NS_PLUGIN_ESTATE;
  if (request_id == 0 || (data == NULL && length > 0)) return NS_PLUGIN_EINVAL;
  rc = put_message(rt, NS_SIDECAR_MSG_REPLY, request_id, 0, data, length);
  if (request_id == rt->current_request) rt->replied = 1;
  return rc;
}

static uint32_t service_command_flags(const ns_host_services *host) {
  ns_runtime *rt = services_owner(host);
  /* current_flags is non-zero only while process runs (0 during init and dispose) */
  return rt == NULL ? 0u : rt->current_flags;
}

static void service_log(const ns_host_services *host, int level, const char *message) {
  ns_runtime *rt = services_owner(host);
  size_t n;
  if (rt == NULL || message == NULL) return;
  n = strlen(message);
  if (n > rt->services.max_message) n = rt->services.max_message;
  (void)put_message(rt, NS_SIDECAR_MSG_LOG, (uint32_t)level, 0, message, (uint32_t)n);
}

static void logf_warn(ns_runtime *rt, const char *format, ...) {
  char line[256];
  va_list ap;
  va_start(ap, format);
  vsnprintf(line, sizeof line, format, ap);
  va_end(ap);
  (void)put_message(rt, NS_SIDECAR_MSG_LOG, NS_LOG_WARN, 0, line, (uint32_t)strlen(line));
}

/* ---- the loop ---- */

/* Advances one of the progress counters of §8.3 (single writer: load + store instead of a locked RMW). */
static void count(NS_ATOMIC_U32 *counter) {
  uint32_t n = NS_ATOMIC_LOAD(counter, NS_MO_RELAXED); /* relaxed: only this thread writes it */
  /* release: pairs with the host's load of the counter (Atomics.load, seq_cst): a host that sees the new count sees
   * everything this thread did for the command before it — the claim CAS for `started`; the return of process, its
   * events and its failure REPLY for `completed`. */
  NS_ATOMIC_STORE(counter, n + 1u, NS_MO_RELEASE);
}

/* Takes the command whose claim word (its arg1, §8.3) is `word`. Returns 1 when it is ours to process, with the
 * host's value (0 or the request id) in *value; 0 when the host withdrew it (skip it); -1 on a protocol error. */
static int claim(NS_ATOMIC_U32 *word, uint32_t *value) {
  /* acquire: pairs with the host's withdrawal CAS (Atomics.compareExchange, seq_cst): a withdrawn word is seen as
   * such together with whatever the host wrote before it. */
  uint32_t v = NS_ATOMIC_LOAD(word, NS_MO_ACQUIRE);
  uint32_t expected = v;
  if (v == NS_SIDECAR_CMD_WITHDRAWN) return 0;
  if (v & NS_SIDECAR_CMD_STARTED_BIT) return -1; /* only this sidecar sets the bit, and it takes each command once */
  /* acq_rel on success: the RMWs on this word are totally ordered, so of this CAS and the host's withdrawal CAS
   * exactly one wins; release: pairs with the host's withdrawal CAS that loses (it then reads STARTED), acquire:
   * pairs with the host's writes of the word (its initial value, published with tail, edge #1). acquire on failure:
   * pairs with the host's withdrawal CAS that won. */
  if (NS_ATOMIC_CAS(word, &expected, v | NS_SIDECAR_CMD_STARTED_BIT, NS_MO_ACQ_REL, NS_MO_ACQUIRE)) {
    *value = v;
    return 1;
  }
  /* The word changed between the load and the CAS: the only change the host may make is a withdrawal. */
  return expected == NS_SIDECAR_CMD_WITHDRAWN ? 0 : -1;
}

static int on_command(void *ctx, uint32_t kind, const uint8_t *payload, uint32_t length) {
  ns_runtime *rt = (ns_runtime *)ctx;
  uint32_t type, request_id = 0;
  const uint8_t *data;
  uint32_t data_length;
  uint32_t flags = 0;
  int rc;
  if (kind != NS_SIDECAR_MSG_COMMAND || length < NS_SIDECAR_MSG_HEADER_SIZE) {
    rt->failed = 1;
    return 1; /* stop after this record: the host wrote something that is not a command */
  }
  memcpy(&type, payload, sizeof type); /* arg0: host-written before publication, read once */
  data = payload + NS_SIDECAR_MSG_HEADER_SIZE;
  data_length = length - NS_SIDECAR_MSG_HEADER_SIZE;
  if (rt->redeliver_remaining > 0) {
    /* Counted per command taken, withdrawn ones included: `redelivered` names the first N commands of the ring. */
    rt->redeliver_remaining--;
    flags = NS_COMMAND_REDELIVERED;
  }
  /* arg1 is the claim word (§8.3). The payload is 8-byte aligned (§4), so arg1 is an aligned u32 of the shared
   * mapping: the ring handler's const view is cast away for the claim, the only write the sidecar makes to a
   * command record. */
  rc = claim((NS_ATOMIC_U32 *)(void *)((uint8_t *)(uintptr_t)payload + 4u), &request_id);
  if (rc < 0) {
    rt->failed = 1;
    return 1; /* a started bit the sidecar did not set, or a change other than a withdrawal: protocol error */
  }
  if (rc == 0) {
    /* Withdrawn: taken and finished at once, without a process call, a PROCESS message or a reply. */
    count(&rt->control->started);
    count(&rt->control->completed);
    return rt->failed;
  }
  if (rt->host_flags & NS_SIDECAR_HOST_WANTS_PROCESS) {
    /* Sent before process so host.process(data) runs before any event the command causes. A command larger than
     * the event ring allows is announced without its bytes rather than not at all. */
    if (put_message(rt, NS_SIDECAR_MSG_PROCESS, type, request_id, data, data_length) == NS_PLUGIN_ETOOBIG)
      (void)put_message(rt, NS_SIDECAR_MSG_PROCESS, type, request_id, NULL, 0);
  }
  rt->current_request = request_id;
  rt->current_flags = flags;
  rt->replied = 0;
  /* Stored right before the call, after the claim and the PROCESS message: started = completed + 1 after a death
   * says process may have run for this command (no earlier step runs plugin code). */
  count(&rt->control->started);
  enter_call(rt, NS_SIDECAR_CALL_PROCESS);
  rc = rt->plugin->process(rt->state, type, data, data_length, request_id);
  leave_call(rt);
  rt->current_flags = 0;
  NS_ATOMIC_STORE(&rt->control->processed,
                        NS_ATOMIC_LOAD(&rt->control->processed, NS_MO_RELAXED) + 1u,
                        NS_MO_RELAXED);
  if (rc != 0) {
    if (request_id != 0 && !rt->replied)
      (void)put_message(rt, NS_SIDECAR_MSG_REPLY, request_id, (uint32_t)rc, NULL, 0);
    else if (request_id == 0)
      logf_warn(rt, "The plugin's process returned %d for a command of type %u.", rc, type);
  }
  rt->current_request = 0;
  /* After the failure REPLY was committed and before ns_ring_read stores the head past this record (edge #3 of §5):
   * a host that sees the head past a command sees `completed` past it too. */
  count(&rt->control->completed);
  return rt->failed;
}

static uint32_t run_init(ns_runtime *rt) {
  char error[NS_SIDECAR_ERROR_MAX];
  char message[NS_SIDECAR_ERROR_MAX + 64];
  int rc;
  error[0] = '\0';
  set_state(rt, NS_SIDECAR_STATE_INITIALIZING);
  enter_call(rt, NS_SIDECAR_CALL_INIT);
  rc = rt->plugin->init(&rt->services, rt->config_length > 0 ? rt->config : NULL, rt->config_length, &rt->state,
                        error, (uint32_t)sizeof error);
  leave_call(rt);
  if (rc != 0) {
    error[sizeof error - 1] = '\0';
    snprintf(message, sizeof message, "The plugin's init failed with code %d%s%s", rc, error[0] ? ": " : ".",
             error);
    ns_runtime_fail(rt, NS_SIDECAR_EXIT_INIT_FAILED, rc, message);
    return NS_SIDECAR_EXIT_INIT_FAILED;
  }
  (void)put_message(rt, NS_SIDECAR_MSG_READY, 0, 0, NULL, 0);
  set_state(rt, NS_SIDECAR_STATE_RUNNING);
  return 0;
}

/* Reads commands until the host closes the command ring and it is empty. Returns an NS_SIDECAR_EXIT_* reason. */
static uint32_t run_loop(ns_runtime *rt) {
  for (;;) {
    int n = ns_ring_read(&rt->commands, on_command, rt, NS_RUNTIME_BATCH);
    if (rt->failed) return NS_SIDECAR_EXIT_CORRUPT;
    if (n > 0) {
      beat(rt);
      continue;
    }
    if (n == 0 || n == NS_RING_EEMPTY) {
      int rc = ns_ring_wait_readable(&rt->commands, &rt->wait, rt->idle_poll_ns);
      if (rc == NS_RING_OK) continue;
      if (rc == NS_RING_ETIMEDOUT) {
        beat(rt);
        if (rt->should_stop != NULL && rt->should_stop(rt->should_stop_ctx)) return NS_SIDECAR_EXIT_PARENT_DIED;
        continue;
      }
      n = rc;
    }
    if (n == NS_RING_ECLOSED) {
      /* Closed may be seen before the last records are drained: read until the ring says empty. */
      n = ns_ring_read(&rt->commands, on_command, rt, NS_RUNTIME_BATCH);
      if (rt->failed) return NS_SIDECAR_EXIT_CORRUPT;
      if (n > 0) continue;
      if (n == 0 || n == NS_RING_EEMPTY || n == NS_RING_ECLOSED) return NS_SIDECAR_EXIT_NORMAL;
    }
    rt->failed = 1;
    return NS_SIDECAR_EXIT_CORRUPT;
  }
}

static void run_dispose(ns_runtime *rt) {
  set_state(rt, NS_SIDECAR_STATE_DISPOSING);
  enter_call(rt, NS_SIDECAR_CALL_DISPOSE);
  rt->plugin->dispose(rt->state);
  leave_call(rt);
  rt->state = NULL;
  (void)put_message(rt, NS_SIDECAR_MSG_DISPOSED, 0, 0, NULL, 0);
}

uint32_t ns_runtime_run(ns_runtime *rt, const ns_plugin *plugin) {
  uint32_t reason;
  rt->plugin = plugin;
  rt->loop_thread = pthread_self();
  rt->services.abi_version = NS_PLUGIN_ABI_VERSION;
  rt->services.struct_size = (uint32_t)sizeof rt->services;
  rt->services.context = rt;
  rt->services.max_message = rt->events.max_payload - NS_SIDECAR_MSG_HEADER_SIZE;
  rt->services.emit_event = service_emit_event;
  rt->services.reply = service_reply;
  rt->services.log = service_log;
  rt->services.command_flags = service_command_flags; /* ABI 1.1 */
  NS_ATOMIC_STORE(&rt->control->error_code, 0, NS_MO_RELAXED);
  reason = run_init(rt);
  if (reason != 0) return reason;
  reason = run_loop(rt);
  if (reason == NS_SIDECAR_EXIT_PARENT_DIED) {
    /* Nobody is left to hear dispose's messages; the OS reclaims everything when the process exits. */
    ns_runtime_fail(rt, reason, 0, "The host process went away; the sidecar stopped without running dispose.");
    return reason;
  }
  run_dispose(rt);
  if (reason == NS_SIDECAR_EXIT_CORRUPT) {
    ns_runtime_fail(rt, reason, 0,
                    "The sidecar stopped because a ring failed validation or the host wrote a malformed command.");
    return reason;
  }
  NS_ATOMIC_STORE(&rt->control->exit_reason, NS_SIDECAR_EXIT_NORMAL, NS_MO_RELAXED);
  set_state(rt, NS_SIDECAR_STATE_EXITED); /* release: before the close below wakes the host */
  ns_ring_close_producer(&rt->events);
  ns_ring_close_consumer(&rt->commands);
  return NS_SIDECAR_EXIT_NORMAL;
}

uint32_t ns_runtime_main(uint8_t *region_base, const ns_region_header *header, const char *plugin_path,
                         ns_wait_policy wait, int event_wake_fd, const ns_sched_config *sched,
                         const ns_runtime_hooks *hooks) {
  ns_runtime rt;
  void *handle = NULL;
  const ns_plugin *plugin = NULL;
  char message[NS_SIDECAR_ERROR_MAX];
  uint32_t reason;
  if (ns_runtime_attach(&rt, region_base, header, wait) != 0) return NS_SIDECAR_EXIT_BAD_REGION;
  /* Set before anything is published on the event ring (even a start failure's close), so every wake of the host's
   * consumer reaches its eventfd; the futex wake stays for a host that parks on the futex instead. */
  (void)ns_ring_set_consumer_wake_fd(&rt.events, event_wake_fd);
  rt.should_stop = hooks != NULL ? hooks->should_stop : NULL;
  rt.should_stop_ctx = hooks != NULL ? hooks->ctx : NULL;
  if (sched != NULL) {
    /* Before the sandbox (before_load): its seccomp filter and user namespace would refuse or void these calls. */
    uint32_t applied = 0;
    int err = 0;
    message[0] = '\0';
    reason = ns_sched_apply(sched, &applied, &err, message, sizeof message);
    /* Relaxed: published by the READY record's commit or by set_state(FAILED), like the sandbox words below. */
    NS_ATOMIC_STORE(&rt.control->sched, applied, NS_MO_RELAXED);
    if (reason != 0) {
      ns_runtime_fail(&rt, reason, err, message);
      return reason;
    }
  }
  if (hooks != NULL && hooks->before_load != NULL) {
    uint32_t sandbox = 0, landlock_abi = 0;
    message[0] = '\0';
    reason = hooks->before_load(hooks->ctx, &sandbox, &landlock_abi, message, sizeof message);
    /* Relaxed: the host reads these after READY or after state = FAILED, whose release stores (the READY record's
     * commit, set_state) order them — the same edges that publish every other status word. */
    NS_ATOMIC_STORE(&rt.control->sandbox, sandbox, NS_MO_RELAXED);
    NS_ATOMIC_STORE(&rt.control->landlock_abi, landlock_abi, NS_MO_RELAXED);
    if (reason != 0) {
      ns_runtime_fail(&rt, reason, 0, message);
      return reason;
    }
  }
  reason = ns_plugin_load(plugin_path, &handle, &plugin, message, sizeof message);
  if (reason != 0) {
    ns_runtime_fail(&rt, reason, 0, message);
    return reason;
  }
  reason = ns_runtime_run(&rt, plugin);
  /* Unloaded only after dispose returned: no plugin code runs any more. A plugin that left threads running is
   * outside the ABI (docs/plugin-abi.md). */
  dlclose(handle);
  return reason;
}
