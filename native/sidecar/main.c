/* native-sidecar-host — process mode of a Sidecar: runs the runtime loop of runtime.c over a region received on an
 * inherited file descriptor, with a plugin loaded by dlopen.
 *
 *   native-sidecar-host --fd N --plugin PATH --parent-pid PID [--wait spin|spin-then-park|park] [--spin-us N]
 *                       [--wake-fd M]
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

typedef struct options {
  int fd;
  int wake_fd; /* -1: none */
  const char *plugin;
  long parent_pid;
  ns_wait_policy wait;
} options;

static int usage(const char *problem) {
  fprintf(stderr,
          "native-sidecar-host: %s\n"
          "usage: native-sidecar-host --fd N --plugin PATH --parent-pid PID [--wait spin|spin-then-park|park] "
          "[--spin-us N] [--wake-fd M]\n",
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
  o->parent_pid = 0;
  o->wait = defaults;
  for (i = 1; i < argc; i++) {
    const char *arg = argv[i];
    const char *value = i + 1 < argc ? argv[i + 1] : NULL;
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
  return o->fd >= 0 && o->fd != o->wake_fd && o->plugin != NULL && o->parent_pid > 0 ? 0 : -1;
}

static int parent_gone(void *ctx) { return (long)getppid() != *(const long *)ctx; }

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
  reason = ns_runtime_main(map.base, &map.header, o.plugin, o.wait, o.wake_fd, parent_gone, &o.parent_pid);
  if (reason == NS_SIDECAR_EXIT_BAD_REGION)
    fprintf(stderr, "native-sidecar-host: the region on fd %d holds no valid sidecar control block or rings.\n", o.fd);
  return exit_code(reason);
}
