// xfrm_migrate DIR SRC/LEN DST/LEN OLD_SRC OLD_DST NEW_SRC NEW_DST REQID: sends one
// XFRM_MSG_MIGRATE for the policy (SRC/LEN -> DST/LEN, DIR = out | in | fwd) in the current network
// namespace, moving its ESP tunnel template with REQID (and the kernel's SAs of that template)
// from OLD_SRC -> OLD_DST to NEW_SRC -> NEW_DST — what a Mobile IPv6 daemon sends when a host
// moves. The kernel then announces the MIGRATE to XFRM listeners (aiked among them).
// Exit: 0 done, 77 the kernel refuses XFRM_MSG_MIGRATE (its message on stderr), 1 any other
// refusal, 2 bad arguments.
#include <linux/xfrm.h>
#include <netinet/in.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>

#include "engine/common/endpoint.hpp"
#include "kernel/xfrm_events.hpp"
#include "kernel/xfrm_requests.hpp"
#include "kernel/xfrm_selectors.hpp"

namespace {

std::optional<aike::kernel::prefix_port> parse_prefix(const std::string& s, bool& v6) {
  auto slash = s.find('/');
  auto a = aike::ip_address::parse(s.substr(0, slash));
  if (!a) return std::nullopt;
  unsigned max = a->v6 ? 128 : 32;
  unsigned len = max;
  if (slash != std::string::npos) {
    char* end = nullptr;
    unsigned long l = std::strtoul(s.c_str() + slash + 1, &end, 10);
    if (*end != '\0' || end == s.c_str() + slash + 1 || l > max) return std::nullopt;
    len = static_cast<unsigned>(l);
  }
  v6 = a->v6;
  aike::kernel::prefix_port p;
  p.addr = a->octets;
  p.prefix = len;
  return p;
}

int usage(const char* why) {
  std::fprintf(stderr,
               "xfrm_migrate: %s\nusage: xfrm_migrate out|in|fwd SRC/LEN DST/LEN OLD_SRC OLD_DST NEW_SRC NEW_DST REQID\n",
               why);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 9) return usage("expected 8 arguments");
  std::string d = argv[1];
  std::uint8_t dir = d == "out" ? XFRM_POLICY_OUT : d == "in" ? XFRM_POLICY_IN : d == "fwd" ? XFRM_POLICY_FWD : 0xff;
  if (dir == 0xff) return usage("direction must be out, in or fwd");
  aike::kernel::kernel_selector sel;
  bool v6_src = false, v6_dst = false;
  auto src = parse_prefix(argv[2], v6_src);
  auto dst = parse_prefix(argv[3], v6_dst);
  if (!src || !dst || v6_src != v6_dst) return usage("selector prefixes must be ADDRESS/LEN of one family");
  sel.v6 = v6_src;
  sel.src = *src;
  sel.dst = *dst;
  aike::kernel::xfrm_migration mv;
  auto os = aike::ip_address::parse(argv[4]), od = aike::ip_address::parse(argv[5]);
  auto ns = aike::ip_address::parse(argv[6]), nd = aike::ip_address::parse(argv[7]);
  if (!os || !od || !ns || !nd) return usage("tunnel endpoints must be IP addresses");
  mv.old_src = *os, mv.old_dst = *od, mv.new_src = *ns, mv.new_dst = *nd;
  char* end = nullptr;
  unsigned long reqid = std::strtoul(argv[8], &end, 0);
  if (*end != '\0' || reqid == 0 || reqid > 0xffffffffUL) return usage("REQID must be a number 1..4294967295");
  mv.reqid = static_cast<std::uint32_t>(reqid);
  mv.proto = IPPROTO_ESP;
  mv.mode = XFRM_MODE_TUNNEL;

  nl_msg* m = aike::kernel::build_migrate(dir, sel, {mv});
  if (!m) return usage("cannot build the message (endpoints of two families?)");
  nl_sock* sk = nl_socket_alloc();
  if (!sk) {
    nlmsg_free(m);
    std::fprintf(stderr, "xfrm_migrate: out of memory\n");
    return 1;
  }
  int e = nl_connect(sk, NETLINK_XFRM);
  if (e >= 0) e = nl_send_auto(sk, m);
  nlmsg_free(m);
  if (e >= 0) e = nl_wait_for_ack(sk);
  nl_socket_free(sk);
  if (e == -NLE_OPNOTSUPP || e == -NLE_PROTO_MISMATCH) {
    std::fprintf(stderr, "the kernel refuses XFRM_MSG_MIGRATE (CONFIG_XFRM_MIGRATE off?): %s\n", nl_geterror(e));
    return 77;
  }
  if (e < 0) {
    std::fprintf(stderr, "XFRM_MSG_MIGRATE %s %s -> %s: the kernel refused it: %s\n", argv[1], argv[2], argv[3],
                 nl_geterror(e));
    return 1;
  }
  return 0;
}
