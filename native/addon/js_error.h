// The one place where the addon builds JavaScript errors. Native code returns codes; at the JS boundary these helpers
// turn them into Error objects with a `code` property (one of src/errors.ts ErrorCode) and, for failed system calls,
// `errno` and `syscall` properties. src/errors.ts fromNative() re-wraps them as typed NativeSidecarError subclasses.
#ifndef NATIVE_SIDECAR_ADDON_JS_ERROR_H
#define NATIVE_SIDECAR_ADDON_JS_ERROR_H

#include <napi.h>

#include <cstring>
#include <string>

namespace ns_addon {

// An Error with `code` set. The message must be a full sentence naming the argument or resource at fault.
inline Napi::Error CodedError(Napi::Env env, const char *code, const std::string &message) {
  Napi::Error error = Napi::Error::New(env, message);
  error.Value().Set("code", Napi::String::New(env, code));
  return error;
}

// ERR_SYSTEM for a failed system call: `what` says what was being done ("creating the region"), errno is read by
// the caller right after the failing call and passed in (later calls may overwrite it).
inline Napi::Error SystemError(Napi::Env env, const char *syscall, int err, const std::string &what) {
  std::string message = std::string("The system call ") + syscall + "() failed while " + what + ": " +
                        std::strerror(err) + " (errno " + std::to_string(err) + ").";
  Napi::Error error = CodedError(env, "ERR_SYSTEM", message);
  error.Value().Set("errno", Napi::Number::New(env, err));
  error.Value().Set("syscall", Napi::String::New(env, syscall));
  return error;
}

// ERR_INVALID_ARG: "The argument 'name' must be <expectation>."
inline Napi::Error InvalidArg(Napi::Env env, const char *name, const std::string &expectation) {
  return CodedError(env, "ERR_INVALID_ARG", std::string("The argument '") + name + "' must be " + expectation + ".");
}

// A short description of argument `i` for messages ("number 1.5", "the string \"x\"", "undefined").
inline std::string Describe(const Napi::CallbackInfo &info, size_t i) {
  if (i >= info.Length() || info[i].IsUndefined()) return "undefined";
  Napi::Value v = info[i];
  if (v.IsNull()) return "null";
  if (v.IsNumber()) return "number " + v.ToString().Utf8Value();
  if (v.IsString()) {
    std::string s = v.As<Napi::String>().Utf8Value();
    if (s.size() > 40) s = s.substr(0, 40) + "...";
    return "the string \"" + s + "\"";
  }
  if (v.IsBoolean()) return "boolean " + v.ToString().Utf8Value();
  if (v.IsFunction()) return "a function";
  if (v.IsArray()) return "an array";
  return "an object";
}

// Formats a number the way JavaScript prints it (for messages).
inline std::string JsNumber(Napi::Env env, double v) { return Napi::Number::New(env, v).ToString().Utf8Value(); }

// Reads argument `i` as an integer in [min, max]; throws ERR_INVALID_ARG naming it otherwise.
// (C++ exceptions are on in this addon: node-addon-api turns a thrown Napi::Error into a JS exception.)
inline double IntegerArg(const Napi::CallbackInfo &info, size_t i, const char *name, double min, double max) {
  Napi::Env env = info.Env();
  std::string expectation = "an integer from " + JsNumber(env, min) + " to " + JsNumber(env, max);
  if (i >= info.Length() || !info[i].IsNumber()) throw InvalidArg(env, name, expectation + "; received " + Describe(info, i));
  double v = info[i].As<Napi::Number>().DoubleValue();
  if (!(v >= min && v <= max) || v != static_cast<double>(static_cast<long long>(v))) {
    throw InvalidArg(env, name, expectation + "; received " + Describe(info, i));
  }
  return v;
}

}  // namespace ns_addon

#endif
