#include "actors/network/udp_io.hpp"

#include "actors/network/port_owner.hpp"

#include <arpa/inet.h>
#include <linux/xfrm.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace aike::net {

namespace {

// RFC 3948 §2.2: on port 4500 an IKE message is preceded by four zero octets (a zero "SPI"),
// §2.3: a NAT keepalive is a single 0xFF octet.
constexpr std::uint8_t non_esp_marker[4] = {0, 0, 0, 0};
constexpr std::uint8_t keepalive_octet = 0xFF;

// recvmmsg batch: enough to amortise the system call, small enough that the buffers stay modest.
constexpr unsigned batch_size = 32;
// Batches read from one socket before going back to epoll, so one busy socket cannot starve another.
constexpr int batches_per_wakeup = 8;
constexpr std::uint64_t wake_tag = ~std::uint64_t{0};
constexpr std::uint64_t send_tag = ~std::uint64_t{0} - 1;

// Set on a receive thread, so stop() called from a handler knows it must not join itself.
thread_local const void* running_io = nullptr;

std::string errno_text(int e) { return std::strerror(e); }

// Closes a descriptor unless released; keeps open() free of cleanup paths.
class fd_guard {
 public:
  explicit fd_guard(int fd) : fd_(fd) {}
  ~fd_guard() {
    if (fd_ >= 0) ::close(fd_);
  }
  fd_guard(const fd_guard&) = delete;
  fd_guard& operator=(const fd_guard&) = delete;
  int get() const { return fd_; }
  int release() {
    int f = fd_;
    fd_ = -1;
    return f;
  }

 private:
  int fd_;
};

socklen_t to_sockaddr(const ip_address& a, std::uint16_t port, sockaddr_storage& ss) {
  std::memset(&ss, 0, sizeof ss);
  if (a.v6) {
    auto* s6 = reinterpret_cast<sockaddr_in6*>(&ss);
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons(port);
    std::memcpy(&s6->sin6_addr, a.octets.data(), 16);
    return sizeof(sockaddr_in6);
  }
  auto* s4 = reinterpret_cast<sockaddr_in*>(&ss);
  s4->sin_family = AF_INET;
  s4->sin_port = htons(port);
  std::memcpy(&s4->sin_addr, a.octets.data(), 4);
  return sizeof(sockaddr_in);
}

bool from_sockaddr(const sockaddr_storage& ss, endpoint& out) {
  if (ss.ss_family == AF_INET6) {
    const auto* s6 = reinterpret_cast<const sockaddr_in6*>(&ss);
    out.addr = ip_address::from_bytes(bytes_view(s6->sin6_addr.s6_addr, 16));
    out.port = ntohs(s6->sin6_port);
    return true;
  }
  if (ss.ss_family == AF_INET) {
    const auto* s4 = reinterpret_cast<const sockaddr_in*>(&ss);
    out.addr = ip_address::from_bytes(bytes_view(reinterpret_cast<const std::uint8_t*>(&s4->sin_addr), 4));
    out.port = ntohs(s4->sin_port);
    return true;
  }
  return false;
}

std::string where(const ip_address& a, std::uint16_t port, bool natt) {
  return "UDP " + a.to_string() + " port " + std::to_string(port) + (natt ? " (NAT-T)" : " (IKE)");
}

std::string bind_hint(int e, std::uint16_t port) {
  switch (e) {
    case EADDRINUSE:
      if (auto owner = find_udp_port_owner(port))
        return " (" + owner->describe() + " holds this port: stop it, or give aiked another [daemon] " +
               "ike_port / natt_port)";
      return " (another IKE daemon such as strongSwan's charon or libreswan's pluto may hold this port; `ss -ulpn` "
             "shows who)";
    case EACCES:
      return port < 1024 ? " (ports below 1024 need root or CAP_NET_BIND_SERVICE)" : "";
    case EADDRNOTAVAIL:
      return " (the address is not assigned to any interface)";
    default:
      return "";
  }
}

// A per-socket policy with action ALLOW in one direction makes the kernel skip the global SPD for
// this socket's packets, so IKE is never itself tunnelled or blocked by a policy covering the peer.
// struct xfrm_userpolicy_info is the format of IP_XFRM_POLICY / IPV6_XFRM_POLICY (the IPSEC_POLICY
// options take the PF_KEY format and refuse it with EOPNOTSUPP).
int set_bypass_policy(int fd, bool v6, std::uint8_t dir) {
  xfrm_userpolicy_info pol{};
  pol.sel.family = v6 ? AF_INET6 : AF_INET;
  pol.dir = dir;
  pol.action = XFRM_POLICY_ALLOW;
  pol.share = XFRM_SHARE_ANY;
  pol.lft.soft_byte_limit = XFRM_INF;
  pol.lft.hard_byte_limit = XFRM_INF;
  pol.lft.soft_packet_limit = XFRM_INF;
  pol.lft.hard_packet_limit = XFRM_INF;
  if (v6) return ::setsockopt(fd, IPPROTO_IPV6, IPV6_XFRM_POLICY, &pol, sizeof pol) == 0 ? 0 : errno;
  return ::setsockopt(fd, IPPROTO_IP, IP_XFRM_POLICY, &pol, sizeof pol) == 0 ? 0 : errno;
}

// Reads the destination address of a received datagram from its IP_PKTINFO / IPV6_PKTINFO.
bool local_address_from_control(msghdr& mh, ip_address& out) {
  for (cmsghdr* c = CMSG_FIRSTHDR(&mh); c != nullptr; c = CMSG_NXTHDR(&mh, c)) {
    if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
      in_pktinfo pi;
      std::memcpy(&pi, CMSG_DATA(c), sizeof pi);
      out = ip_address::from_bytes(bytes_view(reinterpret_cast<const std::uint8_t*>(&pi.ipi_addr), 4));
      return true;
    }
    if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
      in6_pktinfo pi;
      std::memcpy(&pi, CMSG_DATA(c), sizeof pi);
      out = ip_address::from_bytes(bytes_view(pi.ipi6_addr.s6_addr, 16));
      return true;
    }
  }
  return false;
}

constexpr std::size_t control_space =
    CMSG_SPACE(sizeof(in6_pktinfo)) + CMSG_SPACE(sizeof(in_pktinfo)) + CMSG_SPACE(sizeof(int));

// The segment size of a UDP GRO buffer (0: one plain datagram).
std::size_t gro_size_from_control(msghdr& mh) {
  for (cmsghdr* c = CMSG_FIRSTHDR(&mh); c != nullptr; c = CMSG_NXTHDR(&mh, c)) {
    if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO) {
      int size;
      std::memcpy(&size, CMSG_DATA(c), sizeof size);
      return size > 0 ? static_cast<std::size_t>(size) : 0;
    }
  }
  return 0;
}

// Control space of a send: the source address (IP_PKTINFO / IPV6_PKTINFO) and a GSO segment size.
constexpr std::size_t send_control_space = CMSG_SPACE(sizeof(in6_pktinfo)) + CMSG_SPACE(sizeof(std::uint16_t));

// Writes the control messages of one send into `buf` (send_control_space octets, zeroed): the
// source address when the socket is a wildcard one, and UDP_SEGMENT when `segment` is non-zero.
// Returns msg_controllen.
std::size_t send_control(unsigned char* buf, bool wildcard, const ip_address& source, std::uint16_t segment) {
  std::size_t used = 0;
  auto* c = reinterpret_cast<cmsghdr*>(buf);
  if (wildcard && !source.is_any()) {
    if (source.v6) {
      c->cmsg_level = IPPROTO_IPV6;
      c->cmsg_type = IPV6_PKTINFO;
      c->cmsg_len = CMSG_LEN(sizeof(in6_pktinfo));
      in6_pktinfo pi{};
      std::memcpy(&pi.ipi6_addr, source.octets.data(), 16);
      std::memcpy(CMSG_DATA(c), &pi, sizeof pi);
      used += CMSG_SPACE(sizeof(in6_pktinfo));
    } else {
      c->cmsg_level = IPPROTO_IP;
      c->cmsg_type = IP_PKTINFO;
      c->cmsg_len = CMSG_LEN(sizeof(in_pktinfo));
      in_pktinfo pi{};
      std::memcpy(&pi.ipi_spec_dst, source.octets.data(), 4);
      std::memcpy(CMSG_DATA(c), &pi, sizeof pi);
      used += CMSG_SPACE(sizeof(in_pktinfo));
    }
    c = reinterpret_cast<cmsghdr*>(buf + used);
  }
  if (segment != 0) {
    c->cmsg_level = SOL_UDP;
    c->cmsg_type = UDP_SEGMENT;
    c->cmsg_len = CMSG_LEN(sizeof segment);
    std::memcpy(CMSG_DATA(c), &segment, sizeof segment);
    used += CMSG_SPACE(sizeof segment);
  }
  return used;
}

// UDP GSO limits: at most 64 segments (UDP_MAX_SEGMENTS of older kernels) and one IP datagram's
// worth of payload in all.
constexpr std::size_t gso_max_segments = 64;
constexpr std::size_t gso_max_payload = 65000;
// IKE messages are grouped for GSO only up to this size: each segment must fit the path MTU (the
// kernel refuses the whole send otherwise), and 1,232 octets fit IPv6's minimum MTU of 1,280.
constexpr std::size_t ike_gso_segment = 1232;
// A send queue that grew beyond this in a burst gives its memory back once sent.
constexpr std::size_t send_queue_keep = std::size_t{1} << 20;

void read_eventfd(int fd) {
  std::uint64_t v;
  ssize_t r;
  do r = ::read(fd, &v, sizeof v);
  while (r < 0 && errno == EINTR);
}

}  // namespace

// The receive thread's buffers, allocated once (32 x 64 KiB, touched only as datagrams fill them).
struct udp_io::receive_buffers {
  std::unique_ptr<std::uint8_t[]> data = std::make_unique_for_overwrite<std::uint8_t[]>(batch_size * max_datagram);
  mmsghdr msgs[batch_size]{};
  iovec iov[batch_size]{};
  sockaddr_storage names[batch_size]{};
  struct alignas(cmsghdr) control_buf {
    unsigned char bytes[control_space];
  };
  control_buf control[batch_size]{};

  void reset() {
    for (unsigned i = 0; i < batch_size; ++i) {
      iov[i].iov_base = data.get() + std::size_t{i} * max_datagram;
      iov[i].iov_len = max_datagram;
      msghdr& h = msgs[i].msg_hdr;
      h.msg_name = &names[i];
      h.msg_namelen = sizeof names[i];
      h.msg_iov = &iov[i];
      h.msg_iovlen = 1;
      h.msg_control = control[i].bytes;
      h.msg_controllen = sizeof control[i].bytes;
      h.msg_flags = 0;
    }
  }
};

result<std::unique_ptr<udp_io>> udp_io::open(const udp_config& cfg) {
  if (cfg.listen.empty()) return make_error(errc::invalid_argument, "udp: no listen address configured");
  if (cfg.ike_port != 0 && cfg.ike_port == cfg.natt_port)
    return make_error(errc::invalid_argument,
                      "udp: IKE and NAT-T ports are both " + std::to_string(cfg.ike_port) + "; they must differ");
  // Without SO_REUSEADDR a wildcard and a specific address of one family cannot share a port, and
  // a duplicate would fail with a misleading "in use": say what is wrong instead.
  for (std::size_t i = 0; i < cfg.listen.size(); ++i) {
    for (std::size_t j = i + 1; j < cfg.listen.size(); ++j) {
      const ip_address& a = cfg.listen[i];
      const ip_address& b = cfg.listen[j];
      if (a == b) return make_error(errc::invalid_argument, "udp: listen address " + a.to_string() + " given twice");
      if (a.v6 == b.v6 && (a.is_any() || b.is_any()))
        return make_error(errc::invalid_argument, "udp: listen addresses " + a.to_string() + " and " + b.to_string() +
                                                      " overlap (the wildcard already covers every address)");
    }
  }

  std::unique_ptr<udp_io> io(new udp_io());
  for (bool natt : {false, true}) {
    std::uint16_t port = natt ? cfg.natt_port : cfg.ike_port;
    for (const ip_address& addr : cfg.listen) {
      fd_guard fd(::socket(addr.v6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP));
      if (fd.get() < 0)
        return make_error(errc::invalid_argument, "udp: cannot create a socket for " + where(addr, port, natt) + ": " +
                                                      errno_text(errno));
      int on = 1;
      // No SO_REUSEADDR: on Linux it lets two UDP sockets that both set it bind the same address
      // and port, so aiked would start next to charon and the two would split the datagrams.
      if (addr.v6 && ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on) != 0)
        return make_error(errc::invalid_argument, "udp: IPV6_V6ONLY on " + where(addr, port, natt) + ": " +
                                                      errno_text(errno));
      int pk = addr.v6 ? ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_RECVPKTINFO, &on, sizeof on)
                       : ::setsockopt(fd.get(), IPPROTO_IP, IP_PKTINFO, &on, sizeof on);
      if (pk != 0)
        return make_error(errc::invalid_argument, std::string("udp: ") + (addr.v6 ? "IPV6_RECVPKTINFO" : "IP_PKTINFO") +
                                                      " on " + where(addr, port, natt) + ": " + errno_text(errno));
      // A larger receive buffer absorbs bursts (e.g. many peers rekeying at once); the kernel caps
      // it at net.core.rmem_max, and a refusal is harmless.
      int rcvbuf = 1 << 20;
      (void)::setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
      // Take coalesced runs of datagrams (UDP GRO; drain() splits them): ESP in UDP on the NAT-T
      // socket, and on both a peer's batched IKE sends (one GSO message is then delivered as
      // one buffer instead of being cut up again). A kernel without it delivers them one by one.
      (void)::setsockopt(fd.get(), SOL_UDP, UDP_GRO, &on, sizeof on);

      sockaddr_storage ss;
      socklen_t len = to_sockaddr(addr, port, ss);
      if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0) {
        int e = errno;
        return make_error(errc::invalid_argument,
                          "udp: cannot bind " + where(addr, port, natt) + ": " + errno_text(e) + bind_hint(e, port));
      }
      len = sizeof ss;
      if (::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&ss), &len) != 0)
        return make_error(errc::invalid_argument, "udp: getsockname on " + where(addr, port, natt) + ": " +
                                                      errno_text(errno));
      endpoint bound;
      from_sockaddr(ss, bound);
      port = bound.port;  // with port 0, the remaining addresses of this kind reuse the chosen port

      for (std::uint8_t dir : {std::uint8_t{XFRM_POLICY_IN}, std::uint8_t{XFRM_POLICY_OUT}}) {
        if (int e = set_bypass_policy(fd.get(), addr.v6, dir))
          io->warnings_.push_back("udp: IPsec bypass policy (" + std::string(dir == XFRM_POLICY_IN ? "in" : "out") +
                                  ") refused on " + where(addr, port, natt) + ": " + errno_text(e) +
                                  "; IKE packets may be caught by a tunnel policy");
      }
      io->sockets_.push_back(socket_info{fd.release(), addr, port, natt});
    }
    (natt ? io->natt_port_ : io->ike_port_) = port;
  }

  io->epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (io->epoll_fd_ < 0) return make_error(errc::invalid_argument, "udp: epoll_create1: " + errno_text(errno));
  io->wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (io->wake_fd_ < 0) return make_error(errc::invalid_argument, "udp: eventfd: " + errno_text(errno));
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = wake_tag;
  if (::epoll_ctl(io->epoll_fd_, EPOLL_CTL_ADD, io->wake_fd_, &ev) != 0)
    return make_error(errc::invalid_argument, "udp: epoll_ctl (eventfd): " + errno_text(errno));
  io->send_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (io->send_fd_ < 0) return make_error(errc::invalid_argument, "udp: eventfd: " + errno_text(errno));
  ev.data.u64 = send_tag;
  if (::epoll_ctl(io->epoll_fd_, EPOLL_CTL_ADD, io->send_fd_, &ev) != 0)
    return make_error(errc::invalid_argument, "udp: epoll_ctl (eventfd): " + errno_text(errno));
  for (std::size_t i = 0; i < io->sockets_.size(); ++i) {
    ev.data.u64 = i;
    if (::epoll_ctl(io->epoll_fd_, EPOLL_CTL_ADD, io->sockets_[i].fd, &ev) != 0) {
      const socket_info& s = io->sockets_[i];
      return make_error(errc::invalid_argument, "udp: epoll_ctl on " + where(s.addr, s.port, s.natt) + ": " +
                                                    errno_text(errno));
    }
  }
  return io;
}

void udp_io::start(handler on_ike, esp_handler on_esp) {
  std::lock_guard<std::mutex> lock(lifecycle_mutex_);
  if (started_) return;
  started_ = true;
  on_ike_ = std::move(on_ike);
  on_esp_ = std::move(on_esp);
  {
    std::lock_guard<std::mutex> q(send_mutex_);
    sender_running_ = true;
  }
  thread_ = std::thread([this] {
    ::pthread_setname_np(::pthread_self(), "aike-udp");
    run();
  });
}

void udp_io::wake() {
  std::uint64_t one = 1;
  ssize_t w;
  do w = ::write(wake_fd_, &one, sizeof one);
  while (w < 0 && errno == EINTR);
}

void udp_io::stop() {
  // From a handler the thread cannot join itself: it sees the eventfd once the handler returns.
  if (running_io == this) return wake();
  std::lock_guard<std::mutex> lock(lifecycle_mutex_);
  started_ = true;  // a stopped udp_io does not start again
  if (!thread_.joinable()) return;
  wake();
  thread_.join();
}

// Destroying a udp_io from its own handler is a bug: the thread stays joinable and std::thread's
// destructor terminates the process, which is better than the thread running on freed memory.
udp_io::~udp_io() {
  stop();
  for (const socket_info& s : sockets_) ::close(s.fd);
  if (epoll_fd_ >= 0) ::close(epoll_fd_);
  if (wake_fd_ >= 0) ::close(wake_fd_);
  if (send_fd_ >= 0) ::close(send_fd_);
}

io_counters udp_io::counters() const {
  io_counters c;
  c.received = counters_.received.load(std::memory_order_relaxed);
  c.sent = counters_.sent.load(std::memory_order_relaxed);
  c.send_errors = counters_.send_errors.load(std::memory_order_relaxed);
  c.keepalives = counters_.keepalives.load(std::memory_order_relaxed);
  c.esp = counters_.esp.load(std::memory_order_relaxed);
  c.esp_unhandled = counters_.esp_unhandled.load(std::memory_order_relaxed);
  c.runts = counters_.runts.load(std::memory_order_relaxed);
  return c;
}

void udp_io::run() {
  running_io = this;
  auto rb = std::make_unique<receive_buffers>();
  send_queue spare;
  // Whatever is queued when the thread ends is still sent; later sends go out at once.
  auto finish = [&] {
    {
      std::lock_guard<std::mutex> lock(send_mutex_);
      sender_running_ = false;
    }
    flush_sends(spare);
  };
  epoll_event events[16];
  for (;;) {
    int n = ::epoll_wait(epoll_fd_, events, 16, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      return finish();  // EBADF/EINVAL: the descriptors are gone, nothing left to read
    }
    for (int i = 0; i < n; ++i) {
      if (events[i].data.u64 == wake_tag) return finish();
      if (events[i].data.u64 == send_tag) {
        read_eventfd(send_fd_);
        flush_sends(spare);
        continue;
      }
      drain(sockets_[events[i].data.u64], *rb);
    }
  }
}

void udp_io::flush_sends(send_queue& batch) {
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(send_mutex_);
      if (pending_.entries.empty()) {
        send_signalled_ = false;  // the next send() wakes this thread again
        return;
      }
      std::swap(pending_, batch);
    }
    // Consecutive messages from one socket go out together.
    std::vector<out_packet> run;
    std::size_t i = 0;
    while (i < batch.entries.size()) {
      const socket_info* s = batch.entries[i].socket;
      run.clear();
      for (; i < batch.entries.size() && batch.entries[i].socket == s; ++i) {
        const auto& e = batch.entries[i];
        run.push_back(out_packet{bytes_view(batch.data.data() + e.offset, e.size), &e.local, &e.remote});
      }
      std::size_t sent = send_packets(*s, run, ike_gso_segment);
      counters_.sent.fetch_add(sent, std::memory_order_relaxed);
      counters_.send_errors.fetch_add(run.size() - sent, std::memory_order_relaxed);
    }
    batch.entries.clear();
    batch.data.clear();
    if (batch.data.capacity() > send_queue_keep) batch = send_queue{};
  }
}

void udp_io::drain(const socket_info& s, receive_buffers& rb) {
  for (int round = 0; round < batches_per_wakeup; ++round) {
    rb.reset();
    int n = ::recvmmsg(s.fd, rb.msgs, batch_size, MSG_DONTWAIT, nullptr);
    if (n < 0) {
      if (errno == EINTR) continue;
      break;  // EAGAIN: drained; anything else is a per-datagram error the kernel has now cleared
    }
    for (int i = 0; i < n; ++i) {
      msghdr& h = rb.msgs[i].msg_hdr;
      const std::uint8_t* p = static_cast<const std::uint8_t*>(rb.iov[i].iov_base);
      std::size_t len = rb.msgs[i].msg_len;
      if (h.msg_flags & MSG_TRUNC) {
        counters_.received.fetch_add(1, std::memory_order_relaxed);
        counters_.runts.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      endpoint local, remote;
      if (!from_sockaddr(rb.names[i], remote)) continue;
      if (!local_address_from_control(h, local.addr)) local.addr = s.addr;
      local.port = s.port;
      // A GRO buffer holds datagrams of `segment` octets each (the last may be shorter).
      std::size_t segment = gro_size_from_control(h);
      if (segment == 0 || segment >= len) {
        dispatch(s, p, len, local, remote);
        continue;
      }
      for (std::size_t off = 0; off < len; off += segment)
        dispatch(s, p + off, std::min(segment, len - off), local, remote);
    }
    if (static_cast<unsigned>(n) < batch_size) break;  // the socket is empty: skip a failing call
  }
}

void udp_io::dispatch(const socket_info& s, const std::uint8_t* p, std::size_t len, const endpoint& local,
                      const endpoint& remote) {
  // Counted before a handler sees the datagram, so whoever receives it also sees it counted.
  auto count = [](std::atomic<std::uint64_t>& c) { c.fetch_add(1, std::memory_order_relaxed); };
  count(counters_.received);
  bool is_ike = true;
  if (s.natt) {
    if (len == 1 && p[0] == keepalive_octet) {
      count(counters_.keepalives);
      return;
    }
    if (len >= sizeof non_esp_marker && std::memcmp(p, non_esp_marker, sizeof non_esp_marker) == 0) {
      p += sizeof non_esp_marker;
      len -= sizeof non_esp_marker;
    } else {
      is_ike = false;
    }
  }
  if (len < (is_ike ? ike_header_size : esp_header_size)) {
    count(counters_.runts);
    return;
  }
  if (!is_ike) {
    count(counters_.esp);
    if (on_esp_)
      on_esp_(bytes_view(p, len), local, remote);
    else
      count(counters_.esp_unhandled);
    return;
  }
  datagram d;
  d.data.assign(p, p + len);
  d.local = local;
  d.remote = remote;
  on_ike_(std::move(d));
}

const udp_io::socket_info* udp_io::find_socket(const endpoint& local) const {
  const socket_info* wildcard = nullptr;
  for (const socket_info& s : sockets_) {
    if (s.port != local.port || s.addr.v6 != local.addr.v6) continue;
    if (s.addr == local.addr) return &s;
    if (s.addr.is_any() || local.addr.is_any()) wildcard = wildcard ? wildcard : &s;
  }
  return wildcard;
}

bool udp_io::send(const endpoint& local, const endpoint& remote, bytes_view ike_message) {
  const socket_info* s = find_socket(local);
  if (s == nullptr || remote.addr.v6 != s->addr.v6) {
    counters_.send_errors.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  bool queued = false, signal = false;
  {
    std::lock_guard<std::mutex> lock(send_mutex_);
    if (sender_running_) {
      std::size_t offset = pending_.data.size();
      if (s->natt) pending_.data.insert(pending_.data.end(), std::begin(non_esp_marker), std::end(non_esp_marker));
      pending_.data.insert(pending_.data.end(), ike_message.begin(), ike_message.end());
      pending_.entries.push_back(send_queue::entry{s, local, remote, offset, pending_.data.size() - offset});
      queued = true;
      signal = !send_signalled_;
      send_signalled_ = true;
    }
  }
  if (!queued) return send_parts(local, remote, true, ike_message);
  if (signal) {
    std::uint64_t one = 1;
    ssize_t w;
    do w = ::write(send_fd_, &one, sizeof one);
    while (w < 0 && errno == EINTR);
  }
  return true;
}

bool udp_io::send_esp(const endpoint& local, const endpoint& remote, bytes_view esp_packet) {
  return send_parts(local, remote, false, esp_packet);
}

bool udp_io::send_parts(const endpoint& local, const endpoint& remote, bool with_marker, bytes_view payload) {
  const socket_info* s = find_socket(local);
  if (s == nullptr || remote.addr.v6 != s->addr.v6) {
    counters_.send_errors.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  sockaddr_storage dst;
  msghdr mh{};
  mh.msg_name = &dst;
  mh.msg_namelen = to_sockaddr(remote.addr, remote.port, dst);

  iovec iov[2];
  int parts = 0;
  if (with_marker && s->natt) iov[parts++] = iovec{const_cast<std::uint8_t*>(non_esp_marker), sizeof non_esp_marker};
  iov[parts++] = iovec{const_cast<std::uint8_t*>(payload.data()), payload.size()};
  mh.msg_iov = iov;
  mh.msg_iovlen = static_cast<std::size_t>(parts);

  // On a wildcard socket the kernel would pick the source by routing; IKE must answer from the
  // address the peer used, so the source is given explicitly.
  alignas(cmsghdr) unsigned char control[send_control_space] = {};
  if (std::size_t used = send_control(control, s->addr.is_any(), local.addr, 0)) {
    mh.msg_control = control;
    mh.msg_controllen = used;
  }

  ssize_t r;
  do r = ::sendmsg(s->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
  while (r < 0 && errno == EINTR);
  if (r < 0) {
    counters_.send_errors.fetch_add(1, std::memory_order_relaxed);  // EAGAIN included: a drop
    return false;
  }
  counters_.sent.fetch_add(1, std::memory_order_relaxed);
  return true;
}

std::size_t udp_io::send_esp_batch(const endpoint& local, const endpoint& remote,
                                   std::span<const bytes_view> packets) {
  auto count = [this](std::atomic<std::uint64_t>& c, std::size_t n) { c.fetch_add(n, std::memory_order_relaxed); };
  const socket_info* s = find_socket(local);
  if (s == nullptr || remote.addr.v6 != s->addr.v6) {
    count(counters_.send_errors, packets.size());
    return 0;
  }
  constexpr std::size_t chunk = 256;
  out_packet out[chunk];
  std::size_t sent = 0;
  for (std::size_t first = 0; first < packets.size(); first += chunk) {
    std::size_t n = std::min(chunk, packets.size() - first);
    for (std::size_t i = 0; i < n; ++i) out[i] = out_packet{packets[first + i], &local, &remote};
    sent += send_packets(*s, std::span<const out_packet>(out, n), gso_max_payload);
  }
  count(counters_.sent, sent);
  count(counters_.send_errors, packets.size() - sent);
  return sent;
}

std::size_t udp_io::send_packets(const socket_info& s, std::span<const out_packet> packets, std::size_t gso_segment) {
  bool wildcard = s.addr.is_any();
  constexpr std::size_t max_messages = 64;
  struct alignas(cmsghdr) control_buf {
    unsigned char bytes[send_control_space];
  };
  mmsghdr msgs[max_messages];
  iovec iov[max_messages];
  sockaddr_storage dst[max_messages];
  control_buf control[max_messages];
  std::size_t parts[max_messages];  // packets in each message
  auto same_path = [](const out_packet& a, const out_packet& b) {
    return a.local == b.local || (*a.local == *b.local && *a.remote == *b.remote);
  };

  std::size_t sent = 0;
  std::size_t next = 0;  // the first packet not yet put in a message
  while (next < packets.size()) {
    // Messages for as many packets as fit: with GSO a run of equal sizes to one peer (the last
    // may be shorter) per message, each packet its own iovec entry; without, one packet each.
    bool gso = !gso_refused_.load(std::memory_order_relaxed);
    std::size_t m = 0;
    std::size_t first = next;
    std::size_t pos = next;
    while (pos < packets.size() && m < max_messages) {
      const out_packet& p = packets[pos];
      std::size_t seg = p.data.size();
      std::size_t k = 1;
      std::size_t total = seg;
      if (gso && seg <= gso_segment)
        while (pos + k < packets.size() && k < gso_max_segments && pos + k - first < max_messages &&
               total + packets[pos + k].data.size() <= gso_max_payload && packets[pos + k].data.size() <= seg &&
               packets[pos + k - 1].data.size() == seg && same_path(p, packets[pos + k])) {
          total += packets[pos + k].data.size();
          ++k;
        }
      // The iovecs of a message must be contiguous: this message's start at iov + pos - first.
      for (std::size_t j = 0; j < k; ++j)
        iov[pos - first + j] =
            iovec{const_cast<std::uint8_t*>(packets[pos + j].data.data()), packets[pos + j].data.size()};
      msghdr& h = msgs[m].msg_hdr;
      h = msghdr{};
      h.msg_name = &dst[m];
      h.msg_namelen = to_sockaddr(p.remote->addr, p.remote->port, dst[m]);
      h.msg_iov = &iov[pos - first];
      h.msg_iovlen = k;
      std::memset(control[m].bytes, 0, sizeof control[m].bytes);
      auto segment = k > 1 ? static_cast<std::uint16_t>(seg) : std::uint16_t{0};
      std::size_t used = send_control(control[m].bytes, wildcard, p.local->addr, segment);
      if (used) {
        h.msg_control = control[m].bytes;
        h.msg_controllen = used;
      }
      parts[m++] = k;
      pos += k;
      if (pos - first >= max_messages) break;  // the iovec array is full
    }
    // Send them; a failing message is dropped (counted by the caller) and the rest go on.
    std::size_t done = 0;
    while (done < m) {
      int r = ::sendmmsg(s.fd, msgs + done, static_cast<unsigned>(m - done), MSG_DONTWAIT | MSG_NOSIGNAL);
      if (r < 0) {
        if (errno == EINTR) continue;
        if (parts[done] > 1 && (errno == EIO || errno == EINVAL || errno == ENOPROTOOPT)) {
          // This path cannot segment (no checksum offload, an IPsec policy, an old kernel):
          // plain datagrams from now on, starting again at this message's first packet.
          gso_refused_.store(true, std::memory_order_relaxed);
          break;
        }
        next += parts[done++];
        continue;
      }
      for (int i = 0; i < r; ++i) {
        sent += parts[done];
        next += parts[done++];
      }
    }
  }
  return sent;
}

}  // namespace aike::net
