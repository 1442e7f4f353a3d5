/* deny_syscalls — runs a program with some system calls failing as if the kernel did not have them, to test what
 * the sandbox does on a kernel without Landlock or seccomp (test/sandbox.test.ts):
 *
 *   deny_syscalls landlock|seccomp|userns|iouring PROGRAM [ARG…]
 *
 * landlock: landlock_create_ruleset/add_rule/restrict_self fail with ENOSYS (a kernel built without Landlock);
 * seccomp: seccomp(2) fails with EINVAL (no filter mode) — our own filter is installed with it;
 * userns: unshare(2) fails with EPERM (a container that forbids user namespaces);
 * iouring: io_uring_setup(2) fails with EPERM (a container runtime's default seccomp profile, or
 * kernel.io_uring_disabled), to test NativeParker's fallback to waiter threads (test/parker-contract.test.ts).
 * The filter (seccomp, inherited across exec) is installed with PR_SET_NO_NEW_PRIVS, which any process may set. */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#define DENY(nr, err)                                          \
  BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 1),             \
  BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (err))

int main(int argc, char **argv) {
  struct sock_filter landlock[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      DENY(__NR_landlock_create_ruleset, ENOSYS),
      DENY(__NR_landlock_add_rule, ENOSYS),
      DENY(__NR_landlock_restrict_self, ENOSYS),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_filter seccomp[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      DENY(__NR_seccomp, EINVAL),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_filter userns[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      DENY(__NR_unshare, EPERM),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_filter iouring[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      DENY(__NR_io_uring_setup, EPERM),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog prog;
  if (argc < 3) {
    fprintf(stderr, "usage: deny_syscalls landlock|seccomp|userns|iouring PROGRAM [ARG...]\n");
    return 2;
  }
  if (strcmp(argv[1], "landlock") == 0) {
    prog.filter = landlock;
    prog.len = sizeof landlock / sizeof landlock[0];
  } else if (strcmp(argv[1], "seccomp") == 0) {
    prog.filter = seccomp;
    prog.len = sizeof seccomp / sizeof seccomp[0];
  } else if (strcmp(argv[1], "userns") == 0) {
    prog.filter = userns;
    prog.len = sizeof userns / sizeof userns[0];
  } else if (strcmp(argv[1], "iouring") == 0) {
    prog.filter = iouring;
    prog.len = sizeof iouring / sizeof iouring[0];
  } else {
    fprintf(stderr, "deny_syscalls: unknown set '%s'\n", argv[1]);
    return 2;
  }
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0) {
    perror("deny_syscalls");
    return 2;
  }
  execv(argv[2], argv + 2);
  perror("deny_syscalls: exec");
  return 127;
}
