// NativeRegion: a shared memory region (memfd or POSIX shm) mapped MAP_SHARED and exposed to JavaScript as an
// external ArrayBuffer. src/region/shared-region.ts is the public facade; this file does the system calls.
//
// Ownership. One heap `Mapping` holds the address, size and file descriptor. Two owners share it: the NativeRegion
// object (until it is garbage collected) and the ArrayBuffer's finalizer. The memory is unmapped and the fd closed
// exactly once, by whichever comes first of close() and the ArrayBuffer finalizer — or, when a native thread has
// pinned the memory (PinRegionMemory(), region_pin.h), when the last pin is released after that. close() detaches the ArrayBuffer
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

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <mutex>
#include <string>
#include <vector>

#include "js_error.h"
#include "region_pin.h"
#include "native_sidecar/region.h"

namespace ns_addon {
namespace {

// One mapping. `owners`, `closed` and `pins` are guarded by g_mappings_mutex: owners change on the JS thread, but
// pins may be released from any thread (a native thread that used the memory).
struct Mapping {
  void *base = nullptr;
  size_t size = 0;
  int fd = -1;
  bool closed = false;    // close() or the buffer finalizer asked for the unmap
  bool unmapped = false;  // munmap + close done
  int owners = 2;         // the NativeRegion and the ArrayBuffer finalizer
  int pins = 0;           // native users that keep the memory mapped past close()
};

std::mutex g_mappings_mutex;
std::vector<Mapping *> g_mappings;  // every mapping not yet unmapped, for PinRegionMemory()

// With g_mappings_mutex held: unmaps once nobody needs the memory, frees once nobody refers to the struct.
void Settle(Mapping *m) {
  if (m->closed && m->pins == 0 && !m->unmapped) {
    m->unmapped = true;
    munmap(m->base, m->size);
    close(m->fd);
    g_mappings.erase(std::remove(g_mappings.begin(), g_mappings.end(), m), g_mappings.end());
  }
  if (m->owners == 0 && m->pins == 0) delete m;
}

Mapping *NewMapping(void *base, size_t size, int fd) {
  Mapping *m = new Mapping();
  m->base = base;
  m->size = size;
  m->fd = fd;
  std::lock_guard<std::mutex> lock(g_mappings_mutex);
  g_mappings.push_back(m);
  return m;
}

// Asks for the unmap (deferred while pinned). JS thread.
void CloseMapping(Mapping *m) {
  std::lock_guard<std::mutex> lock(g_mappings_mutex);
  m->closed = true;
  Settle(m);
}

// Called once by each owner. JS thread.
void DropMapping(Mapping *m, int owners_dropped = 1) {
  std::lock_guard<std::mutex> lock(g_mappings_mutex);
  m->owners -= owners_dropped;
  if (m->owners == 0) m->closed = true;
  Settle(m);
}

// External ArrayBuffer finalizer: runs on the JS thread when the buffer is collected, or after a detach once V8
// frees the backing store, or at environment teardown. Unmaps if close() never did.
void FinalizeBuffer(Napi::Env, void *, Mapping *mapping) {
  std::lock_guard<std::mutex> lock(g_mappings_mutex);
  mapping->closed = true;
  mapping->owners -= 1;
  Settle(mapping);
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
  // new NativeRegion('open-named', name, trustPeer)  shm_open O_RDWR, checked (ns_region_check_fd), header validated
  // new NativeRegion('open-fd', fd, trustPeer)        dup(fd) (the caller keeps its fd), checked, header validated
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
      OpenNamed(env, TrustFlags(info, 2));
    } else if (how == "open-fd") {
      OpenFd(env, static_cast<int>(IntegerArg(info, 1, "fd", 0, INT_MAX)), TrustFlags(info, 2));
    } else {
      throw InvalidArg(env, "how", "one of 'create', 'create-named', 'open-named', 'open-fd'");
    }
  }

  ~NativeRegion() override {
    if (mapping_ != nullptr) DropMapping(mapping_);
  }

 private:
  // The facade passes options.trustPeer as a boolean; anything but `true` means the safe default.
  static unsigned TrustFlags(const Napi::CallbackInfo &info, size_t i) {
    return info.Length() > i && info[i].IsBoolean() && info[i].As<Napi::Boolean>().Value() ? static_cast<unsigned>(NS_REGION_TRUST_PEER) : 0u;
  }

  static uint64_t Size(const Napi::CallbackInfo &info, size_t i) {
    return static_cast<uint64_t>(IntegerArg(info, i, "size", NS_REGION_MIN_SIZE, NS_REGION_MAX_SIZE));
  }

  void CreateAnonymous(Napi::Env env, uint64_t size) {
    // MFD_CLOEXEC: the fd reaches a child only when passed deliberately (spawn stdio maps it without CLOEXEC).
    int fd = memfd_create(NS_REGION_MEMFD_NAME, MFD_CLOEXEC | MFD_ALLOW_SEALING);
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

  void OpenNamed(Napi::Env env, unsigned flags) {
    // The trust check needs no fd, so refuse before opening: a named object can never carry F_SEAL_SHRINK (shm_open
    // creates it with F_SEAL_SEAL), and anyone who can open the name can shrink it under our mapping.
    if (!(flags & NS_REGION_TRUST_PEER)) {
      throw CodedError(env, "ERR_REGION_INVALID",
                       "The region at the shared memory object '" + name_ +
                           "' is refused: a named region cannot be sealed against shrinking, so any process that can "
                           "open the name could make this process die of SIGBUS; pass { trustPeer: true } to open it "
                           "anyway, or share a sealed anonymous region instead.");
    }
    int fd = shm_open(name_.c_str(), O_RDWR | O_CLOEXEC, 0);
    if (fd < 0) throw SystemError(env, "shm_open", errno, "opening the shared memory object '" + name_ + "'");
    MapAndValidate(env, fd, "the shared memory object '" + name_ + "'", flags);
  }

  void OpenFd(Napi::Env env, int fd, unsigned flags) {
    // Our own duplicate: the caller keeps (and may close) the fd it passed; close() closes only ours.
    int own = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (own < 0) throw SystemError(env, "fcntl", errno, "duplicating file descriptor " + std::to_string(fd));
    MapAndValidate(env, own, "file descriptor " + std::to_string(fd), flags);
  }

  // Checks what the fd is (ns_region_check_fd: regular, read-write, sealed unless trusted), maps it and validates
  // its header before anything else touches it (wire-format §1). Closes fd on every failure.
  void MapAndValidate(Napi::Env env, int fd, const std::string &what, unsigned flags) {
    uint64_t file_size = 0;
    int check = ns_region_check_fd(fd, flags, &file_size);
    if (check == NS_REGION_ESYSTEM) {
      int err = errno;
      close(fd);
      throw SystemError(env, "fstat", err, "inspecting " + what);
    }
    if (check != NS_REGION_OK) {
      close(fd);
      std::string hint = check == NS_REGION_ENOSEALS || check == NS_REGION_EUNSEALED
                             ? "; pass { trustPeer: true } only if its creator can be trusted never to shrink it"
                             : "";
      throw CodedError(env, "ERR_REGION_INVALID",
                       "The region at " + what + " is refused: it " + ns_region_strerror(check) + hint + ".");
    }
    if (file_size < NS_REGION_MIN_SIZE || file_size > NS_REGION_MAX_SIZE) {
      close(fd);
      throw CodedError(env, "ERR_REGION_INVALID",
                       "The region at " + what + " is invalid: its size, " + std::to_string(file_size) +
                           " bytes, is outside " + std::to_string(NS_REGION_MIN_SIZE) + " to " +
                           std::to_string(NS_REGION_MAX_SIZE) + ".");
    }
    size_t size = static_cast<size_t>(file_size);
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
    Mapping *mapping = NewMapping(base, size, fd);
    Napi::ArrayBuffer buffer;
    try {
      buffer = Napi::ArrayBuffer::New(env, base, size, FinalizeBuffer, mapping);
    } catch (...) {
      DropMapping(mapping, 2);  // no finalizer was registered and this object never owned it: unmap now
      throw;
    }
    mapping_ = mapping;
    buffer_ = Napi::Persistent(buffer);
  }

  Napi::Value GetBuffer(const Napi::CallbackInfo &info) {
    if (Closed()) return info.Env().Undefined();
    return buffer_.Value();
  }
  Napi::Value GetFd(const Napi::CallbackInfo &info) {
    return Napi::Number::New(info.Env(), Closed() ? -1 : mapping_->fd);  // fd stays valid until the mapping settles
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
      closed_ = true;
      Napi::ArrayBuffer buffer = buffer_.Value();
      if (!buffer.IsDetached()) buffer.Detach();
      buffer_.Reset();
      CloseMapping(mapping_);
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

  bool Closed() const { return mapping_ == nullptr || closed_; }

  Mapping *mapping_ = nullptr;
  bool closed_ = false;  // close() was called (the mapping may outlive it while pinned)
  Napi::Reference<Napi::ArrayBuffer> buffer_;
  std::string name_;
  ns_region_header snapshot_ = {};
};

}  // namespace

RegionPin *PinRegionMemory(const void *data, size_t length) {
  const uint8_t *begin = static_cast<const uint8_t *>(data);
  std::lock_guard<std::mutex> lock(g_mappings_mutex);
  for (Mapping *m : g_mappings) {
    const uint8_t *base = static_cast<const uint8_t *>(m->base);
    if (!m->closed && begin >= base && length <= m->size && static_cast<size_t>(begin - base) <= m->size - length) {
      m->pins++;
      return reinterpret_cast<RegionPin *>(m);
    }
  }
  return nullptr;
}

void UnpinRegionMemory(RegionPin *pin) {
  if (pin == nullptr) return;
  Mapping *m = reinterpret_cast<Mapping *>(pin);
  std::lock_guard<std::mutex> lock(g_mappings_mutex);
  m->pins--;
  Settle(m);
}

void InitRegion(Napi::Env env, Napi::Object exports) { exports.Set("NativeRegion", NativeRegion::Define(env)); }

}  // namespace ns_addon
