// Raw AF_PACKET sockets for the speaker's Layer 2 responder (ARP / NDP).
//
// Socket work only: open, bind, filter, multicast membership, send and receive. Frames are delivered to
// JavaScript as they are; every encode/decode decision lives in TypeScript (model/src/layer2).
//
// Receiving runs in Node's own event loop: a uv_poll_t watches the non-blocking fd and each wake-up drains
// a bounded batch of frames into a JS callback (MakeCallback with an async context). No extra threads.
//
// JS API (wrapped by speaker/src/layer2/rawsocket.ts):
//   new RawSocket(ifname: string, ethertype: number, netnsPath?: string | null, filter?: number[][] | null)
//   .mac: Buffer(6)   .ifindex: number   .fd: number (-1 once closed)
//   .start(onFrame(frame: Buffer, pktType: number), onError?(err: Error))   .stop()
//   .send(frame: Buffer | Uint8Array): number
//   .attachFilter(insns: [code, jt, jf, k][])   .detachFilter()
//   .addMembership(mac: Buffer(6))   .dropMembership(mac: Buffer(6))
//   .close()   (idempotent; also stops receiving)
#include <napi.h>
#include <uv.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <net/if_arp.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <net/ethernet.h>
#include <sched.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace {

constexpr int kBatch = 64;              // frames drained per wake-up before yielding to the loop
constexpr size_t kFrameBuffer = 65536;  // large enough for any frame on the interface (incl. GRO)
constexpr size_t kMaxFilterInsns = 4096;  // BPF_MAXINSNS

// An Error carrying the errno text, name and number, like Node's own system errors.
Napi::Error ErrnoError(Napi::Env env, const std::string& what, int err) {
  const char* name = strerrorname_np(err);
  std::string message = what + ": " + strerror(err) + " (" + (name != nullptr ? name : "E?") + ")";
  Napi::Error e = Napi::Error::New(env, message);
  e.Set("code", Napi::String::New(env, name != nullptr ? name : "UNKNOWN"));
  e.Set("errno", Napi::Number::New(env, err));
  e.Set("syscall", Napi::String::New(env, what));
  return e;
}

// Closes an fd on scope exit unless released.
class FdGuard {
 public:
  explicit FdGuard(int fd) : fd_(fd) {}
  ~FdGuard() {
    if (fd_ >= 0) close(fd_);
  }
  FdGuard(const FdGuard&) = delete;
  FdGuard& operator=(const FdGuard&) = delete;
  int get() const { return fd_; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_;
};

// Creates the packet socket, in another network namespace when nsPath is non-empty: the calling thread joins
// that namespace only for the socket() call and then returns to its own. The socket stays in the namespace
// it was created in; every later ioctl/bind on it is resolved there.
int OpenPacketSocket(Napi::Env env, const std::string& nsPath) {
  if (nsPath.empty()) {
    int fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) throw ErrnoError(env, "socket(AF_PACKET)", errno);
    return fd;
  }
  FdGuard self(open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
  if (self.get() < 0) throw ErrnoError(env, "open(/proc/thread-self/ns/net)", errno);
  FdGuard target(open(nsPath.c_str(), O_RDONLY | O_CLOEXEC));
  if (target.get() < 0) throw ErrnoError(env, "open(" + nsPath + ")", errno);
  if (setns(target.get(), CLONE_NEWNET) != 0) throw ErrnoError(env, "setns(" + nsPath + ")", errno);
  // Protocol 0: the socket receives nothing until bind() names the ethertype, so a filter can go on first.
  int fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int socketErr = errno;
  if (setns(self.get(), CLONE_NEWNET) != 0) {
    // The main thread would keep running in the wrong namespace: nothing sensible can continue.
    Napi::Error::Fatal("metallb_rawsock", "setns back to the original network namespace failed");
  }
  if (fd < 0) throw ErrnoError(env, "socket(AF_PACKET) in " + nsPath, socketErr);
  return fd;
}

// Reads [[code, jt, jf, k], ...] from JS into a classic BPF program.
std::vector<sock_filter> FilterFromJs(Napi::Env env, const Napi::Value& value) {
  if (!value.IsArray()) throw Napi::TypeError::New(env, "filter must be an array of [code, jt, jf, k]");
  Napi::Array arr = value.As<Napi::Array>();
  uint32_t n = arr.Length();
  if (n == 0 || n > kMaxFilterInsns) throw Napi::RangeError::New(env, "filter must have 1..4096 instructions");
  std::vector<sock_filter> prog(n);
  for (uint32_t i = 0; i < n; i++) {
    Napi::Value insn = arr.Get(i);
    if (!insn.IsArray() || insn.As<Napi::Array>().Length() != 4) {
      throw Napi::TypeError::New(env, "filter instruction " + std::to_string(i) + " must be [code, jt, jf, k]");
    }
    Napi::Array a = insn.As<Napi::Array>();
    double f[4];
    for (uint32_t j = 0; j < 4; j++) {
      Napi::Value x = a.Get(j);
      if (!x.IsNumber()) throw Napi::TypeError::New(env, "filter instruction " + std::to_string(i) + ": not a number");
      f[j] = x.As<Napi::Number>().DoubleValue();
    }
    const double limits[4] = {65535, 255, 255, 4294967295.0};
    for (uint32_t j = 0; j < 4; j++) {
      if (!(f[j] >= 0 && f[j] <= limits[j]) || f[j] != static_cast<double>(static_cast<uint64_t>(f[j]))) {
        throw Napi::RangeError::New(env, "filter instruction " + std::to_string(i) + ": field out of range");
      }
    }
    prog[i].code = static_cast<uint16_t>(f[0]);
    prog[i].jt = static_cast<uint8_t>(f[1]);
    prog[i].jf = static_cast<uint8_t>(f[2]);
    prog[i].k = static_cast<uint32_t>(f[3]);
  }
  return prog;
}

void AttachFilterToFd(Napi::Env env, int fd, std::vector<sock_filter>& prog) {
  sock_fprog fprog{};
  fprog.len = static_cast<unsigned short>(prog.size());
  fprog.filter = prog.data();
  if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &fprog, sizeof fprog) != 0) {
    throw ErrnoError(env, "setsockopt(SO_ATTACH_FILTER)", errno);
  }
}

class RawSocket : public Napi::ObjectWrap<RawSocket> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "RawSocket",
                       {
                           InstanceAccessor<&RawSocket::Mac>("mac"),
                           InstanceAccessor<&RawSocket::Ifindex>("ifindex"),
                           InstanceAccessor<&RawSocket::Fd>("fd"),
                           InstanceMethod<&RawSocket::Start>("start"),
                           InstanceMethod<&RawSocket::Stop>("stop"),
                           InstanceMethod<&RawSocket::Send>("send"),
                           InstanceMethod<&RawSocket::AttachFilter>("attachFilter"),
                           InstanceMethod<&RawSocket::DetachFilter>("detachFilter"),
                           InstanceMethod<&RawSocket::AddMembership>("addMembership"),
                           InstanceMethod<&RawSocket::DropMembership>("dropMembership"),
                           InstanceMethod<&RawSocket::Close>("close"),
                       });
  }

  explicit RawSocket(const Napi::CallbackInfo& info) : Napi::ObjectWrap<RawSocket>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 2 || !info[0].IsString() || !info[1].IsNumber()) {
      throw Napi::TypeError::New(env, "RawSocket(ifname: string, ethertype: number, netnsPath?, filter?)");
    }
    std::string ifname = info[0].As<Napi::String>().Utf8Value();
    if (ifname.empty() || ifname.size() >= IFNAMSIZ) throw Napi::RangeError::New(env, "invalid interface name");
    double ethertype = info[1].As<Napi::Number>().DoubleValue();
    if (!(ethertype >= 1 && ethertype <= 0xffff)) throw Napi::RangeError::New(env, "ethertype must be 1..0xffff");
    std::string nsPath;
    if (info.Length() > 2 && !info[2].IsUndefined() && !info[2].IsNull()) {
      if (!info[2].IsString()) throw Napi::TypeError::New(env, "netnsPath must be a string");
      nsPath = info[2].As<Napi::String>().Utf8Value();
    }
    std::vector<sock_filter> filter;
    if (info.Length() > 3 && !info[3].IsUndefined() && !info[3].IsNull()) filter = FilterFromJs(env, info[3]);

    FdGuard fd(OpenPacketSocket(env, nsPath));

    ifreq ifr{};
    memcpy(ifr.ifr_name, ifname.data(), ifname.size());
    if (ioctl(fd.get(), SIOCGIFINDEX, &ifr) != 0) throw ErrnoError(env, "ioctl(SIOCGIFINDEX, " + ifname + ")", errno);
    ifindex_ = ifr.ifr_ifindex;
    if (ioctl(fd.get(), SIOCGIFHWADDR, &ifr) != 0) throw ErrnoError(env, "ioctl(SIOCGIFHWADDR, " + ifname + ")", errno);
    if (ifr.ifr_hwaddr.sa_family != ARPHRD_ETHER) {
      throw Napi::Error::New(env, ifname + " is not an Ethernet interface (ARPHRD " +
                                      std::to_string(ifr.ifr_hwaddr.sa_family) + ")");
    }
    memcpy(mac_, ifr.ifr_hwaddr.sa_data, sizeof mac_);

    // The filter goes on before bind(): no frame can be queued that the filter would have dropped.
    if (!filter.empty()) AttachFilterToFd(env, fd.get(), filter);

    sockaddr_ll sll{};
    sll.sll_family = AF_PACKET;
    sll.sll_protocol = htons(static_cast<uint16_t>(ethertype));
    sll.sll_ifindex = ifindex_;
    if (bind(fd.get(), reinterpret_cast<sockaddr*>(&sll), sizeof sll) != 0) {
      throw ErrnoError(env, "bind(AF_PACKET, " + ifname + ")", errno);
    }
    fd_ = fd.release();
  }

  ~RawSocket() override { CloseFd(); }

 private:
  Napi::Value Mac(const Napi::CallbackInfo& info) {
    return Napi::Buffer<uint8_t>::Copy(info.Env(), mac_, sizeof mac_);
  }
  Napi::Value Ifindex(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), ifindex_); }
  Napi::Value Fd(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), fd_); }

  void RequireOpen(Napi::Env env) const {
    if (fd_ < 0) throw Napi::Error::New(env, "raw socket is closed");
  }

  // start(onFrame, onError?): begins delivering frames; replaces the callbacks if already started.
  void Start(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    RequireOpen(env);
    if (info.Length() < 1 || !info[0].IsFunction()) throw Napi::TypeError::New(env, "start(onFrame, onError?)");
    onFrame_ = Napi::Persistent(info[0].As<Napi::Function>());
    if (info.Length() > 1 && info[1].IsFunction()) {
      onError_ = Napi::Persistent(info[1].As<Napi::Function>());
    } else {
      onError_.Reset();
    }
    if (!asyncContext_) asyncContext_ = std::make_unique<Napi::AsyncContext>(env, "metallb:RawSocket");
    if (poll_ == nullptr) {
      uv_loop_t* loop = nullptr;
      if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) {
        throw Napi::Error::New(env, "no libuv loop");
      }
      auto* handle = new uv_poll_t;
      int rc = uv_poll_init(loop, handle, fd_);
      if (rc != 0) {
        delete handle;
        throw Napi::Error::New(env, std::string("uv_poll_init: ") + uv_strerror(rc));
      }
      handle->data = this;
      poll_ = handle;
    }
    int rc = uv_poll_start(poll_, UV_READABLE, &RawSocket::OnReadable);
    if (rc != 0) {
      StopPolling();
      throw Napi::Error::New(env, std::string("uv_poll_start: ") + uv_strerror(rc));
    }
    // Polling keeps the object alive even when JS drops its last reference.
    if (!referenced_) {
      Ref();
      referenced_ = true;
    }
  }

  void Stop(const Napi::CallbackInfo& /*info*/) { StopPolling(); }

  Napi::Value Send(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    RequireOpen(env);
    if (info.Length() < 1 || !info[0].IsTypedArray()) throw Napi::TypeError::New(env, "send(frame: Uint8Array)");
    Napi::TypedArray ta = info[0].As<Napi::TypedArray>();
    if (ta.TypedArrayType() != napi_uint8_array) throw Napi::TypeError::New(env, "send(frame: Uint8Array)");
    Napi::Uint8Array frame = ta.As<Napi::Uint8Array>();
    if (frame.ByteLength() < ETH_HLEN) throw Napi::RangeError::New(env, "frame shorter than an Ethernet header");
    ssize_t n;
    do {
      n = send(fd_, frame.Data(), frame.ByteLength(), 0);
    } while (n < 0 && errno == EINTR);
    if (n < 0) throw ErrnoError(env, "send", errno);
    return Napi::Number::New(env, static_cast<double>(n));
  }

  void AttachFilter(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    RequireOpen(env);
    if (info.Length() < 1) throw Napi::TypeError::New(env, "attachFilter(insns)");
    std::vector<sock_filter> prog = FilterFromJs(env, info[0]);
    AttachFilterToFd(env, fd_, prog);
  }

  void DetachFilter(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    RequireOpen(env);
    int dummy = 0;
    if (setsockopt(fd_, SOL_SOCKET, SO_DETACH_FILTER, &dummy, sizeof dummy) != 0 && errno != ENOENT) {
      throw ErrnoError(env, "setsockopt(SO_DETACH_FILTER)", errno);
    }
  }

  void Membership(const Napi::CallbackInfo& info, int op, const char* what) {
    Napi::Env env = info.Env();
    RequireOpen(env);
    if (info.Length() < 1 || !info[0].IsTypedArray() ||
        info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array ||
        info[0].As<Napi::Uint8Array>().ByteLength() != ETH_ALEN) {
      throw Napi::TypeError::New(env, std::string(what) + "(mac: Uint8Array(6))");
    }
    Napi::Uint8Array mac = info[0].As<Napi::Uint8Array>();
    packet_mreq mreq{};
    mreq.mr_ifindex = ifindex_;
    mreq.mr_type = PACKET_MR_MULTICAST;
    mreq.mr_alen = ETH_ALEN;
    memcpy(mreq.mr_address, mac.Data(), ETH_ALEN);
    if (setsockopt(fd_, SOL_PACKET, op, &mreq, sizeof mreq) != 0) {
      throw ErrnoError(env, std::string("setsockopt(") + what + ")", errno);
    }
  }
  void AddMembership(const Napi::CallbackInfo& info) { Membership(info, PACKET_ADD_MEMBERSHIP, "PACKET_ADD_MEMBERSHIP"); }
  void DropMembership(const Napi::CallbackInfo& info) {
    Membership(info, PACKET_DROP_MEMBERSHIP, "PACKET_DROP_MEMBERSHIP");
  }

  void Close(const Napi::CallbackInfo& /*info*/) { CloseFd(); }

  // Stops polling; the uv handle is freed by the loop once it has finished closing it.
  void StopPolling() {
    if (poll_ != nullptr) {
      poll_->data = nullptr;
      uv_close(reinterpret_cast<uv_handle_t*>(poll_), [](uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); });
      poll_ = nullptr;
    }
    onFrame_.Reset();
    onError_.Reset();
    if (referenced_) {
      referenced_ = false;
      Unref();
    }
  }

  // Idempotent. uv_close unregisters the fd from epoll at once, so the fd can be closed right after.
  // Multicast memberships and the filter go away with the socket. The async context stays until the object
  // is collected: close() may run inside a callback that is still using it.
  void CloseFd() {
    StopPolling();
    if (fd_ >= 0) {
      close(fd_);
      fd_ = -1;
    }
  }

  static void OnReadable(uv_poll_t* handle, int status, int /*events*/) {
    auto* self = static_cast<RawSocket*>(handle->data);
    if (self == nullptr) return;
    self->Drain(status);
  }

  // Calls a JS callback from the loop; a throwing callback becomes an uncaught exception in the process.
  void Invoke(Napi::Env env, const Napi::FunctionReference& fn, const std::initializer_list<napi_value>& args) {
    try {
      fn.MakeCallback(Value(), args, *asyncContext_);
    } catch (const Napi::Error& e) {
      napi_fatal_exception(env, e.Value());
    }
  }

  void Drain(int status) {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    if (status < 0) {
      // libuv stops the handle on POLLERR. Read (and clear) the socket error, report it and keep going;
      // without a pending socket error the condition cannot be cleared, so polling stops for good.
      int soErr = 0;
      socklen_t len = sizeof soErr;
      bool cleared = getsockopt(fd_, SOL_SOCKET, SO_ERROR, &soErr, &len) == 0 && soErr != 0;
      Napi::Error err = cleared ? ErrnoError(env, "recv", soErr)
                                : Napi::Error::New(env, std::string("poll: ") + uv_strerror(status));
      if (!cleared) {
        Napi::FunctionReference onError = std::move(onError_);
        StopPolling();
        if (!onError.IsEmpty()) {
          try {
            onError.Call({err.Value()});
          } catch (const Napi::Error& e) {
            napi_fatal_exception(env, e.Value());
          }
        }
        return;
      }
      if (!onError_.IsEmpty()) Invoke(env, onError_, {err.Value()});
      if (poll_ != nullptr) uv_poll_start(poll_, UV_READABLE, &RawSocket::OnReadable);
      return;
    }
    // One receive buffer per thread (per event loop), shared by all sockets: frames are copied out at once.
    thread_local std::vector<uint8_t> buffer(kFrameBuffer);
    for (int i = 0; i < kBatch && poll_ != nullptr && fd_ >= 0; i++) {
      sockaddr_ll from{};
      socklen_t fromLen = sizeof from;
      ssize_t n = recvfrom(fd_, buffer.data(), buffer.size(), 0, reinterpret_cast<sockaddr*>(&from), &fromLen);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return;
        // e.g. ENETDOWN: the error is consumed by this read; report it and wait for the next frame.
        int e = errno;
        if (!onError_.IsEmpty()) Invoke(env, onError_, {ErrnoError(env, "recvfrom", e).Value()});
        return;
      }
      Napi::HandleScope frameScope(env);
      Napi::Buffer<uint8_t> frame = Napi::Buffer<uint8_t>::Copy(env, buffer.data(), static_cast<size_t>(n));
      Invoke(env, onFrame_, {frame, Napi::Number::New(env, from.sll_pkttype)});
    }
  }

  int fd_ = -1;
  int ifindex_ = 0;
  uint8_t mac_[ETH_ALEN] = {};
  uv_poll_t* poll_ = nullptr;
  bool referenced_ = false;
  Napi::FunctionReference onFrame_;
  Napi::FunctionReference onError_;
  std::unique_ptr<Napi::AsyncContext> asyncContext_;
};

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("RawSocket", RawSocket::Define(env));
  exports.Set("PACKET_HOST", Napi::Number::New(env, PACKET_HOST));
  exports.Set("PACKET_BROADCAST", Napi::Number::New(env, PACKET_BROADCAST));
  exports.Set("PACKET_MULTICAST", Napi::Number::New(env, PACKET_MULTICAST));
  exports.Set("PACKET_OTHERHOST", Napi::Number::New(env, PACKET_OTHERHOST));
  exports.Set("PACKET_OUTGOING", Napi::Number::New(env, PACKET_OUTGOING));
  return exports;
}

}  // namespace

NODE_API_MODULE(metallb_rawsock, Init)
