#include "kernel/xfrm_dump.hpp"

#include <arpa/inet.h>
#include <netlink/attr.h>
#include <netlink/msg.h>

#include <cstring>

namespace aike::kernel {
namespace {

void read_mark(nlmsghdr* h, std::size_t fixed, std::uint32_t& value, std::uint32_t& mask) {
  if (nlattr* a = nlmsg_find_attr(h, static_cast<int>(fixed), XFRMA_MARK);
      a && nla_len(a) >= static_cast<int>(sizeof(xfrm_mark))) {
    const auto* m = static_cast<const xfrm_mark*>(nla_data(a));
    value = m->v;
    mask = m->m;
  }
}

int on_policy(nl_msg* msg, void* arg) {
  nlmsghdr* h = nlmsg_hdr(msg);
  if (h->nlmsg_type != XFRM_MSG_NEWPOLICY || nlmsg_datalen(h) < static_cast<int>(sizeof(xfrm_userpolicy_info)))
    return NL_OK;
  dumped_policy p;
  std::memcpy(&p.info, nlmsg_data(h), sizeof p.info);
  read_mark(h, sizeof(xfrm_userpolicy_info), p.mark_value, p.mark_mask);
  if (nlattr* t = nlmsg_find_attr(h, sizeof(xfrm_userpolicy_info), XFRMA_TMPL)) {
    auto n = static_cast<std::size_t>(nla_len(t)) / sizeof(xfrm_user_tmpl);
    const auto* first = static_cast<const std::uint8_t*>(nla_data(t));
    for (std::size_t i = 0; i < n; ++i) {
      xfrm_user_tmpl u;
      std::memcpy(&u, first + i * sizeof u, sizeof u);
      p.tmpls.push_back(u);
    }
  }
  static_cast<std::vector<dumped_policy>*>(arg)->push_back(std::move(p));
  return NL_OK;
}

int on_state(nl_msg* msg, void* arg) {
  nlmsghdr* h = nlmsg_hdr(msg);
  if (h->nlmsg_type != XFRM_MSG_NEWSA || nlmsg_datalen(h) < static_cast<int>(sizeof(xfrm_usersa_info))) return NL_OK;
  dumped_state s;
  std::memcpy(&s.info, nlmsg_data(h), sizeof s.info);
  read_mark(h, sizeof(xfrm_usersa_info), s.mark_value, s.mark_mask);
  static_cast<std::vector<dumped_state>*>(arg)->push_back(s);
  return NL_OK;
}

}  // namespace

ip_address from_xfrm(const xfrm_address_t& a, unsigned family) {
  ip_address ip;
  ip.v6 = family == AF_INET6;
  std::memcpy(ip.octets.data(), &a, ip.v6 ? 16 : 4);
  return ip;
}

status dump_policies(xfrm_socket& sock, std::vector<dumped_policy>& out) {
  int e = nl_send_simple(sock.get(), XFRM_MSG_GETPOLICY, NLM_F_DUMP, nullptr, 0);
  if (e >= 0) e = sock.receive(on_policy, &out);
  return sock.check(e, "listing the kernel's XFRM policies");
}

status dump_states(xfrm_socket& sock, std::vector<dumped_state>& out) {
  int e = nl_send_simple(sock.get(), XFRM_MSG_GETSA, NLM_F_DUMP, nullptr, 0);
  if (e >= 0) e = sock.receive(on_state, &out);
  return sock.check(e, "listing the kernel's XFRM states");
}

xfrm_policy_view to_view(const dumped_policy& p) {
  xfrm_policy_view v;
  const auto& s = p.info.sel;
  v.dir = p.info.dir == XFRM_POLICY_IN ? xfrm_dir::in : p.info.dir == XFRM_POLICY_FWD ? xfrm_dir::fwd : xfrm_dir::out;
  v.sel.v6 = s.family == AF_INET6;
  v.sel.src = from_xfrm(s.saddr, s.family);
  v.sel.dst = from_xfrm(s.daddr, s.family);
  v.sel.src_prefix = s.prefixlen_s;
  v.sel.dst_prefix = s.prefixlen_d;
  v.sel.proto = s.proto;
  v.sel.sport = ntohs(s.sport);
  v.sel.sport_mask = ntohs(s.sport_mask);
  v.sel.dport = ntohs(s.dport);
  v.sel.dport_mask = ntohs(s.dport_mask);
  v.priority = p.info.priority;
  v.index = p.info.index;
  v.block = p.info.action == XFRM_POLICY_BLOCK;
  v.mark_value = p.mark_value;
  v.mark_mask = p.mark_mask;
  for (const auto& t : p.tmpls) {
    xfrm_tmpl_view tv;
    tv.src = from_xfrm(t.saddr, t.family);
    tv.dst = from_xfrm(t.id.daddr, t.family);
    tv.proto = t.id.proto;
    tv.tunnel = t.mode == XFRM_MODE_TUNNEL;
    tv.reqid = t.reqid;
    tv.optional = t.optional != 0;
    v.tmpls.push_back(tv);
  }
  return v;
}

xfrm_sa_view to_view(const dumped_state& s) {
  xfrm_sa_view v;
  v.src = from_xfrm(s.info.saddr, s.info.family);
  v.dst = from_xfrm(s.info.id.daddr, s.info.family);
  v.spi = ntohl(s.info.id.spi);
  v.proto = s.info.id.proto;
  v.reqid = s.info.reqid;
  v.tunnel = s.info.mode == XFRM_MODE_TUNNEL;
  v.mark_value = s.mark_value;
  v.mark_mask = s.mark_mask;
  return v;
}

}  // namespace aike::kernel
