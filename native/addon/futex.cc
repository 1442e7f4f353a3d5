// futexWake() and FutexWaiter: how JavaScript takes part in the park/wake handshake of wire-format §5.1 without ever
// blocking its event loop. A FutexWaiter owns one native thread that blocks in the kernel on a word of shared memory
// and reports the outcome to the JavaScript thread through a thread-safe function.
//
// Why a thread and not Atomics.waitAsync: V8 emulates Atomics.wait in-process, so a FUTEX_WAKE from C code or from
// another process never reaches it (field notes). A real futex wait does.
//
// Cancellation is race-free: the waiter thread sleeps in futex_waitv() on two words, the watched shared word and a
// private per-waiter cancel word. cancel() sets the cancel word and wakes it; if it was set before the thread went to
// sleep, the kernel sees a value other than the expected 0 and returns at once. Kernels older than 5.16 lack
// futex_waitv: there the thread sleeps on the shared word alone, in slices of kSliceNs, and cancel() also wakes the
// shared word (a spurious wake-up for other sleepers on it, which the protocol tolerates), so a cancel that races
// with going to sleep is noticed within one slice.
//
// Memory lifetime: a wait on a word of a SharedRegion's mapping pins that mapping (region_pin.h) from wait() until
// the thread has left the kernel. A region closed meanwhile (its Rings cancel their waits first) is unmapped only
// then, by the waiter thread's unpin, so the kernel never sleeps on — and the thread never touches — unmapped memory.
#include <napi.h>

#include <atomic>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

#include "futex_sys.h"
#include "js_error.h"
#include "quiet_ref.h"
#include "region_pin.h"

namespace ns_addon {
namespace {

constexpr int64_t kNsPerSec = 1000000000;
constexpr int64_t kSliceNs = 50 * 1000 * 1000;  // fallback only: bound on the delay of a racing cancel

enum class WaitResult { kOk, kNotEqual, kTimedOut, kCancelled };

const char *ResultName(WaitResult r) {
  switch (r) {
    case WaitResult::kOk: return "ok";
    case WaitResult::kNotEqual: return "not-equal";
    case WaitResult::kTimedOut: return "timed-out";
    case WaitResult::kCancelled: return "cancelled";
  }
  return "ok";
}

int64_t MonotonicNs() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * kNsPerSec + ts.tv_nsec;
}

struct timespec ToTimespec(int64_t ns) {
  struct timespec ts;
  ts.tv_sec = static_cast<time_t>(ns / kNsPerSec);
  ts.tv_nsec = static_cast<long>(ns % kNsPerSec);
  return ts;
}

// Validates (view, index) as a 4-byte-aligned word of an Int32Array (over an ArrayBuffer, external or not, or a
// SharedArrayBuffer) and returns its address. Throws ERR_INVALID_ARG naming the argument.
std::atomic<uint32_t> *WordArg(const Napi::CallbackInfo &info, size_t view_i, size_t index_i) {
  Napi::Env env = info.Env();
  if (view_i >= info.Length() || !info[view_i].IsTypedArray() ||
      info[view_i].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) {
    throw InvalidArg(env, "view", "an Int32Array; received " + Describe(info, view_i));
  }
  Napi::Int32Array view = info[view_i].As<Napi::Int32Array>();
  size_t length = view.ElementLength();
  if (length == 0) throw InvalidArg(env, "view", "an Int32Array with at least one element (is its buffer detached?)");
  size_t index = static_cast<size_t>(IntegerArg(info, index_i, "index", 0, static_cast<double>(length - 1)));
  int32_t *word = view.Data() + index;
  if (reinterpret_cast<uintptr_t>(word) % alignof(std::atomic<uint32_t>) != 0) {
    throw InvalidArg(env, "view", "4-byte aligned in memory");
  }
  static_assert(sizeof(std::atomic<uint32_t>) == sizeof(uint32_t), "a futex word is 32 bits");
  return reinterpret_cast<std::atomic<uint32_t> *>(word);
}

// futexWake(view, index): FUTEX_WAKE (shared) of every waiter on the word, in any process. Returns how many were
// woken. Any thread that runs JavaScript may call it; it never blocks.
Napi::Value FutexWake(const Napi::CallbackInfo &info) {
  std::atomic<uint32_t> *word = WordArg(info, 0, 1);
  long woken = FutexWakeAll(word, false);
  if (woken < 0) throw SystemError(info.Env(), "futex", errno, "waking a futex");
  return Napi::Number::New(info.Env(), static_cast<double>(woken));
}

class FutexWaiter : public Napi::ObjectWrap<FutexWaiter> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "FutexWaiter",
                       {
                           InstanceMethod<&FutexWaiter::Wait>("wait"),
                           InstanceMethod<&FutexWaiter::Cancel>("cancel"),
                           InstanceMethod<&FutexWaiter::Close>("close"),
                           InstanceAccessor<&FutexWaiter::GetPending>("pending"),
                           InstanceAccessor<&FutexWaiter::GetClosed>("closed"),
                       });
  }

  // new FutexWaiter(options?: { singleWordWait?: boolean }) — singleWordWait forces the pre-5.16 fallback (tests).
  explicit FutexWaiter(const Napi::CallbackInfo &info) : Napi::ObjectWrap<FutexWaiter>(info) {
    Napi::Env env = info.Env();
    if (info.Length() > 0 && info[0].IsObject()) {
      Napi::Value single = info[0].As<Napi::Object>().Get("singleWordWait");
      single_word_.store(single.IsBoolean() && single.As<Napi::Boolean>().Value());
    }
    env_ = env;
    tsfn_ = Tsfn::New(env, "native-sidecar FutexWaiter", 0, 1, this);
    // Idle waiters must not keep the process alive: the TSFN is ref'd only while a wait is pending.
    tsfn_.Unref(env);
    // Registered after the TSFN was created, so it runs before Node's own TSFN cleanup (hooks run in reverse order).
    napi_add_env_cleanup_hook(env, &FutexWaiter::EnvCleanup, this);
  }

  ~FutexWaiter() override {
    // Not pending here (a pending wait holds a strong reference to this object), unless the environment is going away.
    if (!shut_down_) {
      Shutdown();
      napi_remove_env_cleanup_hook(env_, &FutexWaiter::EnvCleanup, this);
    }
  }

 private:
  struct Message {
    WaitResult result;
  };
  static void CallJs(Napi::Env env, Napi::Function, FutexWaiter *self, Message *message);
  using Tsfn = Napi::TypedThreadSafeFunction<FutexWaiter, Message, &FutexWaiter::CallJs>;

  struct Job {
    std::atomic<uint32_t> *word = nullptr;
    uint32_t expected = 0;
    bool forever = true;
    int64_t deadline_ns = 0;  // CLOCK_MONOTONIC
    RegionPin *pin = nullptr;  // the region mapping holding `word`, if any; released by the thread after the wait
  };

  // wait(view, index, expected, timeoutMs, callback). JS thread. One wait at a time. The callback runs later on this
  // JS thread, exactly once, with 'ok' (woken, or the word may have changed), 'not-equal' (the word did not hold
  // `expected` when the thread went to sleep), 'timed-out' or 'cancelled'. Keeps `view` (and so its buffer) and the
  // callback alive until then.
  Napi::Value Wait(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    if (shut_down_) throw CodedError(env, "ERR_INVALID_STATE", "The FutexWaiter was closed; create a new one to wait.");
    if (pending_) {
      throw CodedError(env, "ERR_INVALID_STATE",
                       "The FutexWaiter already has a wait pending; use one waiter per concurrent wait.");
    }
    Job job;
    job.word = WordArg(info, 0, 1);
    job.expected = static_cast<uint32_t>(static_cast<int64_t>(IntegerArg(info, 2, "expected", -2147483648.0, 4294967295.0)));
    if (info.Length() <= 3 || !info[3].IsNumber() || std::isnan(info[3].As<Napi::Number>().DoubleValue())) {
      throw InvalidArg(env, "timeoutMs", "a number (negative or Infinity to wait without a timeout); received " +
                                             Describe(info, 3));
    }
    double timeout_ms = info[3].As<Napi::Number>().DoubleValue();
    if (timeout_ms >= 0 && timeout_ms < 1e12) {  // beyond ~30 years: forever
      job.forever = false;
      job.deadline_ns = MonotonicNs() + static_cast<int64_t>(timeout_ms * 1e6);
    }
    if (info.Length() <= 4 || !info[4].IsFunction()) {
      throw InvalidArg(env, "callback", "a function; received " + Describe(info, 4));
    }

    view_.Set(env, info[0]);
    callback_.Set(env, info[4]);
    Ref();  // a pending wait keeps this object (and its thread) alive
    tsfn_.Ref(env);
    pending_ = true;
    if (!thread_.joinable()) thread_ = std::thread(&FutexWaiter::ThreadMain, this);
    // Last, once nothing can throw: the thread runs every job it is given and releases the pin when the wait ends.
    job.pin = PinRegionMemory(job.word, sizeof(uint32_t));
    {
      std::lock_guard<std::mutex> lock(mutex_);
      // Release pairs with the acquire load in RunWait(): the thread sees the reset before it reads the job.
      cancel_word_.store(0, std::memory_order_release);
      job_ = job;
      has_job_ = true;
    }
    cv_.notify_one();
    return env.Undefined();
  }

  // cancel(): JS thread. Makes a pending wait finish with 'cancelled' soon (at once with futex_waitv). If the wait
  // already finished, its result stands. No effect without a pending wait.
  Napi::Value Cancel(const Napi::CallbackInfo &info) {
    if (pending_ && !shut_down_) WakeForCancel();
    return info.Env().Undefined();
  }

  // close(): JS thread. Cancels a pending wait (its callback still runs once, later), stops and joins the thread,
  // releases the thread-safe function. Idempotent. The join is short: the thread is woken first.
  Napi::Value Close(const Napi::CallbackInfo &info) {
    if (!shut_down_) {
      Shutdown();
      napi_remove_env_cleanup_hook(env_, &FutexWaiter::EnvCleanup, this);
    }
    return info.Env().Undefined();
  }

  Napi::Value GetPending(const Napi::CallbackInfo &info) { return Napi::Boolean::New(info.Env(), pending_); }
  Napi::Value GetClosed(const Napi::CallbackInfo &info) { return Napi::Boolean::New(info.Env(), shut_down_); }

  void WakeForCancel() {
    std::atomic<uint32_t> *word = nullptr;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      word = job_.word;
    }
    // Release pairs with the acquire loads in RunWait(); the kernel orders the store before its own compare.
    cancel_word_.store(1, std::memory_order_release);
    FutexWakeAll(&cancel_word_, true);
    if (single_word_ && word != nullptr) FutexWakeAll(word, false);
  }

  // Stops the thread and releases the TSFN. JS thread (close, destructor, or environment cleanup).
  void Shutdown() {
    shut_down_ = true;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    cv_.notify_one();
    WakeForCancel();
    if (thread_.joinable()) thread_.join();
    // A result posted by the thread is still delivered: a released TSFN drains its queue before it closes.
    tsfn_.Release();
  }

  static void EnvCleanup(void *arg) {
    FutexWaiter *self = static_cast<FutexWaiter *>(arg);
    if (!self->shut_down_) self->Shutdown();
  }

  void ThreadMain() {
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
      cv_.wait(lock, [this] { return has_job_ || stop_; });
      if (!has_job_) return;  // stop_ without a job
      Job job = job_;
      has_job_ = false;
      lock.unlock();
      WaitResult result = RunWait(job);
      // Out of the kernel and done with the word: a region closed meanwhile may be unmapped now (by this call).
      UnpinRegionMemory(job.pin);
      // Unlimited queue: never blocks. Fails only once the TSFN is closing (environment teardown): nobody to tell.
      tsfn_.NonBlockingCall(new Message{result});
      lock.lock();
    }
  }

  WaitResult RunWait(const Job &job) {
    for (;;) {
      // Acquire pairs with the release stores of cancel_word_ in Wait()/WakeForCancel().
      if (cancel_word_.load(std::memory_order_acquire) != 0) return WaitResult::kCancelled;
      if (!single_word_) {
        struct futex_waitv waiters[2] = {};
        waiters[0].val = job.expected;
        waiters[0].uaddr = reinterpret_cast<uintptr_t>(job.word);
        waiters[0].flags = FUTEX_32;  // shared: the waker may be another process
        waiters[1].val = 0;
        waiters[1].uaddr = reinterpret_cast<uintptr_t>(&cancel_word_);
        waiters[1].flags = FUTEX_32 | FUTEX_PRIVATE_FLAG;
        struct timespec deadline = ToTimespec(job.deadline_ns);
        long rc = FutexWaitv(waiters, 2, job.forever ? nullptr : &deadline);
        if (rc == 0) return WaitResult::kOk;
        if (rc == 1) return WaitResult::kCancelled;
        int err = errno;
        if (err == EINTR) continue;
        if (err == ETIMEDOUT) return WaitResult::kTimedOut;
        if (err == EAGAIN) {
          return cancel_word_.load(std::memory_order_acquire) != 0 ? WaitResult::kCancelled : WaitResult::kNotEqual;
        }
        if (err == ENOSYS) {
          single_word_.store(true);  // from now on cancel() also wakes the shared word
          continue;
        }
        return WaitResult::kOk;  // unexpected (EFAULT: memory unmapped): a spurious wake-up; the caller re-checks
      }
      // Fallback: one word, bounded slices so that a cancel racing with going to sleep is seen within kSliceNs.
      int64_t slice = kSliceNs;
      if (!job.forever) {
        int64_t left = job.deadline_ns - MonotonicNs();
        if (left <= 0) return WaitResult::kTimedOut;
        if (left < slice) slice = left;
      }
      struct timespec relative = ToTimespec(slice);
      long rc = FutexWaitShared(job.word, job.expected, &relative);
      if (rc == 0) {
        return cancel_word_.load(std::memory_order_acquire) != 0 ? WaitResult::kCancelled : WaitResult::kOk;
      }
      int err = errno;
      if (err == EAGAIN) return WaitResult::kNotEqual;
      if (err == EINTR || err == ETIMEDOUT) continue;  // the loop re-checks cancel and the deadline
      return WaitResult::kOk;
    }
  }

  // JS thread: delivers one result. Raw N-API calls, whose failures are ignored: while a worker is being terminated
  // JavaScript cannot run, and node-addon-api would turn the failed call into a C++ exception (or a fatal error while
  // building one) that escapes this callback and aborts the process. An exception the callback throws stays pending:
  // Node reports it like any exception thrown by an event-loop callback.
  void Deliver(Napi::Env env, WaitResult result) {
    // Raw N-API only (quiet_ref.h): during a worker's termination these calls fail, and must not throw.
    napi_value callback = callback_.Get();
    callback_.Reset();
    view_.Reset();
    pending_ = false;
    if (!shut_down_) napi_unref_threadsafe_function(env, tsfn_);
    QuietUnref(env, *this);
    napi_value arg, undefined, ignored;
    if (callback != nullptr && napi_create_string_utf8(env, ResultName(result), NAPI_AUTO_LENGTH, &arg) == napi_ok &&
        napi_get_undefined(env, &undefined) == napi_ok) {
      napi_call_function(env, undefined, callback, 1, &arg, &ignored);
    }
  }

  Napi::Env env_ = Napi::Env(nullptr);
  Tsfn tsfn_;
  std::atomic<bool> single_word_{false};  // set by the constructor, or by the thread on ENOSYS
  // JS-thread state.
  bool pending_ = false;
  bool shut_down_ = false;
  QuietRef view_;
  QuietRef callback_;
  // Shared with the waiter thread.
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool has_job_ = false;
  bool stop_ = false;
  Job job_;
  alignas(4) std::atomic<uint32_t> cancel_word_{0};
};

void FutexWaiter::CallJs(Napi::Env env, Napi::Function, FutexWaiter *self, Message *message) {
  WaitResult result = message->result;
  delete message;
  // env is null when Node empties the queue at environment teardown: no JavaScript may run, and `self` may be gone.
  if (static_cast<napi_env>(env) == nullptr || self == nullptr) return;
  self->Deliver(env, result);
}

}  // namespace

void InitFutex(Napi::Env env, Napi::Object exports) {
  exports.Set("futexWake", Napi::Function::New(env, FutexWake, "futexWake"));
  exports.Set("FutexWaiter", FutexWaiter::Define(env));
}

}  // namespace ns_addon
