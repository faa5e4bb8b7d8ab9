// The TUN device of the userspace ESP backend: aiked creates it (IFF_TUN | IFF_NO_PI, so a read
// returns one bare IPv4 or IPv6 packet), sets its MTU and brings it up through libnl-route, and
// routes the remote traffic selectors of installed CHILD_SAs through it. The device exists only
// as long as the descriptor is open: closing it (stop or destruction) removes the device and with
// it every route through it.
//
// Threading: read() and write() may be called from any thread at the same time (one reader, one
// writer); the route calls are made by the owner (the kernel actor) only.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/common/endpoint.hpp"
#include "engine/common/result.hpp"
#include "engine/ts/selector.hpp"

struct nl_sock;

namespace aike::kernel {

// One route through the device: a destination prefix and, optionally, a preferred source address.
struct tun_route {
  ip_address dst;
  unsigned prefix = 0;
  std::optional<ip_address> src;
  std::string to_string() const;  // "10.2.0.0/24 src 10.1.0.1"
  bool operator<(const tun_route& o) const;
};

class tun_device {
 public:
  // Errors say in one line what is missing and what to do (no /dev/net/tun, no CAP_NET_ADMIN,
  // the name taken by a device of another kind).
  static result<std::unique_ptr<tun_device>> open(const std::string& name, unsigned mtu);
  ~tun_device();
  tun_device(const tun_device&) = delete;
  tun_device& operator=(const tun_device&) = delete;

  const std::string& name() const { return name_; }
  int ifindex() const { return ifindex_; }
  unsigned mtu() const { return mtu_; }
  int fd() const { return fd_; }  // non-blocking

  // One packet; -1 with errno (EAGAIN: none waiting). A write that finds the queue full drops.
  long read(std::uint8_t* buf, std::size_t len) const;
  long write(const std::uint8_t* buf, std::size_t len) const;

  // The routes for traffic to `remote` (one per prefix of its address range), with `src` as
  // preferred source. An existing route to the same prefix is replaced.
  status add_route(const tun_route& r);
  // Removing a route that is not there is not an error.
  status remove_route(const tun_route& r);

  // Closes the descriptor: the kernel removes the device and its routes. Idempotent.
  void close();

 private:
  tun_device() = default;
  int fd_ = -1;
  int ifindex_ = 0;
  unsigned mtu_ = 0;
  std::string name_;
  nl_sock* nl_ = nullptr;  // NETLINK_ROUTE, for the link settings and routes
};

// The routes aiked adds for a CHILD_SA: every prefix of every remote selector, with the preferred
// source `src` when given. Prefixes that would contain `peer` (the outer address of the peer) are
// left out, so ESP to the peer is never routed into the tunnel; they are named in `skipped`.
std::vector<tun_route> routes_for(const std::vector<ts::selector>& remote_ts, const std::optional<ip_address>& src,
                                  const ip_address& peer, std::vector<std::string>& skipped);

// The preferred source for routes of a CHILD_SA: the local selector's address when it is a single
// address, else an address of this host that lies in one of the local selectors (as strongSwan's
// kernel-libipsec picks one), else none.
std::optional<ip_address> inner_source(const std::vector<ts::selector>& local_ts);

}  // namespace aike::kernel
