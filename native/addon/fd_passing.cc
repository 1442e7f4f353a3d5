// Region handover over a Unix domain socket (docs/wire-format.md §1.2): the server side (NativeRegionServer, one
// native thread per server) and the client side (receiveRegionFd, an AsyncWorker on the libuv pool). Node has no
// SCM_RIGHTS API, so the sockets live here; the messages and credential checks are region.h's (ns_region_send_fd,
// ns_region_recv_fd, ns_peer_cred, ns_peer_uid_allowed), shared with C peers. src/region/handover.ts is the facade.
//
// Never blocking the event loop: the server's accept/send loop runs on its own thread and reports each peer through a
// thread-safe function; the client's connect/recv runs on a pool thread, bounded by one timeout for both (SO_SNDTIMEO
// for connect, poll with what is left of it for the reply). Every descriptor is close-on-exec and is closed on every
// error path.
#include <napi.h>

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <ctime>
#include <climits>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "js_error.h"
#include "native_sidecar/region.h"

namespace ns_addon {
namespace {

std::vector<uid_t> UidList(Napi::Env env, const Napi::Value &value, const char *name) {
  std::vector<uid_t> uids;
  if (value.IsUndefined()) return uids;
  if (!value.IsArray()) throw InvalidArg(env, name, "an array of uids (integers from 0 to 4294967294) or undefined");
  Napi::Array array = value.As<Napi::Array>();
  for (uint32_t i = 0; i < array.Length(); i++) {
    Napi::Value v = array.Get(i);
    double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : -1;
    if (!(d >= 0 && d <= 4294967294.0) || d != static_cast<double>(static_cast<uint64_t>(d))) {
      throw InvalidArg(env, name, "an array of uids (integers from 0 to 4294967294)");
    }
    uids.push_back(static_cast<uid_t>(d));
  }
  if (array.Length() == 0) throw InvalidArg(env, name, "a non-empty array of uids (omit it to allow only our own)");
  return uids;
}

bool SocketAddress(const std::string &path, sockaddr_un *addr) {
  std::memset(addr, 0, sizeof *addr);
  addr->sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof addr->sun_path || path.find('\0') != std::string::npos) return false;
  std::memcpy(addr->sun_path, path.c_str(), path.size());
  return true;
}

std::string CheckPath(Napi::Env env, const Napi::Value &value) {
  sockaddr_un addr;
  std::string path = value.IsString() ? value.As<Napi::String>().Utf8Value() : "";
  if (!value.IsString() || !SocketAddress(path, &addr)) {
    throw InvalidArg(env, "path", "a socket path of 1 to " + std::to_string(sizeof addr.sun_path - 1) +
                                      " bytes without NUL");
  }
  return path;
}

// A socket file nobody listens on any more (its server was killed): connect() says ECONNREFUSED.
bool IsStaleSocket(const sockaddr_un &addr) {
  struct stat st;
  if (lstat(addr.sun_path, &st) != 0 || !S_ISSOCK(st.st_mode)) return false;
  int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (probe < 0) return false;
  bool stale = connect(probe, reinterpret_cast<const sockaddr *>(&addr), sizeof addr) != 0 && errno == ECONNREFUSED;
  close(probe);
  return stale;
}

struct PeerEvent {
  uid_t uid;
  pid_t pid;
  bool sent;
  std::string reason;  // why not sent (empty when sent)
};

class NativeRegionServer : public Napi::ObjectWrap<NativeRegionServer> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "NativeRegionServer", {InstanceMethod<&NativeRegionServer::Close>("close")});
  }

  // new NativeRegionServer(path, regionFd, allowUids | undefined, onPeer(uid, pid, sent, reason))
  explicit NativeRegionServer(const Napi::CallbackInfo &info) : Napi::ObjectWrap<NativeRegionServer>(info) {
    Napi::Env env = info.Env();
    path_ = CheckPath(env, info[0]);
    int region_fd = static_cast<int>(IntegerArg(info, 1, "regionFd", 0, INT_MAX));
    allowed_ = UidList(env, info[2], "options.allowUids");
    if (!info[3].IsFunction()) throw InvalidArg(env, "onPeer", "a function");
    sockaddr_un addr;
    SocketAddress(path_, &addr);

    region_fd_ = fcntl(region_fd, F_DUPFD_CLOEXEC, 0);  // ours: the region may close before the server does
    if (region_fd_ < 0) throw SystemError(env, "fcntl", errno, "duplicating the region's file descriptor");
    listen_fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (listen_fd_ < 0) Fail(env, "socket", errno, "creating the handover socket");
    int rc = bind(listen_fd_, reinterpret_cast<const sockaddr *>(&addr), sizeof addr);
    if (rc != 0 && errno == EADDRINUSE && IsStaleSocket(addr)) {
      // Left behind by a server that was killed (kill -9 cannot unlink): nobody listens, so reuse the path.
      unlink(addr.sun_path);
      rc = bind(listen_fd_, reinterpret_cast<const sockaddr *>(&addr), sizeof addr);
    }
    if (rc != 0) Fail(env, "bind", errno, "binding the handover socket '" + path_ + "'");
    bound_ = true;
    struct stat st;
    if (stat(addr.sun_path, &st) == 0) bound_ino_ = st.st_ino;
    if (listen(listen_fd_, 16) != 0) Fail(env, "listen", errno, "listening on '" + path_ + "'");
    stop_fd_ = eventfd(0, EFD_CLOEXEC);
    if (stop_fd_ < 0) Fail(env, "eventfd", errno, "creating the handover server's stop signal");
    tsfn_ = Napi::ThreadSafeFunction::New(env, info[3].As<Napi::Function>(), "native-sidecar region server", 0, 1);
    thread_ = std::thread([this] { Serve(); });
    running_ = true;
  }

  ~NativeRegionServer() override { Stop(); }

 private:
  // Constructor failure: release what exists, then throw.
  [[noreturn]] void Fail(Napi::Env env, const char *syscall, int err, const std::string &what) {
    Stop();
    throw SystemError(env, syscall, err, what);
  }

  void Serve() {
    for (;;) {
      pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
      if (poll(fds, 2, -1) < 0) {
        if (errno == EINTR) continue;
        Report({0, 0, false, std::string("poll() failed: ") + std::strerror(errno)});
        return;
      }
      if (fds[1].revents != 0) return;
      int conn = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (conn < 0) {
        if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED) continue;
        Report({0, 0, false, std::string("accept4() failed: ") + std::strerror(errno)});
        usleep(10000);  // EMFILE and friends: do not spin while the condition lasts
        continue;
      }
      Handle(conn);
      close(conn);
    }
  }

  void Handle(int conn) {
    PeerEvent event{0, 0, false, ""};
    if (ns_peer_cred(conn, &event.uid, &event.pid) != NS_REGION_OK) {
      event.reason = std::string("getsockopt(SO_PEERCRED) failed: ") + std::strerror(errno);
    } else if (!ns_peer_uid_allowed(event.uid, allowed_.data(), allowed_.size())) {
      event.reason = "uid " + std::to_string(event.uid) + " is not allowed";
    } else {
      timeval timeout{1, 0};  // a client that does not read cannot hold the server thread for long
      setsockopt(conn, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
      if (ns_region_send_fd(conn, region_fd_) == NS_REGION_OK) event.sent = true;
      else event.reason = std::string("sendmsg() failed: ") + std::strerror(errno);
    }
    Report(event);
  }

  void Report(const PeerEvent &event) {
    PeerEvent *copy = new PeerEvent(event);
    napi_status status = tsfn_.NonBlockingCall(copy, [](Napi::Env env, Napi::Function fn, PeerEvent *e) {
      if (env != nullptr && fn != nullptr) {
        fn.Call({Napi::Number::New(env, e->uid), Napi::Number::New(env, e->pid), Napi::Boolean::New(env, e->sent),
                 Napi::String::New(env, e->reason)});
      }
      delete e;
    });
    if (status != napi_ok) delete copy;  // environment teardown: nobody to tell
  }

  Napi::Value Close(const Napi::CallbackInfo &info) {
    Stop();
    return info.Env().Undefined();
  }

  // Stops the thread, closes every fd, removes the socket file if it is still the one we bound. Idempotent.
  void Stop() {
    if (running_) {
      uint64_t one = 1;
      ssize_t ignored = write(stop_fd_, &one, sizeof one);
      (void)ignored;
      thread_.join();
      tsfn_.Release();
      running_ = false;
    }
    if (bound_) {
      struct stat st;
      if (stat(path_.c_str(), &st) == 0 && st.st_ino == bound_ino_) unlink(path_.c_str());
      bound_ = false;
    }
    for (int *fd : {&listen_fd_, &stop_fd_, &region_fd_}) {
      if (*fd >= 0) close(*fd);
      *fd = -1;
    }
  }

  std::string path_;
  std::vector<uid_t> allowed_;
  int region_fd_ = -1;
  int listen_fd_ = -1;
  int stop_fd_ = -1;
  bool bound_ = false;
  ino_t bound_ino_ = 0;
  bool running_ = false;
  Napi::ThreadSafeFunction tsfn_;
  std::thread thread_;
};

// receiveRegionFd(path, allowUids | undefined, timeoutMs) → Promise<fd>: connects, checks the server's uid, waits
// for the handover message and resolves with the received descriptor (close-on-exec, owned by the caller).
class ReceiveWorker : public Napi::AsyncWorker {
 public:
  ReceiveWorker(Napi::Env env, std::string path, std::vector<uid_t> allowed, int timeout_ms)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), path_(std::move(path)),
        allowed_(std::move(allowed)), timeout_ms_(timeout_ms) {}

  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override {
    sockaddr_un addr;
    SocketAddress(path_, &addr);
    int sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (sock < 0) return SetSystem("socket", errno);
    // One deadline for the whole call: connect() and the wait for the message share timeoutMs.
    const int64_t deadline = ns_monotonic_ms() + timeout_ms_;
    timeval timeout{timeout_ms_ / 1000, (timeout_ms_ % 1000) * 1000};
    setsockopt(sock, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);  // bounds connect() on a full backlog
    if (connect(sock, reinterpret_cast<const sockaddr *>(&addr), sizeof addr) != 0) {
      int err = errno;
      close(sock);
      // A Unix stream connect() whose listener's backlog stays full for SO_SNDTIMEO fails with EAGAIN (not
      // EINPROGRESS as for TCP): the server did not take us in time, which is a timeout, not a system failure.
      if (err == EAGAIN || err == EINPROGRESS) return SetTimeout("did not accept the connection", " (its listen backlog stayed full)");
      return SetSystem("connect", err);
    }
    uid_t uid = 0;
    pid_t pid = 0;
    if (ns_peer_cred(sock, &uid, &pid) != NS_REGION_OK) {
      int err = errno;
      close(sock);
      return SetSystem("getsockopt", err);
    }
    if (!ns_peer_uid_allowed(uid, allowed_.data(), allowed_.size())) {
      close(sock);  // before reading anything: a descriptor from an untrusted server never reaches us
      code_ = "ERR_PEER_REFUSED";
      message_ = "The server at '" + path_ + "' runs as uid " + std::to_string(uid) + " (pid " + std::to_string(pid) +
                 "), which is not allowed; no region was received.";
      return;
    }
    pollfd p{sock, POLLIN, 0};
    int ready;
    do {
      const int64_t left = deadline - ns_monotonic_ms();
      ready = left > 0 ? poll(&p, 1, static_cast<int>(left)) : 0;
    } while (ready < 0 && errno == EINTR);
    if (ready <= 0) {
      int err = ready == 0 ? ETIMEDOUT : errno;
      close(sock);
      if (err == ETIMEDOUT) return SetTimeout("sent no region", "");
      return SetSystem("poll", err);
    }
    int fd = -1;
    int rc = ns_region_recv_fd(sock, &fd);
    int err = errno;
    close(sock);
    if (rc == NS_REGION_ENOFD) {
      code_ = "ERR_PEER_REFUSED";
      message_ = "The server at '" + path_ + "' sent no region: it closed the connection (it may not allow uid " +
                 std::to_string(geteuid()) + ") or answered without a descriptor.";
      return;
    }
    if (rc == NS_REGION_EFDCOUNT) {
      // ns_region_recv_fd() closed every descriptor of the message: none of them reaches JavaScript.
      code_ = "ERR_PEER_REFUSED";
      message_ = "The server at '" + path_ + "' sent more than one descriptor in its message; all were closed and no region was received.";
      return;
    }
    if (rc != NS_REGION_OK) return SetSystem("recvmsg", err);
    fd_ = fd;
  }

  void OnOK() override {
    Napi::Env env = Env();
    if (code_ == "ERR_SYSTEM") {
      deferred_.Reject(SystemError(env, syscall_, errno_, "receiving a region from '" + path_ + "'").Value());
    } else if (!code_.empty()) {
      deferred_.Reject(CodedError(env, code_.c_str(), message_).Value());
    } else {
      deferred_.Resolve(Napi::Number::New(env, fd_));
    }
  }

 private:
  void SetTimeout(const char *what, const char *why) {
    code_ = "ERR_TIMEOUT";
    message_ = "The server at '" + path_ + "' " + what + " within " + std::to_string(timeout_ms_) + " ms" + why + ".";
  }

  static int64_t ns_monotonic_ms() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
  }

  void SetSystem(const char *syscall, int err) {
    code_ = "ERR_SYSTEM";
    syscall_ = syscall;
    errno_ = err;
  }

  Napi::Promise::Deferred deferred_;
  std::string path_;
  std::vector<uid_t> allowed_;
  int timeout_ms_;
  int fd_ = -1;
  std::string code_;
  std::string message_;
  const char *syscall_ = "";
  int errno_ = 0;
};

Napi::Value ReceiveRegionFd(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  std::string path = CheckPath(env, info[0]);
  std::vector<uid_t> allowed = UidList(env, info[1], "options.allowUids");
  int timeout_ms = static_cast<int>(IntegerArg(info, 2, "options.timeoutMs", 1, INT_MAX / 1000));
  ReceiveWorker *worker = new ReceiveWorker(env, std::move(path), std::move(allowed), timeout_ms);
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

}  // namespace

void InitFdPassing(Napi::Env env, Napi::Object exports) {
  exports.Set("NativeRegionServer", NativeRegionServer::Define(env));
  exports.Set("receiveRegionFd", Napi::Function::New(env, ReceiveRegionFd, "receiveRegionFd"));
}

}  // namespace ns_addon
