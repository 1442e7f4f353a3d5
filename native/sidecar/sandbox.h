/* sidecar/sandbox.h — confining a sidecar process before its plugin is loaded (docs/security.md).
 *
 * Used by native-sidecar-host only (process mode); a thread of the Node process cannot be confined without confining
 * Node itself. Everything here runs on the host executable's main thread, once, before the plugin is dlopen()ed —
 * while the process is still single-threaded, which unshare(CLONE_NEWUSER) and the seccomp/Landlock "self" calls
 * require — and it cannot be undone: the layers are inherited by every thread and child the plugin creates.
 *
 * Layers, in the order they are applied (each says what it stops; docs/security.md maps them to the threat model):
 *   1. descriptors: every inherited fd except stdio, the wake fd, the plugin fd and a private /proc/self/statm
 *      reader is closed (close_range, or a loop where the kernel has none);
 *   2. resource limits: RLIMIT_AS, RLIMIT_CPU, RLIMIT_NOFILE when asked; RLIMIT_CORE 0 always (a core file would hold
 *      the host's shared memory); crash handlers turn a death on a limit into exit status 64 + 11 (SIGXCPU always;
 *      SIGSEGV, SIGBUS, SIGABRT when a memory limit is set and the crashing thread's errno is ENOMEM or the address
 *      space is within 1/16 of the limit), every other crash keeps its signal;
 *   3. namespaces (best effort: a kernel or container may refuse them): a new user and IPC namespace, and a network
 *      namespace unless the network is allowed;
 *   4. PR_SET_NO_NEW_PRIVS (required by 5 and 6 for an unprivileged process);
 *   5. Landlock: read-only access to the plugin file, the system library directories and the listed paths,
 *      read-write to the listed paths, nothing else; no TCP (ABI ≥ 4) unless the network is allowed; no signal to,
 *      and no abstract socket of, a process outside the sandbox (ABI ≥ 6). Landlock also refuses ptrace of — and so
 *      /proc/<pid>/mem, /proc/<pid>/fd and process_vm_readv on — every process outside the sandbox;
 *   6. seccomp: a filter that refuses the system calls a plugin never needs and that reach other processes or the
 *      kernel's global state (ptrace, process_vm_*, pidfd_*, bpf, io_uring, mount, namespaces, execve, fork, …),
 *      signals and scheduling calls aimed at another process, and socket() unless the network is allowed. Threads
 *      stay allowed.
 *
 * Required layers: 4, 5 (filesystem) and 6. When one cannot be applied, ns_sandbox_apply() fails unless best_effort
 * is set; the others are applied where the kernel has them and reported in the NS_SANDBOX_* bits either way. */
#ifndef NATIVE_SIDECAR_SANDBOX_H
#define NATIVE_SIDECAR_SANDBOX_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define NS_SANDBOX_MAX_PATHS 64

typedef struct ns_sandbox_config {
  int best_effort;                             /* start even when a required layer cannot be applied */
  int network;                                 /* sockets and TCP allowed, no network namespace */
  int plugin_fd;                               /* the plugin file, opened and checked by the host; stays open */
  int wake_fd;                                 /* -1: none */
  const char *read_paths[NS_SANDBOX_MAX_PATHS]; /* absolute; read-only beneath each */
  size_t read_count;
  const char *write_paths[NS_SANDBOX_MAX_PATHS]; /* absolute; read-write beneath each */
  size_t write_count;
  uint64_t memory_bytes;                       /* RLIMIT_AS; 0: none */
  uint64_t cpu_seconds;                        /* RLIMIT_CPU (soft; hard is one second more); 0: none */
  uint64_t open_files;                         /* RLIMIT_NOFILE; 0: none */
} ns_sandbox_config;

/* Confines the calling process (see above). Stores the NS_SANDBOX_* layers in force in *applied and the kernel's
 * Landlock ABI (0: none) in *landlock_abi, also on failure. Returns 0, or NS_SIDECAR_EXIT_SANDBOX with a sentence in
 * `message` naming the layer and the kernel's answer. Thread: the process's only thread. Not reentrant; call once. */
uint32_t ns_sandbox_apply(const ns_sandbox_config *config, uint32_t *applied, uint32_t *landlock_abi, char *message,
                          size_t message_size);

#ifdef __cplusplus
}
#endif

#endif /* NATIVE_SIDECAR_SANDBOX_H */
