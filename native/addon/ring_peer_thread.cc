// RingPeerThread: runs one peer mode of native/test/peer.h (echo, verify, produce, sink) on a native thread inside the
// addon, over rings in memory that JavaScript also sees. For tests and benchmarks: the native side of "JS ↔ native
// thread". src/testing/peers.ts is the facade.
//
//   new RingPeerThread(view: Uint8Array, options, callback)
//     view      the whole buffer holding the rings (over a region's ArrayBuffer or a SharedArrayBuffer)
//     options   { mode, input?: { offset, size }, output?: { offset, size }, count?, minLength?, maxLength?, seed?,
//                 batch?, waitMode?: 'spin' | 'spin-then-park' | 'park', spinMicros?, idleTimeoutMs?, wakeFd? }
//               wakeFd: an eventfd (an EventfdParker's) the peer also writes when it wakes the JS side (§5.1.1); the
//               peer uses its own duplicate, so closing the parker while the peer runs cannot make it write elsewhere
//     callback  (result: { mode, ok, code, records, bytes, elapsedNs, error }) => void — once, on this JS thread
//   stop()      asks the peer to stop (it notices within NS_PEER_SLICE_NS); the callback still runs
//   running     true until the callback has run
//
// Threading and memory: the constructor attaches the rings (validating them) on the JS thread, then the native thread
// owns the peer's side of each ring until it ends. The view is referenced and, when it is region memory, the mapping
// is pinned (region_pin.h) until the thread has been joined, so neither GC nor SharedRegion.close() can unmap memory
// the thread still uses. A running peer keeps the process alive; at environment teardown it is stopped and joined.
#include <fcntl.h>
#include <napi.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <cstring>
#include <memory>
#include <string>
#include <thread>

#include "js_error.h"
#include "region_pin.h"
#include "test/peer.h"

namespace ns_addon {
namespace {

// Everything the native thread touches; allocated apart (ns_ring is over-aligned) and owned by the RingPeerThread.
struct PeerJob {
  ns_ring in;
  ns_ring out;
  bool has_in = false;
  bool has_out = false;
  ns_peer_options options;
  ns_peer_result result;
  std::atomic<uint32_t> stop{0};
  int wake_fd = -1;  // our duplicate of options.wakeFd, closed with the job (after the thread was joined)
  ~PeerJob() {
    if (wake_fd >= 0) close(wake_fd);
  }
};

class RingPeerThread : public Napi::ObjectWrap<RingPeerThread> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "RingPeerThread",
                       {
                           InstanceMethod<&RingPeerThread::Stop>("stop"),
                           InstanceAccessor<&RingPeerThread::GetRunning>("running"),
                       });
  }

  explicit RingPeerThread(const Napi::CallbackInfo &info) : Napi::ObjectWrap<RingPeerThread>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
      throw InvalidArg(env, "view", "a Uint8Array over the buffer that holds the rings; received " + Describe(info, 0));
    }
    if (info.Length() < 2 || !info[1].IsObject()) throw InvalidArg(env, "options", "an object; received " + Describe(info, 1));
    if (info.Length() < 3 || !info[2].IsFunction()) throw InvalidArg(env, "callback", "a function; received " + Describe(info, 2));
    Napi::Uint8Array view = info[0].As<Napi::Uint8Array>();
    Napi::Object options = info[1].As<Napi::Object>();
    uint8_t *base = view.Data();
    size_t length = view.ByteLength();

    job_.reset(new PeerJob());
    ParseOptions(env, options);
    const bool needs_in = job_->options.mode != NS_PEER_PRODUCE;
    const bool needs_out = job_->options.mode == NS_PEER_ECHO || job_->options.mode == NS_PEER_PRODUCE;
    if (needs_in) job_->has_in = Attach(env, options, "input", base, length, &job_->in);
    if (needs_out) job_->has_out = Attach(env, options, "output", base, length, &job_->out);
    AttachWakeFd(env, options);
    if (needs_out) {
      ns_peer_options &o = job_->options;
      if (o.max_length == 0) o.max_length = job_->out.max_payload < 4096u ? job_->out.max_payload : 4096u;
      if (o.min_length > o.max_length || o.max_length > job_->out.max_payload) {
        throw InvalidArg(env, "options.maxLength", "at least options.minLength and at most the output ring's max payload (" +
                                                        std::to_string(job_->out.max_payload) + ")");
      }
    }

    view_ = Napi::Persistent(view.As<Napi::Object>());
    callback_ = Napi::Persistent(info[2].As<Napi::Function>());
    pin_ = PinRegionMemory(base, length);
    tsfn_ = Tsfn::New(env, "native-sidecar RingPeerThread", 0, 1, this);
    napi_add_env_cleanup_hook(env, &RingPeerThread::EnvCleanup, this);
    env_ = env;
    Ref();  // alive until the callback ran
    running_ = true;
    job_->options.stop = &job_->stop;
    PeerJob *job = job_.get();
    Tsfn tsfn = tsfn_;
    thread_ = std::thread([job, tsfn]() mutable {
      ns_peer_run(job->has_in ? &job->in : nullptr, job->has_out ? &job->out : nullptr, &job->options, &job->result);
      tsfn.NonBlockingCall(static_cast<int *>(nullptr));  // "finished"; fails only at teardown, handled there
    });
  }

  ~RingPeerThread() override {
    // Runs only after the callback (a running peer holds a strong reference), or at environment teardown.
    Finish();
  }

 private:
  static void CallJs(Napi::Env env, Napi::Function, RingPeerThread *self, int *);
  using Tsfn = Napi::TypedThreadSafeFunction<RingPeerThread, int, &RingPeerThread::CallJs>;

  static uint32_t U32Option(Napi::Env env, Napi::Object options, const char *key, const char *name, uint32_t min,
                            uint32_t max, uint32_t fallback) {
    Napi::Value v = options.Get(key);
    if (v.IsUndefined()) return fallback;
    double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : -1;
    if (!v.IsNumber() || d < min || d > max || d != static_cast<double>(static_cast<uint64_t>(d))) {
      throw InvalidArg(env, name, "an integer from " + std::to_string(min) + " to " + std::to_string(max));
    }
    return static_cast<uint32_t>(d);
  }

  void ParseOptions(Napi::Env env, Napi::Object options) {
    ns_peer_options &o = job_->options;
    std::memset(&o, 0, sizeof o);
    Napi::Value mode = options.Get("mode");
    if (!mode.IsString() || ns_peer_parse_mode(mode.As<Napi::String>().Utf8Value().c_str(), &o.mode) != 0) {
      throw InvalidArg(env, "options.mode", "one of 'echo', 'verify', 'produce', 'sink'");
    }
    o.policy.mode = NS_WAIT_SPIN_THEN_PARK;
    Napi::Value wait = options.Get("waitMode");
    if (!wait.IsUndefined() &&
        (!wait.IsString() || ns_peer_parse_wait_mode(wait.As<Napi::String>().Utf8Value().c_str(), &o.policy.mode) != 0)) {
      throw InvalidArg(env, "options.waitMode", "one of 'spin', 'spin-then-park', 'park'");
    }
    o.policy.spin_ns = U32Option(env, options, "spinMicros", "options.spinMicros", 0, UINT32_MAX / 1000,
                                 NS_WAIT_DEFAULT_SPIN_NS / 1000) * 1000u;
    Napi::Value count = options.Get("count");
    if (!count.IsUndefined()) {
      double d = count.IsNumber() ? count.As<Napi::Number>().DoubleValue() : -1;
      if (!(d >= 0 && d <= 9007199254740991.0) || d != static_cast<double>(static_cast<uint64_t>(d))) {
        throw InvalidArg(env, "options.count", "a non-negative safe integer");
      }
      o.count = static_cast<uint64_t>(d);
    }
    o.min_length = U32Option(env, options, "minLength", "options.minLength", NS_STRESS_MIN_LENGTH, UINT32_MAX, NS_STRESS_MIN_LENGTH);
    o.max_length = U32Option(env, options, "maxLength", "options.maxLength", NS_STRESS_MIN_LENGTH, UINT32_MAX, 0);
    o.seed = U32Option(env, options, "seed", "options.seed", 0, UINT32_MAX, 1);
    o.batch = U32Option(env, options, "batch", "options.batch", 1, UINT32_MAX, 0);
    Napi::Value idle = options.Get("idleTimeoutMs");
    if (!idle.IsUndefined()) {
      if (!idle.IsNumber() || std::isnan(idle.As<Napi::Number>().DoubleValue())) {
        throw InvalidArg(env, "options.idleTimeoutMs", "a number (negative: no limit)");
      }
      double ms = idle.As<Napi::Number>().DoubleValue();
      o.idle_timeout_ns = ms < 0 || ms > 1e12 ? -1 : static_cast<int64_t>(ms * 1e6);
      if (o.idle_timeout_ns == 0 && ms >= 0) o.idle_timeout_ns = 1;  // 0 ms means "do not wait", not "the default"
    }
  }

  // options.wakeFd: duplicated (close-on-exec) and applied to the sides this peer wakes. Throws typed errors.
  void AttachWakeFd(Napi::Env env, Napi::Object options) {
    Napi::Value v = options.Get("wakeFd");
    if (v.IsUndefined()) return;
    double fd = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : -1;
    if (!(fd >= 0 && fd <= INT32_MAX && fd == std::floor(fd))) {
      throw InvalidArg(env, "options.wakeFd", "an open file descriptor (a non-negative integer)");
    }
    job_->wake_fd = fcntl(static_cast<int>(fd), F_DUPFD_CLOEXEC, 0);
    if (job_->wake_fd < 0) throw InvalidArg(env, "options.wakeFd", "an open file descriptor");
    if (job_->has_out) ns_ring_set_consumer_wake_fd(&job_->out, job_->wake_fd);
    if (job_->has_in) ns_ring_set_producer_wake_fd(&job_->in, job_->wake_fd);
  }

  // Attaches options[key] = { offset, size } as a ring inside [base, base + length). Throws typed errors.
  static bool Attach(Napi::Env env, Napi::Object options, const char *key, uint8_t *base, size_t length, ns_ring *ring) {
    std::string name = std::string("options.") + key;
    Napi::Value v = options.Get(key);
    if (!v.IsObject()) throw InvalidArg(env, name.c_str(), "an object { offset, size } locating a ring segment in the view");
    Napi::Object seg = v.As<Napi::Object>();
    double offset = seg.Get("offset").IsNumber() ? seg.Get("offset").As<Napi::Number>().DoubleValue() : -1;
    double size = seg.Get("size").IsNumber() ? seg.Get("size").As<Napi::Number>().DoubleValue() : -1;
    if (!(offset >= 0 && size > 0 && offset + size <= static_cast<double>(length)) ||
        offset != static_cast<double>(static_cast<uint64_t>(offset)) || size != static_cast<double>(static_cast<uint64_t>(size)) ||
        static_cast<uint64_t>(offset) % NS_SEGMENT_ALIGN != 0) {
      throw InvalidArg(env, name.c_str(), "a segment { offset, size } inside the view, with offset a multiple of " +
                                              std::to_string(NS_SEGMENT_ALIGN));
    }
    int rc = ns_ring_attach(ring, base + static_cast<size_t>(offset), static_cast<size_t>(size));
    if (rc == NS_RING_ECORRUPT) {
      throw CodedError(env, "ERR_RING_CORRUPT", "The ring at " + name + " (offset " + JsNumber(env, offset) +
                                                     ") failed validation: it is not an initialised ring of this format.");
    }
    if (rc != NS_RING_OK) throw InvalidArg(env, name.c_str(), "a segment large enough for a ring");
    return true;
  }

  Napi::Value Stop(const Napi::CallbackInfo &info) {
    // release: pairs with the acquire load in ns_peer__wait().
    if (job_) job_->stop.store(1, std::memory_order_release);
    return info.Env().Undefined();
  }

  Napi::Value GetRunning(const Napi::CallbackInfo &info) { return Napi::Boolean::New(info.Env(), running_); }

  // Joins the thread and releases what it needed. JS thread; idempotent.
  void Finish() {
    if (thread_.joinable()) {
      if (job_) job_->stop.store(1, std::memory_order_release);
      thread_.join();
    }
    if (pin_ != nullptr) {
      UnpinRegionMemory(pin_);
      pin_ = nullptr;
    }
    if (!released_ && tsfn_) {
      released_ = true;
      tsfn_.Release();
      napi_remove_env_cleanup_hook(env_, &RingPeerThread::EnvCleanup, this);
    }
  }

  static void EnvCleanup(void *arg) {
    RingPeerThread *self = static_cast<RingPeerThread *>(arg);
    if (self->thread_.joinable()) {
      self->job_->stop.store(1, std::memory_order_release);
      self->thread_.join();
    }
    if (self->pin_ != nullptr) {
      UnpinRegionMemory(self->pin_);
      self->pin_ = nullptr;
    }
    if (!self->released_) {
      self->released_ = true;  // the hook is being run: do not remove it
      self->tsfn_.Release();
    }
  }

  void Deliver(Napi::Env env) {
    Finish();
    running_ = false;
    const ns_peer_result &r = job_->result;
    Napi::Object result = Napi::Object::New(env);
    result.Set("mode", ns_peer_mode_name(job_->options.mode));
    result.Set("ok", r.code == NS_RING_OK);
    result.Set("code", ns_peer_code_name(r.code));
    result.Set("records", Napi::Number::New(env, static_cast<double>(r.records)));
    result.Set("bytes", Napi::Number::New(env, static_cast<double>(r.bytes)));
    result.Set("elapsedNs", Napi::Number::New(env, static_cast<double>(r.elapsed_ns)));
    result.Set("error", r.error[0] == '\0' ? env.Null() : Napi::String::New(env, r.error));
    Napi::Function callback = callback_.Value();
    callback_.Reset();
    view_.Reset();
    Unref();
    try {
      callback.Call({result});
    } catch (const Napi::Error &e) {
      // Reported like any exception thrown by an event-loop callback. Raw napi_throw, not ThrowAsJavaScriptException:
      // at environment teardown (a worker terminated with a wait pending) JavaScript cannot run, the call fails, and
      // the C++ exception ThrowAsJavaScriptException would then throw escapes this callback and aborts the process.
      napi_throw(env, e.Value());
    }
  }

  std::unique_ptr<PeerJob> job_;
  std::thread thread_;
  Tsfn tsfn_;
  bool released_ = false;
  bool running_ = false;
  RegionPin *pin_ = nullptr;
  Napi::Env env_ = Napi::Env(nullptr);
  Napi::ObjectReference view_;
  Napi::FunctionReference callback_;
};

void RingPeerThread::CallJs(Napi::Env env, Napi::Function, RingPeerThread *self, int *) {
  // env is null when Node empties the queue at teardown: EnvCleanup already joined the thread.
  if (static_cast<napi_env>(env) == nullptr || self == nullptr) return;
  self->Deliver(env);
}

}  // namespace

void InitRingPeerThread(Napi::Env env, Napi::Object exports) {
  exports.Set("RingPeerThread", RingPeerThread::Define(env));
}

}  // namespace ns_addon
