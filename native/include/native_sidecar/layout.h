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
 * (and the comment next to it names the edge of §5 it belongs to). */
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
#define NS_ATOMIC_FENCE(mo) atomic_thread_fence(mo)
#define NS_ALIGNAS(n) _Alignas(n)
#endif

/* ---- region (§1) ---- */
#define NS_REGION_MAGIC 0x4752534Eu /* "NSRG" */
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

#endif /* NATIVE_SIDECAR_LAYOUT_H */
