/* native/model/parkwake.pml — Promela model of the park/wake handshake of docs/wire-format.md §5.1 and of the ring
 * positions, for spin. One producer and one consumer share a ring of CAP records (a record = one slot; byte sizes,
 * padding and the u32 wrap are not modelled — ring_test and the vectors cover those). The producer publishes N
 * records and then closes (§5.1 "Closing"); the consumer reads until it sees the close and an empty ring.
 *
 * Shared words (ns_ring_shared in layout.h; the same indices in src/ring/layout.ts):
 *   head, tail                 positions; tail − head records are published and unread
 *   data_seq, space_seq        the futex words (consumer sleeps on data_seq, producer on space_seq)
 *   consumer_parked, producer_parked   the "*_parked" announcements of §5.1 step 2
 *   closed                     bit 0 producer closed, bit 1 consumer closed (only bit 0 is used here)
 * Model of the kernel's futex (futex.h, FUTEX_WAIT / FUTEX_WAKE without FUTEX_PRIVATE_FLAG): futex_wait(word, v)
 * atomically compares the word with v and returns at once if they differ, otherwise puts the caller on the word's
 * queue; futex_wake(word) takes every current waiter off the queue. Timeouts and spurious wake-ups are not modelled:
 * a waiter sleeps until woken, which is what makes a lost wake-up visible (as a deadlock / an LTL violation). The
 * spin phase of wait.h (NS_WAIT_SPIN_THEN_PARK) only adds early returns and is left out.
 *
 * Memory model: spin explores interleavings, i.e. sequential consistency. Each statement below is one atomic
 * load, store or read-modify-write in program order; the full fences of §5 #5 / #6 (wait.h step 3, ring.h (e)) are
 * what makes the C11 program behave like this for the store→load pairs that matter (the argument of §5.1). The model
 * therefore checks the handshake's logic, not the C11 orderings themselves (TSan, native/test/sanitize.sh, checks the
 * C code's races; the fences are checked by reading).
 *
 * Properties:
 *   - assert: tail − head ≤ CAP and head ≤ tail after every change of a position (no overrun); the consumer ends
 *     with every record read.
 *   - no invalid end state (pan without a never claim): no deadlock — in particular no run in which a side sleeps
 *     forever on its futex while the other has finished or sleeps too.
 *   - ltl no_lost_wakeup: a consumer asleep on data_seq while data is published is eventually woken; likewise the
 *     producer asleep on space_seq while there is space.
 * Bug variants (test/model.test.ts checks that spin rejects each):
 *   -DBUG_NO_RECHECK   drop step 4 (the re-check of the position after setting the parked flag)
 *   -DBUG_NO_SEQ_INC   the waker wakes without incrementing the sequence word first (step 7)
 *   -DBUG_SEQ_LATE     the parking side reads the sequence word after setting its flag instead of before (step 1 late)
 *   -DBUG_OVERRUN      the producer's fits check is off by one (tail − head ≤ CAP instead of < CAP)
 *
 * Line map (as of commit 6406771; the comments at each step also quote the statement, which survives line moves):
 *   model step                      ring.h / wait.h / futex.h (C)                 src/ring/ring.ts (TS)
 *   producer: tail = tail + 1       ring.h:325  store-release tail  (d)           :912  Atomics.store(TAIL_I)
 *   wake_peer (consumer)            ring.h:329 fence (e); :331 load+exchange;     :1018 load+exchange; :1019 add
 *                                   :335 fetch_add data_seq; :336 futex_wake
 *   consumer: head = head + 1       ring.h:508  store-release head                :994  Atomics.store(HEAD_I)
 *   wake_peer (producer)            ring.h:511 fence; :512 load+exchange;         :1018, :1019 (same wakePeer)
 *                                   :515 fetch_add space_seq
 *   park step 1 seq = seqword       wait.h:115 (comment at :112) load-acquire     :1078 Atomics.load(seqI)
 *   park step 2 parked = 1          wait.h:116                                    :1082 Atomics.store(parkedI, 1)
 *   park step 3 (SC order)          wait.h:118 NS_ATOMIC_FENCE(SEQ_CST)           (seq_cst store + loads)
 *   park step 4 ready -> parked = 0 wait.h:119 ns_ring__ready; :121 clear         :1087 attempt()
 *   park step 5 futex_wait          wait.h:132; futex.h:61 FUTEX_WAIT             :1094 parker.wait(...)
 *   parked = 0 after the wait       wait.h:133                                    :1107 Atomics.store(parkedI, 0)
 *   close: closed |= 1; seq++; wake ring.h:402 fetch_or; :404 fetch_add; :405     :527 Atomics.or; :1026 wakeForClose
 *   futex_wake                      futex.h:74 FUTEX_WAKE, INT_MAX waiters        parker().wake(words, seqI)
 * Run: native/model/check.sh (spin -a, gcc pan.c, ./pan for safety, ./pan -a -f for the LTL property). */

#ifndef CAP
#define CAP 2
#endif
#ifndef N
#define N 4
#endif

byte head = 0;
byte tail = 0;
byte data_seq = 0;
byte space_seq = 0;
bit consumer_parked = 0;
bit producer_parked = 0;
byte closed = 0;
bit c_waiting = 0; /* the consumer is on data_seq's futex queue */
bit p_waiting = 0; /* the producer is on space_seq's futex queue */
byte consumed = 0;

/* ns_futex_wait (futex.h): compare and enqueue in one step, then block until a wake takes the caller off the queue. */
inline futex_wait(word, expected, waiting) {
  atomic {
    if
    :: word != expected -> skip
    :: else -> waiting = 1
    fi
  };
  (waiting == 0)
}

/* ns_futex_wake (futex.h): wakes every current waiter (INT_MAX); a wake with no waiter is a no-op. */
inline futex_wake(waiting) {
  waiting = 0
}

/* §5.1 step 7, the waker's half: ring.h ns_ring_publish() lines "(f) relaxed load ... EXCHANGE ... FETCH_ADD ...
 * ns_futex_wake" and ns_ring__consumer_store_head(); ring.ts wakePeer(). Step 6 (the full fence after the position
 * store) is the SC order of this model. */
inline wake_peer(parked, seqword, waiting) {
  if
  :: parked == 1 ->                       /* NS_ATOMIC_LOAD(&s->*_parked) == 1u / Atomics.load(parkedI) !== 0 */
    atomic { old = parked; parked = 0 };  /* NS_ATOMIC_EXCHANGE(&s->*_parked, 0u) / Atomics.exchange */
    if
    :: old == 1 ->
#ifndef BUG_NO_SEQ_INC
      seqword = seqword + 1;              /* NS_ATOMIC_FETCH_ADD(&s->*_seq, 1u) / Atomics.add(seqI, 1) */
#endif
      futex_wake(waiting)                 /* ns_futex_wake(&s->*_seq) / parker().wake(words, seqI) */
    :: else -> skip
    fi
  :: else -> skip
  fi
}

/* §5.1 steps 1–5, the parking side: wait.h ns_ring__wait_side() loop "step 1 ... step 2 ... step 3 (fence) ...
 * step 4 ns_ring__ready ... step 5 ns_futex_wait ... store(parked, 0)"; ring.ts parkUntil(): Atomics.load(seqI),
 * Atomics.store(parkedI, 1), attempt(), parker.wait(...), the finally's Atomics.store(parkedI, 0).
 * `ready` is the step-4 re-check (ns_ring__ready: data or close for the consumer, space or close for the producer). */
inline park(seqword, parked, waiting, ready) {
#ifndef BUG_SEQ_LATE
  seq = seqword;                          /* step 1: NS_ATOMIC_LOAD(seq_word, ACQUIRE) */
#endif
  parked = 1;                             /* step 2: NS_ATOMIC_STORE(parked, 1u); step 3 the fence */
#ifdef BUG_SEQ_LATE
  seq = seqword;
#endif
#ifndef BUG_NO_RECHECK
  if
  :: ready -> parked = 0                  /* step 4: ready, do not sleep */
  :: else ->
#endif
    futex_wait(seqword, seq, waiting);    /* step 5 */
    parked = 0                            /* wait.h: NS_ATOMIC_STORE(parked, 0u) after ns_futex_wait */
#ifndef BUG_NO_RECHECK
  fi
#endif
}

active proctype producer() {
  byte seq, h, old;
  byte written = 0;
  do
  :: written < N ->
    h = head;                             /* ns_ring__producer_refresh_head: acquire load of head (§5 #4) */
    if
#ifndef BUG_OVERRUN
    :: tail - h < CAP ->                  /* ns_ring__producer_fits */
#else
    :: tail - h <= CAP ->                 /* off by one: writes into a full ring */
#endif
      /* record bytes (a)–(c), then (d): NS_ATOMIC_STORE(&s->tail, RELEASE) in ns_ring_publish / publishTail() */
      tail = tail + 1;
      written = written + 1;
      assert(tail - head <= CAP && head <= tail);
      wake_peer(consumer_parked, data_seq, c_waiting)   /* (e) fence, (f) */
    :: else ->                            /* full: ns_ring_wait_writable → the producer side of the wait loop */
      park(space_seq, producer_parked, p_waiting, (tail - head < CAP || (closed & 2) != 0))
    fi
  :: else -> break
  od;
  /* ns_ring_close_producer / closeProducer(): fetch-or closed bit 0, then the unconditional wake (ring.h "Unconditional
   * wake: increment first ..."; ring.ts wakeForClose) */
  closed = closed | 1;
  data_seq = data_seq + 1;
  futex_wake(c_waiting)
}

active proctype consumer() {
  byte seq, t, old;
  do
  :: t = tail;                            /* ns_ring__consumer_refresh_tail: acquire load of tail (§5 #2) */
    if
    :: t != head ->
      assert(t - head <= CAP);            /* attach/refresh validation: tail − head ≤ capacity */
      head = head + 1;                    /* the record is read; ns_ring__consumer_store_head: release store (§5 #3) */
      consumed = consumed + 1;
      assert(tail - head <= CAP && head <= tail);
      wake_peer(producer_parked, space_seq, p_waiting)
    :: else ->
      if
      :: (closed & 1) != 0 ->             /* closed seen: re-load tail before concluding (§5.1 "Closing") */
        if
        :: tail == head -> break
        :: else -> skip
        fi
      :: else ->                          /* ns_ring_wait_readable → the consumer side of the wait loop */
        park(data_seq, consumer_parked, c_waiting, (tail != head || (closed & 1) != 0))
      fi
    fi
  od;
  assert(consumed == N && head == tail)
}

/* A side asleep on its futex while the other side has made progress it waits for is eventually woken. */
ltl no_lost_wakeup {
  [] (((c_waiting == 1) && (tail != head)) -> <> (c_waiting == 0)) &&
  [] (((p_waiting == 1) && (tail - head < CAP)) -> <> (p_waiting == 0))
}
