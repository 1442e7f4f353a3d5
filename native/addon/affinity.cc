// CPU affinity of the calling JavaScript thread: the event pump's side of the Sidecar option scheduling.pumpCpus
// (src/sidecar/scheduling.ts).
//
// JavaScript: threadAffinity() → number[] (the CPUs the calling thread may run on, ascending);
// setThreadAffinity(cpus: number[]) pins the calling thread to `cpus` (distinct integers 0 … CPU_SETSIZE − 1). Both act
// on the calling thread only (sched_*affinity with pid 0: the thread, not the process). A refusal by the kernel throws
// an error with code 'ERR_SCHEDULING_DENIED', `errno` and `syscall`; a bad argument throws ERR_INVALID_ARG.
#include <napi.h>
#include <sched.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace {

Napi::Error Coded(Napi::Env env, const char *code, const std::string &message) {
  Napi::Error error = Napi::Error::New(env, message);
  error.Value().Set("code", Napi::String::New(env, code));
  return error;
}

Napi::Value ThreadAffinity(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0) {
    int err = errno;
    Napi::Error error = Coded(env, "ERR_SYSTEM", std::string("The system call sched_getaffinity() failed: ") + std::strerror(err) + ".");
    error.Value().Set("errno", Napi::Number::New(env, err));
    error.Value().Set("syscall", Napi::String::New(env, "sched_getaffinity"));
    throw error;
  }
  Napi::Array out = Napi::Array::New(env);
  uint32_t n = 0;
  for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
    if (CPU_ISSET(cpu, &set)) out.Set(n++, Napi::Number::New(env, cpu));
  return out;
}

Napi::Value SetThreadAffinity(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsArray() || info[0].As<Napi::Array>().Length() == 0)
    throw Coded(env, "ERR_INVALID_ARG", "The argument 'cpus' must be a non-empty array of CPU numbers.");
  Napi::Array list = info[0].As<Napi::Array>();
  cpu_set_t set;
  CPU_ZERO(&set);
  for (uint32_t i = 0; i < list.Length(); i++) {
    Napi::Value cpu = list.Get(i);
    double n = cpu.IsNumber() ? cpu.As<Napi::Number>().DoubleValue() : -1;
    if (!(n >= 0 && n < CPU_SETSIZE) || n != static_cast<double>(static_cast<int>(n)) || CPU_ISSET(static_cast<int>(n), &set))
      throw Coded(env, "ERR_INVALID_ARG", "The argument 'cpus' must hold distinct integers from 0 to CPU_SETSIZE - 1.");
    CPU_SET(static_cast<int>(n), &set);
  }
  if (sched_setaffinity(0, sizeof set, &set) != 0) {
    int err = errno;
    std::string message = std::string("sched_setaffinity failed with ") + (err == EINVAL ? "EINVAL" : err == EPERM ? "EPERM" : "an errno") +
                          " (" + std::strerror(err) + ")";
    if (err == EINVAL) message += "; a CPU outside the set this process may use (its cpuset)";
    Napi::Error error = Coded(env, "ERR_SCHEDULING_DENIED", message);
    error.Value().Set("errno", Napi::Number::New(env, err));
    error.Value().Set("syscall", Napi::String::New(env, "sched_setaffinity"));
    throw error;
  }
  return env.Undefined();
}

}  // namespace

namespace ns_addon {
void InitAffinity(Napi::Env env, Napi::Object exports) {
  exports.Set("threadAffinity", Napi::Function::New(env, ThreadAffinity, "threadAffinity"));
  exports.Set("setThreadAffinity", Napi::Function::New(env, SetThreadAffinity, "setThreadAffinity"));
}
}  // namespace ns_addon
