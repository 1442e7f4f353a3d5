// showcase.cc — the Node-API binding of libns_showcase (the interop showcase), exported as class ShowcaseBinding.
//
// Why dlopen() and not link: the showcase library is an optional part of the project. Linking would make the whole
// addon fail to load when ns_showcase.so is missing; with dlopen only `new ShowcaseBinding(path)` fails. It also lets
// TypeScript resolve the library path in one place (src/showcase/library-path.ts) and hand the same path to both
// bindings, so koffi and this addon provably run the same file — and, loaded twice in one process, dlopen returns
// the same instance, so both share one callback table and one deadlock guard. The library is never dlclose()d: a
// native thread of it may still be running, and unmapping its code under that thread would crash the process.
//
// Threads: every method runs on the JavaScript thread that created the binding. Callbacks registered here run on
// that thread only: directly when native code calls them on the JS thread, through a thread-safe function (TSFN)
// when a native thread calls them. Blocking calls from native threads wait on a per-call condition variable for the
// JS result; close() and environment teardown wake them with NS_SC_ECLOSED, so process exit never waits on them.
#include <dlfcn.h>
#include <napi.h>
#include <pthread.h>

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>

#include "showcase/showcase.h"

namespace {

// Every library function the binding calls, resolved once with dlsym and type-checked against showcase.h.
#define NS_SC_FUNCTIONS(X)                                                                                        \
  X(ns_sc_callback_register_dispatch) X(ns_sc_callback_unregister) X(ns_sc_say_hello) X(ns_sc_say)                 \
  X(ns_sc_call_value) X(ns_sc_call_value_repeat) X(ns_sc_add) X(ns_sc_noop) X(ns_sc_host_vtable_demo)             \
  X(ns_sc_native_vtable_get) X(ns_sc_thread_start_calls) X(ns_sc_thread_start_ring_sink)                          \
  X(ns_sc_thread_start_ring_source) X(ns_sc_thread_stop) X(ns_sc_thread_join) X(ns_sc_thread_try_join)            \
  X(ns_sc_ring_receive_text) X(ns_sc_ring_send_text)

struct Library {
#define NS_SC_FIELD(name) decltype(&::name) name = nullptr;
  NS_SC_FUNCTIONS(NS_SC_FIELD)
#undef NS_SC_FIELD
};

// Throws a JS Error carrying the library status; src/showcase/status.ts turns it into a typed InteropError.
[[noreturn]] void ThrowStatus(Napi::Env env, int status, const std::string &what) {
  Napi::Error error = Napi::Error::New(env, what + " failed with status " + std::to_string(status) + ".");
  error.Set("nsStatus", Napi::Number::New(env, status));
  throw error;
}

int32_t Int32Arg(const Napi::CallbackInfo &info, size_t i) { return info[i].As<Napi::Number>().Int32Value(); }
uint32_t Uint32Arg(const Napi::CallbackInfo &info, size_t i) { return info[i].As<Napi::Number>().Uint32Value(); }

// ---- one blocking call from a native thread, waiting for its JS result ----------------------------------------

struct Waiter {
  std::mutex mutex;
  std::condition_variable cv;
  bool done = false;
  int status = NS_SC_OK;
  int32_t result = 0;

  void Complete(int s, int32_t r) {
    std::lock_guard<std::mutex> lock(mutex);
    if (done) return;  // the first outcome wins (a result after close or timeout is dropped)
    done = true;
    status = s;
    result = r;
    cv.notify_all();
  }
};

struct Callback;

// What a native thread hands to the JS thread. Owned by the TSFN queue until CallJs runs (or the TSFN is torn down).
struct Job {
  enum Kind { kMessage, kValue, kDelete } kind = kValue;
  std::string message;              // copied: the caller's string is only valid during the native call
  int32_t value = 0;
  std::shared_ptr<Waiter> waiter;   // null: fire-and-forget
  Callback *doomed = nullptr;       // kDelete: a Callback to free on the JS thread
};

void CallJs(Napi::Env env, Napi::Function fn, std::nullptr_t *, Job *job);
using Tsfn = Napi::TypedThreadSafeFunction<std::nullptr_t, Job, CallJs>;

struct State;

// One registered callback. Created and deleted on the JS thread; `tsfn`, `mutex`, `closing` and `pending` are used
// by native threads too.
struct Callback {
  State *state;
  uint32_t kind;
  int32_t handle = 0;
  Napi::FunctionReference fn;  // JS thread only
  Tsfn tsfn;
  std::mutex mutex;
  bool closing = false;
  std::set<Waiter *> pending;  // blocking calls waiting for a result; woken by BeginClose

  void BeginClose() {
    std::lock_guard<std::mutex> lock(mutex);
    closing = true;
    for (Waiter *w : pending) w->Complete(NS_SC_ECLOSED, 0);
  }
};

// Per-binding state, on the JS thread.
struct State {
  Napi::Env env;
  pthread_t js_thread;
  const Library *lib;
  std::unordered_map<int32_t, Callback *> callbacks;
  std::unordered_map<int32_t, Napi::Reference<Napi::Value>> threads;  // thread handle → memory it borrows (if any)
  std::optional<Napi::Error> thrown;  // the exception of a JS callback called on this thread, to rethrow
  bool closed = false;

  State(Napi::Env e, const Library *l) : env(e), js_thread(pthread_self()), lib(l) {}
  void Close();
  void RethrowIfThrown(int status, const char *what) {
    if (status == NS_SC_ETHREW && thrown) {
      Napi::Error error = *thrown;
      thrown.reset();
      throw error;
    }
    if (status != NS_SC_OK) ThrowStatus(env, status, what);
  }
};

void CallJs(Napi::Env env, Napi::Function fn, std::nullptr_t *, Job *raw) {
  std::unique_ptr<Job> job(raw);
  if (job == nullptr) return;
  if (job->kind == Job::kDelete) {
    if (env != nullptr) delete job->doomed;  // at teardown (env == nullptr) its references die with the env
    return;
  }
  if (env == nullptr) {  // the TSFN is being torn down: fail a waiting caller instead of leaving it blocked
    if (job->waiter) job->waiter->Complete(NS_SC_ECLOSED, 0);
    return;
  }
  int status = NS_SC_OK;
  int32_t result = 0;
  try {
    if (job->kind == Job::kMessage) {
      fn.Call({Napi::String::New(env, job->message)});
    } else {
      result = fn.Call({Napi::Number::New(env, job->value)}).ToNumber().Int32Value();
    }
  } catch (const Napi::Error &) {
    // Fire-and-forget: nobody waits for the outcome, so the exception becomes an uncaught exception, exactly as a
    // throw in any event handler. Blocking: the waiting native caller is told (NS_SC_ETHREW) and decides.
    if (!job->waiter) throw;
    status = NS_SC_ETHREW;
  }
  if (job->waiter) job->waiter->Complete(status, result);
}

// On the JS thread: the call runs now, inside the native call that JS made.
int CallHere(Callback *cb, const ns_sc_call *call, int32_t *result) {
  Napi::Env env = cb->state->env;
  Napi::HandleScope scope(env);  // a loop of native calls back into JS must not pile up handles
  try {
    if (call->kind == NS_SC_CALL_MESSAGE) {
      cb->fn.Call({Napi::String::New(env, call->message)});
    } else {
      *result = cb->fn.Call({Napi::Number::New(env, call->value)}).ToNumber().Int32Value();
    }
    return NS_SC_OK;
  } catch (const Napi::Error &e) {
    // A C++ exception must not unwind through the C library's frames: keep it and rethrow after the call returns.
    cb->state->thrown = e;
    return NS_SC_ETHREW;
  }
}

std::unique_ptr<Job> MakeJob(const ns_sc_call *call) {
  auto job = std::make_unique<Job>();
  job->kind = call->kind == NS_SC_CALL_MESSAGE ? Job::kMessage : Job::kValue;
  if (call->kind == NS_SC_CALL_MESSAGE) job->message = call->message;
  job->value = call->value;
  return job;
}

// On a native thread: queue the call to the JS thread; for a blocking call, wait for its result.
int CallFromThread(Callback *cb, const ns_sc_call *call, int32_t *result) {
  std::unique_ptr<Job> job = MakeJob(call);
  if ((call->flags & NS_SC_CALL_BLOCKING) == 0) {
    {
      std::lock_guard<std::mutex> lock(cb->mutex);
      if (cb->closing) return NS_SC_ECLOSED;
    }
    // Unlimited queue: a fire-and-forget call never blocks (and never deadlocks); memory is the bound.
    if (cb->tsfn.NonBlockingCall(job.get()) != napi_ok) return NS_SC_ECLOSED;
    job.release();
    return NS_SC_OK;
  }
  auto waiter = std::make_shared<Waiter>();
  job->waiter = waiter;
  {
    std::lock_guard<std::mutex> lock(cb->mutex);
    if (cb->closing) return NS_SC_ECLOSED;
    cb->pending.insert(waiter.get());
  }
  int status;
  if (cb->tsfn.NonBlockingCall(job.get()) != napi_ok) {
    status = NS_SC_ECLOSED;
  } else {
    job.release();
    std::unique_lock<std::mutex> lock(waiter->mutex);
    auto ready = [&] { return waiter->done; };
    if (call->timeout_ms == 0) {
      waiter->cv.wait(lock, ready);
    } else if (!waiter->cv.wait_for(lock, std::chrono::milliseconds(call->timeout_ms), ready)) {
      waiter->done = true;  // a late result is dropped; the Job keeps the Waiter alive until then
      waiter->status = NS_SC_ETIMEDOUT;
    }
    status = waiter->status;
    *result = waiter->result;
  }
  std::lock_guard<std::mutex> lock(cb->mutex);
  cb->pending.erase(waiter.get());
  return status;
}

int Dispatch(void *user, const ns_sc_call *call, int32_t *result) {
  auto *cb = static_cast<Callback *>(user);
  return call->foreign ? CallFromThread(cb, call, result) : CallHere(cb, call, result);
}

// The library calls this once no call of the callback runs any more (after unregister), on the thread that
// dropped the last reference. The FunctionReference may only be deleted on the JS thread.
void OnRelease(void *user) {
  auto *cb = static_cast<Callback *>(user);
  Tsfn tsfn = cb->tsfn;
  if (pthread_equal(pthread_self(), cb->state->js_thread)) {
    delete cb;
  } else {
    auto job = std::make_unique<Job>();
    job->kind = Job::kDelete;
    job->doomed = cb;
    if (tsfn.NonBlockingCall(job.get()) == napi_ok) job.release();  // else: env gone, leave cb to it
  }
  // Queued fire-and-forget calls are still delivered after Release; the TSFN is finalized once its queue is empty.
  tsfn.Release();
}

void State::Close() {
  if (closed) return;
  closed = true;
  for (auto &entry : callbacks) entry.second->BeginClose();
  // Stop and join the threads started through this binding. Their blocking calls were just failed with ECLOSED, so
  // they finish promptly; a join refused by the deadlock guard (a caller has not yet left its wait) is retried.
  for (auto &entry : threads) {
    lib->ns_sc_thread_stop(entry.first);
    ns_sc_thread_report report;
    for (int attempt = 0; attempt < 10000; attempt++) {
      if (lib->ns_sc_thread_join(entry.first, &report) != NS_SC_EDEADLOCK) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  threads.clear();
  auto live = std::move(callbacks);
  for (auto &entry : live) lib->ns_sc_callback_unregister(entry.first);  // OnRelease deletes each (now or later)
}

// ---- the JS class -----------------------------------------------------------------------------------------------

class ShowcaseBinding : public Napi::ObjectWrap<ShowcaseBinding> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "ShowcaseBinding",
                       {
                           InstanceMethod<&ShowcaseBinding::Add>("add"),
                           InstanceMethod<&ShowcaseBinding::Noop>("noop"),
                           InstanceMethod<&ShowcaseBinding::Register>("register"),
                           InstanceMethod<&ShowcaseBinding::Unregister>("unregister"),
                           InstanceMethod<&ShowcaseBinding::SayHello>("sayHello"),
                           InstanceMethod<&ShowcaseBinding::Say>("say"),
                           InstanceMethod<&ShowcaseBinding::CallValue>("callValue"),
                           InstanceMethod<&ShowcaseBinding::CallValueRepeat>("callValueRepeat"),
                           InstanceMethod<&ShowcaseBinding::HostVTableDemo>("hostVTableDemo"),
                           InstanceMethod<&ShowcaseBinding::NativeVTable>("nativeVTable"),
                           InstanceMethod<&ShowcaseBinding::RingReceiveText>("ringReceiveText"),
                           InstanceMethod<&ShowcaseBinding::RingSendText>("ringSendText"),
                           InstanceMethod<&ShowcaseBinding::StartCallThread>("startCallThread"),
                           InstanceMethod<&ShowcaseBinding::StartRingSink>("startRingSink"),
                           InstanceMethod<&ShowcaseBinding::StartRingSource>("startRingSource"),
                           InstanceMethod<&ShowcaseBinding::StopThread>("stopThread"),
                           InstanceMethod<&ShowcaseBinding::JoinThread>("joinThread"),
                           InstanceMethod<&ShowcaseBinding::TryJoinThread>("tryJoinThread"),
                           InstanceMethod<&ShowcaseBinding::Close>("close"),
                       });
  }

  ShowcaseBinding(const Napi::CallbackInfo &info) : Napi::ObjectWrap<ShowcaseBinding>(info) {
    Napi::Env env = info.Env();
    std::string path = info[0].As<Napi::String>().Utf8Value();
    void *handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
      Napi::Error error = Napi::Error::New(env, std::string("dlopen failed: ") + dlerror());
      error.Set("code", Napi::String::New(env, "ERR_ADDON_MISSING"));
      throw error;
    }
#define NS_SC_RESOLVE(name)                                                                      \
  lib_.name = reinterpret_cast<decltype(lib_.name)>(dlsym(handle, #name));                      \
  if (lib_.name == nullptr) throw Napi::Error::New(env, "The library " + path + " lacks " #name ".");
    NS_SC_FUNCTIONS(NS_SC_RESOLVE)
#undef NS_SC_RESOLVE
    state_ = std::make_unique<State>(env, &lib_);
    napi_add_env_cleanup_hook(env, Cleanup, state_.get());
  }

  ~ShowcaseBinding() override {
    if (!state_) return;
    napi_remove_env_cleanup_hook(state_->env, Cleanup, state_.get());
    state_->Close();
  }

 private:
  // Environment teardown (the main event loop ended, or a worker is exiting): runs while the env is still usable.
  // process.exit() does not run it; the process then ends with its native threads, which hold nothing that outlives
  // the process.
  static void Cleanup(void *arg) { static_cast<State *>(arg)->Close(); }

  State &Open(Napi::Env env) {
    if (state_->closed) ThrowStatus(env, NS_SC_ECLOSED, "The binding was closed; the call");
    return *state_;
  }

  Napi::Value Add(const Napi::CallbackInfo &info) {
    return Napi::Number::New(info.Env(), lib_.ns_sc_add(Int32Arg(info, 0), Int32Arg(info, 1)));
  }

  Napi::Value Noop(const Napi::CallbackInfo &info) {
    lib_.ns_sc_noop();
    return info.Env().Undefined();
  }

  // register(kind: 1 message | 2 value, fn) → handle
  Napi::Value Register(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    State &state = Open(env);
    uint32_t kind = Uint32Arg(info, 0);
    Napi::Function fn = info[1].As<Napi::Function>();
    auto cb = std::make_unique<Callback>();
    cb->state = &state;
    cb->kind = kind;
    cb->fn = Napi::Persistent(fn);
    // Unlimited queue (0), one owner of the TSFN (this Callback). The TSFN stays referenced: like a server socket,
    // a registered callback keeps the event loop alive until it is released (or the binding closed).
    cb->tsfn = Tsfn::New(env, fn, "ns_showcase callback", 0, 1, nullptr);
    int32_t handle = lib_.ns_sc_callback_register_dispatch(kind, Dispatch, OnRelease, cb.get());
    if (handle < 0) {
      cb->tsfn.Release();
      ThrowStatus(env, handle, "Registering the callback");
    }
    cb->handle = handle;
    state.callbacks[handle] = cb.release();
    return Napi::Number::New(env, handle);
  }

  // unregister(handle) → calls still running
  Napi::Value Unregister(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    int32_t handle = Int32Arg(info, 0);
    int32_t running = lib_.ns_sc_callback_unregister(handle);
    if (running < 0) ThrowStatus(env, running, "Unregistering the callback");
    state_->callbacks.erase(handle);  // the Callback itself is deleted by OnRelease
    return Napi::Number::New(env, running);
  }

  Napi::Value SayHello(const Napi::CallbackInfo &info) {
    state_->RethrowIfThrown(lib_.ns_sc_say_hello(Int32Arg(info, 0)), "Calling the callback");
    return info.Env().Undefined();
  }

  Napi::Value Say(const Napi::CallbackInfo &info) {
    std::string message = info[1].As<Napi::String>().Utf8Value();
    state_->RethrowIfThrown(lib_.ns_sc_say(Int32Arg(info, 0), message.c_str()), "Calling the callback");
    return info.Env().Undefined();
  }

  Napi::Value CallValue(const Napi::CallbackInfo &info) {
    int32_t result = 0;
    state_->RethrowIfThrown(lib_.ns_sc_call_value(Int32Arg(info, 0), Int32Arg(info, 1), &result),
                            "Calling the callback");
    return Napi::Number::New(info.Env(), result);
  }

  Napi::Value CallValueRepeat(const Napi::CallbackInfo &info) {
    uint32_t checksum = 0;
    state_->RethrowIfThrown(lib_.ns_sc_call_value_repeat(Int32Arg(info, 0), Uint32Arg(info, 1), &checksum),
                            "Calling the callback repeatedly");
    return Napi::Number::New(info.Env(), checksum);
  }

  // hostVTableDemo(log, add) → sum. The table lives on this stack frame: native code may use it only during the call.
  struct HostFns {
    Napi::Env env;
    Napi::Function log, add;
    std::optional<Napi::Error> thrown;
  };

  static void HostLog(void *user, const char *message) {
    auto *h = static_cast<HostFns *>(user);
    if (h->thrown) return;  // after a throw, the remaining calls do nothing; the error is rethrown at the end
    try {
      h->log.Call({Napi::String::New(h->env, message)});
    } catch (const Napi::Error &e) {
      h->thrown = e;
    }
  }

  static int32_t HostAdd(void *user, int32_t a, int32_t b) {
    auto *h = static_cast<HostFns *>(user);
    if (h->thrown) return 0;
    try {
      return h->add.Call({Napi::Number::New(h->env, a), Napi::Number::New(h->env, b)}).ToNumber().Int32Value();
    } catch (const Napi::Error &e) {
      h->thrown = e;
      return 0;
    }
  }

  Napi::Value HostVTableDemo(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    HostFns fns{env, info[0].As<Napi::Function>(), info[1].As<Napi::Function>(), std::nullopt};
    ns_sc_host_vtable vt{};
    vt.size = sizeof vt;
    vt.user = &fns;
    vt.log = HostLog;
    vt.add = HostAdd;
    int32_t sum = 0;
    int status = lib_.ns_sc_host_vtable_demo(&vt, &sum);
    if (fns.thrown) throw *fns.thrown;
    if (status != NS_SC_OK) ThrowStatus(env, status, "The host V-table demo");
    return Napi::Number::New(env, sum);
  }

  // nativeVTable() → { size, version, add, multiply, fnv1a, describe }: each function calls through the pointer
  // found in the library's table, not through a symbol.
  Napi::Value NativeVTable(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    const ns_sc_native_vtable *vt = lib_.ns_sc_native_vtable_get();
    Napi::Object table = Napi::Object::New(env);
    table.Set("size", Napi::Number::New(env, vt->size));
    table.Set("version", Napi::Number::New(env, vt->version));
    table.Set("add", Napi::Function::New(env, [vt](const Napi::CallbackInfo &i) {
                return Napi::Number::New(i.Env(), vt->add(Int32Arg(i, 0), Int32Arg(i, 1)));
              }));
    table.Set("multiply", Napi::Function::New(env, [vt](const Napi::CallbackInfo &i) {
                return Napi::Number::New(i.Env(), vt->multiply(Int32Arg(i, 0), Int32Arg(i, 1)));
              }));
    table.Set("fnv1a", Napi::Function::New(env, [vt](const Napi::CallbackInfo &i) {
                Napi::Uint8Array bytes = i[0].As<Napi::Uint8Array>();
                return Napi::Number::New(i.Env(), vt->fnv1a(bytes.Data(), static_cast<uint32_t>(bytes.ByteLength())));
              }));
    table.Set("describe", Napi::Function::New(env, [vt](const Napi::CallbackInfo &i) {
                return Napi::String::New(i.Env(), vt->describe());
              }));
    return table;
  }

  // The bytes of a ring segment inside an ArrayBuffer: (buffer, byteOffset, segmentSize). The TS layer checked the
  // range; it is re-checked here because a wrong range would let native code write outside the buffer.
  static uint8_t *Segment(const Napi::CallbackInfo &info, size_t first) {
    Napi::ArrayBuffer buffer = info[first].As<Napi::ArrayBuffer>();
    uint32_t offset = Uint32Arg(info, first + 1), size = Uint32Arg(info, first + 2);
    if (static_cast<uint64_t>(offset) + size > buffer.ByteLength()) {
      ThrowStatus(info.Env(), NS_SC_EINVAL, "Locating the ring segment inside the buffer");
    }
    return static_cast<uint8_t *>(buffer.Data()) + offset;
  }

  // ringReceiveText(buffer, offset, size) → string | null (empty)
  Napi::Value RingReceiveText(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    uint8_t *segment = Segment(info, 0);
    char text[4096];
    int32_t n = lib_.ns_sc_ring_receive_text(segment, Uint32Arg(info, 2), text, sizeof text);
    if (n == NS_SC_EEMPTY) return env.Null();
    if (n < 0) ThrowStatus(env, n, "Receiving text from the ring");
    return Napi::String::New(env, text, static_cast<size_t>(n));
  }

  // ringSendText(buffer, offset, size, text) → false when the ring is full
  Napi::Value RingSendText(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    uint8_t *segment = Segment(info, 0);
    std::string text = info[3].As<Napi::String>().Utf8Value();
    int status = lib_.ns_sc_ring_send_text(segment, Uint32Arg(info, 2), text.c_str());
    if (status == NS_SC_EFULL) return Napi::Boolean::New(env, false);
    if (status != NS_SC_OK) ThrowStatus(env, status, "Sending text through the ring");
    return Napi::Boolean::New(env, true);
  }

  Napi::Value Track(Napi::Env env, int32_t thread, Napi::Value borrowed) {
    if (thread < 0) ThrowStatus(env, thread, "Starting the native thread");
    state_->threads.emplace(thread, borrowed.IsUndefined() ? Napi::Reference<Napi::Value>()
                                                           : Napi::Persistent(borrowed));
    return Napi::Number::New(env, thread);
  }

  // startCallThread(callback, count, flags, delayMs, timeoutMs) → thread handle
  Napi::Value StartCallThread(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    Open(env);
    int32_t thread = lib_.ns_sc_thread_start_calls(Int32Arg(info, 0), Uint32Arg(info, 1), Uint32Arg(info, 2),
                                                   Uint32Arg(info, 3), Uint32Arg(info, 4));
    return Track(env, thread, env.Undefined());
  }

  // startRingSink(buffer, offset, size, count): the buffer is referenced until the thread is joined, so the
  // memory the thread reads cannot be collected under it.
  Napi::Value StartRingSink(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    Open(env);
    uint8_t *segment = Segment(info, 0);
    return Track(env, lib_.ns_sc_thread_start_ring_sink(segment, Uint32Arg(info, 2), Uint32Arg(info, 3)), info[0]);
  }

  // startRingSource(buffer, offset, size, count, length)
  Napi::Value StartRingSource(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    Open(env);
    uint8_t *segment = Segment(info, 0);
    int32_t thread =
        lib_.ns_sc_thread_start_ring_source(segment, Uint32Arg(info, 2), Uint32Arg(info, 3), Uint32Arg(info, 4));
    return Track(env, thread, info[0]);
  }

  Napi::Value StopThread(const Napi::CallbackInfo &info) {
    int status = lib_.ns_sc_thread_stop(Int32Arg(info, 0));
    if (status != NS_SC_OK) ThrowStatus(info.Env(), status, "Stopping the thread");
    return info.Env().Undefined();
  }

  static Napi::Object Report(Napi::Env env, const ns_sc_thread_report &r) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("callsOk", Napi::Number::New(env, r.calls_ok));
    o.Set("failures", Napi::Number::New(env, r.failures));
    o.Set("firstError", Napi::Number::New(env, r.first_error));
    o.Set("checksum", Napi::Number::New(env, r.checksum));
    o.Set("elapsedNs", Napi::Number::New(env, static_cast<double>(r.elapsed_ns)));
    return o;
  }

  // joinThread(handle) → report. Blocks the JS thread; the deadlock guard applies (see showcase.h).
  Napi::Value JoinThread(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    int32_t thread = Int32Arg(info, 0);
    ns_sc_thread_report report;
    int status = lib_.ns_sc_thread_join(thread, &report);
    if (status != NS_SC_OK) ThrowStatus(env, status, "Joining the thread");
    state_->threads.erase(thread);
    return Report(env, report);
  }

  // tryJoinThread(handle) → report | null while running
  Napi::Value TryJoinThread(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    int32_t thread = Int32Arg(info, 0);
    ns_sc_thread_report report;
    int status = lib_.ns_sc_thread_try_join(thread, &report);
    if (status == NS_SC_EBUSY) return env.Null();
    if (status != NS_SC_OK) ThrowStatus(env, status, "Joining the thread");
    state_->threads.erase(thread);
    return Report(env, report);
  }

  Napi::Value Close(const Napi::CallbackInfo &info) {
    state_->Close();
    return info.Env().Undefined();
  }

  Library lib_;
  std::unique_ptr<State> state_;
};

}  // namespace

// Called from addon.cc.
void InitShowcase(Napi::Env env, Napi::Object exports) {
  exports.Set("ShowcaseBinding", ShowcaseBinding::Define(env));
}
