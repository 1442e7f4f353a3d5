/* native-sidecar-host — process mode of a Sidecar: runs the runtime loop of runtime.c over a region received on an
 * inherited file descriptor, with a plugin loaded by dlopen.
 *
 *   native-sidecar-host --fd N (--plugin PATH | --plugin-fd P) --parent-pid PID [--wait spin|spin-then-park|park]
 *                       [--spin-us N] [--wake-fd M]
 *                       [--sandbox [--best-effort] [--network] [--read PATH]… [--write PATH]…
 *                        [--limit-memory BYTES] [--limit-cpu SECONDS] [--limit-files N]]
 *                       [--cpus LIST] [--sched-policy other|batch|idle|fifo|rr] [--sched-priority N] [--nice N]
 *
 * --plugin-fd P: the plugin file, opened and checked by the host (Node); the loaded library is that open file
 * (dlopen of /proc/self/fd/P), never a path looked up again, so a file swapped in after the check is not what runs.
 * --sandbox: confine the process before the plugin is loaded (sandbox.h; docs/security.md); needs --plugin-fd. The
 * other options are its knobs: keep going when a required layer is missing, allow sockets, paths readable or
 * writable beneath, resource limits. Paths must be absolute; at most NS_SANDBOX_MAX_PATHS of each.
 *
 * --cpus, --sched-policy, --sched-priority, --nice: the scheduling of the process (scheduling.h; the Sidecar option
 * `scheduling`): CPU numbers separated by commas, a policy (fifo and rr need --sched-priority 1…99, the others take
 * none), a nice value −20…19. Applied to the process's one thread before the sandbox and the plugin; a refusal by the
 * kernel ends the start with NS_SIDECAR_EXIT_SCHEDULING (the control block says which option and which errno).
 *
 * --wake-fd M: an inherited eventfd of the host (its EventfdParker); the runtime writes it on every wake of the
 * host's event-ring consumer (wire-format §5.1.1). It stays open for the life of the process.
 *
 * Exit status: 0 when the host stopped it normally (dispose ran); NS_SIDECAR_EXIT_CODE_BASE + NS_SIDECAR_EXIT_* for
 * every other end (the control block holds the same reason and a sentence). A crash of the plugin ends the process by
 * its signal, which the host sees as such.
 *
 * Lifetime: the process dies with its parent. PR_SET_PDEATHSIG delivers SIGKILL when the parent exits (even by
 * SIGKILL); the getppid() check after it closes the window in which the parent died before the prctl call; and the
 * idle loop re-checks getppid() in case the death signal is lost. The region is a memfd, so there is no name to
 * unlink: the memory is freed when the last mapping goes. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "native_sidecar/region.h"
#include "runtime.h"
#include "sandbox.h"
#include "scheduling.h"

typedef struct options {
  int fd;
  int wake_fd; /* -1: none */
  const char *plugin;
  int plugin_fd; /* -1: load `plugin` by path */
  char plugin_fd_path[32];
  long parent_pid;
  ns_wait_policy wait;
  int sandbox;
  ns_sandbox_config confine;
  int scheduling; /* any of --cpus, --sched-policy, --nice given */
  ns_sched_config sched;
} options;

static int usage(const char *problem) {
  fprintf(stderr,
          "native-sidecar-host: %s\n"
          "usage: native-sidecar-host --fd N (--plugin PATH | --plugin-fd P) --parent-pid PID "
          "[--wait spin|spin-then-park|park] [--spin-us N] [--wake-fd M] [--sandbox [--best-effort] [--network] "
          "[--read PATH]... [--write PATH]... [--limit-memory BYTES] [--limit-cpu SECONDS] [--limit-files N]] "
          "[--cpus LIST] [--sched-policy other|batch|idle|fifo|rr] [--sched-priority N] [--nice N]\n",
          problem);
  return NS_SIDECAR_EXIT_CODE_BASE + (int)NS_SIDECAR_EXIT_USAGE;
}

static int parse_long(const char *text, long min, long max, long *out) {
  char *end;
  long v;
  errno = 0;
  v = strtol(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || v < min || v > max) return -1;
  *out = v;
  return 0;
}

static int parse_options(int argc, char **argv, options *o) {
  int i;
  long v;
  ns_wait_policy defaults = NS_WAIT_POLICY_DEFAULT;
  o->fd = -1;
  o->wake_fd = -1;
  o->plugin = NULL;
  o->plugin_fd = -1;
  o->parent_pid = 0;
  o->wait = defaults;
  o->sandbox = 0;
  memset(&o->confine, 0, sizeof o->confine);
  o->scheduling = 0;
  ns_sched_init(&o->sched);
  for (i = 1; i < argc; i++) {
    const char *arg = argv[i];
    const char *value = i + 1 < argc ? argv[i + 1] : NULL;
    /* Flags without a value. */
    if (strcmp(arg, "--sandbox") == 0) {
      o->sandbox = 1;
      continue;
    } else if (strcmp(arg, "--best-effort") == 0) {
      o->confine.best_effort = 1;
      continue;
    } else if (strcmp(arg, "--network") == 0) {
      o->confine.network = 1;
      continue;
    }
    if (value == NULL) return -1;
    if (strcmp(arg, "--fd") == 0) {
      if (parse_long(value, 0, 1 << 20, &v) != 0) return -1;
      o->fd = (int)v;
    } else if (strcmp(arg, "--wake-fd") == 0) {
      /* Must be an open descriptor: writing a number that names nothing (or, later, something else) is refused. */
      if (parse_long(value, 0, 1 << 20, &v) != 0 || fcntl((int)v, F_GETFD) == -1) return -1;
      o->wake_fd = (int)v;
    } else if (strcmp(arg, "--plugin") == 0) {
      o->plugin = value;
    } else if (strcmp(arg, "--plugin-fd") == 0) {
      if (parse_long(value, 0, 1 << 20, &v) != 0 || fcntl((int)v, F_GETFD) == -1) return -1;
      o->plugin_fd = (int)v;
    } else if (strcmp(arg, "--read") == 0 || strcmp(arg, "--write") == 0) {
      int write = arg[2] == 'w';
      size_t *count = write ? &o->confine.write_count : &o->confine.read_count;
      if (value[0] != '/' || *count >= NS_SANDBOX_MAX_PATHS) return -1;
      (write ? o->confine.write_paths : o->confine.read_paths)[(*count)++] = value;
    } else if (strcmp(arg, "--limit-memory") == 0 || strcmp(arg, "--limit-cpu") == 0 ||
               strcmp(arg, "--limit-files") == 0) {
      char *end;
      unsigned long long limit;
      errno = 0;
      limit = strtoull(value, &end, 10);
      if (errno != 0 || end == value || *end != '\0' || limit == 0 || value[0] == '-') return -1;
      if (arg[8] == 'm') o->confine.memory_bytes = limit;
      else if (arg[8] == 'c') o->confine.cpu_seconds = limit;
      else o->confine.open_files = limit;
    } else if (strcmp(arg, "--cpus") == 0) {
      if (o->sched.set_cpus || ns_sched_parse_cpus(value, &o->sched.cpus) != 0) return -1;
      o->sched.set_cpus = o->scheduling = 1;
    } else if (strcmp(arg, "--sched-policy") == 0) {
      if (o->sched.set_policy || (o->sched.policy = ns_sched_parse_policy(value)) < 0) return -1;
      o->sched.set_policy = o->scheduling = 1;
    } else if (strcmp(arg, "--sched-priority") == 0) {
      if (o->sched.priority != 0 || parse_long(value, 1, 99, &v) != 0) return -1;
      o->sched.priority = (int)v;
    } else if (strcmp(arg, "--nice") == 0) {
      if (o->sched.set_nice || parse_long(value, -20, 19, &v) != 0) return -1;
      o->sched.nice = (int)v;
      o->sched.set_nice = o->scheduling = 1;
    } else if (strcmp(arg, "--parent-pid") == 0) {
      if (parse_long(value, 1, 0x7FFFFFFF, &o->parent_pid) != 0) return -1;
    } else if (strcmp(arg, "--wait") == 0) {
      if (strcmp(value, "spin") == 0) o->wait.mode = NS_WAIT_SPIN;
      else if (strcmp(value, "spin-then-park") == 0) o->wait.mode = NS_WAIT_SPIN_THEN_PARK;
      else if (strcmp(value, "park") == 0) o->wait.mode = NS_WAIT_PARK;
      else return -1;
    } else if (strcmp(arg, "--spin-us") == 0) {
      if (parse_long(value, 0, 1000000, &v) != 0) return -1;
      o->wait.spin_ns = (uint32_t)(v * 1000);
    } else {
      return -1;
    }
    i++;
  }
  if (o->plugin_fd >= 0) {
    snprintf(o->plugin_fd_path, sizeof o->plugin_fd_path, "/proc/self/fd/%d", o->plugin_fd);
    o->plugin = o->plugin_fd_path;
  }
  o->confine.plugin_fd = o->plugin_fd;
  o->confine.wake_fd = o->wake_fd;
  if (o->sandbox && o->plugin_fd < 0) return -1; /* the sandbox can only admit an open file */
  /* A real-time policy needs a priority and no nice; the others take no priority (the host validated the same). */
  {
    int realtime = o->sched.set_policy && (o->sched.policy == SCHED_FIFO || o->sched.policy == SCHED_RR);
    if (realtime != (o->sched.priority != 0)) return -1;
    if (o->sched.set_nice && o->sched.set_policy && o->sched.policy != SCHED_OTHER && o->sched.policy != SCHED_BATCH)
      return -1;
  }
  return o->fd >= 0 && o->fd != o->wake_fd && o->fd != o->plugin_fd && o->plugin != NULL && o->parent_pid > 0 ? 0 : -1;
}

/* ns_runtime_hooks.before_load: the sandbox, applied after the region was validated and before dlopen. */
static uint32_t confine(void *ctx, uint32_t *sandbox, uint32_t *landlock_abi, char *message, size_t message_size) {
  const options *o = (const options *)ctx;
  if (!o->sandbox) return 0;
  return ns_sandbox_apply(&o->confine, sandbox, landlock_abi, message, message_size);
}

static int parent_gone(void *ctx) { return (long)getppid() != ((const options *)ctx)->parent_pid; }

static int exit_code(uint32_t reason) {
  return reason == NS_SIDECAR_EXIT_NORMAL ? 0 : NS_SIDECAR_EXIT_CODE_BASE + (int)reason;
}

int main(int argc, char **argv) {
  options o;
  ns_region_map map;
  uint32_t reason;
  int rc;

  if (parse_options(argc, argv, &o) != 0) return usage("missing or invalid arguments");
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) return exit_code(NS_SIDECAR_EXIT_PARENT_DIED);
  if ((long)getppid() != o.parent_pid) return exit_code(NS_SIDECAR_EXIT_PARENT_DIED);
  signal(SIGPIPE, SIG_IGN);

  rc = ns_region_map_fd(o.fd, &map);
  close(o.fd); /* the mapping keeps the memory; no descriptor of the region stays open in this process */
  if (rc != NS_REGION_OK) {
    fprintf(stderr, "native-sidecar-host: the region on fd %d %s.\n", o.fd, ns_region_strerror(rc));
    return exit_code(NS_SIDECAR_EXIT_BAD_REGION);
  }
  {
    ns_runtime_hooks hooks;
    hooks.should_stop = parent_gone;
    hooks.before_load = confine;
    hooks.ctx = &o;
    reason = ns_runtime_main(map.base, &map.header, o.plugin, o.wait, o.wake_fd, o.scheduling ? &o.sched : NULL, &hooks);
  }
  if (reason == NS_SIDECAR_EXIT_SANDBOX)
    fprintf(stderr, "native-sidecar-host: the sandbox could not be applied; the control block says why.\n");
  if (reason == NS_SIDECAR_EXIT_SCHEDULING)
    fprintf(stderr, "native-sidecar-host: the requested scheduling was refused; the control block says why.\n");
  if (reason == NS_SIDECAR_EXIT_BAD_REGION)
    fprintf(stderr, "native-sidecar-host: the region on fd %d holds no valid sidecar control block or rings.\n", o.fd);
  return exit_code(reason);
}
