/* native_sidecar/layout.h — the byte layout of docs/wire-format.md as C types and named constants.
 *
 * One spec, two implementations: src/ring/layout.ts and src/region/layout.ts export the same numbers, and
 * test/layout.test.ts compares them with offsetof()/sizeof() of the structs below. Change both or neither. */
#ifndef NATIVE_SIDECAR_LAYOUT_H
#define NATIVE_SIDECAR_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
#include <atomic>
#define NS_ATOMIC_U32 std::atomic<uint32_t>
#define NS_STATIC_ASSERT static_assert
#else
#include <stdatomic.h>
#define NS_ATOMIC_U32 _Atomic uint32_t
#define NS_STATIC_ASSERT _Static_assert
#endif

#define NS_BLOCK_SIZE 128u /* two cache lines: the adjacent-line prefetcher pulls pairs */

/* ---- atomics with explicit memory orders, spelled the same in C11 and C++17 ----
 * Shared words are NS_ATOMIC_U32; every access to them goes through these macros so that each one names its order
 * (and the comment next to it names the edge of §5 it belongs to).
 * NS_ATOMIC_CAS(p, expected, v, mo_success, mo_failure) is a strong compare-and-swap: `expected` points to a local
 * uint32_t holding the value *p is expected to have; returns true (non-zero) when *p was that value and is now v,
 * otherwise false with *p's current value written to *expected. mo_failure may not be release or acq_rel. */
#ifdef __cplusplus
#define NS_MO_RELAXED std::memory_order_relaxed
#define NS_MO_ACQUIRE std::memory_order_acquire
#define NS_MO_RELEASE std::memory_order_release
#define NS_MO_ACQ_REL std::memory_order_acq_rel
#define NS_MO_SEQ_CST std::memory_order_seq_cst
#define NS_ATOMIC_LOAD(p, mo) std::atomic_load_explicit((p), (mo))
#define NS_ATOMIC_STORE(p, v, mo) std::atomic_store_explicit((p), (uint32_t)(v), (mo))
#define NS_ATOMIC_EXCHANGE(p, v, mo) std::atomic_exchange_explicit((p), (uint32_t)(v), (mo))
#define NS_ATOMIC_FETCH_ADD(p, v, mo) std::atomic_fetch_add_explicit((p), (uint32_t)(v), (mo))
#define NS_ATOMIC_FETCH_OR(p, v, mo) std::atomic_fetch_or_explicit((p), (uint32_t)(v), (mo))
#define NS_ATOMIC_CAS(p, expected, v, mo_success, mo_failure) \
  std::atomic_compare_exchange_strong_explicit((p), (expected), (uint32_t)(v), (mo_success), (mo_failure))
#define NS_ATOMIC_FENCE(mo) std::atomic_thread_fence(mo)
#define NS_ALIGNAS(n) alignas(n)
#else
#define NS_MO_RELAXED memory_order_relaxed
#define NS_MO_ACQUIRE memory_order_acquire
#define NS_MO_RELEASE memory_order_release
#define NS_MO_ACQ_REL memory_order_acq_rel
#define NS_MO_SEQ_CST memory_order_seq_cst
#define NS_ATOMIC_LOAD(p, mo) atomic_load_explicit((p), (mo))
#define NS_ATOMIC_STORE(p, v, mo) atomic_store_explicit((p), (uint32_t)(v), (mo))
#define NS_ATOMIC_EXCHANGE(p, v, mo) atomic_exchange_explicit((p), (uint32_t)(v), (mo))
#define NS_ATOMIC_FETCH_ADD(p, v, mo) atomic_fetch_add_explicit((p), (uint32_t)(v), (mo))
#define NS_ATOMIC_FETCH_OR(p, v, mo) atomic_fetch_or_explicit((p), (uint32_t)(v), (mo))
#define NS_ATOMIC_CAS(p, expected, v, mo_success, mo_failure) \
  atomic_compare_exchange_strong_explicit((p), (expected), (uint32_t)(v), (mo_success), (mo_failure))
#define NS_ATOMIC_FENCE(mo) atomic_thread_fence(mo)
#define NS_ALIGNAS(n) _Alignas(n)
#endif

/* ---- region (§1) ---- */
#define NS_REGION_MAGIC 0x4752534Eu /* "NSRG" */
#define NS_REGION_MEMFD_NAME "native-sidecar" /* the name of every anonymous region's memfd (§8.4: how a reader finds them) */
#define NS_REGION_VERSION 1u
#define NS_REGION_HEADER_SIZE 256u
#define NS_REGION_MAX_SEGMENTS 12u
#define NS_REGION_MIN_SIZE 4096u
#define NS_REGION_MAX_SIZE 0x80000000u
#define NS_SEGMENT_KIND_RING 1u
#define NS_SEGMENT_KIND_SIDECAR_CONTROL 2u
#define NS_SEGMENT_KIND_USER_MIN 0x10000u
#define NS_SEGMENT_ALIGN NS_BLOCK_SIZE /* segment offsets are multiples of a block (§1) */

typedef struct ns_segment_entry {
  uint32_t kind;
  uint32_t offset;
  uint32_t size;
  uint32_t reserved;
} ns_segment_entry;

typedef struct ns_region_header {
  uint32_t magic;
  uint16_t version;
  uint16_t header_size;
  uint32_t region_size;
  uint32_t segment_count;
  uint32_t flags;
  uint32_t creator_pid;
  uint8_t reserved[40];
  ns_segment_entry segments[NS_REGION_MAX_SEGMENTS];
} ns_region_header;

/* ---- ring (§2) ---- */
#define NS_RING_MAGIC 0x4252534Eu /* "NSRB" */
#define NS_RING_VERSION 1u
#define NS_RING_HEADER_SIZE 512u
#define NS_RING_MIN_CAPACITY 1024u
#define NS_RING_MAX_CAPACITY 0x40000000u
#define NS_RECORD_HEADER_SIZE 8u
#define NS_RECORD_ALIGN 8u
#define NS_RECORD_TYPE_MAX_USER 0x7FFFFFFFu
#define NS_RECORD_TYPE_PADDING 0xFFFFFFFFu
#define NS_RING_CLOSED_PRODUCER 1u
#define NS_RING_CLOSED_CONSUMER 2u
#define NS_RING_ATTACH_TRIES 64u /* attach: looks at (head, tail, head) until head holds still (§7) */
#define NS_RING_CLOSED_MASK 3u /* the defined bits of `closed`; bits 2–31 are reserved (0) and refused at attach */

typedef struct ns_ring_descriptor {
  uint32_t magic;
  uint16_t version;
  uint16_t header_size;
  uint32_t capacity;
  uint32_t max_payload;
  uint32_t flags;
  uint8_t reserved[NS_BLOCK_SIZE - 20];
} ns_ring_descriptor;

/* Shared header of a ring. Each block is written by one side only (see the table in §2), so the producer's stores
 * to tail never invalidate the consumer's line and vice versa. */
typedef struct ns_ring_shared {
  ns_ring_descriptor descriptor;                      /* block 0: read-only after init */
  NS_ATOMIC_U32 tail;                                 /* block 1: producer */
  uint8_t pad_producer[NS_BLOCK_SIZE - 4];
  NS_ATOMIC_U32 head;                                 /* block 2: consumer */
  uint8_t pad_consumer[NS_BLOCK_SIZE - 4];
  NS_ATOMIC_U32 data_seq;                             /* block 3: park/wake words, written only on park/wake */
  NS_ATOMIC_U32 consumer_parked;
  NS_ATOMIC_U32 space_seq;
  NS_ATOMIC_U32 producer_parked;
  NS_ATOMIC_U32 closed;
  uint8_t pad_wait[NS_BLOCK_SIZE - 20];
} ns_ring_shared;

typedef struct ns_record_header {
  uint32_t length;
  uint32_t type;
} ns_record_header;

NS_STATIC_ASSERT(sizeof(ns_region_header) == NS_REGION_HEADER_SIZE, "region header is 256 bytes");
NS_STATIC_ASSERT(offsetof(ns_region_header, segments) == 64, "segment table at 64");
NS_STATIC_ASSERT(sizeof(ns_ring_shared) == NS_RING_HEADER_SIZE, "ring header is 512 bytes");
NS_STATIC_ASSERT(offsetof(ns_ring_shared, tail) == 128, "tail at 128");
NS_STATIC_ASSERT(offsetof(ns_ring_shared, head) == 256, "head at 256");
NS_STATIC_ASSERT(offsetof(ns_ring_shared, data_seq) == 384, "wait block at 384");
NS_STATIC_ASSERT(offsetof(ns_ring_shared, closed) == 400, "closed at 400");
NS_STATIC_ASSERT(sizeof(ns_record_header) == NS_RECORD_HEADER_SIZE, "record header is 8 bytes");
NS_STATIC_ASSERT(sizeof(NS_ATOMIC_U32) == 4, "a shared word is 4 bytes (the futex syscall takes its address)");

/* ---- sidecar (§8): control block segment and the messages on a sidecar's two rings ---- */
#define NS_SIDECAR_MAGIC 0x4353534Eu /* "NSSC" */
#define NS_SIDECAR_VERSION 1u
#define NS_SIDECAR_CONTROL_SIZE 512u     /* fixed part; the config bytes follow at this offset */
#define NS_SIDECAR_ERROR_MAX 248u        /* bytes of the error message area */
#define NS_SIDECAR_HOST_STATS_OFFSET 64u /* block 0's second cache line: the host statistics (§8.4) */
#define NS_SIDECAR_HOST_STATS_SIZE 64u
#define NS_SIDECAR_HOST_WANTS_PROCESS 1u /* host_flags bit 0: forward each command to the host as a PROCESS message */

/* state (written by the sidecar) */
#define NS_SIDECAR_STATE_CREATED 0u      /* written by the host; nothing has run yet */
#define NS_SIDECAR_STATE_LOADING 1u      /* attaching the region, loading the plugin */
#define NS_SIDECAR_STATE_INITIALIZING 2u /* inside plugin init */
#define NS_SIDECAR_STATE_RUNNING 3u      /* the loop runs */
#define NS_SIDECAR_STATE_DISPOSING 4u    /* the command ring ended; inside plugin dispose */
#define NS_SIDECAR_STATE_EXITED 5u       /* the runtime returned normally */
#define NS_SIDECAR_STATE_FAILED 6u       /* the runtime gave up; exit_reason and the error message say why */

/* in_plugin (written by the sidecar): which plugin call is running, for the watchdog */
#define NS_SIDECAR_CALL_NONE 0u
#define NS_SIDECAR_CALL_INIT 1u
#define NS_SIDECAR_CALL_PROCESS 2u
#define NS_SIDECAR_CALL_DISPOSE 3u

/* exit_reason (written by the sidecar); the executable native-sidecar-host exits with NS_SIDECAR_EXIT_CODE_BASE +
 * reason for every reason but NORMAL (exit code 0) */
#define NS_SIDECAR_EXIT_NONE 0u         /* still running */
#define NS_SIDECAR_EXIT_NORMAL 1u       /* stopped by the host; dispose ran */
#define NS_SIDECAR_EXIT_BAD_REGION 2u   /* the region, control block or a ring failed validation at start */
#define NS_SIDECAR_EXIT_LOAD_FAILED 3u  /* dlopen failed (missing file, not a shared library) */
#define NS_SIDECAR_EXIT_NOT_PLUGIN 4u   /* the library does not export ns_plugin_get, or it returned NULL */
#define NS_SIDECAR_EXIT_ABI_MISMATCH 5u /* the plugin's abi_version or struct_size is not supported */
#define NS_SIDECAR_EXIT_INIT_FAILED 6u  /* plugin init returned non-zero; error_code is its value */
#define NS_SIDECAR_EXIT_CORRUPT 7u      /* a ring failed validation while running, or a message was malformed */
#define NS_SIDECAR_EXIT_PARENT_DIED 8u  /* process mode: the host process is gone */
#define NS_SIDECAR_EXIT_USAGE 9u        /* process mode: bad command-line arguments */
#define NS_SIDECAR_EXIT_SANDBOX 10u     /* process mode: a confinement layer the host required could not be applied */
#define NS_SIDECAR_EXIT_RESOURCE_LIMIT 11u /* process mode: the plugin died on a sandbox limit (memory, CPU time) */
#define NS_SIDECAR_EXIT_SCHEDULING 12u /* the kernel refused the requested scheduling (priority, policy, CPUs) */
#define NS_SIDECAR_EXIT_MAX 12u         /* the host reads a larger exit_reason as NONE (untrusted input) */
#define NS_SIDECAR_EXIT_CODE_BASE 64

/* sandbox (written by the sidecar process before it loads the plugin, §8.1): the confinement layers in force. The
 * host reads it after READY (or a start failure) to report what was applied; the sidecar does not rely on it. */
#define NS_SANDBOX_FDS_CLOSED 0x001u    /* every inherited descriptor but stdio, region, wake fd and plugin closed */
#define NS_SANDBOX_NO_NEW_PRIVS 0x002u  /* PR_SET_NO_NEW_PRIVS */
#define NS_SANDBOX_LANDLOCK_FS 0x004u   /* Landlock filesystem rules */
#define NS_SANDBOX_LANDLOCK_NET 0x008u  /* Landlock TCP bind/connect refused (ABI ≥ 4) */
#define NS_SANDBOX_LANDLOCK_SCOPE 0x010u /* Landlock signal and abstract-socket scoping (ABI ≥ 6) */
#define NS_SANDBOX_SECCOMP 0x020u       /* the seccomp filter of native/sidecar/sandbox.c */
#define NS_SANDBOX_USER_NS 0x040u       /* a new user namespace (and IPC namespace) */
#define NS_SANDBOX_NET_NS 0x080u        /* a new network namespace: no interfaces but a down loopback */
#define NS_SANDBOX_LIMITS 0x100u        /* the requested resource limits (setrlimit) */

/* sched (written by the runtime thread before it loads the plugin, §8.1): which parts of the requested scheduling it
 * applied to itself. Informational: the host reads it after READY to report what is in force. */
#define NS_SCHED_CPUS 0x1u   /* sched_setaffinity of the runtime thread */
#define NS_SCHED_POLICY 0x2u /* sched_setscheduler (policy and priority) */
#define NS_SCHED_NICE 0x4u   /* setpriority of the runtime thread's tid */

/* Message kinds = the record type of every record on a sidecar's rings. Every message payload starts with an 8-byte
 * message header {arg0, arg1} (so the data after it stays 8-byte aligned) followed by the data. */
#define NS_SIDECAR_MSG_HEADER_SIZE 8u
#define NS_SIDECAR_MSG_COMMAND 1u   /* command ring: arg0 = command type, arg1 = claim word: request id (0 = no reply
                                     * wanted), or WITHDRAWN, or STARTED_BIT | request id (§8.3) */
#define NS_SIDECAR_MSG_READY 16u    /* event ring: plugin init succeeded; no data */
#define NS_SIDECAR_MSG_PROCESS 17u  /* event ring: a command is being processed (host_flags bit 0): as COMMAND */
#define NS_SIDECAR_MSG_EVENT 18u    /* event ring: arg0 = event id, arg1 = 0 */
#define NS_SIDECAR_MSG_REPLY 19u    /* event ring: arg0 = request id, arg1 = status (0 ok, else the process result) */
#define NS_SIDECAR_MSG_LOG 20u      /* event ring: arg0 = level, arg1 = 0, data = UTF-8 text */
#define NS_SIDECAR_MSG_DISPOSED 21u /* event ring: plugin dispose returned; the last message */

/* The claim word of a COMMAND (its arg1, §8.3): 0 (a send) or a request id 1 … NS_SIDECAR_MAX_REQUEST_ID, written by
 * the host; the host withdraws a command by CAS to NS_SIDECAR_CMD_WITHDRAWN, the sidecar takes it by CAS to
 * NS_SIDECAR_CMD_STARTED_BIT | value. Exactly one of the two CASes wins. */
#define NS_SIDECAR_CMD_STARTED_BIT 0x80000000u /* set by the sidecar when it takes the command */
#define NS_SIDECAR_CMD_WITHDRAWN 0x7FFFFFFFu   /* set by the host: the sidecar skips the command */
#define NS_SIDECAR_MAX_REQUEST_ID 0x7FFFFFFEu  /* request ids are 1 … this; the host wraps to 1 after it */

typedef struct ns_sidecar_msg_header {
  uint32_t arg0;
  uint32_t arg1;
} ns_sidecar_msg_header;

/* The control block: block 0's descriptor (bytes 0-63) is written by the host before the region is shared and
 * read-only afterwards, its second cache line holds the host statistics (§8.4, host-written at any time, never read
 * by the sidecar); blocks 1–3 are written by the sidecar only (the host reads them: they are untrusted input there).
 * started and completed are the progress counters of §8.3: stored with release, they count commands of the command
 * ring in ring order. */
typedef struct ns_sidecar_control {
  /* block 0: descriptor (host) */
  uint32_t magic;
  uint16_t version;
  uint16_t header_size;     /* NS_SIDECAR_CONTROL_SIZE */
  uint32_t command_segment; /* index in the region's segment table of the command ring (host → sidecar) */
  uint32_t event_segment;   /* index of the event ring (sidecar → host) */
  uint32_t config_length;   /* config bytes at offset NS_SIDECAR_CONTROL_SIZE */
  uint32_t host_flags;      /* NS_SIDECAR_HOST_* */
  uint32_t host_pid;        /* the process the sidecar process watches (informational in thread mode) */
  uint32_t redelivered;     /* the first this-many commands of the command ring are redeliveries (0 or 1, §8.3) */
  uint32_t sidecar_index;   /* the host's number for this Sidecar, the same across restarts (informational, §8.4) */
  uint8_t reserved0[NS_SIDECAR_HOST_STATS_OFFSET - 36];
  /* block 0, second cache line: host statistics (§8.4), host-written at any time with plain relaxed stores; the
   * sidecar never reads, writes or validates them */
  uint32_t commands_sent;     /* COMMAND records published to the command ring, modulo 2^32 */
  uint32_t messages_received; /* records drained from the event ring, modulo 2^32 */
  uint32_t pending_requests;  /* requests waiting for their reply now (a gauge) */
  uint32_t restarts;          /* restarts of this Sidecar so far */
  uint8_t reserved_stats[NS_SIDECAR_HOST_STATS_SIZE - 16];
  /* block 1: status (sidecar) */
  NS_ATOMIC_U32 state;      /* NS_SIDECAR_STATE_* */
  NS_ATOMIC_U32 heartbeat;  /* incremented on every entry into and return from a plugin call, and per loop batch */
  NS_ATOMIC_U32 in_plugin;  /* NS_SIDECAR_CALL_* */
  NS_ATOMIC_U32 pid;        /* the process running the loop */
  NS_ATOMIC_U32 exit_reason; /* NS_SIDECAR_EXIT_* */
  NS_ATOMIC_U32 error_code; /* the value init returned (two's complement), or a ring/region code */
  NS_ATOMIC_U32 processed;  /* commands processed, modulo 2^32 (informational) */
  NS_ATOMIC_U32 started;    /* commands taken (claimed, or skipped as withdrawn), modulo 2^32 (§8.3) */
  NS_ATOMIC_U32 completed;  /* commands finished (process returned and its failure REPLY committed, or skipped) */
  NS_ATOMIC_U32 sandbox;    /* NS_SANDBOX_* layers in force (process mode; 0 in thread mode or unconfined) */
  NS_ATOMIC_U32 landlock_abi; /* the kernel's Landlock ABI version the sidecar found (0: none or not probed) */
  NS_ATOMIC_U32 messages_sent; /* statistics (§8.4): records committed to the event ring, modulo 2^32 (relaxed) */
  NS_ATOMIC_U32 replies_sent;  /* statistics (§8.4): REPLY messages among them, modulo 2^32 (relaxed) */
  uint8_t reserved1a[208 - 180]; /* 180–207: reserved (0) */
  NS_ATOMIC_U32 sched;      /* NS_SCHED_* parts of the requested scheduling applied (0: none requested) */
  uint8_t reserved1[NS_BLOCK_SIZE - 84];
  /* blocks 2–3: error message (sidecar): written before state becomes FAILED (release), read after (acquire) */
  uint32_t error_length;    /* ≤ NS_SIDECAR_ERROR_MAX */
  uint32_t reserved2;
  uint8_t error[NS_SIDECAR_ERROR_MAX];
} ns_sidecar_control;

NS_STATIC_ASSERT(sizeof(ns_sidecar_control) == NS_SIDECAR_CONTROL_SIZE, "sidecar control block is 512 bytes");
NS_STATIC_ASSERT(offsetof(ns_sidecar_control, redelivered) == 28, "redelivered at 28");
NS_STATIC_ASSERT(offsetof(ns_sidecar_control, sidecar_index) == 32, "sidecar_index at 32");
NS_STATIC_ASSERT(offsetof(ns_sidecar_control, commands_sent) == NS_SIDECAR_HOST_STATS_OFFSET, "host statistics at 64");
NS_STATIC_ASSERT(offsetof(ns_sidecar_control, state) == 128, "status block at 128");
NS_STATIC_ASSERT(offsetof(ns_sidecar_control, messages_sent) == 172, "messages_sent at 172");
NS_STATIC_ASSERT(offsetof(ns_sidecar_control, processed) == 152, "processed at 152");
NS_STATIC_ASSERT(offsetof(ns_sidecar_control, started) == 156, "started at 156");
NS_STATIC_ASSERT(offsetof(ns_sidecar_control, completed) == 160, "completed at 160");
NS_STATIC_ASSERT(offsetof(ns_sidecar_control, sandbox) == 164, "sandbox at 164");
NS_STATIC_ASSERT(offsetof(ns_sidecar_control, landlock_abi) == 168, "landlock_abi at 168");
NS_STATIC_ASSERT(offsetof(ns_sidecar_control, sched) == 208, "sched at 208");
NS_STATIC_ASSERT(offsetof(ns_sidecar_control, error_length) == 256, "error block at 256");
NS_STATIC_ASSERT(sizeof(ns_sidecar_msg_header) == NS_SIDECAR_MSG_HEADER_SIZE, "message header is 8 bytes");

#endif /* NATIVE_SIDECAR_LAYOUT_H */
