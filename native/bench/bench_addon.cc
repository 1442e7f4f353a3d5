// ns_bench_addon — a test-only Node-API addon (built only with ns_tests=true, never shipped) for the `alternatives`
// suite (bench/baselines/alt-native-calls.ts): what an addon author would write instead of a sidecar to hand a buffer
// to C. Every entry point does the same work — copy `src` into `dst` (memcpy of min(src, dst) bytes) — so the suite
// compares only the crossing:
//   copySync(src, dst) -> bytes        synchronous N-API call on the JS thread;
//   copyAsync(src, dst) -> Promise     napi_async_work (Napi::AsyncWorker): the copy runs on a libuv pool thread, the
//                                      completion runs on the JS thread and resolves the promise with the byte count;
//   ns_bench_copy(src, dst, n) -> n    a plain exported C function, for koffi (the same .node file is dlopen'ed).
// Threads: copySync and copyAsync are called on the JS thread that loaded the addon; copyAsync's copy runs on a pool
// thread while both buffers are kept alive by references released on the JS thread when the work completes.
// Faults: an argument that is not a Uint8Array (or other ArrayBufferView) throws a TypeError naming it; nothing
// else can fail (copyAsync's promise rejects only if the work cannot be queued, which Node reports as a throw).
#include <napi.h>

#include <cstdint>
#include <cstring>

extern "C" __attribute__((visibility("default"))) uint64_t ns_bench_copy(const uint8_t *src, uint8_t *dst, uint64_t n) {
  if (src == nullptr || dst == nullptr) return 0;
  std::memcpy(dst, src, static_cast<size_t>(n));
  return n;
}

namespace {

struct View {
  uint8_t *data;
  size_t length;
};

bool GetView(const Napi::CallbackInfo &info, size_t index, const char *name, View *out) {
  Napi::Value v = info[index];
  if (!v.IsTypedArray() && !v.IsDataView() && !v.IsBuffer()) {
    Napi::TypeError::New(info.Env(), std::string("The argument '") + name + "' must be a Uint8Array.").ThrowAsJavaScriptException();
    return false;
  }
  napi_value value = v;
  void *data = nullptr;
  size_t length = 0;
  if (v.IsTypedArray()) {
    Napi::TypedArray ta = v.As<Napi::TypedArray>();
    napi_typedarray_type type;
    napi_value ab;
    size_t offset;
    napi_get_typedarray_info(info.Env(), value, &type, &length, &data, &ab, &offset);
    length = ta.ByteLength();
  } else {
    napi_value ab;
    size_t offset;
    napi_get_dataview_info(info.Env(), value, &length, &data, &ab, &offset);
  }
  out->data = static_cast<uint8_t *>(data);
  out->length = length;
  return true;
}

Napi::Value CopySync(const Napi::CallbackInfo &info) {
  View src, dst;
  if (!GetView(info, 0, "src", &src) || !GetView(info, 1, "dst", &dst)) return info.Env().Undefined();
  size_t n = src.length < dst.length ? src.length : dst.length;
  ns_bench_copy(src.data, dst.data, n);
  return Napi::Number::New(info.Env(), static_cast<double>(n));
}

class CopyWorker : public Napi::AsyncWorker {
 public:
  CopyWorker(Napi::Env env, Napi::Object src, Napi::Object dst, View s, View d)
      : Napi::AsyncWorker(env, "ns_bench_copy"), deferred_(Napi::Promise::Deferred::New(env)), src_(s), dst_(d) {
    srcRef_ = Napi::Persistent(src);
    dstRef_ = Napi::Persistent(dst);
  }
  Napi::Promise Promise() const { return deferred_.Promise(); }

  // libuv pool thread: touches only the two views, kept alive by the references.
  void Execute() override {
    n_ = src_.length < dst_.length ? src_.length : dst_.length;
    ns_bench_copy(src_.data, dst_.data, n_);
  }
  // JS thread.
  void OnOK() override { deferred_.Resolve(Napi::Number::New(Env(), static_cast<double>(n_))); }
  void OnError(const Napi::Error &e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  Napi::ObjectReference srcRef_, dstRef_;
  View src_, dst_;
  size_t n_ = 0;
};

Napi::Value CopyAsync(const Napi::CallbackInfo &info) {
  View src, dst;
  if (!GetView(info, 0, "src", &src) || !GetView(info, 1, "dst", &dst)) return info.Env().Undefined();
  auto *w = new CopyWorker(info.Env(), info[0].As<Napi::Object>(), info[1].As<Napi::Object>(), src, dst);
  Napi::Promise p = w->Promise();
  w->Queue();  // AsyncWorker deletes itself after OnOK/OnError
  return p;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("copySync", Napi::Function::New(env, CopySync, "copySync"));
  exports.Set("copyAsync", Napi::Function::New(env, CopyAsync, "copyAsync"));
  return exports;
}

}  // namespace

NODE_API_MODULE(ns_bench_addon, Init)
