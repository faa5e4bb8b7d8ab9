#include "kernel/tun_device.hpp"

#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <linux/rtnetlink.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/route.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <tuple>

#include "kernel/xfrm_selectors.hpp"

namespace aike::kernel {

namespace {

std::string errno_text(int e) { return std::strerror(e); }

// Packets the kernel queues for aiked's reader (the TUN default is 500). A TCP burst into the
// tunnel overflowed 500 while the reader was sealing (TX "dropped" in `ip -s link`, ~1.5 % of the
// packets of an iperf3 run, each one a TCP retransmission); 4096 absorbed every burst measured.
constexpr unsigned tx_queue_len = 4096;

// One-line hints for the ways opening the device fails.
std::string open_hint(int e, const std::string& name) {
  switch (e) {
    case ENOENT:
    case ENODEV:
    case ENXIO:
      return "/dev/net/tun is missing: load the tun module (modprobe tun), or in a container pass the device "
             "(docker run --device /dev/net/tun); or use kernel = \"xfrm\" where the kernel has ESP";
    case EPERM:
    case EACCES:
      return "creating TUN device " + name + " needs root or CAP_NET_ADMIN: run aiked as root or grant it "
             "(setcap cap_net_admin,cap_net_bind_service+ep aiked, or AmbientCapabilities=CAP_NET_ADMIN in systemd)";
    case EBUSY:
    case EINVAL:
      return "cannot create TUN device " + name + " (" + errno_text(e) +
             "): a device of another kind, or one in use, has that name; set [kernel] tun_name to a free name";
    default:
      return "cannot create TUN device " + name + ": " + errno_text(e);
  }
}

// libnl objects freed on scope exit.
template <typename T, void (*Free)(T*)>
struct nl_ptr {
  T* p = nullptr;
  nl_ptr() = default;
  explicit nl_ptr(T* x) : p(x) {}
  ~nl_ptr() {
    if (p) Free(p);
  }
  nl_ptr(const nl_ptr&) = delete;
  nl_ptr& operator=(const nl_ptr&) = delete;
};
void put_addr(nl_addr* a) { nl_addr_put(a); }
void put_link(rtnl_link* l) { rtnl_link_put(l); }
void put_route(rtnl_route* r) { rtnl_route_put(r); }
void free_cache(nl_cache* c) { nl_cache_free(c); }
void free_sock(nl_sock* s) { nl_socket_free(s); }

nl_addr* to_nl(const ip_address& a, unsigned prefix) {
  nl_addr* n = nl_addr_build(a.v6 ? AF_INET6 : AF_INET, a.octets.data(), a.v6 ? 16 : 4);
  if (n) nl_addr_set_prefixlen(n, static_cast<int>(prefix));
  return n;
}

// libnl's codes are negative NLE_*; EPERM arrives as NLE_PERM.
std::string nl_text(int err) {
  std::string t = nl_geterror(err);
  if (err == -NLE_PERM) t += " (needs root or CAP_NET_ADMIN)";
  return t;
}

// Fills the route object for r through the device.
void build_route(rtnl_route* route, const tun_route& r, int ifindex, nl_addr* dst, nl_addr* src) {
  rtnl_route_set_family(route, static_cast<std::uint8_t>(r.dst.v6 ? AF_INET6 : AF_INET));
  rtnl_route_set_table(route, RT_TABLE_MAIN);
  rtnl_route_set_protocol(route, RTPROT_STATIC);
  rtnl_route_set_scope(route, RT_SCOPE_LINK);
  rtnl_route_set_type(route, RTN_UNICAST);
  rtnl_route_set_dst(route, dst);
  if (src) rtnl_route_set_pref_src(route, src);
  rtnl_nexthop* nh = rtnl_route_nh_alloc();
  rtnl_route_nh_set_ifindex(nh, ifindex);
  rtnl_route_add_nexthop(route, nh);  // the route owns nh from here
}

}  // namespace

std::string tun_route::to_string() const {
  std::string s = dst.to_string() + "/" + std::to_string(prefix);
  if (src) s += " src " + src->to_string();
  return s;
}

bool tun_route::operator<(const tun_route& o) const {
  auto key = [](const tun_route& r) {
    return std::tuple(r.dst.v6, r.dst.octets, r.prefix, r.src.has_value(), r.src ? r.src->octets : decltype(r.dst.octets){});
  };
  return key(*this) < key(o);
}

result<std::unique_ptr<tun_device>> tun_device::open(const std::string& name, unsigned mtu) {
  std::unique_ptr<tun_device> dev(new tun_device());
  dev->fd_ = ::open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (dev->fd_ < 0) return make_error(errc::invalid_argument, open_hint(errno, name));

  ifreq ifr{};
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
  std::strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
  if (::ioctl(dev->fd_, TUNSETIFF, &ifr) != 0) return make_error(errc::invalid_argument, open_hint(errno, name));
  dev->name_ = ifr.ifr_name;
  dev->mtu_ = mtu;

  dev->nl_ = nl_socket_alloc();
  if (!dev->nl_) return make_error(errc::invalid_argument, "TUN device " + name + ": cannot allocate a netlink socket");
  if (int e = nl_connect(dev->nl_, NETLINK_ROUTE); e < 0)
    return make_error(errc::invalid_argument, "TUN device " + name + ": rtnetlink: " + nl_text(e));

  rtnl_link* raw = nullptr;
  if (int e = rtnl_link_get_kernel(dev->nl_, 0, dev->name_.c_str(), &raw); e < 0)
    return make_error(errc::invalid_argument, "TUN device " + name + ": reading the link: " + nl_text(e));
  nl_ptr<rtnl_link, put_link> link(raw);
  dev->ifindex_ = rtnl_link_get_ifindex(link.p);
  nl_ptr<rtnl_link, put_link> change(rtnl_link_alloc());
  rtnl_link_set_mtu(change.p, mtu);
  rtnl_link_set_txqlen(change.p, tx_queue_len);
  rtnl_link_set_flags(change.p, IFF_UP);
  if (int e = rtnl_link_change(dev->nl_, link.p, change.p, 0); e < 0)
    return make_error(errc::invalid_argument, "TUN device " + name + ": setting MTU " + std::to_string(mtu) +
                                                  " and bringing it up: " + nl_text(e));
  return dev;
}

tun_device::~tun_device() { close(); }

void tun_device::close() {
  if (nl_) {
    nl_socket_free(nl_);
    nl_ = nullptr;
  }
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

long tun_device::read(std::uint8_t* buf, std::size_t len) const { return ::read(fd_, buf, len); }

long tun_device::write(const std::uint8_t* buf, std::size_t len) const { return ::write(fd_, buf, len); }

status tun_device::add_route(const tun_route& r) {
  if (!nl_) return make_error(errc::invalid_argument, "TUN device " + name_ + " is closed");
  nl_ptr<nl_addr, put_addr> dst(to_nl(r.dst, r.prefix));
  nl_ptr<nl_addr, put_addr> src(r.src ? to_nl(*r.src, r.src->v6 ? 128 : 32) : nullptr);
  nl_ptr<rtnl_route, put_route> route(rtnl_route_alloc());
  build_route(route.p, r, ifindex_, dst.p, src.p);
  if (int e = rtnl_route_add(nl_, route.p, NLM_F_CREATE | NLM_F_REPLACE); e < 0)
    return make_error(errc::invalid_argument, "route " + r.to_string() + " dev " + name_ + ": " + nl_text(e));
  return ok_v;
}

status tun_device::remove_route(const tun_route& r) {
  if (!nl_) return ok_v;  // the device and its routes are gone already
  nl_ptr<nl_addr, put_addr> dst(to_nl(r.dst, r.prefix));
  nl_ptr<rtnl_route, put_route> route(rtnl_route_alloc());
  build_route(route.p, r, ifindex_, dst.p, nullptr);
  int e = rtnl_route_delete(nl_, route.p, 0);
  if (e < 0 && e != -NLE_OBJ_NOTFOUND && e != -NLE_NOADDR)
    return make_error(errc::invalid_argument, "removing route " + r.to_string() + " dev " + name_ + ": " + nl_text(e));
  return ok_v;
}

std::vector<tun_route> routes_for(const std::vector<ts::selector>& remote_ts, const std::optional<ip_address>& src,
                                  const ip_address& peer, std::vector<std::string>& skipped) {
  std::vector<tun_route> out;
  for (const auto& sel : remote_ts) {
    for (const auto& [addr, prefix] : range_to_prefixes(sel.start, sel.end, sel.v6)) {
      tun_route r;
      r.dst.v6 = sel.v6;
      r.dst.octets = addr;
      r.prefix = prefix;
      if (src && src->v6 == sel.v6) r.src = src;
      // Does the prefix contain the peer's outer address?
      bool covers_peer = peer.v6 == sel.v6;
      for (unsigned bit = 0; covers_peer && bit < prefix; ++bit) {
        unsigned mask = 0x80u >> (bit % 8);
        covers_peer = (addr[bit / 8] & mask) == (peer.octets[bit / 8] & mask);
      }
      if (covers_peer) {
        skipped.push_back(r.to_string());
        continue;
      }
      out.push_back(r);
    }
  }
  return out;
}

std::optional<ip_address> inner_source(const std::vector<ts::selector>& local_ts) {
  for (const auto& sel : local_ts)
    if (sel.start == sel.end) return ip_address{sel.v6, sel.start};
  // An address of this host inside a local selector (rtnl address cache of all interfaces).
  nl_ptr<nl_sock, free_sock> sk(nl_socket_alloc());
  if (!sk.p || nl_connect(sk.p, NETLINK_ROUTE) < 0) return std::nullopt;
  nl_cache* raw = nullptr;
  if (rtnl_addr_alloc_cache(sk.p, &raw) < 0) return std::nullopt;
  nl_ptr<nl_cache, free_cache> cache(raw);
  for (const auto& sel : local_ts) {
    for (nl_object* o = nl_cache_get_first(cache.p); o != nullptr; o = nl_cache_get_next(o)) {
      auto* a = reinterpret_cast<rtnl_addr*>(o);
      nl_addr* local = rtnl_addr_get_local(a);
      if (!local) continue;
      int fam = nl_addr_get_family(local);
      if ((fam == AF_INET6) != sel.v6 || (fam != AF_INET && fam != AF_INET6)) continue;
      ip_address ip;
      ip.v6 = sel.v6;
      std::memcpy(ip.octets.data(), nl_addr_get_binary_addr(local), sel.v6 ? 16 : 4);
      if (ip.octets >= sel.start && ip.octets <= sel.end) return ip;
    }
  }
  return std::nullopt;
}

}  // namespace aike::kernel
