// EventfdWaiter: an eventfd watched by libuv on the Node event loop, so that a producer that writes the eventfd when
// it wakes this side (wire-format §5.1.1) wakes the JavaScript thread directly — two sleeping wake-ups per round trip
// (peer, event loop) instead of three with FutexWaiter (peer, waiter thread, event loop).
//
//   new EventfdWaiter(onReadable: (count: number) => void)
//     creates an eventfd (EFD_NONBLOCK | EFD_CLOEXEC) and starts a uv_poll on it, unreferenced. Each time it becomes
//     readable the counter is drained (read to zero) and onReadable(count) runs on this JS thread, with the drained
//     count (> 0), or with -1 once if libuv reports a polling error (the poll then stops). Wake-ups coalesce: any
//     number of writes before the callback runs is one call.
//   fd        the eventfd (to hand to a producer: a child process at spawn, a native thread); -1 once closed
//   ref()     the poll keeps the event loop (and this object) alive, while a wait is pending; idempotent
//   unref()   it no longer does; idempotent
//   signal()  adds 1 to the counter (a wake from JavaScript, and tests)
//   close()   stops polling, closes the fd, and releases the handle (asynchronously, freed by libuv's close
//             callback). Idempotent. onReadable never runs afterwards. Also done at environment teardown (async cleanup
//             hook) and when the object is garbage-collected unclosed.
//
// Threads: every method runs on the JS thread that created the object; the fd itself may be written from any thread or
// process. The poll handle's memory (PollState) is owned by libuv from uv_close() until its close callback.
#include <errno.h>
#include <napi.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <uv.h>

#include <cstdint>
#include <string>

#include "js_error.h"
#include "quiet_ref.h"

namespace ns_addon {
namespace {

class EventfdWaiter;

// Lives as long as the uv handle: created with it, deleted in its close callback.
struct PollState {
  uv_poll_t poll;
  int fd = -1;
  EventfdWaiter *owner = nullptr;  // null once the owner closed it or went away
  napi_async_cleanup_hook_handle hook = nullptr;
};

// Reads the eventfd to zero: one read of a (non-semaphore) eventfd returns the whole counter and resets it. A write
// that lands after it leaves the fd readable, and the level-triggered poll reports it on the next loop iteration.
// Returns the count read, 0 if there was none.
uint64_t Drain(int fd) {
  for (;;) {
    uint64_t value = 0;
    ssize_t n = read(fd, &value, sizeof value);
    if (n == static_cast<ssize_t>(sizeof value)) return value;
    if (n < 0 && errno == EINTR) continue;
    return 0;  // EAGAIN: empty
  }
}

class EventfdWaiter : public Napi::ObjectWrap<EventfdWaiter> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "EventfdWaiter",
                       {
                           InstanceMethod<&EventfdWaiter::RefMethod>("ref"),
                           InstanceMethod<&EventfdWaiter::UnrefMethod>("unref"),
                           InstanceMethod<&EventfdWaiter::Signal>("signal"),
                           InstanceMethod<&EventfdWaiter::Close>("close"),
                           InstanceAccessor<&EventfdWaiter::GetFd>("fd"),
                           InstanceAccessor<&EventfdWaiter::GetClosed>("closed"),
                       });
  }

  explicit EventfdWaiter(const Napi::CallbackInfo &info)
      : Napi::ObjectWrap<EventfdWaiter>(info), context_(info.Env(), "native-sidecar EventfdWaiter") {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsFunction()) {
      throw InvalidArg(env, "onReadable", "a function; received " + Describe(info, 0));
    }
    // Kept on the wrapper itself, not in a strong native reference: wrapper → callback → (closure) → wrapper is then an
    // ordinary cycle the garbage collector can free when nobody holds the parker.
    info.This().As<Napi::Object>().DefineProperty(
        Napi::PropertyDescriptor::Value("onReadable", info[0], napi_default));
    callback_ = Napi::Weak(info[0].As<Napi::Function>());  // cheap to fetch on every wake-up; the property owns it
    uv_loop_t *loop = nullptr;
    if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) {
      throw CodedError(env, "ERR_SYSTEM", "The Node.js event loop of this thread is not available.");
    }
    int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (fd < 0) throw SystemError(env, "eventfd", errno, "creating an eventfd");
    PollState *state = new PollState();
    state->fd = fd;
    state->poll.data = state;
    int rc = uv_poll_init(loop, &state->poll, fd);
    if (rc != 0) {  // nothing registered with the loop yet
      close(fd);
      delete state;
      throw CodedError(env, "ERR_SYSTEM", std::string("Watching an eventfd on the event loop failed: ") + uv_strerror(rc) + ".");
    }
    rc = uv_poll_start(&state->poll, UV_READABLE, &EventfdWaiter::OnPoll);
    if (rc != 0) {  // an initialised handle must go through uv_close; OnClosed frees the state
      CloseState(state);
      throw CodedError(env, "ERR_SYSTEM", std::string("Watching an eventfd on the event loop failed: ") + uv_strerror(rc) + ".");
    }
    // Idle, the poll must not keep the process alive: referenced only while a wait is pending (ref()).
    uv_unref(reinterpret_cast<uv_handle_t *>(&state->poll));
    state->owner = this;
    if (napi_add_async_cleanup_hook(env, &EventfdWaiter::AsyncCleanup, state, &state->hook) != napi_ok) {
      state->hook = nullptr;
    }
    state_ = state;
    env_ = env;
  }

  ~EventfdWaiter() override {
    // Garbage-collected without close(): a referenced waiter holds a strong reference, so it is unreferenced here.
    Release();
  }

 private:
  Napi::Value RefMethod(const Napi::CallbackInfo &info) {
    if (state_ != nullptr && !referenced_) {
      uv_ref(reinterpret_cast<uv_handle_t *>(&state_->poll));
      Ref();  // the JS object (and its onReadable) must outlive a pending wait
      referenced_ = true;
    }
    return info.Env().Undefined();
  }

  Napi::Value UnrefMethod(const Napi::CallbackInfo &info) {
    DropReference();
    return info.Env().Undefined();
  }

  Napi::Value Signal(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    if (state_ == nullptr) throw CodedError(env, "ERR_INVALID_STATE", "The EventfdWaiter was closed; it cannot be signalled.");
    const uint64_t one = 1;
    ssize_t n;
    do {
      n = write(state_->fd, &one, sizeof one);
    } while (n < 0 && errno == EINTR);
    // EAGAIN: the counter is saturated, so it is readable anyway.
    if (n < 0 && errno != EAGAIN) throw SystemError(env, "write", errno, "signalling the eventfd");
    return env.Undefined();
  }

  Napi::Value Close(const Napi::CallbackInfo &info) {
    Release();
    return info.Env().Undefined();
  }

  Napi::Value GetFd(const Napi::CallbackInfo &info) {
    return Napi::Number::New(info.Env(), state_ != nullptr ? state_->fd : -1);
  }
  Napi::Value GetClosed(const Napi::CallbackInfo &info) { return Napi::Boolean::New(info.Env(), state_ == nullptr); }

  void DropReference() {
    if (!referenced_) return;
    referenced_ = false;
    if (state_ != nullptr) uv_unref(reinterpret_cast<uv_handle_t *>(&state_->poll));
    QuietUnref(env_, *this);
  }

  // Stops polling, closes the fd at once (after uv_poll_stop, as libuv requires), hands the handle to uv_close.
  // JS thread (close, destructor). Idempotent.
  void Release() {
    if (state_ == nullptr) return;
    PollState *state = state_;
    DropReference();
    state_ = nullptr;
    if (state->hook != nullptr) {
      napi_remove_async_cleanup_hook(state->hook);
      state->hook = nullptr;
    }
    CloseState(state);
  }

  static void CloseState(PollState *state) {
    state->owner = nullptr;
    uv_poll_stop(&state->poll);
    if (state->fd >= 0) close(state->fd);
    state->fd = -1;
    uv_close(reinterpret_cast<uv_handle_t *>(&state->poll), &EventfdWaiter::OnClosed);
  }

  static void OnClosed(uv_handle_t *handle) {
    PollState *state = static_cast<PollState *>(handle->data);
    if (state == nullptr) return;
    if (state->hook != nullptr) napi_remove_async_cleanup_hook(state->hook);  // teardown path: the hook is done
    delete state;
  }

  // Environment teardown (worker exit, process exit): close the handle deliberately; the hook ends in OnClosed.
  static void AsyncCleanup(napi_async_cleanup_hook_handle, void *arg) {
    PollState *state = static_cast<PollState *>(arg);
    if (state->owner != nullptr) {
      state->owner->state_ = nullptr;  // the wrapper may outlive this; it must not touch the handle again
      state->owner->referenced_ = false;
    }
    CloseState(state);
  }

  // Event loop thread: the eventfd is readable (or polling failed).
  static void OnPoll(uv_poll_t *handle, int status, int) {
    PollState *state = static_cast<PollState *>(handle->data);
    double count;
    if (status < 0) {
      uv_poll_stop(handle);  // a persistent error would otherwise call back in a loop
      count = -1;
    } else {
      uint64_t drained = Drain(state->fd);
      if (drained == 0) return;  // another reader (or a stale readiness) took it
      count = static_cast<double>(drained);
    }
    if (state->owner != nullptr) state->owner->Fire(count);
  }

  // Raw N-API only (quiet_ref.h): during a worker's termination these calls fail, and node-addon-api would turn the
  // failure into a C++ exception or a fatal error that aborts the process from this event-loop callback.
  void Fire(double count) {
    napi_env env = env_;
    napi_handle_scope scope;
    if (napi_open_handle_scope(env, &scope) != napi_ok) return;
    napi_value self = nullptr;
    napi_value callback = nullptr;
    napi_value arg = nullptr;
    napi_ref self_ref = *this;
    napi_ref callback_ref = callback_;
    if (napi_get_reference_value(env, self_ref, &self) == napi_ok && self != nullptr && callback_ref != nullptr &&
        napi_get_reference_value(env, callback_ref, &callback) == napi_ok && callback != nullptr &&
        napi_create_double(env, count, &arg) == napi_ok) {
      // make_callback, not call: it runs the microtask queue afterwards, so promises resolved by onReadable settle now.
      napi_value ignored;
      if (napi_make_callback(env, context_, self, callback, 1, &arg, &ignored) == napi_pending_exception) {
        napi_value error;
        // Reported like any exception thrown by an event-loop callback.
        if (napi_get_and_clear_last_exception(env, &error) == napi_ok) napi_fatal_exception(env, error);
      }
    }
    napi_close_handle_scope(env, scope);
  }

  Napi::AsyncContext context_;
  Napi::FunctionReference callback_;  // weak: the wrapper's onReadable property keeps the function alive
  Napi::Env env_ = Napi::Env(nullptr);
  PollState *state_ = nullptr;
  bool referenced_ = false;
};

}  // namespace

void InitEventfd(Napi::Env env, Napi::Object exports) { exports.Set("EventfdWaiter", EventfdWaiter::Define(env)); }

}  // namespace ns_addon
