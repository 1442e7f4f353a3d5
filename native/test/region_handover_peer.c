/* A C peer of the region handover (docs/wire-format.md §1.2), for test/region-handover.test.ts.
 *
 *   region_handover_peer serve <path> [--setuid UID] [--allow-any] [--clients N] [--fds N] [--silent]
 *       (optionally drops to UID first), creates a 64 KiB memfd sealed against shrinking with a valid region header
 *       and the byte 0x5a at offset 4096, listens on <path>, prints "ready", accepts a client, checks its uid
 *       (SO_PEERCRED: our own uid, or anyone with --allow-any), sends the fd, prints "sent" or "refused uid N"; after
 *       --clients clients (default 1; 0: until killed) it exits. A misbehaving server for the client's checks:
 *       --fds N sends N descriptors in the one message (0: the byte without any; more: the region's and N − 1 other
 *       sealed memfds) and prints "sent N"; --silent sends nothing, waits for the client to close and prints "eof".
 *   region_handover_peer receive <path> [--setuid UID]
 *       connects to <path>, receives one fd and maps it with ns_region_map_fd (sealed memfds only); prints
 *       "mapped <byte at 4096>" or "refused <what region.h says>". Exits 0 in both cases, 2 on a usage error.
 *   region_handover_peer map <fd> [--trust]
 *       maps the inherited descriptor <fd> with ns_region_map_fd_flags (flags NS_REGION_TRUST_PEER with --trust) and
 *       prints "mapped" or "refused <code> <what region.h says>" (the §1.1 rule on the C side).
 * Uses only native_sidecar/region.h, as any C program would. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "native_sidecar/region.h"

#define REGION_SIZE (64 * 1024)
#define MARKER_OFFSET 4096
#define MARKER 0x5a
#define MAX_FDS 8

static int die(const char *what) {
  fprintf(stderr, "region_handover_peer: %s: %s\n", what, strerror(errno));
  return 1;
}

static int make_sealed_region(void) {
  int fd = memfd_create("native-sidecar", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  void *base;
  if (fd < 0) return -1;
  if (ftruncate(fd, REGION_SIZE) != 0 || fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0) {
    close(fd);
    return -1;
  }
  base = mmap(NULL, REGION_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (base == MAP_FAILED) {
    close(fd);
    return -1;
  }
  ns_region_init(base, REGION_SIZE, (uint32_t)getpid());
  ((unsigned char *)base)[MARKER_OFFSET] = MARKER;
  munmap(base, REGION_SIZE);
  return fd;
}

/* Sends the handover byte carrying `count` descriptors (0: the byte alone), like ns_region_send_fd() but with any
 * count: a misbehaving server for the client's "exactly one descriptor" rule. Returns 0 or -1 (errno). */
static int send_fds(int sock, const int *fds, int count) {
  char byte = NS_REGION_HANDOVER_BYTE;
  struct iovec iov;
  struct msghdr msg;
  union {
    char buf[CMSG_SPACE(sizeof(int) * MAX_FDS)];
    struct cmsghdr align;
  } control;
  ssize_t n;
  memset(&msg, 0, sizeof msg);
  memset(&control, 0, sizeof control);
  iov.iov_base = &byte;
  iov.iov_len = 1;
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  if (count > 0) {
    struct cmsghdr *cmsg;
    msg.msg_control = control.buf;
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)count);
    cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)count);
    memcpy(CMSG_DATA(cmsg), fds, sizeof(int) * (size_t)count);
  }
  do n = sendmsg(sock, &msg, MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  return n == 1 ? 0 : -1;
}

/* Serves `clients` clients (0: until killed): the region's fd and `extra - 1` more sealed memfds in one message
 * (`extra` = the --fds count), or, with `silent`, nothing at all — it then waits for the client to close and prints
 * "eof". */
static int serve(const struct sockaddr_un *addr, int allow_any, int fd_count, int clients, int silent) {
  int region = make_sealed_region(), listener, conn, i, served;
  int fds[MAX_FDS];
  uid_t uid;
  pid_t pid;
  if (region < 0) return die("creating the region");
  fds[0] = region;
  for (i = 1; i < fd_count; i++) {
    fds[i] = make_sealed_region(); /* recognisable in the client's /proc/self/fd if it leaked one */
    if (fds[i] < 0) return die("creating an extra region");
  }
  listener = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listener < 0) return die("socket");
  unlink(addr->sun_path);
  if (bind(listener, (const struct sockaddr *)addr, sizeof *addr) != 0 || listen(listener, 4) != 0) return die("bind/listen");
  printf("ready\n");
  fflush(stdout);
  for (served = 0; clients == 0 || served < clients; served++) {
    conn = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
    if (conn < 0) return die("accept4");
    if (ns_peer_cred(conn, &uid, &pid) != NS_REGION_OK) return die("SO_PEERCRED");
    if (!allow_any && !ns_peer_uid_allowed(uid, NULL, 0)) {
      printf("refused uid %u\n", (unsigned)uid);
    } else if (silent) {
      char byte;
      while (read(conn, &byte, 1) > 0) {
      }
      printf("eof\n");
    } else if (fd_count == 1) {
      if (ns_region_send_fd(conn, region) != NS_REGION_OK) return die("sendmsg");
      printf("sent\n");
    } else {
      if (send_fds(conn, fds, fd_count) != 0) return die("sendmsg");
      printf("sent %d\n", fd_count);
    }
    fflush(stdout);
    close(conn);
  }
  close(listener);
  for (i = 0; i < fd_count || i == 0; i++) close(fds[i]);
  unlink(addr->sun_path);
  return 0;
}

static int receive(const struct sockaddr_un *addr) {
  int sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), fd, rc;
  ns_region_map map;
  if (sock < 0) return die("socket");
  if (connect(sock, (const struct sockaddr *)addr, sizeof *addr) != 0) return die("connect");
  rc = ns_region_recv_fd(sock, &fd);
  close(sock);
  if (rc == NS_REGION_ESYSTEM) return die("recvmsg");
  if (rc != NS_REGION_OK) {
    printf("refused the region %s\n", ns_region_strerror(rc));
    return 0;
  }
  rc = ns_region_map_fd(fd, &map);
  close(fd);
  if (rc != NS_REGION_OK) {
    printf("refused the region %s\n", ns_region_strerror(rc));
    return 0;
  }
  printf("mapped %d\n", map.base[MARKER_OFFSET]);
  ns_region_unmap(&map);
  return 0;
}

static int map_fd(int fd, unsigned flags) {
  ns_region_map map;
  int rc = ns_region_map_fd_flags(fd, flags, &map);
  if (rc != NS_REGION_OK) {
    printf("refused %d %s\n", rc, ns_region_strerror(rc));
    return 0;
  }
  printf("mapped\n");
  ns_region_unmap(&map);
  return 0;
}

int main(int argc, char **argv) {
  struct sockaddr_un addr;
  int i, allow_any = 0, fd_count = 1, clients = 1, silent = 0;
  if (argc >= 3 && strcmp(argv[1], "map") == 0) {
    return map_fd(atoi(argv[2]), argc >= 4 && strcmp(argv[3], "--trust") == 0 ? NS_REGION_TRUST_PEER : 0u);
  }
  if (argc < 3 || strlen(argv[2]) >= sizeof addr.sun_path) {
    fprintf(stderr, "usage: region_handover_peer serve|receive <path> [--setuid UID] [--allow-any] [--clients N] [--fds N] [--silent]\n");
    return 2;
  }
  for (i = 3; i < argc; i++) {
    if (strcmp(argv[i], "--allow-any") == 0) allow_any = 1;
    else if (strcmp(argv[i], "--silent") == 0) silent = 1;
    else if (strcmp(argv[i], "--fds") == 0 && i + 1 < argc) {
      fd_count = atoi(argv[++i]);
      if (fd_count < 0 || fd_count > MAX_FDS) {
        fprintf(stderr, "region_handover_peer: --fds must be 0 to %d\n", MAX_FDS);
        return 2;
      }
    } else if (strcmp(argv[i], "--clients") == 0 && i + 1 < argc) clients = atoi(argv[++i]);
    else if (strcmp(argv[i], "--setuid") == 0 && i + 1 < argc) {
      uid_t uid = (uid_t)strtoul(argv[++i], NULL, 10);
      if (setgid((gid_t)uid) != 0 || setuid(uid) != 0) return die("setuid");
    } else {
      fprintf(stderr, "region_handover_peer: unknown option %s\n", argv[i]);
      return 2;
    }
  }
  memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  memcpy(addr.sun_path, argv[2], strlen(argv[2]));
  if (strcmp(argv[1], "serve") == 0) return serve(&addr, allow_any, fd_count, clients, silent);
  if (strcmp(argv[1], "receive") == 0) return receive(&addr);
  fprintf(stderr, "region_handover_peer: the mode must be serve or receive, not '%s'\n", argv[1]);
  return 2;
}
