// Strong references released without exceptions. A parker's wait ends in an event-loop or thread-safe-function
// callback; while a worker is being terminated, N-API calls made there fail, and node-addon-api's Reference would
// turn the failure into a C++ exception (or a fatal error while it builds one) that aborts the whole process
// ("terminate called after throwing an instance of 'Napi::Error'", test/parker-contract.test.ts "process.exit and
// worker termination with 70 waits pending …"). These helpers make the raw calls and ignore a failure: at that point
// no JavaScript can run and the environment frees its references itself.
#ifndef NATIVE_SIDECAR_ADDON_QUIET_REF_H
#define NATIVE_SIDECAR_ADDON_QUIET_REF_H

#include <napi.h>

namespace ns_addon {

// One strong reference to a JavaScript value. JS thread only. Set() is called from a JavaScript call (its failure is
// reported as an exception there); Get() and Reset() never throw.
class QuietRef {
 public:
  QuietRef() = default;
  QuietRef(const QuietRef &) = delete;
  QuietRef &operator=(const QuietRef &) = delete;
  ~QuietRef() { Reset(); }

  void Set(Napi::Env env, napi_value value) {
    Reset();
    napi_ref ref = nullptr;
    NAPI_THROW_IF_FAILED_VOID(env, napi_create_reference(env, value, 1, &ref));
    env_ = env;
    ref_ = ref;
  }

  // The value, or nullptr when none is held or it cannot be read now.
  napi_value Get() const {
    napi_value value = nullptr;
    if (ref_ == nullptr || napi_get_reference_value(env_, ref_, &value) != napi_ok) return nullptr;
    return value;
  }

  void Reset() {
    if (ref_ != nullptr) napi_delete_reference(env_, ref_);  // a failure: the environment is going away with it
    ref_ = nullptr;
  }

 private:
  napi_env env_ = nullptr;
  napi_ref ref_ = nullptr;
};

// ObjectWrap::Unref() without the exception: drops the strong reference a pending wait took with Ref().
template <typename T>
inline void QuietUnref(napi_env env, Napi::ObjectWrap<T> &wrap) {
  uint32_t count = 0;
  napi_reference_unref(env, static_cast<napi_ref>(wrap), &count);
}

}  // namespace ns_addon

#endif
