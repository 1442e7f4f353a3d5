// Thread mode of a Sidecar: the runtime loop of native/sidecar/runtime.c on a native thread of this process.
//
// JavaScript: new SidecarThread(buffer, pluginPath, waitMode, spinNs, wakeFd, scheduling) starts a thread (named
// "ns-sidecar") that attaches to the region in `buffer` (an ArrayBuffer over a SharedRegion), applies `scheduling` to
// itself (optional: { cpus?: number[], policy?: 'other'|'batch'|'idle'|'fifo'|'rr', priority?: number, nice?: number },
// validated by src/sidecar/scheduling.ts; a refusal is reported like any start failure, through the control block),
// loads the plugin and runs Init → Loop → Dispose. `wakeFd`
// (optional, -1 = none) is the host's eventfd (its EventfdParker): the runtime writes it on every wake of the host's
// event-ring consumer (wire-format §5.1.1). Everything the
// host needs to know (start failures, state, heartbeat) goes through the control block and the event ring, exactly
// as in process mode, so src/sidecar/ treats both modes alike. join() reaps the thread once the runtime has said it
// is done (event ring closed, or state EXITED/FAILED): it blocks only for the few instructions between that and the
// thread's return.
//
// Memory: the object holds a strong reference to `buffer` until join(), so the mapping the thread uses cannot be
// collected under it. The caller must not close the region before join() returns. The thread writes its own duplicate
// of `wakeFd` (close-on-exec), closed when the thread is joined: the host may close its parker at any time, even
// while a thread it gave up on still runs, without the thread writing to a recycled descriptor number.
#include <fcntl.h>
#include <napi.h>
#include <pthread.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <string>

#include "native_sidecar/region.h"
#include "sidecar/runtime.h"

namespace {

Napi::Error Coded(Napi::Env env, const char *code, const std::string &message) {
  Napi::Error error = Napi::Error::New(env, message);
  error.Value().Set("code", Napi::String::New(env, code));
  return error;
}

class SidecarThread : public Napi::ObjectWrap<SidecarThread> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "SidecarThread",
                       {InstanceMethod("join", &SidecarThread::Join),
                        InstanceAccessor("finished", &SidecarThread::Finished, nullptr)});
  }

  explicit SidecarThread(const Napi::CallbackInfo &info) : Napi::ObjectWrap<SidecarThread>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 4 || !info[0].IsArrayBuffer())
      throw Coded(env, "ERR_INVALID_ARG", "The argument 'buffer' must be an ArrayBuffer over a sidecar region.");
    if (!info[1].IsString())
      throw Coded(env, "ERR_INVALID_ARG", "The argument 'pluginPath' must be a string.");
    if (!info[2].IsNumber() || !info[3].IsNumber())
      throw Coded(env, "ERR_INVALID_ARG", "The arguments 'waitMode' and 'spinNs' must be numbers.");
    Napi::ArrayBuffer buffer = info[0].As<Napi::ArrayBuffer>();
    base_ = static_cast<uint8_t *>(buffer.Data());
    int rc = ns_region_validate(base_, buffer.ByteLength(), &header_, nullptr);
    if (rc != NS_REGION_OK)
      throw Coded(env, "ERR_REGION_INVALID", std::string("The sidecar region ") + ns_region_strerror(rc) + ".");
    int mode = info[2].As<Napi::Number>().Int32Value();
    double spin = info[3].As<Napi::Number>().DoubleValue();
    if (mode < NS_WAIT_SPIN || mode > NS_WAIT_PARK || !(spin >= 0 && spin <= 4e9))
      throw Coded(env, "ERR_INVALID_ARG", "The wait policy must have mode 0, 1 or 2 and spinNs from 0 to 4e9.");
    wait_.mode = static_cast<ns_wait_mode>(mode);
    wait_.spin_ns = static_cast<uint32_t>(spin);
    int wake_fd = -1;
    if (info.Length() > 4 && !info[4].IsUndefined()) {
      double fd = info[4].IsNumber() ? info[4].As<Napi::Number>().DoubleValue() : -2;
      if (!(fd >= -1 && fd <= 2147483647) || fd != static_cast<double>(static_cast<int>(fd)))
        throw Coded(env, "ERR_INVALID_ARG", "The argument 'wakeFd' must be a file descriptor number or -1.");
      wake_fd = static_cast<int>(fd);
    }
    if (info.Length() > 5 && !info[5].IsUndefined()) ParseScheduling(env, info[5]);
    plugin_ = info[1].As<Napi::String>().Utf8Value();
    if (wake_fd >= 0) {
      wake_fd_ = fcntl(wake_fd, F_DUPFD_CLOEXEC, 0);
      if (wake_fd_ < 0) {
        int err = errno;
        if (err == EBADF)
          throw Coded(env, "ERR_INVALID_ARG", "The argument 'wakeFd' is not an open file descriptor.");
        Napi::Error error = Coded(env, "ERR_SYSTEM", std::string("The system call fcntl(F_DUPFD_CLOEXEC) failed while "
                                                                 "starting the sidecar thread: ") + std::strerror(err) + ".");
        error.Value().Set("errno", Napi::Number::New(env, err));
        error.Value().Set("syscall", Napi::String::New(env, "fcntl"));
        throw error;
      }
    }
    buffer_ = Napi::Persistent(buffer.As<Napi::Object>());
    rc = pthread_create(&thread_, nullptr, &SidecarThread::Main, this);
    if (rc != 0) {
      buffer_.Reset();
      CloseWakeFd();
      Napi::Error error = Coded(env, "ERR_SYSTEM", std::string("The system call pthread_create() failed while "
                                                               "starting the sidecar thread: ") + std::strerror(rc) + ".");
      error.Value().Set("errno", Napi::Number::New(env, rc));
      error.Value().Set("syscall", Napi::String::New(env, "pthread_create"));
      throw error;
    }
    started_ = true;
    env_ = env;
    napi_add_env_cleanup_hook(env, &SidecarThread::Cleanup, this);
  }

  ~SidecarThread() override {
    // Collected without join(): the JS side lost the sidecar while it ran. Stop it the way the host would.
    Shutdown();
  }

 private:
  // The `scheduling` argument into sched_ (before the thread exists: a bad value throws and nothing is started).
  void ParseScheduling(Napi::Env env, Napi::Value value) {
    auto bad = [&](const char *what) {
      return Coded(env, "ERR_INVALID_ARG", std::string("The argument 'scheduling") + what + ".");
    };
    if (!value.IsObject()) throw bad("' must be an object");
    Napi::Object o = value.As<Napi::Object>();
    Napi::Value cpus = o.Get("cpus"), policy = o.Get("policy"), priority = o.Get("priority"), nice = o.Get("nice");
    if (!cpus.IsUndefined()) {
      if (!cpus.IsArray()) throw bad(".cpus' must be an array of CPU numbers");
      Napi::Array list = cpus.As<Napi::Array>();
      if (list.Length() == 0) throw bad(".cpus' must name at least one CPU");
      for (uint32_t i = 0; i < list.Length(); i++) {
        Napi::Value cpu = list.Get(i);
        double n = cpu.IsNumber() ? cpu.As<Napi::Number>().DoubleValue() : -1;
        if (!(n >= 0 && n < CPU_SETSIZE) || n != static_cast<double>(static_cast<int>(n)) ||
            CPU_ISSET(static_cast<int>(n), &sched_.cpus))
          throw bad(".cpus' must hold distinct integers from 0 to CPU_SETSIZE - 1");
        CPU_SET(static_cast<int>(n), &sched_.cpus);
      }
      sched_.set_cpus = 1;
    }
    if (!policy.IsUndefined()) {
      sched_.policy = policy.IsString() ? ns_sched_parse_policy(policy.As<Napi::String>().Utf8Value().c_str()) : -1;
      if (sched_.policy < 0) throw bad(".policy' must be 'other', 'batch', 'idle', 'fifo' or 'rr'");
      sched_.set_policy = 1;
    }
    bool realtime = sched_.set_policy && (sched_.policy == SCHED_FIFO || sched_.policy == SCHED_RR);
    if (realtime) {
      double n = priority.IsNumber() ? priority.As<Napi::Number>().DoubleValue() : 0;
      if (!(n >= 1 && n <= 99) || n != static_cast<double>(static_cast<int>(n)))
        throw bad(".priority' must be an integer from 1 to 99 for policy 'fifo' or 'rr'");
      sched_.priority = static_cast<int>(n);
    } else if (!priority.IsUndefined()) {
      throw bad(".priority' applies to policy 'fifo' or 'rr' only");
    }
    if (!nice.IsUndefined()) {
      double n = nice.IsNumber() ? nice.As<Napi::Number>().DoubleValue() : 99;
      if (!(n >= -20 && n <= 19) || n != static_cast<double>(static_cast<int>(n)))
        throw bad(".nice' must be an integer from -20 to 19");
      if (sched_.set_policy && sched_.policy != SCHED_OTHER && sched_.policy != SCHED_BATCH)
        throw bad(".nice' applies to policy 'other' or 'batch' only");
      sched_.nice = static_cast<int>(n);
      sched_.set_nice = 1;
    }
    has_sched_ = sched_.set_cpus || sched_.set_policy || sched_.set_nice;
  }

  static void *Main(void *arg) {
    SidecarThread *self = static_cast<SidecarThread *>(arg);
    pthread_setname_np(pthread_self(), "ns-sidecar");  // visible in top -H, ps -L and /proc/<pid>/task/<tid>/comm
    uint32_t reason = ns_runtime_main(self->base_, &self->header_, self->plugin_.c_str(), self->wait_, self->wake_fd_,
                                      self->has_sched_ ? &self->sched_ : nullptr, nullptr);
    self->reason_.store(reason, std::memory_order_relaxed);
    // release: pairs with the acquire in Finished()/Join(): a JS thread that sees finished sees the reason.
    self->finished_.store(true, std::memory_order_release);
    return nullptr;
  }

  Napi::Value Finished(const Napi::CallbackInfo &info) {
    return Napi::Boolean::New(info.Env(), finished_.load(std::memory_order_acquire));
  }

  // Reaps the thread and drops the reference to the region's buffer. Returns the NS_SIDECAR_EXIT_* reason. JS thread
  // only; blocks until the runtime thread returns, so call it only after the runtime signalled its end.
  Napi::Value Join(const Napi::CallbackInfo &info) {
    if (started_ && !joined_) {
      pthread_join(thread_, nullptr);
      joined_ = true;
      napi_remove_env_cleanup_hook(env_, &SidecarThread::Cleanup, this);
      buffer_.Reset();
      CloseWakeFd();
    }
    return Napi::Number::New(info.Env(), reason_.load(std::memory_order_relaxed));
  }

  // Ends a running sidecar that nobody will join: closes the command ring as a stop() would (the runtime drains it,
  // runs dispose and returns), waits a bounded time, and detaches a thread stuck in plugin code rather than block
  // the environment's teardown forever (its memory stays mapped: the buffer reference is deliberately kept).
  void Shutdown() {
    if (!started_ || joined_) return;
    CloseCommands();
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 2;
    if (pthread_timedjoin_np(thread_, nullptr, &deadline) == 0) {
      joined_ = true;
      buffer_.Reset();
      CloseWakeFd();
    } else {
      pthread_detach(thread_);
      joined_ = true;
      buffer_.SuppressDestruct(); // and the wake fd stays open: the detached thread may still write it
    }
  }

  // Only once the thread is gone (joined) or never started: it writes wake_fd_ until it returns.
  void CloseWakeFd() {
    if (wake_fd_ >= 0) close(wake_fd_);
    wake_fd_ = -1;
  }

  void CloseCommands() {
    const ns_segment_entry *control_entry = nullptr;
    for (uint32_t i = 0; i < header_.segment_count; i++)
      if (header_.segments[i].kind == NS_SEGMENT_KIND_SIDECAR_CONTROL) control_entry = &header_.segments[i];
    if (control_entry == nullptr) return;
    const ns_sidecar_control *control = reinterpret_cast<const ns_sidecar_control *>(base_ + control_entry->offset);
    uint32_t index = control->command_segment;
    if (index >= header_.segment_count || header_.segments[index].kind != NS_SEGMENT_KIND_RING) return;
    ns_ring ring;
    if (ns_ring_attach(&ring, base_ + header_.segments[index].offset, header_.segments[index].size) == NS_RING_OK)
      ns_ring_close_producer(&ring);
  }

  static void Cleanup(void *arg) { static_cast<SidecarThread *>(arg)->Shutdown(); }

  uint8_t *base_ = nullptr;
  ns_region_header header_{};
  ns_wait_policy wait_{};
  ns_sched_config sched_ = [] {
    ns_sched_config c;
    ns_sched_init(&c);
    return c;
  }();
  bool has_sched_ = false;
  std::string plugin_;
  int wake_fd_ = -1;  // owned duplicate of the host's eventfd, or -1
  Napi::ObjectReference buffer_;
  pthread_t thread_{};
  bool started_ = false;
  bool joined_ = false;
  napi_env env_ = nullptr;
  std::atomic<uint32_t> reason_{0};
  std::atomic<bool> finished_{false};
};

}  // namespace

// Called from addon.cc's Init.
void RegisterSidecarThread(Napi::Env env, Napi::Object exports) {
  exports.Set("SidecarThread", SidecarThread::Define(env));
}
