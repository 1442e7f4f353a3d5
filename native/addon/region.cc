// NativeRegion: a shared memory region (memfd or POSIX shm) mapped MAP_SHARED and exposed to JavaScript as an
// external ArrayBuffer. src/region/shared-region.ts is the public facade; this file does the system calls.
//
// Ownership. One heap `Mapping` holds the address, size and file descriptor. Two owners share it: the NativeRegion
// object (until it is garbage collected) and the ArrayBuffer's finalizer. The memory is unmapped and the fd closed
// exactly once, by whichever comes first of close() and the ArrayBuffer finalizer. close() detaches the ArrayBuffer
// first, so no JavaScript view can reach unmapped memory afterwards (a detached buffer has byteLength 0). The
// NativeRegion keeps a strong reference to its ArrayBuffer, so the finalizer can only run once the NativeRegion is
// unreachable too (or at environment teardown, when Node runs every external-buffer finalizer).
//
// Threading: every method runs on the JavaScript thread of the environment that created the object. Worker threads
// map the same memory with their own NativeRegion (open by name, or by an fd they were given).
#include <napi.h>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <string>

#include "js_error.h"
#include "native_sidecar/region.h"

namespace ns_addon {
namespace {

struct Mapping {
  void *base = nullptr;
  size_t size = 0;
  int fd = -1;
  bool released = false;  // munmap + close done
  int owners = 2;         // the NativeRegion and the ArrayBuffer finalizer

  void Release() {
    if (released) return;
    released = true;
    if (base != nullptr) munmap(base, size);
    if (fd >= 0) close(fd);
    base = nullptr;
    fd = -1;
  }
  // Called once by each owner; the last one frees the struct.
  void Drop() {
    if (--owners == 0) {
      Release();
      delete this;
    }
  }
};

// External ArrayBuffer finalizer: runs on the JS thread when the buffer is collected or detached-and-released, or at
// environment teardown. Unmaps if close() never did.
void FinalizeBuffer(Napi::Env, void *, Mapping *mapping) {
  mapping->Release();
  mapping->Drop();
}

// Names for shm_open: "/" then 1..254 characters, none of them '/' or NUL, not "." or "..".
void CheckName(Napi::Env env, const Napi::Value &value, std::string *out) {
  const std::string expectation =
      "a string that starts with '/', contains no other '/', and is at most " + std::to_string(NAME_MAX) +
      " characters long";
  if (!value.IsString()) throw InvalidArg(env, "name", expectation);
  std::string name = value.As<Napi::String>().Utf8Value();
  bool ok = name.size() >= 2 && name.size() <= NAME_MAX && name[0] == '/' &&
            name.find('/', 1) == std::string::npos && name.find('\0') == std::string::npos && name != "/." &&
            name != "/..";
  if (!ok) {
    std::string shown = name.size() > 40 ? name.substr(0, 40) + "..." : name;
    throw InvalidArg(env, "name", expectation + "; received the string \"" + shown + "\"");
  }
  *out = name;
}

// A name nobody can guess: "/native-sidecar-" + 32 hex digits of getrandom().
std::string RandomName(Napi::Env env) {
  unsigned char bytes[16];
  size_t got = 0;
  while (got < sizeof bytes) {
    ssize_t n = getrandom(bytes + got, sizeof bytes - got, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw SystemError(env, "getrandom", errno, "generating a random region name");
    }
    got += static_cast<size_t>(n);
  }
  char hex[sizeof bytes * 2 + 1];
  for (size_t i = 0; i < sizeof bytes; i++) std::snprintf(hex + 2 * i, 3, "%02x", bytes[i]);
  return std::string("/native-sidecar-") + hex;
}

class NativeRegion : public Napi::ObjectWrap<NativeRegion> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "NativeRegion",
                       {
                           InstanceAccessor<&NativeRegion::GetBuffer>("buffer"),
                           InstanceAccessor<&NativeRegion::GetFd>("fd"),
                           InstanceAccessor<&NativeRegion::GetSize>("size"),
                           InstanceAccessor<&NativeRegion::GetName>("name"),
                           InstanceAccessor<&NativeRegion::GetSegments>("segments"),
                           InstanceAccessor<&NativeRegion::GetClosed>("closed"),
                           InstanceMethod<&NativeRegion::Close>("close"),
                           StaticMethod<&NativeRegion::Unlink>("unlink"),
                           StaticMethod<&NativeRegion::RandomNameMethod>("randomName"),
                       });
  }

  // new NativeRegion('create', size)          anonymous memfd, header written
  // new NativeRegion('create-named', size, name)  shm_open O_CREAT|O_EXCL, mode 0600, header written
  // new NativeRegion('open-named', name)      shm_open O_RDWR, header validated
  // new NativeRegion('open-fd', fd)           dup(fd) (the caller keeps its fd), header validated
  explicit NativeRegion(const Napi::CallbackInfo &info) : Napi::ObjectWrap<NativeRegion>(info) {
    Napi::Env env = info.Env();
    std::string how = info.Length() > 0 && info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "";
    if (how == "create") {
      CreateAnonymous(env, Size(info, 1));
    } else if (how == "create-named") {
      uint64_t size = Size(info, 1);
      CheckName(env, info[2], &name_);
      CreateNamed(env, size);
    } else if (how == "open-named") {
      CheckName(env, info[1], &name_);
      OpenNamed(env);
    } else if (how == "open-fd") {
      OpenFd(env, static_cast<int>(IntegerArg(info, 1, "fd", 0, INT_MAX)));
    } else {
      throw InvalidArg(env, "how", "one of 'create', 'create-named', 'open-named', 'open-fd'");
    }
  }

  ~NativeRegion() override {
    if (mapping_ != nullptr) mapping_->Drop();
  }

 private:
  static uint64_t Size(const Napi::CallbackInfo &info, size_t i) {
    return static_cast<uint64_t>(IntegerArg(info, i, "size", NS_REGION_MIN_SIZE, NS_REGION_MAX_SIZE));
  }

  void CreateAnonymous(Napi::Env env, uint64_t size) {
    // MFD_CLOEXEC: the fd reaches a child only when passed deliberately (spawn stdio maps it without CLOEXEC).
    int fd = memfd_create("native-sidecar", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0) throw SystemError(env, "memfd_create", errno, "creating an anonymous region");
    if (ftruncate(fd, static_cast<off_t>(size)) != 0) {
      int err = errno;
      close(fd);
      throw SystemError(env, "ftruncate", err, "sizing an anonymous region");
    }
    // Seal the size: a peer that receives the fd cannot shrink the file under our mapping (which would turn our
    // accesses into SIGBUS) nor grow it; F_SEAL_SEAL stops anyone adding F_SEAL_WRITE later.
    if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0) {
      int err = errno;
      close(fd);
      throw SystemError(env, "fcntl", err, "sealing the size of an anonymous region");
    }
    MapAndInit(env, fd, size, false);
  }

  void CreateNamed(Napi::Env env, uint64_t size) {
    int fd = shm_open(name_.c_str(), O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0) throw SystemError(env, "shm_open", errno, "creating the shared memory object '" + name_ + "'");
    if (ftruncate(fd, static_cast<off_t>(size)) != 0) {
      int err = errno;
      close(fd);
      shm_unlink(name_.c_str());  // we created it: leave nothing behind
      throw SystemError(env, "ftruncate", err, "sizing the shared memory object '" + name_ + "'");
    }
    MapAndInit(env, fd, size, true);
  }

  // Maps a freshly sized file and writes the header; on failure closes fd (and unlinks a name we created).
  void MapAndInit(Napi::Env env, int fd, uint64_t size, bool unlink_on_failure) {
    void *base = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (base == MAP_FAILED) {
      int err = errno;
      close(fd);
      if (unlink_on_failure) shm_unlink(name_.c_str());
      throw SystemError(env, "mmap", err, "mapping a new region");
    }
    // The creator writes the header before the region is shared (wire-format §1); the handover orders it.
    ns_region_init(base, size, static_cast<uint32_t>(getpid()));
    Adopt(env, fd, base, size);
  }

  void OpenNamed(Napi::Env env) {
    int fd = shm_open(name_.c_str(), O_RDWR | O_CLOEXEC, 0);
    if (fd < 0) throw SystemError(env, "shm_open", errno, "opening the shared memory object '" + name_ + "'");
    MapAndValidate(env, fd, "the shared memory object '" + name_ + "'");
  }

  void OpenFd(Napi::Env env, int fd) {
    // Our own duplicate: the caller keeps (and may close) the fd it passed; close() closes only ours.
    int own = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (own < 0) throw SystemError(env, "fcntl", errno, "duplicating file descriptor " + std::to_string(fd));
    MapAndValidate(env, own, "file descriptor " + std::to_string(fd));
  }

  // Maps an existing region and validates its header before anything else touches it (wire-format §1).
  void MapAndValidate(Napi::Env env, int fd, const std::string &what) {
    struct stat st;
    if (fstat(fd, &st) != 0) {
      int err = errno;
      close(fd);
      throw SystemError(env, "fstat", err, "inspecting " + what);
    }
    if (!S_ISREG(st.st_mode)) {
      close(fd);
      throw CodedError(env, "ERR_REGION_INVALID", "The region at " + what +
                                                      " is invalid: it is not a shared memory file (memfd or shm).");
    }
    if (st.st_size < static_cast<off_t>(NS_REGION_MIN_SIZE) || st.st_size > static_cast<off_t>(NS_REGION_MAX_SIZE)) {
      close(fd);
      throw CodedError(env, "ERR_REGION_INVALID",
                       "The region at " + what + " is invalid: its size, " + std::to_string(st.st_size) +
                           " bytes, is outside " + std::to_string(NS_REGION_MIN_SIZE) + " to " +
                           std::to_string(NS_REGION_MAX_SIZE) + ".");
    }
    size_t size = static_cast<size_t>(st.st_size);
    void *base = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (base == MAP_FAILED) {
      int err = errno;
      close(fd);
      throw SystemError(env, "mmap", err, "mapping " + what);
    }
    int bad_segment = -1;
    int rc = ns_region_validate(base, size, &snapshot_, &bad_segment);
    if (rc != NS_REGION_OK) {
      munmap(base, size);
      close(fd);
      std::string message = "The region at " + what + " is invalid: its header " + ns_region_strerror(rc);
      if (bad_segment >= 0) message += " (segment " + std::to_string(bad_segment) + ")";
      throw CodedError(env, "ERR_REGION_INVALID", message + ".");
    }
    Adopt(env, fd, base, size);
  }

  // Wraps the mapping in an external ArrayBuffer. From here on the Mapping owns fd and memory.
  void Adopt(Napi::Env env, int fd, void *base, size_t size) {
    mapping_ = new Mapping();
    mapping_->base = base;
    mapping_->size = size;
    mapping_->fd = fd;
    Napi::ArrayBuffer buffer;
    try {
      buffer = Napi::ArrayBuffer::New(env, base, size, FinalizeBuffer, mapping_);
    } catch (...) {
      // The finalizer never got registered: this object is the only owner left.
      mapping_->owners = 1;
      throw;
    }
    buffer_ = Napi::Persistent(buffer);
  }

  Napi::Value GetBuffer(const Napi::CallbackInfo &info) {
    if (Closed()) return info.Env().Undefined();
    return buffer_.Value();
  }
  Napi::Value GetFd(const Napi::CallbackInfo &info) {
    return Napi::Number::New(info.Env(), Closed() ? -1 : mapping_->fd);
  }
  Napi::Value GetSize(const Napi::CallbackInfo &info) {
    return Napi::Number::New(info.Env(), mapping_ == nullptr ? 0 : static_cast<double>(mapping_->size));
  }
  Napi::Value GetName(const Napi::CallbackInfo &info) {
    if (name_.empty()) return info.Env().Undefined();
    return Napi::String::New(info.Env(), name_);
  }
  Napi::Value GetClosed(const Napi::CallbackInfo &info) { return Napi::Boolean::New(info.Env(), Closed()); }

  // The segment table as validated when the region was opened (a snapshot; empty for a region this process created).
  Napi::Value GetSegments(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    Napi::Array result = Napi::Array::New(env, snapshot_.segment_count);
    for (uint32_t i = 0; i < snapshot_.segment_count; i++) {
      Napi::Object entry = Napi::Object::New(env);
      entry.Set("kind", Napi::Number::New(env, snapshot_.segments[i].kind));
      entry.Set("offset", Napi::Number::New(env, snapshot_.segments[i].offset));
      entry.Set("size", Napi::Number::New(env, snapshot_.segments[i].size));
      result.Set(i, entry);
    }
    return result;
  }

  // Detaches the ArrayBuffer (every view of it now has length 0), unmaps, closes the fd. Idempotent.
  Napi::Value Close(const Napi::CallbackInfo &info) {
    if (!Closed()) {
      Napi::ArrayBuffer buffer = buffer_.Value();
      if (!buffer.IsDetached()) buffer.Detach();
      buffer_.Reset();
      mapping_->Release();
    }
    return info.Env().Undefined();
  }

  static Napi::Value Unlink(const Napi::CallbackInfo &info) {
    std::string name;
    CheckName(info.Env(), info[0], &name);
    if (shm_unlink(name.c_str()) != 0) {
      throw SystemError(info.Env(), "shm_unlink", errno, "unlinking the shared memory object '" + name + "'");
    }
    return info.Env().Undefined();
  }

  static Napi::Value RandomNameMethod(const Napi::CallbackInfo &info) {
    return Napi::String::New(info.Env(), RandomName(info.Env()));
  }

  bool Closed() const { return mapping_ == nullptr || mapping_->released; }

  Mapping *mapping_ = nullptr;
  Napi::Reference<Napi::ArrayBuffer> buffer_;
  std::string name_;
  ns_region_header snapshot_ = {};
};

}  // namespace

void InitRegion(Napi::Env env, Napi::Object exports) { exports.Set("NativeRegion", NativeRegion::Define(env)); }

}  // namespace ns_addon
