/* showcase.h — the public C API of libns_showcase, the interop showcase library.
 *
 * One library, two bindings: the Node-API addon (native/addon/showcase.cc, which dlopen()s this library) and koffi
 * (src/showcase/koffi-binding.ts, which declares these prototypes from TypeScript). Both load the same file, so in
 * one process they share one copy of the state below (callback table, thread table, deadlock guard).
 *
 * Conventions
 * - Every function returns NS_SC_OK (0) or a negative NS_SC_E* code, unless its comment says otherwise. Nothing
 *   here throws, aborts or prints.
 * - Callbacks and threads are named by *handles*: positive int32 values made of a slot index and a generation
 *   number. A handle stays valid until it is released; after that every use returns NS_SC_ERELEASED, even when the
 *   slot has been reused by a later registration (the generation differs). The library never hands a raw pointer
 *   to JavaScript and never trusts one that comes back, so a stale handle is an error code, never a crash.
 * - "Owner thread" of a callback = the thread that registered it (for both bindings: the JavaScript thread). A call
 *   made on the owner thread runs the callback synchronously; a call made on any other thread is *foreign*.
 */
#ifndef NS_SHOWCASE_H
#define NS_SHOWCASE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Everything declared here is exported even when the library is compiled with -fvisibility=hidden. */
#pragma GCC visibility push(default)

enum {
  NS_SC_OK = 0,
  NS_SC_EINVAL = -1,     /* an argument is out of range, of the wrong kind, or NULL */
  NS_SC_ERELEASED = -2,  /* the handle was released (or never issued); its callback/thread is gone */
  NS_SC_EDEADLOCK = -3,  /* a blocking call to the owner thread was refused: that thread is blocked in this library */
  NS_SC_ECLOSED = -4,    /* the binding that owns the callback is closing (close() or environment teardown) */
  NS_SC_ETIMEDOUT = -5,  /* a blocking foreign call got no result within its timeout */
  NS_SC_ENOSPC = -6,     /* every slot of a handle table is in use */
  NS_SC_ETHREW = -7,     /* the JavaScript callback threw */
  NS_SC_EBUSY = -8,      /* the thread is still running (try_join), or is being joined by someone else */
  NS_SC_ESYSTEM = -9,    /* a system call (pthread_create) failed */
  NS_SC_EEMPTY = -10,    /* ring: no record to read */
  NS_SC_EFULL = -11,     /* ring: no room for the record */
  NS_SC_ERING = -100     /* ring: NS_SC_ERING + an NS_RING_E* code (-101 … -107) for any other ring error */
};

#define NS_SC_MAX_CALLBACKS 255u /* callback slots; a handle's low 8 bits are the slot index */
#define NS_SC_MAX_THREADS 64u    /* thread slots */
#define NS_SC_MAX_OWNERS 16u     /* distinct owner (JavaScript) threads the deadlock guard can tell apart */
#define NS_SC_RING_TEXT_TYPE 1u  /* record type of the ring text messages */

/* ---- callbacks ---------------------------------------------------------------------------------------------- */

/* Plain C function pointers, the ABI an FFI (koffi) can produce. `user` is the pointer given at registration. */
typedef void (*ns_sc_message_fn)(void *user, const char *message);
typedef int32_t (*ns_sc_value_fn)(void *user, int32_t value);

typedef enum { NS_SC_CALL_MESSAGE = 1, NS_SC_CALL_VALUE = 2 } ns_sc_call_kind;

#define NS_SC_CALL_BLOCKING 1u /* the caller waits for the callback's result (else fire-and-forget is allowed) */

/* One call, as seen by a dispatching binding. Valid only during the dispatch call. */
typedef struct ns_sc_call {
  uint32_t kind;        /* ns_sc_call_kind */
  uint32_t flags;       /* NS_SC_CALL_BLOCKING */
  const char *message;  /* MESSAGE: NUL-terminated, owned by the caller, valid until dispatch returns */
  int32_t value;        /* VALUE: the argument */
  uint32_t timeout_ms;  /* blocking foreign calls: 0 = wait forever */
  int32_t foreign;      /* 1 when the calling thread is not the owner thread */
} ns_sc_call;

/* A binding that routes calls itself (the Node-API addon: direct call on the JS thread, thread-safe function from
 * other threads). Returns NS_SC_OK and stores the VALUE result in *result, or an error code. */
typedef int (*ns_sc_dispatch_fn)(void *user, const ns_sc_call *call, int32_t *result);
/* Called exactly once, after unregistration, when the last running call has returned — on whichever thread drops
 * that last reference (the unregistering thread if no call was running). */
typedef void (*ns_sc_release_fn)(void *user);

/* Register a callback; returns its handle (> 0) or an error (< 0). The calling thread becomes its owner thread.
 * Foreign calls to a plain function pointer are always treated as blocking (an FFI relays them to the owner thread
 * and the caller waits), so the deadlock guard applies to them. */
int32_t ns_sc_callback_register_message(ns_sc_message_fn fn, void *user);
int32_t ns_sc_callback_register_value(ns_sc_value_fn fn, void *user);
int32_t ns_sc_callback_register_dispatch(uint32_t kind, ns_sc_dispatch_fn dispatch, ns_sc_release_fn release,
                                         void *user);

/* Unregister: the handle stops working at once (new calls return NS_SC_ERELEASED). Calls already running finish.
 * Returns how many calls are still running (>= 0; the release function runs when that reaches 0), or an error.
 * Never waits, so it is safe on the owner thread while foreign calls wait for that thread. Any thread. */
int32_t ns_sc_callback_unregister(int32_t handle);

/* For an unregistered handle: how many of its calls are still running (0 once all returned and the slot is free).
 * An FFI binding polls this before it frees the function pointer (koffi.unregister). NS_SC_EINVAL if still live. */
int32_t ns_sc_callback_inflight(int32_t handle);

/* ---- reverse calls on the calling thread (JS → C → JS) ------------------------------------------------------ */

int ns_sc_say_hello(int32_t callback);                       /* message "Hello World from Native C++!" */
int ns_sc_say(int32_t callback, const char *message);         /* the caller's message */
int ns_sc_call_value(int32_t callback, int32_t value, int32_t *result);
/* Calls the VALUE callback `count` times with 0, 1, …, count-1 (stops at the first error) and stores the FNV-1a-32
 * of the results (each as 4 little-endian bytes) in *checksum. For measuring the cost of one C → JS call. */
int ns_sc_call_value_repeat(int32_t callback, uint32_t count, uint32_t *checksum);

/* ---- JS → C ------------------------------------------------------------------------------------------------- */

int32_t ns_sc_add(int32_t a, int32_t b); /* wraps modulo 2^32 */
void ns_sc_noop(void);

/* FNV-1a-32 step over the 4 little-endian bytes of `value` (the checksum of thread reports and repeats). */
uint32_t ns_sc_fnv1a_u32(uint32_t hash, uint32_t value);
#define NS_SC_FNV_OFFSET_BASIS 2166136261u

/* ---- V-tables ----------------------------------------------------------------------------------------------- */

/* Host V-table: functions of the host (JavaScript) handed to native code as a C struct. `size` is the size of the
 * struct as the host knows it, so a newer library can tell an older host's shorter table apart. */
typedef struct ns_sc_host_vtable {
  uint32_t size;
  uint32_t reserved;
  void *user;
  void (*log)(void *user, const char *message);
  int32_t (*add)(void *user, int32_t a, int32_t b);
} ns_sc_host_vtable;

/* Calls vt->log("Hello World from Native C++ via V-Table!"), then vt->add(21, 21), then vt->log("21 + 21 = <sum>").
 * Stores the sum in *sum. The table is used only during the call. Calling thread only (no cross-thread use). */
int ns_sc_host_vtable_demo(const ns_sc_host_vtable *vt, int32_t *sum);

/* Native V-table: functions of the library handed to the host as a C struct of function pointers. */
#define NS_SC_NATIVE_VTABLE_VERSION 1u
typedef struct ns_sc_native_vtable {
  uint32_t size;
  uint32_t version;
  int32_t (*add)(int32_t a, int32_t b);
  int32_t (*multiply)(int32_t a, int32_t b);
  uint32_t (*fnv1a)(const uint8_t *data, uint32_t length);
  const char *(*describe)(void);
} ns_sc_native_vtable;

/* The table is static: valid for as long as the library stays loaded. Any thread. */
const ns_sc_native_vtable *ns_sc_native_vtable_get(void);

/* ---- native threads that call back ------------------------------------------------------------------------ */

typedef struct ns_sc_thread_report {
  uint32_t calls_ok;    /* calls that returned NS_SC_OK */
  uint32_t failures;    /* calls that failed (the thread stops at the first failure) */
  int32_t first_error;  /* NS_SC_OK or the code of the first failure */
  uint32_t checksum;    /* FNV-1a-32: of the values sent (fire-and-forget) or results received (blocking) */
  uint64_t elapsed_ns;  /* from the first call to the end of the last, CLOCK_MONOTONIC */
} ns_sc_thread_report;

/* Starts a thread that, after `delay_ms`, calls the VALUE callback `count` times with 0, 1, … — blocking calls
 * (flags = NS_SC_CALL_BLOCKING; each waits for the JS result, `timeout_ms` 0 = forever) or fire-and-forget (0).
 * Returns a thread handle (> 0) or an error. The thread holds no reference on the callback between calls: release
 * the callback and the thread's next call fails with NS_SC_ERELEASED. */
int32_t ns_sc_thread_start_calls(int32_t callback, uint32_t count, uint32_t flags, uint32_t delay_ms,
                                 uint32_t timeout_ms);

/* Ring threads (for the calls benchmark and the ring basics). The segment memory belongs to the caller and must
 * stay mapped and unmoved until the thread has been joined.
 * sink: consumes records of the ring until `count` were read (or the producer closed); checksum = FNV-1a over
 *       the first 4 bytes of each payload. source: publishes `count` records of `length` bytes (length >= 4, first
 *       4 bytes = sequence number), then closes the producer side. Both spin, then yield, then sleep briefly. */
int32_t ns_sc_thread_start_ring_sink(void *segment, uint32_t segment_size, uint32_t count);
int32_t ns_sc_thread_start_ring_source(void *segment, uint32_t segment_size, uint32_t count, uint32_t length);

int ns_sc_thread_stop(int32_t thread); /* asks the thread to stop before its next call; does not wait */

/* Waits for the thread to finish, stores its report and frees the handle.
 * Deadlock guard: when the calling thread owns callbacks (it is a JS thread) it is marked *blocked* while it waits.
 * A blocking foreign call to it then fails with NS_SC_EDEADLOCK instead of waiting; and if such a call is already
 * waiting for this thread (or starts while it waits), join itself returns NS_SC_EDEADLOCK and leaves the thread
 * joinable — the caller returns to its event loop, lets the pending call run, and joins later. */
int ns_sc_thread_join(int32_t thread, ns_sc_thread_report *report);

/* Like join, but returns NS_SC_EBUSY at once while the thread is still running. */
int ns_sc_thread_try_join(int32_t thread, ns_sc_thread_report *report);

/* ---- ring basics (synchronous, on the calling thread) ---------------------------------------------------- */

/* Consumes one record of type NS_SC_RING_TEXT_TYPE from the ring in `segment` and copies its text into `out`
 * (NUL-terminated, truncated to out_capacity - 1). Returns the text length (>= 0), NS_SC_EEMPTY or an error. */
int32_t ns_sc_ring_receive_text(void *segment, uint32_t segment_size, char *out, uint32_t out_capacity);
/* Publishes `text` (without its NUL) as one record of type NS_SC_RING_TEXT_TYPE. */
int ns_sc_ring_send_text(void *segment, uint32_t segment_size, const char *text);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif

#endif /* NS_SHOWCASE_H */
