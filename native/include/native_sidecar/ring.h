/* native_sidecar/ring.h — the single-producer single-consumer record ring of docs/wire-format.md §2–§6.
 *
 * Header-only C11, also valid C++17 (the addon includes it). No allocation, no locks, return codes on every path
 * (status.h). The verbs follow Aeron/agrona: init, attach, try_write (= stage + publish), try_claim/commit/abort,
 * read (batched, with a handler), peek/release (zero-copy).
 *
 * Threads. A ring has exactly one producer thread and one consumer thread at a time (they may live in different
 * processes). An ns_ring handle is process-local; one handle may serve both sides (its producer and consumer fields
 * live on separate cache lines), or each side may attach its own handle. Every function below says which side may
 * call it; calling a producer function from two threads at once, or a consumer function from two threads at once,
 * is undefined behaviour, as with any SPSC queue.
 *
 * A hostile peer. Everything in shared memory except the bytes this side wrote itself is re-validated before use
 * (§3, §4). A failed check makes this side of the handle *broken*: it returns NS_RING_ECORRUPT from then on and never
 * touches memory outside the segment because of a peer's value. No loop depends on a peer's value to terminate.
 *
 * Waiting. This file never blocks. Blocking waits (spin, spin-then-park, park) are in wait.h; publish() and the
 * consumer's head store perform the waker's half of the park/wake handshake (§5.1), which costs one full fence and
 * one load of a line nobody is writing unless the peer is parked. */
#ifndef NATIVE_SIDECAR_RING_H
#define NATIVE_SIDECAR_RING_H

#include <string.h>

#include "native_sidecar/futex.h"
#include "native_sidecar/layout.h"
#include "native_sidecar/status.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "native_sidecar/ring.h: the wire format is little-endian and this target is not"
#endif

/* Producer-local state (process memory, never shared). */
typedef struct ns_ring_producer_local {
  uint32_t tail;         /* next byte to write; includes staged (written but unpublished) records */
  uint32_t published;    /* the last value stored to shared tail */
  uint32_t head_cache;   /* the last validated value of shared head: a hint, refreshed only when it says "full" */
  uint32_t claim_pos;    /* position of the claimed record's header (after the padding, if any) */
  uint32_t claim_length; /* payload bytes of the claimed record */
  int claimed;           /* a try_claim() awaits commit() or abort() */
  int closed;            /* ns_ring_close_producer() was called */
  int broken;            /* the consumer's head failed validation */
  int wake_fd;           /* the consumer's eventfd, written on every wake of the consumer (§5.1.1), or -1 */
} ns_ring_producer_local;

/* Consumer-local state (process memory, never shared). */
typedef struct ns_ring_consumer_local {
  uint32_t head;           /* next byte to read; ahead of head_published while a read() batch runs */
  uint32_t head_published; /* the last value stored to shared head */
  uint32_t tail_cache;     /* the last validated value of shared tail: a hint, refreshed only when it says "empty" */
  uint32_t peek_type;      /* the peeked record, copied out of shared memory so release() needs no re-validation */
  uint32_t peek_length;
  uint32_t peek_size;
  const uint8_t *peek_payload;
  int peeked;              /* a peek() awaits release() */
  int closed;              /* ns_ring_close_consumer() was called */
  int broken;              /* the producer's tail or a record failed validation */
  int wake_fd;             /* the producer's eventfd, written on every wake of the producer (§5.1.1), or -1 */
} ns_ring_consumer_local;

/* Process-local handle of one ring. The first fields are read-only after ns_ring_attach(); the producer's and the
 * consumer's fields start a block (two cache lines) apart so that two threads sharing one handle never write the
 * same line. */
typedef struct ns_ring {
  ns_ring_shared *shared; /* the segment's header blocks */
  uint8_t *data;          /* the data area: capacity bytes after the header */
  uint32_t capacity;      /* power of two */
  uint32_t mask;          /* capacity - 1 */
  uint32_t max_payload;
  NS_ALIGNAS(NS_BLOCK_SIZE) ns_ring_producer_local producer;
  NS_ALIGNAS(NS_BLOCK_SIZE) ns_ring_consumer_local consumer;
} ns_ring;

/* Called by ns_ring_read() for each record, on the consumer thread. `payload` points into the ring and is valid only
 * during the call (copy what you keep). Return 0 to go on, nonzero to stop after this record (it counts as consumed).
 * The handler must not call consumer functions of the same ring. */
typedef int (*ns_ring_handler)(void *ctx, uint32_t type, const uint8_t *payload, uint32_t length);

/* ------------------------------------------------------------------------------------------------ sizes (§2, §4) */

/* Bytes of a ring segment with `capacity` data bytes. Pure. */
static inline size_t ns_ring_segment_size(uint32_t capacity) {
  return (size_t)NS_RING_HEADER_SIZE + capacity;
}

/* The largest max_payload a ring of `capacity` bytes allows (§4: a record plus the padding before it must fit). */
static inline uint32_t ns_ring_max_payload_for(uint32_t capacity) {
  return capacity / 2u - NS_RECORD_HEADER_SIZE;
}

/* Bytes a record with `length` payload bytes occupies: header plus payload, rounded up to NS_RECORD_ALIGN. Exact
 * for every length ≤ NS_RING_MAX_CAPACITY (the only lengths that can be valid). */
static inline uint32_t ns_record_size(uint32_t length) {
  return (uint32_t)(((uint64_t)NS_RECORD_HEADER_SIZE + length + (NS_RECORD_ALIGN - 1u)) &
                    ~(uint64_t)(NS_RECORD_ALIGN - 1u));
}

static inline int ns_ring__capacity_valid(uint32_t capacity) {
  return capacity >= NS_RING_MIN_CAPACITY && capacity <= NS_RING_MAX_CAPACITY && (capacity & (capacity - 1u)) == 0;
}

/* --------------------------------------------------------------------------------------------- create, attach */

/* Initialises a ring segment at `mem` (`size` bytes, 8-byte aligned; place it at a multiple of NS_BLOCK_SIZE in its
 * region as §2 requires). `capacity` is a power of two in [NS_RING_MIN_CAPACITY, NS_RING_MAX_CAPACITY];
 * `max_payload` 0 means ns_ring_max_payload_for(capacity), otherwise at most that; both positions start at
 * `initial_position`, a multiple of NS_RECORD_ALIGN (tests start near 2^32 to exercise the wrap). The data area is
 * not touched. Creator only, before the segment is shared: the handover (thread start, fork, passing the fd) orders
 * these plain writes before the peer's first access (§5). Returns NS_RING_OK or NS_RING_EINVAL. */
static inline int ns_ring_init(void *mem, size_t size, uint32_t capacity, uint32_t max_payload,
                               uint32_t initial_position) {
  if (mem == NULL || ((uintptr_t)mem % NS_RECORD_ALIGN) != 0) return NS_RING_EINVAL;
  if (!ns_ring__capacity_valid(capacity) || size < ns_ring_segment_size(capacity)) return NS_RING_EINVAL;
  if (max_payload == 0) max_payload = ns_ring_max_payload_for(capacity);
  if (max_payload > ns_ring_max_payload_for(capacity)) return NS_RING_EINVAL;
  if (initial_position % NS_RECORD_ALIGN != 0) return NS_RING_EINVAL;

  memset(mem, 0, NS_RING_HEADER_SIZE); /* reserved bytes, wait words and `closed` start at zero */
  ns_ring_shared *s = (ns_ring_shared *)mem;
  s->descriptor.magic = NS_RING_MAGIC;
  s->descriptor.version = (uint16_t)NS_RING_VERSION;
  s->descriptor.header_size = (uint16_t)NS_RING_HEADER_SIZE;
  s->descriptor.capacity = capacity;
  s->descriptor.max_payload = max_payload;
  s->descriptor.flags = 0;
  /* relaxed: published to the peer by the handover, not by these stores */
  NS_ATOMIC_STORE(&s->tail, initial_position, NS_MO_RELAXED);
  NS_ATOMIC_STORE(&s->head, initial_position, NS_MO_RELAXED);
  return NS_RING_OK;
}

/* Attaches handle `r` to the ring segment at `mem` (`size` bytes of it are mapped), for either side or both.
 * Validates the descriptor (magic, version, header size, capacity, max_payload, flags, and that the segment fits in
 * `size`) and the current positions (aligned, tail − head ≤ capacity). Any thread; the attaching side must not be
 * running elsewhere (one producer, one consumer). Returns NS_RING_OK; NS_RING_EINVAL for a NULL or misaligned
 * argument; NS_RING_ECORRUPT when the memory is not a valid ring, including `size` too small for a ring header or
 * for the capacity its descriptor states (one code for a too-small segment, §7). `r` does not
 * own `mem`: the mapping must outlive every use of the handle. */
static inline int ns_ring_attach(ns_ring *r, void *mem, size_t size) {
  if (r == NULL || mem == NULL || ((uintptr_t)mem % NS_RECORD_ALIGN) != 0) return NS_RING_EINVAL;
  memset(r, 0, sizeof *r);
  /* Too small for a ring header: the segment cannot hold a ring, like one too small for its data area (§7). */
  if (size < NS_RING_HEADER_SIZE) return NS_RING_ECORRUPT;

  ns_ring_shared *s = (ns_ring_shared *)mem;
  /* Copied once: the descriptor is read-only after init, and the handle keeps its own copy so that a peer changing
   * it later cannot change the bounds this side checks against. */
  const ns_ring_descriptor d = s->descriptor;
  if (d.magic != NS_RING_MAGIC || d.version != NS_RING_VERSION || d.header_size != NS_RING_HEADER_SIZE ||
      !ns_ring__capacity_valid(d.capacity) || d.max_payload == 0 ||
      d.max_payload > ns_ring_max_payload_for(d.capacity) || d.flags != 0 ||
      size < ns_ring_segment_size(d.capacity)) {
    return NS_RING_ECORRUPT;
  }
  /* Positions (§7 "attach"): head, then tail, then head again, until the two heads agree (at most
   * NS_RING_ATTACH_TRIES times). Equal heads mean head did not move while tail was loaded, so the pair is one moment's
   * and §3's check applies exactly. That is always the first try for a side that owns the consumer end (nobody else
   * moves head); a side that owns the producer end has a frozen tail, which a moving head never passes. Only an
   * observer owning neither end can see both move; if head never holds still, the check allows the head's own
   * movement: tail − head1 ≤ (head2 − head1) + capacity, which a valid live ring always satisfies. */
  uint32_t head = 0, tail = 0, head_again = 0;
  for (uint32_t tries = 0; tries < NS_RING_ATTACH_TRIES; ++tries) {
    /* acquire, pairs with the consumer's release store of head (§5 #3): a producer attaching to a live ring never
     * reuses bytes the consumer still reads. */
    head = NS_ATOMIC_LOAD(&s->head, NS_MO_ACQUIRE);
    /* acquire, pairs with the producer's release store of tail in ns_ring_publish() (§5 #1): a consumer attaching to
     * a live ring sees every record below tail complete. */
    tail = NS_ATOMIC_LOAD(&s->tail, NS_MO_ACQUIRE);
    /* acquire, §5 #3 again: the second look at head that tells whether it moved during the load of tail. */
    head_again = NS_ATOMIC_LOAD(&s->head, NS_MO_ACQUIRE);
    if (head_again == head) break;
  }
  if (head % NS_RECORD_ALIGN != 0 || tail % NS_RECORD_ALIGN != 0 || head_again % NS_RECORD_ALIGN != 0 ||
      (uint64_t)(uint32_t)(tail - head) > (uint64_t)(uint32_t)(head_again - head) + d.capacity) {
    return NS_RING_ECORRUPT;
  }
  /* relaxed: only the reserved bits are checked here (§1 "Reserved values"); the closed bits themselves are loaded
   * with acquire where they are acted on. */
  if ((NS_ATOMIC_LOAD(&s->closed, NS_MO_RELAXED) & ~NS_RING_CLOSED_MASK) != 0) return NS_RING_ECORRUPT;

  r->shared = s;
  r->data = (uint8_t *)mem + NS_RING_HEADER_SIZE;
  r->capacity = d.capacity;
  r->mask = d.capacity - 1u;
  r->max_payload = d.max_payload;
  r->producer.tail = tail;
  r->producer.published = tail;
  r->producer.head_cache = head;
  r->consumer.head = head;
  r->consumer.head_published = head;
  r->consumer.tail_cache = tail;
  r->producer.wake_fd = -1; /* no eventfd until ns_ring_set_consumer_wake_fd() */
  r->consumer.wake_fd = -1;
  return NS_RING_OK;
}

/* ------------------------------------------------------------------------------------- eventfd wake (§5.1.1) */

/* Makes this handle's producer side also write 1 to eventfd `fd` each time it wakes the consumer: when the
 * exchange of §5.1 step 7 wins (after the futex wake, which stays) and when the producer closes. For a consumer that
 * sleeps in an event loop watching the eventfd (the EventfdParker) instead of in futex_wait. Process-local
 * configuration, not shared state: it changes nothing in the ring's memory, and the consumer's other waiters (futex)
 * keep working. `fd` < 0 turns it off. The handle does not own `fd`: it must stay open (and be an eventfd, or
 * anything a write of 8 bytes does no harm to) while the producer uses the handle. Call it on the producer thread, or
 * before the producer thread starts. Returns NS_RING_OK, or NS_RING_EINVAL for a NULL handle. */
static inline int ns_ring_set_consumer_wake_fd(ns_ring *r, int fd) {
  if (r == NULL) return NS_RING_EINVAL;
  r->producer.wake_fd = fd < 0 ? -1 : fd;
  return NS_RING_OK;
}

/* The mirror image for a producer waiting for space: this handle's consumer side writes 1 to `fd` each time it wakes
 * the producer (head store whose exchange wins, consumer close). Same contract as ns_ring_set_consumer_wake_fd(), on
 * the consumer thread. */
static inline int ns_ring_set_producer_wake_fd(ns_ring *r, int fd) {
  if (r == NULL) return NS_RING_EINVAL;
  r->consumer.wake_fd = fd < 0 ? -1 : fd;
  return NS_RING_OK;
}

/* Adds 1 to the eventfd `fd` (if ≥ 0). Errors are ignored on purpose: EAGAIN means the counter is saturated, and a
 * saturated eventfd is readable, which is all the sleeper needs; any other error is the owner's misconfiguration and
 * the futex wake that precedes this call still wakes futex waiters. EINTR is retried. */
static inline void ns_ring__signal_wake_fd(int fd) {
  if (fd < 0) return;
  const uint64_t one = 1;
  while (write(fd, &one, sizeof one) < 0 && errno == EINTR) {
  }
}

/* ----------------------------------------------------------------------------------------------- producer side */

static inline void ns_ring__write_header(uint8_t *at, uint32_t length, uint32_t type) {
  ns_record_header h;
  h.length = length;
  h.type = type;
  memcpy(at, &h, sizeof h);
}

static inline int ns_ring__producer_usable(const ns_ring *r) {
  if (r->producer.broken) return NS_RING_ECORRUPT;
  if (r->producer.closed) return NS_RING_ECLOSED;
  return NS_RING_OK;
}

/* Bytes a record of `size` bytes needs at `tail`: itself, plus the padding to the end if it does not fit there. */
static inline uint32_t ns_ring__space_needed(const ns_ring *r, uint32_t tail, uint32_t size) {
  const uint32_t to_end = r->capacity - (tail & r->mask);
  return size <= to_end ? size : to_end + size;
}

/* Reloads and validates the consumer's head (§3, producer column). Producer thread only. */
static inline int ns_ring__producer_refresh_head(ns_ring *r) {
  ns_ring_producer_local *p = &r->producer;
  /* acquire, pairs with the consumer's release store of head in ns_ring__consumer_store_head() (§5 #4 ↔ #3): the
   * consumer has finished reading every byte below this head before we overwrite it. */
  const uint32_t head = NS_ATOMIC_LOAD(&r->shared->head, NS_MO_ACQUIRE);
  /* Aligned, not behind our cache, not past what we published (which also keeps tail − head ≤ capacity). */
  if (head % NS_RECORD_ALIGN != 0 || (uint32_t)(head - p->head_cache) > (uint32_t)(p->published - p->head_cache)) {
    p->broken = 1;
    return NS_RING_ECORRUPT;
  }
  p->head_cache = head;
  return NS_RING_OK;
}

/* Whether the consumer closed its end. Producer slow path only (when the ring is full). */
static inline int ns_ring__consumer_closed(const ns_ring *r) {
  /* acquire, pairs with the fetch_or in ns_ring_close_consumer(): only a flag, nothing else is published with it. */
  return (NS_ATOMIC_LOAD(&r->shared->closed, NS_MO_ACQUIRE) & NS_RING_CLOSED_CONSUMER) != 0;
}

/* 1 when a record of `size` bytes fits now, 0 when not, or NS_RING_ECORRUPT / NS_RING_ECLOSED. Reloads head only
 * when the cache says the record does not fit. Producer thread only. */
static inline int ns_ring__producer_fits(ns_ring *r, uint32_t size) {
  ns_ring_producer_local *p = &r->producer;
  const uint32_t need = ns_ring__space_needed(r, p->tail, size);
  if (r->capacity - (uint32_t)(p->tail - p->head_cache) >= need) return 1;
  const int rc = ns_ring__producer_refresh_head(r);
  if (rc != NS_RING_OK) return rc;
  if (r->capacity - (uint32_t)(p->tail - p->head_cache) >= need) return 1;
  return ns_ring__consumer_closed(r) ? NS_RING_ECLOSED : 0;
}

/* Reserves `size` bytes at the tail, writing the padding record first when the record does not fit before the end
 * (§4). Stores the position of the record's header in *pos. Writes nothing unless it returns NS_RING_OK; the tail is
 * not moved (the caller moves it once the record is written). Producer thread only. */
static inline int ns_ring__reserve(ns_ring *r, uint32_t size, uint32_t *pos) {
  ns_ring_producer_local *p = &r->producer;
  const int fits = ns_ring__producer_fits(r, size);
  if (fits != 1) return fits == 0 ? NS_RING_EFULL : fits;
  const uint32_t index = p->tail & r->mask;
  const uint32_t to_end = r->capacity - index;
  if (size > to_end) {
    /* (a) of the publication order: padding ends exactly at the end of the data area; to_end ≥ 8 since both the
     * index and capacity are multiples of 8. */
    ns_ring__write_header(r->data + index, to_end - NS_RECORD_HEADER_SIZE, NS_RECORD_TYPE_PADDING);
    *pos = p->tail + to_end;
  } else {
    *pos = p->tail;
  }
  return NS_RING_OK;
}

static inline int ns_ring__check_record_args(const ns_ring *r, uint32_t type, uint32_t length) {
  if (type > NS_RECORD_TYPE_MAX_USER) return NS_RING_EINVAL;
  if (length > r->max_payload) return NS_RING_ETOOBIG;
  return NS_RING_OK;
}

/* Copies one record (type ≤ NS_RECORD_TYPE_MAX_USER, `length` ≤ max_payload bytes from `payload`, which may be NULL
 * only when length is 0) into the ring without publishing it: call ns_ring_publish() once after a batch (§5
 * "batched publication"). Producer thread only; `payload` is only read during the call. Returns NS_RING_OK;
 * NS_RING_EFULL when there is no room (nothing written, nothing changed; the unpublished batch stays staged);
 * NS_RING_ETOOBIG; NS_RING_EINVAL (bad type or pointer, or a claim is outstanding); NS_RING_ECLOSED after
 * ns_ring_close_producer(), or when full and the consumer has closed its end; NS_RING_ECORRUPT. */
static inline int ns_ring_stage(ns_ring *r, uint32_t type, const void *payload, uint32_t length) {
  int rc = ns_ring__producer_usable(r);
  if (rc != NS_RING_OK) return rc;
  if (r->producer.claimed || (payload == NULL && length != 0)) return NS_RING_EINVAL;
  if ((rc = ns_ring__check_record_args(r, type, length)) != NS_RING_OK) return rc;
  const uint32_t size = ns_record_size(length);
  uint32_t pos;
  if ((rc = ns_ring__reserve(r, size, &pos)) != NS_RING_OK) return rc;
  uint8_t *at = r->data + (pos & r->mask);
  if (length != 0) memcpy(at + NS_RECORD_HEADER_SIZE, payload, length); /* (b) payload */
  ns_ring__write_header(at, length, type);                               /* (c) header */
  r->producer.tail = pos + size;
  return NS_RING_OK;
}

/* Publishes every staged or committed record: (d) store-release tail, (e) full fence, (f) wake the consumer if it
 * announced that it is parked (§5, §5.1 steps 6–7). Wake-ups coalesce: the futex system call happens only when the
 * consumer is parked, and only one publication per park pays for it. Producer thread only. A no-op when nothing is
 * staged or this side is broken. */
static inline void ns_ring_publish(ns_ring *r) {
  ns_ring_producer_local *p = &r->producer;
  if (p->broken || p->tail == p->published) return;
  ns_ring_shared *s = r->shared;
  /* (d) release, §5 #1: pairs with the consumer's acquire load of tail in ns_ring__consumer_refresh_tail() (#2) —
   * the records written above are complete before the consumer can see the new tail. */
  NS_ATOMIC_STORE(&s->tail, p->tail, NS_MO_RELEASE);
  p->published = p->tail;
  /* (e) §5 #6: pairs with the full fence in the consumer's park (#5, wait.h): either the consumer's re-check sees
   * this tail, or this load sees consumer_parked = 1. */
  NS_ATOMIC_FENCE(NS_MO_SEQ_CST);
  /* (f) relaxed load: the fence above orders it; the exchange lets exactly one waker pay for the system call. */
  if (NS_ATOMIC_LOAD(&s->consumer_parked, NS_MO_RELAXED) == 1u &&
      NS_ATOMIC_EXCHANGE(&s->consumer_parked, 0u, NS_MO_SEQ_CST) == 1u) {
    /* seq_cst (so release): pairs with the consumer's acquire load of data_seq (§5.1 step 1) — the consumer cannot
     * have read this increment before announcing that it parks. */
    NS_ATOMIC_FETCH_ADD(&s->data_seq, 1u, NS_MO_SEQ_CST);
    ns_futex_wake(&s->data_seq);
    /* §5.1.1: same winning exchange, after the increment, so an eventfd sleeper that reads the counter and re-checks
     * sees the new data_seq (and tail). */
    ns_ring__signal_wake_fd(p->wake_fd);
  }
}

/* Stages one record and publishes it (ns_ring_stage() + ns_ring_publish(), with any earlier staged records).
 * Same contract and return codes as ns_ring_stage(); on NS_RING_EFULL nothing is written or published. */
static inline int ns_ring_try_write(ns_ring *r, uint32_t type, const void *payload, uint32_t length) {
  const int rc = ns_ring_stage(r, type, payload, length);
  if (rc == NS_RING_OK) ns_ring_publish(r);
  return rc;
}

/* Reserves room for a record of `length` payload bytes and stores in *payload_out a pointer to its payload (8-byte
 * aligned, `length` writable bytes inside the ring). The producer fills it and then calls ns_ring_commit() or
 * ns_ring_abort(); the pointer is valid until then. At most one claim at a time; no stage/try_write while it is
 * outstanding. Producer thread only. Returns like ns_ring_stage(); on any error *payload_out is untouched. */
static inline int ns_ring_try_claim(ns_ring *r, uint32_t length, void **payload_out) {
  int rc = ns_ring__producer_usable(r);
  if (rc != NS_RING_OK) return rc;
  if (payload_out == NULL || r->producer.claimed) return NS_RING_EINVAL;
  if (length > r->max_payload) return NS_RING_ETOOBIG;
  uint32_t pos;
  if ((rc = ns_ring__reserve(r, ns_record_size(length), &pos)) != NS_RING_OK) return rc;
  r->producer.claim_pos = pos;
  r->producer.claim_length = length;
  r->producer.claimed = 1;
  *payload_out = r->data + ((pos + NS_RECORD_HEADER_SIZE) & r->mask);
  return NS_RING_OK;
}

/* Writes the header of the claimed record with `type` (≤ NS_RECORD_TYPE_MAX_USER) and publishes it, together with
 * any staged records. Producer thread only. Returns NS_RING_OK; NS_RING_EINVAL without a claim or with a bad type
 * (the claim stays outstanding); NS_RING_ECLOSED / NS_RING_ECORRUPT as ns_ring_stage(). */
static inline int ns_ring_commit(ns_ring *r, uint32_t type) {
  ns_ring_producer_local *p = &r->producer;
  const int rc = ns_ring__producer_usable(r);
  if (rc != NS_RING_OK) return rc;
  if (!p->claimed || type > NS_RECORD_TYPE_MAX_USER) return NS_RING_EINVAL;
  ns_ring__write_header(r->data + (p->claim_pos & r->mask), p->claim_length, type); /* (c) header */
  p->tail = p->claim_pos + ns_record_size(p->claim_length);
  p->claimed = 0;
  ns_ring_publish(r);
  return NS_RING_OK;
}

/* Forgets the outstanding claim, if any. Nothing is published; the bytes it wrote (payload, padding) lie beyond
 * tail and are never read. Producer thread only. */
static inline void ns_ring_abort(ns_ring *r) {
  r->producer.claimed = 0;
}

/* Ends the stream: publishes staged records, drops an outstanding claim, sets bit 0 of `closed` and wakes the
 * consumer unconditionally (§5.1 "Closing"). Afterwards every producer function returns NS_RING_ECLOSED. The
 * consumer reads what was published and then gets NS_RING_ECLOSED. Producer thread only; idempotent. */
static inline void ns_ring_close_producer(ns_ring *r) {
  ns_ring_producer_local *p = &r->producer;
  if (p->closed) return;
  p->claimed = 0;
  ns_ring_publish(r);
  p->closed = 1;
  ns_ring_shared *s = r->shared;
  /* seq_cst (so release): pairs with the consumer's acquire load of closed in ns_ring__consumer_next(): a consumer
   * that sees the bit and then reloads tail sees every record published above. */
  NS_ATOMIC_FETCH_OR(&s->closed, NS_RING_CLOSED_PRODUCER, NS_MO_SEQ_CST);
  /* Unconditional wake: increment first so a consumer between reading data_seq and sleeping does not sleep. */
  NS_ATOMIC_FETCH_ADD(&s->data_seq, 1u, NS_MO_SEQ_CST);
  ns_futex_wake(&s->data_seq);
  ns_ring__signal_wake_fd(p->wake_fd); /* §5.1.1 */
}

/* ----------------------------------------------------------------------------------------------- consumer side */

/* One validated user record inside the consumer's window. */
typedef struct ns_ring__record {
  uint32_t type;
  uint32_t length;
  uint32_t size; /* bytes it occupies: ns_record_size(length) */
  const uint8_t *payload;
} ns_ring__record;

/* Reads a u32 of a record header exactly once: a hostile producer may change it concurrently, and the value checked
 * must be the value used (no second fetch by the compiler). */
static inline uint32_t ns_ring__read_u32(const uint8_t *at) {
  return *(const volatile uint32_t *)(const volatile void *)at;
}

static inline int ns_ring__consumer_usable(const ns_ring *r) {
  if (r->consumer.broken) return NS_RING_ECORRUPT;
  if (r->consumer.closed) return NS_RING_ECLOSED;
  return NS_RING_OK;
}

static inline int ns_ring__consumer_corrupt(ns_ring *r) {
  r->consumer.broken = 1;
  return NS_RING_ECORRUPT;
}

/* Reloads and validates the producer's tail (§3, consumer column). Consumer thread only. */
static inline int ns_ring__consumer_refresh_tail(ns_ring *r) {
  ns_ring_consumer_local *c = &r->consumer;
  /* acquire, §5 #2: pairs with the release store of tail in ns_ring_publish() (#1) — every record below this tail
   * is completely written. */
  const uint32_t tail = NS_ATOMIC_LOAD(&r->shared->tail, NS_MO_ACQUIRE);
  /* §3: against the *published* head (the one the producer bounds itself by), not the local head, which runs ahead
   * of it during a read() batch: with the local head a tail up to (head − head_published) too far would pass. */
  const uint32_t used = tail - c->head_published;
  /* Aligned, at most capacity ahead of the published head, and not behind the tail we saw before. */
  if (tail % NS_RECORD_ALIGN != 0 || used > r->capacity || used < (uint32_t)(c->tail_cache - c->head_published)) {
    return ns_ring__consumer_corrupt(r);
  }
  c->tail_cache = tail;
  return NS_RING_OK;
}

/* Finds the next user record within the cached window [head, tail_cache), skipping (and consuming locally) padding.
 * Applies every check of §4 to a header copied once. Returns NS_RING_OK, NS_RING_EEMPTY or NS_RING_ECORRUPT. Each
 * padding skipped moves head by ≥ 8 bytes toward tail_cache, so the loop ends. Consumer thread only. */
static inline int ns_ring__next_in_window(ns_ring *r, ns_ring__record *out) {
  ns_ring_consumer_local *c = &r->consumer;
  for (;;) {
    const uint32_t avail = c->tail_cache - c->head;
    if (avail == 0) return NS_RING_EEMPTY;
    if (avail < NS_RECORD_HEADER_SIZE) return ns_ring__consumer_corrupt(r); /* check 1 */
    const uint32_t index = c->head & r->mask;
    const uint8_t *at = r->data + index;
    const uint32_t length = ns_ring__read_u32(at);
    const uint32_t type = ns_ring__read_u32(at + 4);
    if (type == NS_RECORD_TYPE_PADDING) { /* check 3, in 64 bits: a hostile length may be close to 2^32 */
      const uint64_t end = (uint64_t)index + NS_RECORD_HEADER_SIZE + length;
      /* index 0: no producer writes padding there (every record fits in a whole data area), and skipping one would
       * consume the whole ring without delivering anything (§4 check 3). */
      if (index == 0 || end != r->capacity || (uint64_t)NS_RECORD_HEADER_SIZE + length > avail) {
        return ns_ring__consumer_corrupt(r);
      }
      c->head += NS_RECORD_HEADER_SIZE + length;
      continue;
    }
    if (type > NS_RECORD_TYPE_MAX_USER || length > r->max_payload) return ns_ring__consumer_corrupt(r); /* 2, 4 */
    const uint32_t size = ns_record_size(length);
    if (size > avail || (uint64_t)index + size > r->capacity) return ns_ring__consumer_corrupt(r); /* check 4 */
    out->type = type;
    out->length = length;
    out->size = size;
    out->payload = at + NS_RECORD_HEADER_SIZE;
    return NS_RING_OK;
  }
}

/* Finds the next user record, reloading tail at most once per call chain (*may_reload is cleared when it does):
 * a reload bounds the bytes a call can walk to one capacity, so a producer publishing endlessly cannot keep the
 * consumer in one call forever. When the ring is empty and the producer has closed, returns NS_RING_ECLOSED.
 * Returns NS_RING_OK, NS_RING_EEMPTY, NS_RING_ECLOSED or NS_RING_ECORRUPT. Consumer thread only. */
static inline int ns_ring__consumer_next(ns_ring *r, ns_ring__record *out, int *may_reload) {
  int rc = ns_ring__next_in_window(r, out);
  if (rc != NS_RING_EEMPTY || !*may_reload) return rc;
  *may_reload = 0;
  if ((rc = ns_ring__consumer_refresh_tail(r)) != NS_RING_OK) return rc;
  rc = ns_ring__next_in_window(r, out);
  if (rc != NS_RING_EEMPTY) return rc;
  /* acquire, pairs with the seq_cst fetch_or in ns_ring_close_producer(): the producer's last store of tail happens
   * before the bit, so the reload below sees its final tail. */
  if ((NS_ATOMIC_LOAD(&r->shared->closed, NS_MO_ACQUIRE) & NS_RING_CLOSED_PRODUCER) == 0) return NS_RING_EEMPTY;
  if ((rc = ns_ring__consumer_refresh_tail(r)) != NS_RING_OK) return rc;
  rc = ns_ring__next_in_window(r, out);
  return rc == NS_RING_EEMPTY ? NS_RING_ECLOSED : rc;
}

/* Stores head if it moved, then performs the waker's half of §5.1 for a producer waiting for space. Consumer
 * thread only. */
static inline void ns_ring__consumer_store_head(ns_ring *r) {
  ns_ring_consumer_local *c = &r->consumer;
  if (c->head == c->head_published) return;
  ns_ring_shared *s = r->shared;
  /* release, §5 #3: pairs with the producer's acquire load of head in ns_ring__producer_refresh_head() (#4) — our
   * reads of the released records finish before the producer may overwrite them. */
  NS_ATOMIC_STORE(&s->head, c->head, NS_MO_RELEASE);
  c->head_published = c->head;
  /* §5 #6: pairs with the full fence in the producer's park (#5, wait.h). */
  NS_ATOMIC_FENCE(NS_MO_SEQ_CST);
  if (NS_ATOMIC_LOAD(&s->producer_parked, NS_MO_RELAXED) == 1u &&
      NS_ATOMIC_EXCHANGE(&s->producer_parked, 0u, NS_MO_SEQ_CST) == 1u) {
    /* seq_cst (so release): pairs with the producer's acquire load of space_seq (§5.1 step 1). */
    NS_ATOMIC_FETCH_ADD(&s->space_seq, 1u, NS_MO_SEQ_CST);
    ns_futex_wake(&s->space_seq);
    ns_ring__signal_wake_fd(c->wake_fd); /* §5.1.1, after the increment as in ns_ring_publish() */
  }
}

/* Calls `handler` for up to `limit` records (0: no limit other than what is published when the call starts plus
 * one reload of tail), in order, then stores head once for the whole batch. Consumer thread only; the handler runs
 * on this thread, synchronously. Returns the number of records consumed (≥ 0; 0 = empty); NS_RING_ECLOSED when the
 * ring is empty and the producer closed it (or after ns_ring_close_consumer()); NS_RING_ECORRUPT when the next
 * record or tail fails validation — records delivered before it in the same call are consumed and counted, and the
 * next call returns the error; NS_RING_EINVAL for a NULL handler or while a peek is outstanding. */
static inline int ns_ring_read(ns_ring *r, ns_ring_handler handler, void *ctx, uint32_t limit) {
  int rc = ns_ring__consumer_usable(r);
  if (rc != NS_RING_OK) return rc;
  if (handler == NULL || r->consumer.peeked) return NS_RING_EINVAL;
  if (limit == 0 || limit > (uint32_t)INT32_MAX) limit = (uint32_t)INT32_MAX;
  ns_ring_consumer_local *c = &r->consumer;
  uint32_t count = 0;
  int may_reload = 1;
  while (count < limit) {
    ns_ring__record rec;
    if ((rc = ns_ring__consumer_next(r, &rec, &may_reload)) != NS_RING_OK) break;
    const int stop = handler(ctx, rec.type, rec.payload, rec.length);
    c->head += rec.size;
    ++count;
    if (stop != 0) break;
  }
  ns_ring__consumer_store_head(r);
  if (count > 0) return (int)count;
  return rc == NS_RING_EEMPTY ? 0 : rc;
}

/* Returns the next record without consuming it: *type, *payload (a pointer into the ring, 8-byte aligned) and
 * *length. The pointer stays valid, and the bytes unchanged, until ns_ring_release() (or ns_ring_close_consumer());
 * peeking again before release returns the same record. Consumer thread only. Returns NS_RING_OK, NS_RING_EEMPTY,
 * NS_RING_ECLOSED (empty and the producer closed, or after ns_ring_close_consumer()), NS_RING_ECORRUPT, or
 * NS_RING_EINVAL for a NULL output pointer. Outputs are written only on NS_RING_OK. */
static inline int ns_ring_peek(ns_ring *r, uint32_t *type, const uint8_t **payload, uint32_t *length) {
  int rc = ns_ring__consumer_usable(r);
  if (rc != NS_RING_OK) return rc;
  if (type == NULL || payload == NULL || length == NULL) return NS_RING_EINVAL;
  ns_ring_consumer_local *c = &r->consumer;
  if (!c->peeked) {
    ns_ring__record rec;
    int may_reload = 1;
    rc = ns_ring__consumer_next(r, &rec, &may_reload);
    ns_ring__consumer_store_head(r); /* hands padding skipped on the way back to the producer */
    if (rc != NS_RING_OK) return rc;
    c->peek_type = rec.type;
    c->peek_length = rec.length;
    c->peek_size = rec.size;
    c->peek_payload = rec.payload;
    c->peeked = 1;
  }
  *type = c->peek_type;
  *payload = c->peek_payload;
  *length = c->peek_length;
  return NS_RING_OK;
}

/* Consumes the record returned by the last ns_ring_peek() and hands its bytes back to the producer (the peeked
 * pointer is invalid from now on). Consumer thread only. Returns NS_RING_OK; NS_RING_EINVAL when nothing is peeked;
 * NS_RING_ECLOSED / NS_RING_ECORRUPT as ns_ring_peek(). */
static inline int ns_ring_release(ns_ring *r) {
  const int rc = ns_ring__consumer_usable(r);
  if (rc != NS_RING_OK) return rc;
  ns_ring_consumer_local *c = &r->consumer;
  if (!c->peeked) return NS_RING_EINVAL;
  c->head += c->peek_size;
  c->peeked = 0;
  ns_ring__consumer_store_head(r);
  return NS_RING_OK;
}

/* Stops consuming: drops an outstanding peek (without consuming it), sets bit 1 of `closed` and wakes the producer
 * unconditionally (§5.1 "Closing"); a producer that finds the ring full then gets NS_RING_ECLOSED. Afterwards every
 * consumer function returns NS_RING_ECLOSED. Consumer thread only; idempotent. */
static inline void ns_ring_close_consumer(ns_ring *r) {
  ns_ring_consumer_local *c = &r->consumer;
  if (c->closed) return;
  c->peeked = 0;
  c->closed = 1;
  ns_ring_shared *s = r->shared;
  /* seq_cst: pairs with the producer's acquire load of closed in ns_ring__consumer_closed(). */
  NS_ATOMIC_FETCH_OR(&s->closed, NS_RING_CLOSED_CONSUMER, NS_MO_SEQ_CST);
  NS_ATOMIC_FETCH_ADD(&s->space_seq, 1u, NS_MO_SEQ_CST);
  ns_futex_wake(&s->space_seq);
  ns_ring__signal_wake_fd(c->wake_fd); /* §5.1.1 */
}

#endif /* NATIVE_SIDECAR_RING_H */
