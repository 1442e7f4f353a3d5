/* sidecar/sandbox.c — see sandbox.h for the contract and the order of the layers; docs/security.md for the threat
 * model. Kernel interfaces used: close_range(2), setrlimit(2), unshare(2), prctl(PR_SET_NO_NEW_PRIVS), Landlock
 * (landlock_create_ruleset/add_rule/restrict_self, ABI 1–7) and seccomp(SECCOMP_SET_MODE_FILTER). The system headers
 * of Debian 12 describe Landlock ABI 2 only, so the later constants and the 24-byte ruleset attribute are spelled
 * out here (values from the kernel's uapi/linux/landlock.h; they are ABI and never change). */
#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "native_sidecar/layout.h"

/* ---- Landlock (uapi/linux/landlock.h) ---- */
#define NS_LL_CREATE_RULESET_VERSION (1u << 0)
#define NS_LL_RULE_PATH_BENEATH 1
#define NS_LL_FS_EXECUTE (1ull << 0)
#define NS_LL_FS_WRITE_FILE (1ull << 1)
#define NS_LL_FS_READ_FILE (1ull << 2)
#define NS_LL_FS_READ_DIR (1ull << 3)
#define NS_LL_FS_REFER (1ull << 13)    /* ABI 2 */
#define NS_LL_FS_TRUNCATE (1ull << 14) /* ABI 3 */
#define NS_LL_FS_IOCTL_DEV (1ull << 15) /* ABI 5 */
#define NS_LL_NET_BIND_TCP (1ull << 0)  /* ABI 4 */
#define NS_LL_NET_CONNECT_TCP (1ull << 1)
#define NS_LL_SCOPE_ABSTRACT_UNIX_SOCKET (1ull << 0) /* ABI 6 */
#define NS_LL_SCOPE_SIGNAL (1ull << 1)

struct ns_ll_ruleset_attr {
  uint64_t handled_access_fs;
  uint64_t handled_access_net; /* ABI 4: the kernel reads only as many bytes as we pass */
  uint64_t scoped;             /* ABI 6 */
};

struct ns_ll_path_beneath_attr {
  uint64_t allowed_access;
  int32_t parent_fd;
} __attribute__((packed));

/* The rights a rule on a regular file may carry (the kernel refuses directory rights on a file). */
#define NS_LL_FILE_RIGHTS (NS_LL_FS_EXECUTE | NS_LL_FS_WRITE_FILE | NS_LL_FS_READ_FILE | NS_LL_FS_TRUNCATE | NS_LL_FS_IOCTL_DEV)
/* Read-only: no EXECUTE either — mapping a library executable needs only READ_FILE (Landlock's EXECUTE governs
 * execve), so refusing it everywhere means the plugin cannot run a program at all. */
#define NS_LL_READ_ONLY (NS_LL_FS_READ_FILE | NS_LL_FS_READ_DIR)

/* Read-only by default: where the dynamic loader finds the plugin's dependencies, and the harmless devices. These
 * hold code and public data only, never secrets of the user (which is what the project's own tree may hold). */
static const char *const k_system_read_paths[] = {
    "/lib", "/lib32", "/lib64", "/usr/lib", "/usr/lib32", "/usr/lib64", "/usr/local/lib", "/etc/ld.so.cache",
    "/dev/null", "/dev/zero", "/dev/urandom", "/dev/random",
};

static long ll_create(const struct ns_ll_ruleset_attr *attr, size_t size, uint32_t flags) {
  return syscall(__NR_landlock_create_ruleset, attr, size, flags);
}

static uint64_t ll_fs_rights(int abi) {
  uint64_t rights = (1ull << 13) - 1; /* ABI 1: EXECUTE … MAKE_SYM */
  if (abi >= 2) rights |= NS_LL_FS_REFER;
  if (abi >= 3) rights |= NS_LL_FS_TRUNCATE;
  if (abi >= 5) rights |= NS_LL_FS_IOCTL_DEV;
  return rights;
}

/* Adds a rule for `path` (a file or a directory). A missing system path is skipped (`optional`); a missing listed
 * path is an error. */
static int ll_allow(int ruleset, const char *path, uint64_t rights, uint64_t handled, int optional, char *message,
                    size_t message_size) {
  struct ns_ll_path_beneath_attr rule;
  struct stat st;
  int fd = open(path, O_PATH | O_CLOEXEC);
  if (fd < 0) {
    if (optional && (errno == ENOENT || errno == ENOTDIR)) return 0;
    snprintf(message, message_size, "The sandbox could not open the allowed path '%s': %s.", path, strerror(errno));
    return -1;
  }
  if (fstat(fd, &st) != 0) {
    snprintf(message, message_size, "The sandbox could not stat the allowed path '%s': %s.", path, strerror(errno));
    close(fd);
    return -1;
  }
  rights &= handled;
  if (!S_ISDIR(st.st_mode)) rights &= NS_LL_FILE_RIGHTS;
  rule.allowed_access = rights;
  rule.parent_fd = fd;
  if (rights != 0 && syscall(__NR_landlock_add_rule, ruleset, NS_LL_RULE_PATH_BENEATH, &rule, 0) != 0) {
    snprintf(message, message_size, "Landlock refused a rule for '%s': %s.", path, strerror(errno));
    close(fd);
    return -1;
  }
  close(fd);
  return 0;
}

/* Returns 0 and the layers applied, or -1 with a sentence (the ruleset could not be built or enforced). */
static int apply_landlock(const ns_sandbox_config *c, int abi, uint32_t *applied, char *message, size_t message_size) {
  struct ns_ll_ruleset_attr attr;
  size_t attr_size = sizeof attr.handled_access_fs;
  size_t i;
  int ruleset;
  memset(&attr, 0, sizeof attr);
  attr.handled_access_fs = ll_fs_rights(abi);
  if (abi >= 4) {
    attr_size = offsetof(struct ns_ll_ruleset_attr, scoped);
    if (!c->network) attr.handled_access_net = NS_LL_NET_BIND_TCP | NS_LL_NET_CONNECT_TCP;
  }
  if (abi >= 6) {
    attr_size = sizeof attr;
    attr.scoped = NS_LL_SCOPE_SIGNAL | (c->network ? 0 : NS_LL_SCOPE_ABSTRACT_UNIX_SOCKET);
  }
  ruleset = (int)ll_create(&attr, attr_size, 0);
  if (ruleset < 0) {
    snprintf(message, message_size, "Landlock refused to create a ruleset (ABI %d): %s.", abi, strerror(errno));
    return -1;
  }
  {
    char plugin_path[64];
    snprintf(plugin_path, sizeof plugin_path, "/proc/self/fd/%d", c->plugin_fd);
    /* The rule is on the open file itself (O_PATH through the magic link): the very file the host checked, so a
     * file swapped in under the same name later gains nothing. */
    if (ll_allow(ruleset, plugin_path, NS_LL_FS_READ_FILE, attr.handled_access_fs, 0, message, message_size) != 0)
      goto fail;
  }
  for (i = 0; i < sizeof k_system_read_paths / sizeof k_system_read_paths[0]; i++)
    if (ll_allow(ruleset, k_system_read_paths[i], NS_LL_READ_ONLY, attr.handled_access_fs, 1, message, message_size) != 0)
      goto fail;
  for (i = 0; i < c->read_count; i++)
    if (ll_allow(ruleset, c->read_paths[i], NS_LL_READ_ONLY, attr.handled_access_fs, 0, message, message_size) != 0)
      goto fail;
  for (i = 0; i < c->write_count; i++)
    if (ll_allow(ruleset, c->write_paths[i], attr.handled_access_fs & ~NS_LL_FS_EXECUTE, attr.handled_access_fs, 0,
                 message, message_size) != 0)
      goto fail;
  if (syscall(__NR_landlock_restrict_self, ruleset, 0) != 0) {
    snprintf(message, message_size, "Landlock refused to enforce the ruleset: %s.", strerror(errno));
    goto fail;
  }
  close(ruleset);
  *applied |= NS_SANDBOX_LANDLOCK_FS;
  if (abi >= 4 && !c->network) *applied |= NS_SANDBOX_LANDLOCK_NET;
  if (abi >= 6) *applied |= NS_SANDBOX_LANDLOCK_SCOPE;
  return 0;
fail:
  close(ruleset);
  return -1;
}

/* ---- seccomp ---- */
#if defined(__x86_64__)
#define NS_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define NS_AUDIT_ARCH AUDIT_ARCH_AARCH64
#else
#error "native-sidecar's sandbox knows the seccomp architecture of x86-64 and aarch64 only"
#endif

#define NS_CLONE_NAMESPACES \
  (CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET)

/* Refused with EPERM: calls that reach another process, change the kernel's global state, or open an interface
 * whose operations seccomp cannot see (io_uring). A plugin that computes, allocates and makes threads needs none. */
static const int k_denied[] = {
    __NR_ptrace, __NR_process_vm_readv, __NR_process_vm_writev, __NR_kcmp, __NR_perf_event_open, __NR_bpf,
    __NR_userfaultfd, __NR_mount, __NR_umount2, __NR_pivot_root, __NR_chroot, __NR_unshare, __NR_setns, __NR_keyctl,
    __NR_add_key, __NR_request_key, __NR_init_module, __NR_finit_module, __NR_delete_module, __NR_kexec_load,
    __NR_reboot, __NR_swapon, __NR_swapoff, __NR_acct, __NR_quotactl, __NR_open_by_handle_at,
    __NR_name_to_handle_at, __NR_personality, __NR_syslog, __NR_settimeofday, __NR_clock_settime, __NR_adjtimex,
    __NR_clock_adjtime, __NR_vhangup, __NR_execve, __NR_execveat, __NR_tkill,
#ifdef __NR_kexec_file_load
    __NR_kexec_file_load,
#endif
#ifdef __NR_fork
    __NR_fork, __NR_vfork,
#endif
#ifdef __NR_process_madvise
    __NR_process_madvise,
#endif
#ifdef __NR_pidfd_open
    __NR_pidfd_open,
#endif
#ifdef __NR_pidfd_getfd
    __NR_pidfd_getfd,
#endif
#ifdef __NR_pidfd_send_signal
    __NR_pidfd_send_signal,
#endif
#ifdef __NR_io_uring_setup
    __NR_io_uring_setup, __NR_io_uring_enter, __NR_io_uring_register,
#endif
#ifdef __NR_open_tree
    __NR_open_tree, __NR_move_mount, __NR_fsopen, __NR_fsconfig, __NR_fsmount, __NR_fspick,
#endif
#ifdef __NR_mount_setattr
    __NR_mount_setattr,
#endif
#ifdef __NR_iopl
    __NR_iopl, __NR_ioperm,
#endif
};

/* Calls whose first argument is a pid: allowed for 0 (the caller) and the sidecar's own pid only — a same-user
 * process may otherwise renice, re-pin or re-limit the host. (A tid of one of the plugin's own threads is refused
 * too: the price of a filter that cannot know them.) */
static const int k_own_pid_only[] = {
    __NR_sched_setaffinity, __NR_sched_setscheduler, __NR_sched_setparam, __NR_prlimit64,
#ifdef __NR_sched_setattr
    __NR_sched_setattr,
#endif
};

typedef struct filter {
  struct sock_filter code[256];
  unsigned n;
} filter;

static void emit(filter *f, struct sock_filter insn) {
  if (f->n < sizeof f->code / sizeof f->code[0]) f->code[f->n] = insn;
  f->n++; /* an overflow is detected by the caller (n > capacity) */
}

#define LOAD_NR BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr))
#define LOAD_ARG(i) BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[i])) /* low 32 bits (LE) */
#define RET(v) BPF_STMT(BPF_RET | BPF_K, (v))
#define ALLOW RET(SECCOMP_RET_ALLOW)
#define ERRNO(e) RET(SECCOMP_RET_ERRNO | ((e) & SECCOMP_RET_DATA))

static int install_seccomp(const ns_sandbox_config *c, char *message, size_t message_size) {
  filter f;
  struct sock_fprog prog;
  unsigned i;
  uint32_t pid = (uint32_t)getpid();
  f.n = 0;
  emit(&f, (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)));
  emit(&f, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NS_AUDIT_ARCH, 1, 0));
  emit(&f, (struct sock_filter)RET(SECCOMP_RET_KILL_PROCESS)); /* a foreign ABI (i386 int 0x80) is never legitimate */
  emit(&f, (struct sock_filter)LOAD_NR);
#if defined(__x86_64__)
  /* x32 numbers (bit 30) reach the same kernel functions under other numbers: refuse them all. */
  emit(&f, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000u, 0, 1));
  emit(&f, (struct sock_filter)ERRNO(ENOSYS));
#endif
  for (i = 0; i < sizeof k_denied / sizeof k_denied[0]; i++) {
    emit(&f, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)k_denied[i], 0, 1));
    emit(&f, (struct sock_filter)ERRNO(EPERM));
  }
  /* clone3 passes its flags in memory a filter cannot read: ENOSYS makes glibc fall back to clone, whose flags it can. */
  emit(&f, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_clone3, 0, 1));
  emit(&f, (struct sock_filter)ERRNO(ENOSYS));
  /* clone: threads yes; new processes and namespaces no. A process the plugin forked would outlive the sidecar (the
   * parent-death signal is not inherited) and could not run anything anyway (execve is refused). */
  emit(&f, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_clone, 0, 5));
  emit(&f, (struct sock_filter)LOAD_ARG(0));
  emit(&f, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, NS_CLONE_NAMESPACES, 1, 0)); /* → EPERM */
  emit(&f, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, CLONE_THREAD, 1, 0));        /* → ALLOW */
  emit(&f, (struct sock_filter)ERRNO(EPERM));
  emit(&f, (struct sock_filter)ALLOW);
  /* kill(pid, sig) and tgkill(tgid, tid, sig): only to this process (raise() and abort() use tgkill on it). A
   * process group (0, negative) is refused: the sidecar shares Node's. */
  emit(&f, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_kill, 1, 0));
  emit(&f, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_tgkill, 0, 4));
  emit(&f, (struct sock_filter)LOAD_ARG(0));
  emit(&f, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, pid, 0, 1));
  emit(&f, (struct sock_filter)ALLOW);
  emit(&f, (struct sock_filter)ERRNO(EPERM));
  for (i = 0; i < sizeof k_own_pid_only / sizeof k_own_pid_only[0]; i++) {
    emit(&f, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)k_own_pid_only[i], 0, 5));
    emit(&f, (struct sock_filter)LOAD_ARG(0));
    emit(&f, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 2, 0));
    emit(&f, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, pid, 1, 0));
    emit(&f, (struct sock_filter)ERRNO(EPERM));
    emit(&f, (struct sock_filter)ALLOW);
  }
  /* setpriority(which, who, …) and ioprio_set(which, who, …): PRIO_PROCESS (0) / IOPRIO_WHO_PROCESS (1) of 0 or self. */
  {
    static const uint32_t calls[2][2] = {{__NR_setpriority, 0}, {__NR_ioprio_set, 1}};
    for (i = 0; i < 2; i++) {
      emit(&f, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, calls[i][0], 0, 7));
      emit(&f, (struct sock_filter)LOAD_ARG(0));
      emit(&f, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, calls[i][1], 0, 3));
      emit(&f, (struct sock_filter)LOAD_ARG(1));
      emit(&f, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 2, 0));
      emit(&f, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, pid, 1, 0));
      emit(&f, (struct sock_filter)ERRNO(EPERM));
      emit(&f, (struct sock_filter)ALLOW);
    }
  }
  if (!c->network) {
    /* No socket of any family: Landlock (ABI ≤ 7) cannot confine connect() to a named Unix socket (a desktop bus, a
     * container runtime's socket), so the filter refuses socket() itself. socketpair() stays: it reaches nobody. */
    emit(&f, (struct sock_filter)LOAD_NR);
    emit(&f, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_socket, 0, 1));
    emit(&f, (struct sock_filter)ERRNO(EACCES));
  }
  emit(&f, (struct sock_filter)ALLOW);
  if (f.n > sizeof f.code / sizeof f.code[0]) {
    snprintf(message, message_size, "The seccomp filter needs %u instructions, more than its buffer of %u.", f.n,
             (unsigned)(sizeof f.code / sizeof f.code[0]));
    return -1;
  }
  prog.len = (unsigned short)f.n;
  prog.filter = f.code;
  if (syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0) {
    snprintf(message, message_size, "The kernel refused the seccomp filter: %s.", strerror(errno));
    return -1;
  }
  return 0;
}

/* ---- descriptors ---- */
static int keep(int fd, const int *kept, size_t n) {
  size_t i;
  for (i = 0; i < n; i++)
    if (kept[i] == fd) return 1;
  return 0;
}

/* Closes every descriptor ≥ 3 not in `kept`: close_range over the gaps (the kept set is tiny and sorted here). */
static int close_inherited(const int *kept_in, size_t n, char *message, size_t message_size) {
  int kept[8];
  size_t i, j;
  unsigned lo = 3;
  if (n > 8) n = 8;
  memcpy(kept, kept_in, n * sizeof kept[0]);
  for (i = 1; i < n; i++) /* insertion sort */
    for (j = i; j > 0 && kept[j - 1] > kept[j]; j--) {
      int t = kept[j];
      kept[j] = kept[j - 1];
      kept[j - 1] = t;
    }
  for (i = 0; i <= n; i++) {
    unsigned hi = i < n ? (unsigned)kept[i] : ~0u;
    if (i < n && kept[i] < 3) continue;
    if (hi > lo) {
      if (syscall(__NR_close_range, lo, hi - 1, 0) != 0) {
        if (errno != ENOSYS) {
          snprintf(message, message_size, "close_range failed: %s.", strerror(errno));
          return -1;
        }
        { /* kernels before 5.9: close one by one up to the descriptor limit */
          struct rlimit rl;
          unsigned fd, top = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 65536 ? (unsigned)rl.rlim_cur : 65536;
          for (fd = lo; fd < top && fd < hi; fd++)
            if (!keep((int)fd, kept, n)) close((int)fd);
        }
      }
    }
    if (i < n) lo = (unsigned)kept[i] + 1;
  }
  return 0;
}

/* ---- resource-limit crash reports ---- */
static uint64_t g_memory_limit;
static int g_statm_fd = -1;
static long g_page_size;

/* Async-signal-safe: pread and integer parsing only. */
static uint64_t address_space_bytes(void) {
  char text[64];
  ssize_t n;
  uint64_t pages = 0;
  ssize_t i;
  if (g_statm_fd < 0) return 0;
  n = pread(g_statm_fd, text, sizeof text - 1, 0);
  for (i = 0; i < n && text[i] >= '0' && text[i] <= '9'; i++) pages = pages * 10 + (uint64_t)(text[i] - '0');
  return pages * (uint64_t)g_page_size;
}

static void on_limit_signal(int sig) {
  int saved = errno;
  if (sig == SIGXCPU ||
      (g_memory_limit != 0 && (saved == ENOMEM || address_space_bytes() >= g_memory_limit - g_memory_limit / 16))) {
    static const char text[] = "native-sidecar-host: the plugin hit a sandbox resource limit.\n";
    ssize_t ignored = write(2, text, sizeof text - 1);
    (void)ignored;
    _exit(NS_SIDECAR_EXIT_CODE_BASE + (int)NS_SIDECAR_EXIT_RESOURCE_LIMIT);
  }
  /* Not a limit: die of the signal itself, so the host reports the crash as it is. The signal is blocked while its
   * handler runs, so the raise() stays pending and is delivered, under the default action, as soon as the handler
   * returns — for a signal sent by raise()/kill() as for a fault (which would also recur on the faulting instruction). */
  signal(sig, SIG_DFL);
  raise(sig);
  errno = saved;
}

/* The crash handlers of layer 2 (sandbox.h). */
static int install_limit_handlers(uint64_t memory_bytes) {
  static const int signals[] = {SIGXCPU, SIGSEGV, SIGBUS, SIGABRT};
  stack_t alt;
  struct sigaction sa;
  size_t i;
  g_memory_limit = memory_bytes;
  g_page_size = sysconf(_SC_PAGESIZE);
  if (memory_bytes != 0 && g_statm_fd < 0) g_statm_fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
  /* An alternate stack: a stack overflow (which RLIMIT_AS makes likelier) still runs the handler. Mapped before the
   * limit applies, so it cannot itself fail on it. */
  alt.ss_size = 64 * 1024;
  alt.ss_flags = 0;
  alt.ss_sp = mmap(NULL, alt.ss_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (alt.ss_sp == MAP_FAILED || sigaltstack(&alt, NULL) != 0) return -1;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_limit_signal;
  sa.sa_flags = SA_ONSTACK | SA_RESETHAND;
  sigemptyset(&sa.sa_mask);
  for (i = 0; i < sizeof signals / sizeof signals[0]; i++) {
    if (memory_bytes == 0 && signals[i] != SIGXCPU) continue;
    if (sigaction(signals[i], &sa, NULL) != 0) return -1;
  }
  return 0;
}

static int set_limit(int resource, uint64_t soft, uint64_t hard, const char *name, char *message, size_t message_size) {
  struct rlimit rl;
  rl.rlim_cur = (rlim_t)soft;
  rl.rlim_max = (rlim_t)hard;
  if (setrlimit(resource, &rl) != 0) {
    snprintf(message, message_size, "The sandbox could not set %s to %llu: %s.", name, (unsigned long long)soft,
             strerror(errno));
    return -1;
  }
  return 0;
}

static int write_file(const char *path, const char *text) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  ssize_t n;
  size_t length = strlen(text);
  if (fd < 0) return -1;
  n = write(fd, text, length);
  close(fd);
  return n == (ssize_t)length ? 0 : -1;
}

/* A new user namespace (owning new IPC and, without network, network namespaces), with the caller's uid and gid
 * mapped to themselves so getuid() inside still answers the truth. Best effort: 0 on success. */
static int enter_namespaces(const ns_sandbox_config *c, uint32_t *applied) {
  char map[64];
  uid_t uid = geteuid();
  gid_t gid = getegid();
  int flags = CLONE_NEWUSER | CLONE_NEWIPC | (c->network ? 0 : CLONE_NEWNET);
  if (unshare(flags) != 0) {
    if (c->network || unshare(CLONE_NEWUSER | CLONE_NEWIPC) != 0) return -1;
    flags = CLONE_NEWUSER | CLONE_NEWIPC;
  }
  *applied |= NS_SANDBOX_USER_NS;
  if (flags & CLONE_NEWNET) *applied |= NS_SANDBOX_NET_NS;
  snprintf(map, sizeof map, "%u %u 1\n", (unsigned)uid, (unsigned)uid);
  (void)write_file("/proc/self/uid_map", map);
  (void)write_file("/proc/self/setgroups", "deny\n");
  snprintf(map, sizeof map, "%u %u 1\n", (unsigned)gid, (unsigned)gid);
  (void)write_file("/proc/self/gid_map", map);
  return 0;
}

uint32_t ns_sandbox_apply(const ns_sandbox_config *c, uint32_t *applied, uint32_t *landlock_abi, char *message,
                          size_t message_size) {
  int kept[3];
  size_t n = 0;
  long abi;
  int landlock_errno;
  *applied = 0;
  *landlock_abi = 0;
  abi = ll_create(NULL, 0, NS_LL_CREATE_RULESET_VERSION);
  landlock_errno = errno; /* the kernel's answer, reported at step 5 after other calls changed errno */
  if (abi > 0) *landlock_abi = (uint32_t)abi;

  /* 1. Descriptors. */
  kept[n++] = c->plugin_fd;
  if (c->wake_fd >= 0) kept[n++] = c->wake_fd;
  if (close_inherited(kept, n, message, message_size) != 0) return NS_SIDECAR_EXIT_SANDBOX;
  *applied |= NS_SANDBOX_FDS_CLOSED;

  /* 2. Limits (and the handlers that report them), before anything can allocate under them. */
  if (set_limit(RLIMIT_CORE, 0, 0, "RLIMIT_CORE", message, message_size) != 0) return NS_SIDECAR_EXIT_SANDBOX;
  if (install_limit_handlers(c->memory_bytes) != 0) {
    snprintf(message, message_size, "The sandbox could not install its resource-limit handlers: %s.", strerror(errno));
    return NS_SIDECAR_EXIT_SANDBOX;
  }
  if (c->memory_bytes != 0 &&
      set_limit(RLIMIT_AS, c->memory_bytes, c->memory_bytes, "RLIMIT_AS", message, message_size) != 0)
    return NS_SIDECAR_EXIT_SANDBOX;
  if (c->cpu_seconds != 0 &&
      set_limit(RLIMIT_CPU, c->cpu_seconds, c->cpu_seconds + 1, "RLIMIT_CPU", message, message_size) != 0)
    return NS_SIDECAR_EXIT_SANDBOX;
  if (c->open_files != 0 &&
      set_limit(RLIMIT_NOFILE, c->open_files, c->open_files, "RLIMIT_NOFILE", message, message_size) != 0)
    return NS_SIDECAR_EXIT_SANDBOX;
  if (c->memory_bytes != 0 || c->cpu_seconds != 0 || c->open_files != 0) *applied |= NS_SANDBOX_LIMITS;

  /* 3. Namespaces: best effort (the kernel or a container may forbid unprivileged user namespaces); the filesystem
   * and system-call layers below do not depend on them. */
  (void)enter_namespaces(c, applied);

  /* 4. No new privileges: a setuid program cannot be used to escape (and 5 and 6 require it). */
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    snprintf(message, message_size, "prctl(PR_SET_NO_NEW_PRIVS) failed: %s.", strerror(errno));
    return NS_SIDECAR_EXIT_SANDBOX;
  }
  *applied |= NS_SANDBOX_NO_NEW_PRIVS;

  /* 5. Landlock. */
  if (abi <= 0) {
    if (!c->best_effort) {
      snprintf(message, message_size,
               "Landlock is not available on this kernel (%s), so the sidecar's filesystem cannot be confined; "
               "pass sandbox: { bestEffort: true } to run without it.",
               strerror(landlock_errno));
      return NS_SIDECAR_EXIT_SANDBOX;
    }
  } else {
    char why[NS_SIDECAR_ERROR_MAX];
    if (apply_landlock(c, (int)abi, applied, why, sizeof why) != 0 && !c->best_effort) {
      snprintf(message, message_size, "%s", why);
      return NS_SIDECAR_EXIT_SANDBOX;
    }
  }

  /* 6. seccomp, last: it refuses unshare, which step 3 needed. */
  {
    char why[NS_SIDECAR_ERROR_MAX];
    if (install_seccomp(c, why, sizeof why) != 0) {
      if (!c->best_effort) {
        snprintf(message, message_size, "%s", why);
        return NS_SIDECAR_EXIT_SANDBOX;
      }
    } else {
      *applied |= NS_SANDBOX_SECCOMP;
    }
  }
  return 0;
}
