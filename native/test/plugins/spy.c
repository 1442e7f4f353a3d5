/* spy.c — a hostile test plugin: each request is one attempt an attacker would make from inside a sidecar process,
 * and the reply says what the kernel answered, so test/sandbox.test.ts can check that the sandbox refuses exactly
 * what it must and allows exactly what a widened profile lists.
 *
 * Request: type = the attempt, payload = its argument as text (a path, a pid, a name, a number). Reply: a
 * little-endian i32 — 0 when the attempt succeeded, else the errno it failed with — followed by attempt-specific
 * bytes (what was read, a count). The plugin never crashes on a refusal; only type 7 crashes on purpose.
 *
 *   1 read PATH        open O_RDONLY and read up to 64 bytes (returned)
 *   2 write PATH       open O_WRONLY|O_CREAT|O_TRUNC 0600 and write "spy"
 *   3 ptrace PID       PTRACE_ATTACH (detaches again if it worked)
 *   4 connect PORT     TCP connect to 127.0.0.1:PORT
 *   5 getenv NAME      0 and the value when set, ENOENT when not
 *   6 alloc BYTES      malloc and touch every page; ENOMEM (no crash) when malloc refuses
 *   7 alloc! BYTES     the same without a NULL check: a careless plugin that crashes when the limit bites
 *   8 vmread PID       process_vm_readv of 8 bytes of PID (at this process's own stack address)
 *   9 kill PID         kill(PID, 0)
 *  10 fds PID          open every /proc/PID/fd/N for N < 1024; 0 and the count (u32) of those that opened
 *  11 burn             spin on the CPU forever
 *  12 spawn PATH       posix_spawn PATH (no arguments) and wait; 0 when it ran
 *  13 renice PID       setpriority(PRIO_PROCESS, PID, 19)
 *  15 thread          pthread_create and join a thread that writes a word; 0 when it ran
 *  16 fork            fork(); the child _exits at once; 0 when it worked
 *  14 fdcount          0 and the number (u32) of open descriptors of this process, read with close_range-free
 *                      probing (fcntl F_GETFD on 0 … 1023), then the list as u32s */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "native_sidecar/plugin.h"

extern char **environ;

static void *thread_body(void *arg) {
  *(volatile int *)arg = 42;
  return NULL;
}

static int spy_init(const ns_host_services *host, const uint8_t *config, uint32_t config_length, void **state,
                    char *error, uint32_t error_size) {
  (void)config;
  (void)config_length;
  (void)error;
  (void)error_size;
  *state = (void *)host;
  return 0;
}

static int reply(const ns_host_services *host, uint32_t id, int result, const void *extra, uint32_t length) {
  uint8_t out[4 + 4096];
  uint32_t r = (uint32_t)result;
  if (length > 4096) length = 4096;
  out[0] = (uint8_t)r;
  out[1] = (uint8_t)(r >> 8);
  out[2] = (uint8_t)(r >> 16);
  out[3] = (uint8_t)(r >> 24);
  if (length > 0) memcpy(out + 4, extra, length);
  return host->reply(host, id, out, 4 + length);
}

static int spy_process(void *state, uint32_t type, const uint8_t *payload, uint32_t length, uint32_t id) {
  const ns_host_services *host = (const ns_host_services *)state;
  char arg[512];
  long number;
  if (id == 0) return 0;
  if (length >= sizeof arg) length = sizeof arg - 1;
  memcpy(arg, payload, length);
  arg[length] = '\0';
  number = strtol(arg, NULL, 10);
  switch (type) {
    case 1: {
      char buffer[64];
      ssize_t n;
      int fd = open(arg, O_RDONLY | O_CLOEXEC);
      if (fd < 0) return reply(host, id, errno, NULL, 0);
      n = read(fd, buffer, sizeof buffer);
      close(fd);
      if (n < 0) return reply(host, id, errno, NULL, 0);
      return reply(host, id, 0, buffer, (uint32_t)n);
    }
    case 2: {
      int fd = open(arg, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
      if (fd < 0) return reply(host, id, errno, NULL, 0);
      if (write(fd, "spy", 3) != 3) {
        int e = errno;
        close(fd);
        return reply(host, id, e, NULL, 0);
      }
      close(fd);
      return reply(host, id, 0, NULL, 0);
    }
    case 3:
      if (ptrace(PTRACE_ATTACH, (pid_t)number, NULL, NULL) != 0) return reply(host, id, errno, NULL, 0);
      (void)waitpid((pid_t)number, NULL, __WALL);
      (void)ptrace(PTRACE_DETACH, (pid_t)number, NULL, NULL);
      return reply(host, id, 0, NULL, 0);
    case 4: {
      struct sockaddr_in to;
      int e, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      if (fd < 0) return reply(host, id, errno, NULL, 0);
      memset(&to, 0, sizeof to);
      to.sin_family = AF_INET;
      to.sin_port = htons((uint16_t)number);
      to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      e = connect(fd, (struct sockaddr *)&to, sizeof to) == 0 ? 0 : errno;
      close(fd);
      return reply(host, id, e, NULL, 0);
    }
    case 5: {
      const char *value = getenv(arg);
      if (value == NULL) return reply(host, id, ENOENT, NULL, 0);
      return reply(host, id, 0, value, (uint32_t)strlen(value));
    }
    case 6:
    case 7: {
      size_t bytes = (size_t)strtoull(arg, NULL, 10), i;
      volatile uint8_t *p = (volatile uint8_t *)malloc(bytes);
      if (p == NULL && type == 6) return reply(host, id, ENOMEM, NULL, 0);
      for (i = 0; i < bytes; i += 4096) p[i] = 1; /* type 7: a NULL p crashes here, as careless code would */
      free((void *)p);
      return reply(host, id, 0, NULL, 0);
    }
    case 8: {
      uint64_t word = 0, mine = 0;
      struct iovec local = {&word, sizeof word}, remote = {&mine, sizeof mine};
      if (process_vm_readv((pid_t)number, &local, 1, &remote, 1, 0) < 0) return reply(host, id, errno, NULL, 0);
      return reply(host, id, 0, NULL, 0);
    }
    case 9:
      return reply(host, id, kill((pid_t)number, 0) == 0 ? 0 : errno, NULL, 0);
    case 10: {
      char path[64];
      uint32_t opened = 0;
      int n, first_error = 0;
      for (n = 0; n < 1024; n++) {
        int fd;
        snprintf(path, sizeof path, "/proc/%ld/fd/%d", number, n);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
          opened++;
          close(fd);
        } else if (first_error == 0 && errno != ENOENT) {
          first_error = errno;
        }
      }
      return reply(host, id, opened > 0 ? 0 : (first_error != 0 ? first_error : ENOENT), &opened, sizeof opened);
    }
    case 11:
      for (;;) {
        static volatile uint64_t sink;
        sink++;
      }
    case 12: {
      pid_t child;
      int status, e;
      char *argv[] = {arg, NULL};
      e = posix_spawn(&child, arg, NULL, NULL, argv, environ);
      if (e != 0) return reply(host, id, e, NULL, 0);
      if (waitpid(child, &status, 0) < 0) return reply(host, id, errno, NULL, 0);
      /* glibc reports a failed exec in the child as exit status 127 */
      return reply(host, id, WIFEXITED(status) && WEXITSTATUS(status) == 127 ? EACCES : 0, NULL, 0);
    }
    case 13:
      return reply(host, id, setpriority(PRIO_PROCESS, (id_t)number, 19) == 0 ? 0 : errno, NULL, 0);
    case 14: {
      uint32_t list[1 + 1024];
      uint32_t count = 0;
      int fd;
      for (fd = 0; fd < 1024; fd++)
        if (fcntl(fd, F_GETFD) != -1) list[1 + count++] = (uint32_t)fd;
      list[0] = count;
      return reply(host, id, 0, list, (1 + count) * 4);
    }
    case 15: {
      pthread_t thread;
      volatile int word = 0;
      int e = pthread_create(&thread, NULL, thread_body, (void *)&word);
      if (e != 0) return reply(host, id, e, NULL, 0);
      pthread_join(thread, NULL);
      return reply(host, id, word == 42 ? 0 : EIO, NULL, 0);
    }
    case 16: {
      pid_t child = fork();
      if (child < 0) return reply(host, id, errno, NULL, 0);
      if (child == 0) _exit(0);
      (void)waitpid(child, NULL, 0);
      return reply(host, id, 0, NULL, 0);
    }
    default:
      return reply(host, id, EINVAL, NULL, 0);
  }
}

static void spy_dispose(void *state) { (void)state; }

static const ns_plugin spy_plugin = {
    NS_PLUGIN_ABI_VERSION, sizeof(ns_plugin), "spy", spy_init, spy_process, spy_dispose,
};

NS_PLUGIN_EXPORT const ns_plugin *ns_plugin_get(uint32_t host_abi_version) {
  (void)host_abi_version;
  return &spy_plugin;
}
