// Module entry of the native_sidecar addon. Each component registers its exports from its own file.
#include <napi.h>

#include "native_sidecar/layout.h"

namespace ns_addon {
void InitRegion(Napi::Env env, Napi::Object exports);
void InitFutex(Napi::Env env, Napi::Object exports);
void InitRingPeerThread(Napi::Env env, Napi::Object exports);
void InitEventfd(Napi::Env env, Napi::Object exports);  // eventfd.cc
void InitFdPassing(Napi::Env env, Napi::Object exports);  // fd_passing.cc
void InitAffinity(Napi::Env env, Napi::Object exports);  // affinity.cc
void InitUringFutex(Napi::Env env, Napi::Object exports);  // uring_futex.cc
}  // namespace ns_addon
void InitShowcase(Napi::Env env, Napi::Object exports);  // showcase.cc
void RegisterSidecarThread(Napi::Env env, Napi::Object exports);  // sidecar_thread.cc

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("wireFormatVersion", Napi::Number::New(env, NS_RING_VERSION));
  ns_addon::InitRegion(env, exports);
  ns_addon::InitFutex(env, exports);
  ns_addon::InitRingPeerThread(env, exports);
  ns_addon::InitEventfd(env, exports);
  ns_addon::InitFdPassing(env, exports);
  ns_addon::InitAffinity(env, exports);
  ns_addon::InitUringFutex(env, exports);
  InitShowcase(env, exports);
  RegisterSidecarThread(env, exports);
  return exports;
}

NODE_API_MODULE(native_sidecar, Init)
