// UringFutexWaiter: the JavaScript thread waits on futex words of shared memory (wire-format §5.1) through io_uring's
// IORING_OP_FUTEX_WAIT (Linux 6.7+), and the Node event loop polls the io_uring's fd. A plain FUTEX_WAKE from any
// thread or process completes the wait and makes the fd readable, so the event loop itself is the sleeper that wakes:
// one sleeping wake-up per direction, where FutexWaiter (futex.cc) needs two (its thread, then the event loop) and
// EventfdParker needs a peer that writes its eventfd. The protocol is unchanged: this is just another FUTEX_WAIT on
// the same shared word.
//
//   uringFutexSupport(): string
//     '' when io_uring futex waits work in this process (probed once per process: io_uring_setup may be refused by
//     seccomp or kernel.io_uring_disabled, the opcode may be missing), else a sentence saying why not.
//   new UringFutexWaiter()
//     sets up an io_uring and polls its fd on this thread's event loop (unreferenced while idle). ERR_SYSTEM when
//     that fails (use uringFutexSupport() first).
//   wait(view, index, expected, timeoutMs, callback): number
//     arms a wait and returns its token (>= 0), or -1 when all kMaxWaits slots are busy (the caller waits some other
//     way). callback(result) runs once, later, on this JS thread: 'ok' | 'not-equal' | 'timed-out' | 'cancelled'.
//   cancel(token)  the wait of `token` ends with 'cancelled' soon, unless it already ended; stale tokens are ignored.
//   close()        cancels every wait (their callbacks still run), then releases the ring once the kernel is done.
//   pending        how many waits have not reported yet.
//
// Memory lifetime: a wait on a word of a SharedRegion pins the mapping (region_pin.h) until the CQE of the futex wait
// arrived — the kernel has then left the word for good — so a region closed meanwhile is unmapped only then.
//
// Raw system calls, no liburing (not available to the build). The SQ and CQ rings are shared with the kernel; the
// comments at each access name the kernel side the memory order pairs with.
#include <errno.h>
#include <linux/io_uring.h>
#include <napi.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <uv.h>

#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#include "js_error.h"
#include "quiet_ref.h"
#include "region_pin.h"

namespace ns_addon {
namespace {

// Kernel ABI the system header (older than 6.7) lacks. include/uapi/linux/io_uring.h: IORING_OP_FUTEX_WAIT = 51;
// io_uring/futex.c io_futex_prep(): sqe->addr = futex address, sqe->addr2 = expected value, sqe->addr3 = bitset mask,
// sqe->fd = FUTEX2_* flags, sqe->futex_flags (the rw_flags union member) must be 0. include/uapi/linux/futex.h:
// FUTEX2_SIZE_U32 = 0x02; FUTEX2_PRIVATE would be 128 — not set: ring words are shared between processes.
constexpr uint8_t kOpFutexWait = 51;
constexpr uint64_t kFutex2SizeU32 = 0x02;
constexpr uint64_t kFutexBitsetMatchAny = 0xffffffffu;

// Slots bound the waits in flight so the CQ can never overflow: each wait posts at most three CQEs (the futex wait,
// its linked timeout, one cancel), and a slot is reused only once all of them were reaped: 3 × 64 ≤ kCqEntries.
constexpr unsigned kMaxWaits = 64;
constexpr unsigned kSqEntries = 64;   // at most 3 SQEs are ever unsubmitted at once
constexpr unsigned kCqEntries = 256;
constexpr uint32_t kGenerationMask = (1u << 24) - 1;  // tokens stay below 2^30: exact as JavaScript numbers

enum Kind : uint64_t { kWaitOp = 1, kTimeoutOp = 2, kCancelOp = 3 };
uint64_t UserData(unsigned slot, Kind kind) { return (static_cast<uint64_t>(kind) << 32) | slot; }

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

int SysSetup(unsigned entries, struct io_uring_params *p) {
  return static_cast<int>(syscall(__NR_io_uring_setup, entries, p));
}
int SysEnter(int fd, unsigned to_submit, unsigned min_complete, unsigned flags) {
  return static_cast<int>(syscall(__NR_io_uring_enter, fd, to_submit, min_complete, flags, nullptr, 0));
}
int SysRegister(int fd, unsigned op, void *arg, unsigned nr) {
  return static_cast<int>(syscall(__NR_io_uring_register, fd, op, arg, nr));
}

// One io_uring with its rings mapped. Owns the fd and the mappings; no JavaScript state. Any one thread at a time.
class Uring {
 public:
  ~Uring() { Release(); }

  // Returns '' or why it failed (errno in the sentence).
  std::string Setup() {
    struct io_uring_params p;
    memset(&p, 0, sizeof p);
    p.flags = IORING_SETUP_CQSIZE | IORING_SETUP_CLAMP;
    p.cq_entries = kCqEntries;
    fd_ = SysSetup(kSqEntries, &p);
    if (fd_ < 0) return Why("io_uring_setup was refused", errno);
    // Single mmap (5.4+): SQ ring and CQ ring share one mapping; older kernels lack FUTEX_WAIT anyway.
    if (!(p.features & IORING_FEAT_SINGLE_MMAP)) return "this kernel's io_uring lacks IORING_FEAT_SINGLE_MMAP.";
    size_t sq_len = p.sq_off.array + p.sq_entries * sizeof(uint32_t);
    size_t cq_len = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
    ring_len_ = sq_len > cq_len ? sq_len : cq_len;
    void *ring = mmap(nullptr, ring_len_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd_, IORING_OFF_SQ_RING);
    if (ring == MAP_FAILED) return Why("mapping the io_uring rings failed", errno);
    ring_ = static_cast<char *>(ring);
    sqes_len_ = p.sq_entries * sizeof(struct io_uring_sqe);
    void *sqes = mmap(nullptr, sqes_len_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd_, IORING_OFF_SQES);
    if (sqes == MAP_FAILED) return Why("mapping the io_uring submission entries failed", errno);
    sqes_ = static_cast<struct io_uring_sqe *>(sqes);
    sq_head_ = reinterpret_cast<std::atomic<uint32_t> *>(ring_ + p.sq_off.head);
    sq_tail_ = reinterpret_cast<std::atomic<uint32_t> *>(ring_ + p.sq_off.tail);
    sq_flags_ = reinterpret_cast<std::atomic<uint32_t> *>(ring_ + p.sq_off.flags);
    sq_mask_ = *reinterpret_cast<uint32_t *>(ring_ + p.sq_off.ring_mask);
    sq_entries_ = p.sq_entries;
    sq_array_ = reinterpret_cast<uint32_t *>(ring_ + p.sq_off.array);
    cq_head_ = reinterpret_cast<std::atomic<uint32_t> *>(ring_ + p.cq_off.head);
    cq_tail_ = reinterpret_cast<std::atomic<uint32_t> *>(ring_ + p.cq_off.tail);
    cq_mask_ = *reinterpret_cast<uint32_t *>(ring_ + p.cq_off.ring_mask);
    cqes_ = reinterpret_cast<struct io_uring_cqe *>(ring_ + p.cq_off.cqes);
    if (p.cq_entries < 3 * kMaxWaits) return "the io_uring completion queue is smaller than asked for.";
    // The only tail writer is this thread, so our own copy is the truth; the kernel reads it.
    sq_local_tail_ = sq_tail_->load(std::memory_order_relaxed);
    return "";
  }

  // Whether the kernel knows IORING_OP_FUTEX_WAIT and accepts our flags: a wait on a word that does not hold the
  // expected value must complete at once with -EAGAIN. Blocks for at most that one completion.
  std::string Probe() {
    std::vector<char> buf(sizeof(struct io_uring_probe) + 256 * sizeof(struct io_uring_probe_op), 0);
    struct io_uring_probe *probe = reinterpret_cast<struct io_uring_probe *>(buf.data());
    if (SysRegister(fd_, IORING_REGISTER_PROBE, probe, 256) < 0) return Why("IORING_REGISTER_PROBE failed", errno);
    if (probe->last_op < kOpFutexWait || !(probe->ops[kOpFutexWait].flags & IO_URING_OP_SUPPORTED)) {
      return "this kernel's io_uring does not support IORING_OP_FUTEX_WAIT (Linux 6.7+).";
    }
    alignas(4) uint32_t word = 1;
    struct io_uring_sqe *sqe = NextSqe();
    PrepFutexWait(sqe, &word, 0, UserData(0, kWaitOp));
    if (Submit() < 0) return Why("submitting a probe futex wait failed", errno);
    for (;;) {
      struct io_uring_cqe cqe;
      if (PopCqe(&cqe)) {
        if (cqe.res == -EAGAIN) return "";
        return Why("a probe futex wait did not report a changed word", -cqe.res);
      }
      if (SysEnter(fd_, 0, 1, IORING_ENTER_GETEVENTS) < 0 && errno != EINTR) {
        return Why("waiting for the probe futex wait failed", errno);
      }
    }
  }

  int fd() const { return fd_; }

  // How many SQEs may be taken now.
  uint32_t SqSpace() const {
    // Acquire pairs with the kernel's smp_store_release of sq.head once it consumed entries (io_commit_sqring): the
    // entries it freed are no longer read by it before we overwrite them.
    return sq_entries_ - (sq_local_tail_ - sq_head_->load(std::memory_order_acquire));
  }

  // The next free SQE, cleared; nullptr when the SQ is full (cannot happen with the bounds above, checked anyway).
  struct io_uring_sqe *NextSqe() {
    if (SqSpace() == 0) return nullptr;
    uint32_t index = sq_local_tail_ & sq_mask_;
    struct io_uring_sqe *sqe = &sqes_[index];
    memset(sqe, 0, sizeof *sqe);
    sq_array_[index] = index;
    sq_local_tail_++;
    return sqe;
  }

  static void PrepFutexWait(struct io_uring_sqe *sqe, const void *word, uint32_t expected, uint64_t user_data) {
    sqe->opcode = kOpFutexWait;
    sqe->fd = static_cast<int32_t>(kFutex2SizeU32);  // shared futex: no FUTEX2_PRIVATE
    sqe->addr = reinterpret_cast<uintptr_t>(word);
    sqe->off = expected;  // addr2
    sqe->addr3 = kFutexBitsetMatchAny;
    sqe->rw_flags = 0;  // futex_flags
    sqe->user_data = user_data;
  }

  // Publishes the SQEs taken since the last call and enters the kernel to submit every unsubmitted one. Returns the
  // count submitted, or -1 (errno). Entries the kernel did not take stay queued and are submitted by a later call.
  int Submit() {
    // Release pairs with the kernel's smp_load_acquire of sq.tail (io_sqring_entries): it sees the SQEs (and array
    // slots) we wrote before it sees the new tail.
    sq_tail_->store(sq_local_tail_, std::memory_order_release);
    uint32_t unsubmitted = sq_local_tail_ - sq_head_->load(std::memory_order_acquire);
    if (unsubmitted == 0) return 0;
    for (;;) {
      int rc = SysEnter(fd_, unsubmitted, 0, CqOverflowed() ? IORING_ENTER_GETEVENTS : 0);
      if (rc >= 0 || errno != EINTR) return rc;
    }
  }

  // Takes one CQE if there is one. The caller's thread is the only CQ consumer.
  bool PopCqe(struct io_uring_cqe *out) {
    uint32_t head = cq_head_->load(std::memory_order_relaxed);  // only we write it
    // Acquire pairs with the kernel's smp_store_release of cq.tail after it wrote the CQEs (io_commit_cqring): the
    // entries up to the tail are complete when we read them.
    uint32_t tail = cq_tail_->load(std::memory_order_acquire);
    if (head == tail) return false;
    *out = cqes_[head & cq_mask_];
    // Release orders our read of the entry before the head store, pairing with the kernel's control dependency on
    // cq.head (io_get_cqe checks for space before it writes an entry): it never overwrites one we are still reading.
    cq_head_->store(head + 1, std::memory_order_release);
    return true;
  }

  // The kernel kept CQEs aside because the CQ was full (cannot happen within our bounds); an enter with GETEVENTS
  // flushes them into the CQ.
  bool CqOverflowed() const { return (sq_flags_->load(std::memory_order_acquire) & IORING_SQ_CQ_OVERFLOW) != 0; }
  void FlushOverflow() {
    if (CqOverflowed()) SysEnter(fd_, 0, 0, IORING_ENTER_GETEVENTS);
  }

  void Release() {
    if (sqes_ != nullptr) munmap(sqes_, sqes_len_);
    if (ring_ != nullptr) munmap(ring_, ring_len_);
    if (fd_ >= 0) close(fd_);  // the kernel cancels whatever is still in flight
    sqes_ = nullptr;
    ring_ = nullptr;
    fd_ = -1;
  }

 private:
  static std::string Why(const char *what, int err) {
    return std::string(what) + " (errno " + std::to_string(err) + ": " + strerror(err) + ").";
  }

  int fd_ = -1;
  char *ring_ = nullptr;
  size_t ring_len_ = 0;
  struct io_uring_sqe *sqes_ = nullptr;
  size_t sqes_len_ = 0;
  std::atomic<uint32_t> *sq_head_ = nullptr, *sq_tail_ = nullptr, *sq_flags_ = nullptr;
  uint32_t *sq_array_ = nullptr;
  uint32_t sq_mask_ = 0, sq_entries_ = 0, sq_local_tail_ = 0;
  std::atomic<uint32_t> *cq_head_ = nullptr, *cq_tail_ = nullptr;
  uint32_t cq_mask_ = 0;
  struct io_uring_cqe *cqes_ = nullptr;
};

// Probed once per process: the answer depends on the kernel and the process's seccomp filter, both fixed.
std::string ProbeOnce() {
  static std::once_flag once;
  static std::string answer;
  std::call_once(once, [] {
    Uring ring;
    answer = ring.Setup();
    if (answer.empty()) answer = ring.Probe();
  });
  return answer;
}

Napi::Value UringFutexSupport(const Napi::CallbackInfo &info) { return Napi::String::New(info.Env(), ProbeOnce()); }

class UringFutexWaiter;

// Native side of one slot: what the kernel may still report about it.
struct Slot {
  uint32_t generation = 0;       // counts the slot's uses: a token names one use, so a stale cancel() is ignored
  bool in_use = false;
  bool wait_done = false;        // the futex wait's CQE arrived: the kernel left the word
  bool cancel_sent = false;
  bool has_timeout = false;
  unsigned outstanding = 0;      // CQEs still to come
  WaitResult result = WaitResult::kOk;
  RegionPin *pin = nullptr;      // released when wait_done
  struct __kernel_timespec timeout = {};
};

// Lives as long as the uv handle: created with it, deleted in its close callback (libuv owns it from uv_close on).
struct PollState {
  uv_poll_t poll;
  Uring ring;
  Slot slots[kMaxWaits];
  UringFutexWaiter *owner = nullptr;  // null once the owner closed it or went away
  napi_async_cleanup_hook_handle hook = nullptr;
  bool closing = false;   // close() was called: release once no slot is in use
  bool released = false;  // uv_close called
};

class UringFutexWaiter : public Napi::ObjectWrap<UringFutexWaiter> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "UringFutexWaiter",
                       {
                           InstanceMethod<&UringFutexWaiter::Wait>("wait"),
                           InstanceMethod<&UringFutexWaiter::Cancel>("cancel"),
                           InstanceMethod<&UringFutexWaiter::Close>("close"),
                           InstanceAccessor<&UringFutexWaiter::GetPending>("pending"),
                           InstanceAccessor<&UringFutexWaiter::GetFd>("fd"),
                       });
  }

  explicit UringFutexWaiter(const Napi::CallbackInfo &info)
      : Napi::ObjectWrap<UringFutexWaiter>(info), context_(info.Env(), "native-sidecar UringFutexWaiter") {
    Napi::Env env = info.Env();
    uv_loop_t *loop = nullptr;
    if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) {
      throw CodedError(env, "ERR_SYSTEM", "The Node.js event loop of this thread is not available.");
    }
    PollState *state = new PollState();
    std::string why = state->ring.Setup();
    if (why.empty()) why = state->ring.Probe();
    if (!why.empty()) {
      delete state;
      throw CodedError(env, "ERR_SYSTEM", "io_uring futex waits are not available: " + why);
    }
    state->poll.data = state;
    int rc = uv_poll_init(loop, &state->poll, state->ring.fd());
    if (rc != 0) {
      delete state;
      throw CodedError(env, "ERR_SYSTEM", std::string("Polling the io_uring on the event loop failed: ") + uv_strerror(rc) + ".");
    }
    rc = uv_poll_start(&state->poll, UV_READABLE, &UringFutexWaiter::OnPoll);
    if (rc != 0) {
      CloseState(state);
      throw CodedError(env, "ERR_SYSTEM", std::string("Polling the io_uring on the event loop failed: ") + uv_strerror(rc) + ".");
    }
    uv_unref(reinterpret_cast<uv_handle_t *>(&state->poll));  // idle: does not keep the process alive
    state->owner = this;
    if (napi_add_async_cleanup_hook(env, &UringFutexWaiter::AsyncCleanup, state, &state->hook) != napi_ok) {
      state->hook = nullptr;
    }
    state_ = state;
    env_ = env;
  }

  ~UringFutexWaiter() override {
    // Garbage-collected: no wait is pending (each holds a strong reference), so nothing is pinned.
    if (state_ != nullptr) {
      state_->owner = nullptr;
      if (state_->hook != nullptr) napi_remove_async_cleanup_hook(state_->hook);
      state_->hook = nullptr;
      CloseState(state_);
      state_ = nullptr;
    }
  }

 private:
  struct JsSlot {
    QuietRef callback;
    QuietRef view;
  };

  Napi::Value Wait(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    if (state_ == nullptr || state_->closing) {
      throw CodedError(env, "ERR_INVALID_STATE", "The UringFutexWaiter was closed; create a new one to wait.");
    }
    std::atomic<uint32_t> *word = WordArgument(info);
    uint32_t expected = static_cast<uint32_t>(static_cast<int64_t>(IntegerArg(info, 2, "expected", -2147483648.0, 4294967295.0)));
    if (info.Length() <= 3 || !info[3].IsNumber() || std::isnan(info[3].As<Napi::Number>().DoubleValue())) {
      throw InvalidArg(env, "timeoutMs", "a number (negative or Infinity to wait without a timeout); received " +
                                             Describe(info, 3));
    }
    double timeout_ms = info[3].As<Napi::Number>().DoubleValue();
    if (info.Length() <= 4 || !info[4].IsFunction()) {
      throw InvalidArg(env, "callback", "a function; received " + Describe(info, 4));
    }
    unsigned index = kMaxWaits;
    for (unsigned i = 0; i < kMaxWaits; i++) {
      if (!state_->slots[i].in_use) {
        index = i;
        break;
      }
    }
    if (index == kMaxWaits) return Napi::Number::New(env, -1);
    // Room for the wait and its timeout, checked before anything is taken (entries left by a failed enter count).
    if (state_->ring.SqSpace() < 2) state_->ring.Submit();
    if (state_->ring.SqSpace() < 2) {
      throw CodedError(env, "ERR_SYSTEM", "The io_uring submission queue is full: the kernel is not taking entries.");
    }
    Slot &slot = state_->slots[index];
    uint32_t generation = (slot.generation + 1) & kGenerationMask;
    slot = Slot();
    slot.generation = generation;
    slot.in_use = true;
    slot.outstanding = 1;
    if (timeout_ms >= 0 && timeout_ms < 1e12) {  // beyond ~30 years: forever
      int64_t ns = static_cast<int64_t>(timeout_ms * 1e6);
      slot.has_timeout = true;
      slot.timeout.tv_sec = ns / 1000000000;
      slot.timeout.tv_nsec = ns % 1000000000;
      slot.outstanding = 2;
    }
    struct io_uring_sqe *sqe = state_->ring.NextSqe();  // not null: room was checked above
    struct io_uring_sqe *tsqe = slot.has_timeout ? state_->ring.NextSqe() : nullptr;
    Uring::PrepFutexWait(sqe, word, expected, UserData(index, kWaitOp));
    if (tsqe != nullptr) {
      sqe->flags |= IOSQE_IO_LINK;  // the timeout applies to the wait before it
      tsqe->opcode = IORING_OP_LINK_TIMEOUT;
      tsqe->fd = -1;
      tsqe->addr = reinterpret_cast<uintptr_t>(&slot.timeout);  // copied by the kernel at prep; kept anyway
      tsqe->len = 1;
      tsqe->user_data = UserData(index, kTimeoutOp);
    }
    js_[index].callback.Set(env, info[4]);
    js_[index].view.Set(env, info[0]);
    slot.pin = PinRegionMemory(word, sizeof(uint32_t));
    if (pending_++ == 0) {
      uv_ref(reinterpret_cast<uv_handle_t *>(&state_->poll));
      Ref();  // a pending wait keeps this object alive
    }
    // A failed enter leaves the entries queued: the next Submit() takes them, and the slot reports when they end.
    state_->ring.Submit();
    return Napi::Number::New(env, static_cast<double>(generation) * kMaxWaits + index);
  }

  Napi::Value Cancel(const Napi::CallbackInfo &info) {
    if (state_ != nullptr && info.Length() > 0 && info[0].IsNumber()) {
      double token = info[0].As<Napi::Number>().DoubleValue();
      // A token names one use of a slot: the wait it started may have ended and the slot been reused since (a
      // callback run before this wait's own may start a wait in it), and that later wait must not be cancelled.
      if (token >= 0 && token < static_cast<double>(kGenerationMask + 1) * kMaxWaits && token == std::floor(token)) {
        unsigned index = static_cast<unsigned>(std::fmod(token, kMaxWaits));
        uint32_t generation = static_cast<uint32_t>(std::floor(token / kMaxWaits));
        if (state_->slots[index].generation == generation) {
          SendCancel(state_, index);
          state_->ring.Submit();
        }
      }
    }
    return info.Env().Undefined();
  }

  // Queues a cancel of the wait in slot `index`, if it is still in the kernel. Returns false only if the SQ stayed
  // full (the kernel refuses entries): the wait then ends on a wake or its timeout only.
  static bool SendCancel(PollState *state, unsigned index) {
    Slot &slot = state->slots[index];
    if (!slot.in_use || slot.wait_done || slot.cancel_sent) return true;
    if (state->ring.SqSpace() == 0) state->ring.Submit();  // close() cancels up to kMaxWaits = kSqEntries at once
    struct io_uring_sqe *sqe = state->ring.NextSqe();
    if (sqe == nullptr) return false;
    sqe->opcode = IORING_OP_ASYNC_CANCEL;
    sqe->fd = -1;
    sqe->addr = UserData(index, kWaitOp);
    sqe->user_data = UserData(index, kCancelOp);
    slot.cancel_sent = true;
    slot.outstanding++;
    return true;
  }

  Napi::Value Close(const Napi::CallbackInfo &info) {
    if (state_ != nullptr && !state_->closing) {
      state_->closing = true;
      for (unsigned i = 0; i < kMaxWaits; i++) SendCancel(state_, i);
      state_->ring.Submit();
      MaybeRelease();
    }
    return info.Env().Undefined();
  }

  Napi::Value GetPending(const Napi::CallbackInfo &info) { return Napi::Number::New(info.Env(), pending_); }
  Napi::Value GetFd(const Napi::CallbackInfo &info) {
    return Napi::Number::New(info.Env(), state_ != nullptr ? state_->ring.fd() : -1);
  }

  std::atomic<uint32_t> *WordArgument(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) {
      throw InvalidArg(env, "view", "an Int32Array; received " + Describe(info, 0));
    }
    Napi::Int32Array view = info[0].As<Napi::Int32Array>();
    size_t length = view.ElementLength();
    if (length == 0) throw InvalidArg(env, "view", "an Int32Array with at least one element (is its buffer detached?)");
    size_t index = static_cast<size_t>(IntegerArg(info, 1, "index", 0, static_cast<double>(length - 1)));
    int32_t *word = view.Data() + index;
    if (reinterpret_cast<uintptr_t>(word) % 4 != 0) throw InvalidArg(env, "view", "4-byte aligned in memory");
    return reinterpret_cast<std::atomic<uint32_t> *>(word);
  }

  // Closed and idle: hand the handle to libuv (the fd and the mappings go with the state in OnClosed).
  void MaybeRelease() {
    if (state_ == nullptr || !state_->closing || pending_ != 0) return;
    PollState *state = state_;
    state_ = nullptr;
    state->owner = nullptr;
    if (state->hook != nullptr) napi_remove_async_cleanup_hook(state->hook);
    state->hook = nullptr;
    CloseState(state);
  }

  // Applies one CQE to its slot. Returns the slot index when the wait's result is now known (to report), else -1.
  static int Apply(PollState *state, const struct io_uring_cqe &cqe) {
    unsigned index = static_cast<unsigned>(cqe.user_data & 0xffffffffu);
    Kind kind = static_cast<Kind>(cqe.user_data >> 32);
    if (index >= kMaxWaits || kind < kWaitOp || kind > kCancelOp || !state->slots[index].in_use) return -1;
    Slot &slot = state->slots[index];
    if (slot.outstanding > 0) slot.outstanding--;
    if (kind != kWaitOp) return -1;
    slot.wait_done = true;
    if (cqe.res == 0) slot.result = WaitResult::kOk;
    else if (cqe.res == -EAGAIN) slot.result = WaitResult::kNotEqual;
    // -ECANCELED: by our cancel, or by the linked timeout when we sent none.
    else if (cqe.res == -ECANCELED) slot.result = slot.cancel_sent || !slot.has_timeout ? WaitResult::kCancelled : WaitResult::kTimedOut;
    else slot.result = WaitResult::kOk;  // -EFAULT and the like: a spurious wake-up; callers re-check
    // The kernel is done with the word: a region closed meanwhile may be unmapped now (by this call).
    UnpinRegionMemory(slot.pin);
    slot.pin = nullptr;
    return static_cast<int>(index);
  }

  // Event loop thread: the io_uring fd is readable (CQEs are waiting) or polling failed.
  static void OnPoll(uv_poll_t *handle, int status, int) {
    PollState *state = static_cast<PollState *>(handle->data);
    if (status < 0) return;  // the ring fd cannot fail polling; a spurious error is retried on the next readiness
    state->ring.FlushOverflow();
    std::vector<unsigned> done;
    struct io_uring_cqe cqe;
    while (state->ring.PopCqe(&cqe)) {
      int index = Apply(state, cqe);
      if (index >= 0) done.push_back(static_cast<unsigned>(index));
    }
    // Slots whose wait ended but whose other CQEs have not arrived yet are reported now and freed later.
    UringFutexWaiter *owner = state->owner;
    for (unsigned i = 0; i < kMaxWaits; i++) {
      Slot &slot = state->slots[i];
      if (slot.in_use && slot.wait_done && slot.outstanding == 0) slot.in_use = false;
    }
    if (owner != nullptr && !done.empty()) owner->Report(done);
  }

  // JS thread: runs the callbacks of the waits in `done`, in CQE order. Raw N-API calls, whose failures are ignored:
  // while a worker is being terminated JavaScript cannot run, and node-addon-api would turn the failed call into a
  // C++ exception (or a fatal error while building one) that aborts the process.
  void Report(const std::vector<unsigned> &done) {
    napi_env env = env_;
    napi_handle_scope scope;
    if (napi_open_handle_scope(env, &scope) != napi_ok) scope = nullptr;
    std::vector<std::pair<napi_value, WaitResult>> calls;
    for (unsigned index : done) {
      napi_value fn = js_[index].callback.Get();
      calls.emplace_back(fn, state_ != nullptr ? state_->slots[index].result : WaitResult::kCancelled);
      js_[index].callback.Reset();
      js_[index].view.Reset();
    }
    // Bookkeeping before any JavaScript runs: a callback may start or cancel waits, or close.
    pending_ -= static_cast<unsigned>(calls.size());
    bool idle = pending_ == 0;
    if (idle && state_ != nullptr) uv_unref(reinterpret_cast<uv_handle_t *>(&state_->poll));
    MaybeRelease();
    napi_value self = nullptr;
    napi_ref self_ref = *this;
    if (napi_get_reference_value(env, self_ref, &self) != napi_ok) self = nullptr;
    for (auto &call : calls) {
      napi_value arg;
      if (call.first == nullptr || self == nullptr ||
          napi_create_string_utf8(env, ResultName(call.second), NAPI_AUTO_LENGTH, &arg) != napi_ok) {
        continue;
      }
      // make_callback: runs the microtask queue afterwards, so promises resolved by the callback settle now.
      napi_value ignored;
      if (napi_make_callback(env, context_, self, call.first, 1, &arg, &ignored) == napi_pending_exception) {
        napi_value error;
        // Reported like any exception thrown by an event-loop callback.
        if (napi_get_and_clear_last_exception(env, &error) == napi_ok) napi_fatal_exception(env, error);
      }
    }
    if (scope != nullptr) napi_close_handle_scope(env, scope);
    if (idle) QuietUnref(env, *this);  // last: `this` may be collected after it
  }

  static void CloseState(PollState *state) {
    if (state->released) return;
    state->released = true;
    state->owner = nullptr;
    uv_poll_stop(&state->poll);
    uv_close(reinterpret_cast<uv_handle_t *>(&state->poll), &UringFutexWaiter::OnClosed);
  }

  static void OnClosed(uv_handle_t *handle) {
    PollState *state = static_cast<PollState *>(handle->data);
    if (state->hook != nullptr) napi_remove_async_cleanup_hook(state->hook);
    delete state;  // ~Uring unmaps the rings and closes the fd
  }

  // Environment teardown (worker exit, process exit) with waits perhaps pending: no JavaScript may run. Cancels every
  // wait and reaps until the kernel reported each futex wait, so pinned memory is unpinned only once the kernel left
  // it; then closes the handle. The cancels complete at once (io_futex_cancel), their task work runs in our enter.
  static void AsyncCleanup(napi_async_cleanup_hook_handle, void *arg) {
    PollState *state = static_cast<PollState *>(arg);
    if (state->owner != nullptr) state->owner->state_ = nullptr;  // the wrapper may outlive this
    state->owner = nullptr;
    bool all_sent = true;
    for (unsigned i = 0; i < kMaxWaits; i++) all_sent = SendCancel(state, i) && all_sent;
    // A cancel that could not be queued leaves its wait in the kernel: its pin is then never released (the region
    // stays mapped until the process ends) rather than waiting here for a wake that may never come.
    if (state->ring.Submit() < 0) all_sent = false;
    while (all_sent) {
      bool waiting = false;
      for (unsigned i = 0; i < kMaxWaits; i++) waiting = waiting || (state->slots[i].in_use && !state->slots[i].wait_done);
      if (!waiting) break;
      struct io_uring_cqe cqe;
      bool any = false;
      while (state->ring.PopCqe(&cqe)) {
        Apply(state, cqe);
        any = true;
      }
      if (!any && SysEnter(state->ring.fd(), 0, 1, IORING_ENTER_GETEVENTS) < 0 && errno != EINTR) break;
    }
    CloseState(state);
  }

  Napi::AsyncContext context_;
  Napi::Env env_ = Napi::Env(nullptr);
  PollState *state_ = nullptr;
  unsigned pending_ = 0;
  JsSlot js_[kMaxWaits];
};

}  // namespace

void InitUringFutex(Napi::Env env, Napi::Object exports) {
  exports.Set("uringFutexSupport", Napi::Function::New(env, UringFutexSupport, "uringFutexSupport"));
  exports.Set("UringFutexWaiter", UringFutexWaiter::Define(env));
}

}  // namespace ns_addon
