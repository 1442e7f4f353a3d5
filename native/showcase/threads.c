/* threads.c — native threads named by generation-checked handles: start, stop, join (guarded), try_join.
 *
 * A thread slot goes FREE → RUNNING → (JOINING) → FREE. Only one joiner at a time may claim it (JOINING), so two
 * joins of one handle — a synchronous one and an asynchronous one, say — never pthread_join the same thread twice. */
#include <stdatomic.h>
#include <string.h>

#include "internal.h"
#include "threads.h"

enum { THREAD_FREE = 0, THREAD_RUNNING = 1, THREAD_JOINING = 2 };

typedef struct thread_slot {
  uint32_t generation;
  uint32_t state;            /* under slots_lock */
  pthread_t thread;
  ns_sc_job job;             /* written before pthread_create, read-only afterwards */
  atomic_int stop;           /* set by ns_sc_thread_stop, polled by the job between calls */
  atomic_int done;           /* set by the thread after its report is written (release; pairs with join's acquire) */
  ns_sc_thread_report report;
} thread_slot;

static pthread_mutex_t slots_lock = PTHREAD_MUTEX_INITIALIZER;
static thread_slot slots[NS_SC_MAX_THREADS];

static void *thread_main(void *arg) {
  thread_slot *t = (thread_slot *)arg;
  memset(&t->report, 0, sizeof t->report);
  t->job.run(&t->job, &t->stop, &t->report);
  /* Release: the report is complete before a joiner that sees done == 1 reads it (acquire in is_done). */
  atomic_store_explicit(&t->done, 1, memory_order_release);
  ns_sc_guard_notify();
  return NULL;
}

int32_t ns_sc_thread_spawn(const ns_sc_job *job) {
  pthread_mutex_lock(&slots_lock);
  uint32_t index = 0;
  while (index < NS_SC_MAX_THREADS && slots[index].state != THREAD_FREE) index++;
  if (index == NS_SC_MAX_THREADS) {
    pthread_mutex_unlock(&slots_lock);
    return NS_SC_ENOSPC;
  }
  thread_slot *t = &slots[index];
  t->generation = ns_sc_next_generation(t->generation);
  t->state = THREAD_RUNNING;
  t->job = *job;
  atomic_store(&t->stop, 0);
  atomic_store(&t->done, 0);
  int32_t handle = ns_sc_handle_make(index, t->generation);
  pthread_mutex_unlock(&slots_lock);
  if (pthread_create(&t->thread, NULL, thread_main, t) != 0) {
    pthread_mutex_lock(&slots_lock);
    t->state = THREAD_FREE;
    pthread_mutex_unlock(&slots_lock);
    return NS_SC_ESYSTEM;
  }
  return handle;
}

/* The running slot a handle names, or NULL. Caller holds slots_lock. */
static thread_slot *slot_of(int32_t handle) {
  if (handle <= 0 || ns_sc_handle_index(handle) >= NS_SC_MAX_THREADS) return NULL;
  thread_slot *t = &slots[ns_sc_handle_index(handle)];
  if (t->state == THREAD_FREE || t->generation != ns_sc_handle_generation(handle)) return NULL;
  return t;
}

int ns_sc_thread_stop(int32_t handle) {
  pthread_mutex_lock(&slots_lock);
  thread_slot *t = slot_of(handle);
  if (t != NULL) atomic_store(&t->stop, 1);
  pthread_mutex_unlock(&slots_lock);
  return t != NULL ? NS_SC_OK : NS_SC_ERELEASED;
}

static int is_done(void *ctx) {
  /* Acquire: pairs with the release store of done in thread_main, so the report is complete. */
  return atomic_load_explicit(&((thread_slot *)ctx)->done, memory_order_acquire);
}

/* Claims the slot for joining: OK, ERELEASED (bad handle) or EBUSY (someone else joins it). */
static int claim(int32_t handle, thread_slot **out) {
  pthread_mutex_lock(&slots_lock);
  thread_slot *t = slot_of(handle);
  int rc = t == NULL ? NS_SC_ERELEASED : t->state == THREAD_JOINING ? NS_SC_EBUSY : NS_SC_OK;
  if (rc == NS_SC_OK) t->state = THREAD_JOINING;
  pthread_mutex_unlock(&slots_lock);
  *out = t;
  return rc;
}

static void unclaim(thread_slot *t) {
  pthread_mutex_lock(&slots_lock);
  t->state = THREAD_RUNNING;
  pthread_mutex_unlock(&slots_lock);
}

static void finish(thread_slot *t, ns_sc_thread_report *report) {
  pthread_join(t->thread, NULL);
  *report = t->report;
  pthread_mutex_lock(&slots_lock);
  t->state = THREAD_FREE;
  pthread_mutex_unlock(&slots_lock);
}

int ns_sc_thread_join(int32_t handle, ns_sc_thread_report *report) {
  if (report == NULL) return NS_SC_EINVAL;
  thread_slot *t;
  int rc = claim(handle, &t);
  if (rc != NS_SC_OK) return rc;
  rc = ns_sc_guard_block_until(is_done, t);
  if (rc != NS_SC_OK) {
    unclaim(t); /* EDEADLOCK: the thread stays joinable */
    return rc;
  }
  finish(t, report);
  return NS_SC_OK;
}

int ns_sc_thread_try_join(int32_t handle, ns_sc_thread_report *report) {
  if (report == NULL) return NS_SC_EINVAL;
  thread_slot *t;
  int rc = claim(handle, &t);
  if (rc != NS_SC_OK) return rc;
  if (!is_done(t)) {
    unclaim(t);
    return NS_SC_EBUSY;
  }
  finish(t, report);
  return NS_SC_OK;
}
