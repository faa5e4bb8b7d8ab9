#include "kernel/xfrm_requests.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netlink/attr.h>
#include <netlink/msg.h>

#include <cstring>

namespace aike::kernel {

namespace {

void put_address(xfrm_address_t& out, const ip_address& a) {
  std::memset(&out, 0, sizeof out);
  std::memcpy(&out, a.octets.data(), a.v6 ? 16 : 4);
}

std::uint16_t family_of(const ip_address& a) { return a.v6 ? AF_INET6 : AF_INET; }

// A message of `type` whose body is `body`; nullptr when out of memory.
template <class Body>
nl_msg* message_with(int type, const Body& body) {
  nl_msg* m = nlmsg_alloc_simple(type, 0);
  if (!m) return nullptr;
  if (nlmsg_append(m, const_cast<Body*>(&body), sizeof body, NLMSG_ALIGNTO) < 0) {
    nlmsg_free(m);
    return nullptr;
  }
  return m;
}

}  // namespace

xfrm_selector raw_selector(const kernel_selector& k) {
  xfrm_selector s;
  std::memset(&s, 0, sizeof s);
  std::memcpy(&s.saddr, k.src.addr.data(), k.v6 ? 16 : 4);
  std::memcpy(&s.daddr, k.dst.addr.data(), k.v6 ? 16 : 4);
  s.sport = htons(k.src.port);
  s.sport_mask = htons(k.src.port_mask);
  s.dport = htons(k.dst.port);
  s.dport_mask = htons(k.dst.port_mask);
  s.family = static_cast<std::uint16_t>(k.v6 ? AF_INET6 : AF_INET);
  s.prefixlen_s = static_cast<std::uint8_t>(k.src.prefix);
  s.prefixlen_d = static_cast<std::uint8_t>(k.dst.prefix);
  s.proto = k.protocol;
  return s;
}

nl_msg* build_allocspi(const ip_address& src, const ip_address& dst, std::uint32_t reqid, std::uint32_t min,
                       std::uint32_t max) {
  if (src.v6 != dst.v6) return nullptr;
  xfrm_userspi_info u;
  std::memset(&u, 0, sizeof u);
  put_address(u.info.id.daddr, dst);
  put_address(u.info.saddr, src);
  u.info.id.proto = IPPROTO_ESP;
  u.info.family = family_of(dst);
  u.info.reqid = reqid;
  u.min = min;
  u.max = max;
  return message_with(XFRM_MSG_ALLOCSPI, u);
}

nl_msg* build_migrate(std::uint8_t dir, const kernel_selector& sel, const std::vector<xfrm_migration>& moves) {
  xfrm_userpolicy_id id;
  std::memset(&id, 0, sizeof id);
  id.sel = raw_selector(sel);
  id.dir = dir;
  nl_msg* m = message_with(XFRM_MSG_MIGRATE, id);
  if (!m) return nullptr;
  std::vector<xfrm_user_migrate> um(moves.size());
  for (std::size_t i = 0; i < moves.size(); ++i) {
    const auto& x = moves[i];
    std::memset(&um[i], 0, sizeof um[i]);
    put_address(um[i].old_daddr, x.old_dst);
    put_address(um[i].old_saddr, x.old_src);
    put_address(um[i].new_daddr, x.new_dst);
    put_address(um[i].new_saddr, x.new_src);
    um[i].proto = x.proto;
    um[i].mode = x.mode;
    um[i].reqid = x.reqid;
    um[i].old_family = family_of(x.old_dst);
    um[i].new_family = family_of(x.new_dst);
  }
  if (nla_put(m, XFRMA_MIGRATE, static_cast<int>(um.size() * sizeof(xfrm_user_migrate)), um.data()) < 0) {
    nlmsg_free(m);
    return nullptr;
  }
  return m;
}

}  // namespace aike::kernel
