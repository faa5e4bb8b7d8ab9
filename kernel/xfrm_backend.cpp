#include "kernel/xfrm_backend.hpp"

#include <arpa/inet.h>
#include <linux/ipsec.h>
#include <linux/udp.h>
#include <linux/xfrm.h>
#include <netinet/in.h>
#include <netlink/addr.h>
#include <netlink/attr.h>
#include <netlink/cache.h>
#include <netlink/handlers.h>
#include <netlink/msg.h>
#include <netlink/xfrm/lifetime.h>
#include <netlink/xfrm/sa.h>
#include <netlink/xfrm/selector.h>
#include <netlink/xfrm/sp.h>
#include <netlink/xfrm/template.h>

#include <cstring>

#include "engine/crypto/random.hpp"
#include "kernel/xfrm_algorithms.hpp"
#include "kernel/xfrm_dump.hpp"
#include "kernel/xfrm_ownership.hpp"
#include "kernel/xfrm_requests.hpp"
#include "kernel/xfrm_selectors.hpp"

namespace aike::kernel {

// One installed policy, shared by every CHILD_SA that needs exactly it (same direction, selector
// and mark), and removed when the last of them goes.
struct xfrm_backend::policy_entry {
  std::uint8_t dir = 0;
  xfrm_selector sel;
  std::uint32_t mark_value = 0, mark_mask = 0;
  unsigned refs = 0;
};

// One trap policy: what is needed to (re)install it. `displaced` while a CHILD_SA's policy of the
// same selector holds the kernel's one slot for it.
struct xfrm_backend::trap_policy {
  kernel_selector sel;
  child_install params;  // reqid, mode and outer addresses of the trap's template
  std::uint32_t reqid = 0;
  bool displaced = false;
};

namespace {

constexpr std::uint64_t inf = XFRM_INF;

// RAII for libnl objects.
struct nl_addr_ptr {
  nl_addr* p = nullptr;
  ~nl_addr_ptr() {
    if (p) nl_addr_put(p);
  }
};

int family_of(bool v6) { return v6 ? AF_INET6 : AF_INET; }

nl_addr* make_addr(bool v6, const std::uint8_t* octets, unsigned prefix) {
  nl_addr* a = nl_addr_build(family_of(v6), octets, v6 ? 16 : 4);
  if (a) nl_addr_set_prefixlen(a, static_cast<int>(prefix));
  return a;
}

nl_addr* make_addr(const ip_address& ip) { return make_addr(ip.v6, ip.octets.data(), ip.v6 ? 128 : 32); }

std::string spi_hex(std::uint32_t spi) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", spi);
  return buf;
}

std::string policy_key(std::uint8_t dir, const xfrm_selector& sel, std::uint32_t mv, std::uint32_t mm) {
  std::string k(1, static_cast<char>(dir));
  k.append(reinterpret_cast<const char*>(&sel), sizeof sel);
  k.append(reinterpret_cast<const char*>(&mv), sizeof mv);
  k.append(reinterpret_cast<const char*>(&mm), sizeof mm);
  return k;
}

const char* dir_name(std::uint8_t dir) {
  return dir == XFRM_POLICY_IN ? "in" : dir == XFRM_POLICY_OUT ? "out" : dir == XFRM_POLICY_FWD ? "fwd" : "?";
}

std::string describe(const kernel_selector& k) {
  auto side = [&](const prefix_port& p) {
    char buf[INET6_ADDRSTRLEN] = {};
    inet_ntop(family_of(k.v6), p.addr.data(), buf, sizeof buf);
    std::string s = std::string(buf) + "/" + std::to_string(p.prefix);
    if (p.port_mask) s += ":" + std::to_string(p.port) + (p.port_mask != 0xffff ? "/" + spi_hex(p.port_mask) : "");
    return s;
  };
  std::string s = side(k.src) + " -> " + side(k.dst);
  if (k.protocol) s += " proto " + std::to_string(k.protocol);
  return s;
}

// A policy as libnl wants it: selector, priority, action allow, one ESP template.
xfrmnl_sp* build_policy(std::uint8_t dir, const kernel_selector& k, std::uint32_t priority, const child_install& c,
                        bool inbound, std::uint32_t reqid) {
  xfrmnl_sp* sp = xfrmnl_sp_alloc();
  xfrmnl_sel* sel = xfrmnl_sel_alloc();
  if (!sp || !sel) {
    if (sp) xfrmnl_sp_put(sp);
    if (sel) xfrmnl_sel_put(sel);
    return nullptr;
  }
  nl_addr_ptr s{make_addr(k.v6, k.src.addr.data(), k.src.prefix)};
  nl_addr_ptr d{make_addr(k.v6, k.dst.addr.data(), k.dst.prefix)};
  xfrmnl_sel_set_saddr(sel, s.p);
  xfrmnl_sel_set_daddr(sel, d.p);
  xfrmnl_sel_set_prefixlen_s(sel, k.src.prefix);
  xfrmnl_sel_set_prefixlen_d(sel, k.dst.prefix);
  xfrmnl_sel_set_sport(sel, k.src.port);
  xfrmnl_sel_set_sportmask(sel, k.src.port_mask);
  xfrmnl_sel_set_dport(sel, k.dst.port);
  xfrmnl_sel_set_dportmask(sel, k.dst.port_mask);
  xfrmnl_sel_set_family(sel, family_of(k.v6));
  xfrmnl_sel_set_proto(sel, k.protocol);
  xfrmnl_sp_set_sel(sp, sel);
  xfrmnl_sel_put(sel);

  xfrmnl_sp_set_dir(sp, dir);
  xfrmnl_sp_set_priority(sp, priority);
  xfrmnl_sp_set_action(sp, XFRM_POLICY_ALLOW);
  xfrmnl_sp_set_share(sp, XFRM_SHARE_ANY);
  const auto& mark = inbound ? c.mark_in : c.mark_out;
  if (mark.mask) xfrmnl_sp_set_mark(sp, mark.value, mark.mask);

  xfrmnl_user_tmpl* t = xfrmnl_user_tmpl_alloc();
  if (!t) {
    xfrmnl_sp_put(sp);
    return nullptr;
  }
  const ip_address& from = inbound ? c.remote.addr : c.local.addr;
  const ip_address& to = inbound ? c.local.addr : c.remote.addr;
  nl_addr_ptr ts{make_addr(from)};
  nl_addr_ptr td{make_addr(to)};
  xfrmnl_user_tmpl_set_saddr(t, ts.p);
  xfrmnl_user_tmpl_set_daddr(t, td.p);
  xfrmnl_user_tmpl_set_family(t, family_of(to.v6));
  xfrmnl_user_tmpl_set_proto(t, IPPROTO_ESP);
  xfrmnl_user_tmpl_set_spi(t, 0);
  xfrmnl_user_tmpl_set_reqid(t, reqid);
  xfrmnl_user_tmpl_set_mode(t, c.child.mode == sa::child_mode::tunnel ? XFRM_MODE_TUNNEL : XFRM_MODE_TRANSPORT);
  xfrmnl_user_tmpl_set_share(t, XFRM_SHARE_ANY);
  xfrmnl_user_tmpl_set_optional(t, 0);
  xfrmnl_user_tmpl_set_aalgos(t, ~0u);
  xfrmnl_user_tmpl_set_ealgos(t, ~0u);
  xfrmnl_user_tmpl_set_calgos(t, ~0u);
  xfrmnl_sp_add_usertemplate(sp, t);  // the policy owns the template from here
  return sp;
}

// XFRM_MSG_DELPOLICY by selector (index 0) or by index: libnl's xfrmnl_sp_delete needs a whole
// policy object with an index, which we do not keep.
nl_msg* build_delete_policy(std::uint8_t dir, const xfrm_selector& sel, std::uint32_t mv, std::uint32_t mm,
                            std::uint32_t index = 0) {
  nl_msg* m = nlmsg_alloc_simple(XFRM_MSG_DELPOLICY, 0);
  if (!m) return nullptr;
  xfrm_userpolicy_id id;
  std::memset(&id, 0, sizeof id);
  id.sel = sel;
  id.dir = dir;
  id.index = index;
  if (nlmsg_append(m, &id, sizeof id, NLMSG_ALIGNTO) < 0) {
    nlmsg_free(m);
    return nullptr;
  }
  if (mm) {
    xfrm_mark mark{mv, mm};
    if (nla_put(m, XFRMA_MARK, sizeof mark, &mark) < 0) {
      nlmsg_free(m);
      return nullptr;
    }
  }
  return m;
}

xfrmnl_ltime_cfg* build_lifetime(const sa_lifetime& l) {
  xfrmnl_ltime_cfg* lt = xfrmnl_ltime_cfg_alloc();
  if (!lt) return nullptr;
  auto or_inf = [](std::uint64_t v) { return v ? v : inf; };
  xfrmnl_ltime_cfg_set_soft_bytelimit(lt, or_inf(l.soft_bytes));
  xfrmnl_ltime_cfg_set_hard_bytelimit(lt, or_inf(l.hard_bytes));
  xfrmnl_ltime_cfg_set_soft_packetlimit(lt, or_inf(l.soft_packets));
  xfrmnl_ltime_cfg_set_hard_packetlimit(lt, or_inf(l.hard_packets));
  xfrmnl_ltime_cfg_set_soft_addexpires(lt, l.soft_seconds);
  xfrmnl_ltime_cfg_set_hard_addexpires(lt, l.hard_seconds);
  xfrmnl_ltime_cfg_set_soft_useexpires(lt, 0);
  xfrmnl_ltime_cfg_set_hard_useexpires(lt, 0);
  return lt;
}

struct sa_params {
  ip_address src, dst;
  std::uint32_t spi = 0, reqid = 0;
  bool tunnel = true;
  bool encap = false;
  std::uint16_t sport = 0, dport = 0;
  unsigned replay_window = 32;
  sa_lifetime lifetime;
  std::uint32_t mark_value = 0, mark_mask = 0;
  xfrm_algorithms alg;
  bytes_view encr_key, integ_key;
};

// Builds XFRM_MSG_NEWSA (or UPDSA for an SPI reserved with ALLOCSPI) with libnl.
result<nl_msg*> build_sa(const sa_params& p, bool update) {
  xfrmnl_sa* sa = xfrmnl_sa_alloc();
  if (!sa) return make_error(errc::kernel_failure, "out of memory building an XFRM state");
  struct guard {
    xfrmnl_sa* s;
    ~guard() { xfrmnl_sa_put(s); }
  } g{sa};
  nl_addr_ptr s{make_addr(p.src)};
  nl_addr_ptr d{make_addr(p.dst)};
  xfrmnl_sa_set_family(sa, family_of(p.dst.v6));
  xfrmnl_sa_set_daddr(sa, d.p);
  xfrmnl_sa_set_saddr(sa, s.p);
  xfrmnl_sa_set_spi(sa, p.spi);
  xfrmnl_sa_set_proto(sa, IPPROTO_ESP);
  xfrmnl_sa_set_reqid(sa, p.reqid);
  xfrmnl_sa_set_mode(sa, p.tunnel ? XFRM_MODE_TUNNEL : XFRM_MODE_TRANSPORT);
  unsigned flags = 0;
  // Tunnel mode: leave the SA's selector unspecified so one SA carries both inner families.
  if (p.tunnel) flags |= XFRM_STATE_AF_UNSPEC;
  if (p.alg.esn) flags |= XFRM_STATE_ESN;
  xfrmnl_sa_set_flags(sa, flags);
  std::vector<unsigned> bitmap;
  if (p.alg.esn || p.replay_window > 32) {
    // Windows above 32 packets (and ESN) need the variable-size replay state; the fixed field stays 0.
    unsigned words = (p.replay_window + 31) / 32;
    if (words == 0) words = 1;
    bitmap.assign(words, 0);
    xfrmnl_sa_set_replay_window(sa, 0);
    xfrmnl_sa_set_replay_state_esn(sa, 0, 0, 0, 0, p.replay_window, words, bitmap.data());
  } else {
    xfrmnl_sa_set_replay_window(sa, p.replay_window);
  }
  if (xfrmnl_ltime_cfg* lt = build_lifetime(p.lifetime)) {
    xfrmnl_sa_set_lifetime_cfg(sa, lt);
    xfrmnl_ltime_cfg_put(lt);
  }
  auto key = [](bytes_view k) { return reinterpret_cast<const char*>(k.data()); };
  if (p.alg.aead) {
    xfrmnl_sa_set_aead_params(sa, p.alg.aead_name.c_str(), p.alg.aead_key_bits, p.alg.icv_bits, key(p.encr_key));
  } else {
    static const std::uint8_t none[1] = {0};
    xfrmnl_sa_set_crypto_params(sa, p.alg.cipher_name.c_str(), p.alg.cipher_key_bits,
                                p.encr_key.empty() ? reinterpret_cast<const char*>(none) : key(p.encr_key));
    xfrmnl_sa_set_auth_params(sa, p.alg.auth_name.c_str(), p.alg.auth_key_bits, p.alg.auth_trunc_bits,
                              key(p.integ_key));
  }
  if (p.encap) {
    std::uint8_t zero[16] = {};
    nl_addr_ptr oa{make_addr(p.dst.v6, zero, 0)};
    xfrmnl_sa_set_encap_tmpl(sa, UDP_ENCAP_ESPINUDP, p.sport, p.dport, oa.p);
  }
  if (p.mark_mask) xfrmnl_sa_set_mark(sa, p.mark_value, p.mark_mask);
  nl_msg* msg = nullptr;
  int e = update ? xfrmnl_sa_build_update_request(sa, 0, &msg) : xfrmnl_sa_build_add_request(sa, 0, &msg);
  if (e < 0) return make_error(errc::kernel_failure, std::string("building an XFRM state: ") + nl_geterror(e));
  return msg;
}

nl_msg* build_delete_sa(const ip_address& dst, std::uint32_t spi, std::uint32_t mv, std::uint32_t mm) {
  xfrmnl_sa* sa = xfrmnl_sa_alloc();
  if (!sa) return nullptr;
  nl_addr_ptr d{make_addr(dst)};
  xfrmnl_sa_set_family(sa, family_of(dst.v6));
  xfrmnl_sa_set_daddr(sa, d.p);
  xfrmnl_sa_set_spi(sa, spi);
  xfrmnl_sa_set_proto(sa, IPPROTO_ESP);
  if (mm) xfrmnl_sa_set_mark(sa, mv, mm);
  nl_msg* msg = nullptr;
  int e = xfrmnl_sa_build_delete_request(sa, 0, &msg);
  xfrmnl_sa_put(sa);
  return e < 0 ? nullptr : msg;
}

std::string address_key(const ip_address& a) { return a.to_string(); }

}  // namespace

// --- probe --------------------------------------------------------------------------------------

esp_probe_result probe_esp() {
  esp_probe_result r;
  auto sock = xfrm_socket::open();
  if (!sock) {
    r.detail = sock.err().message;
    return r;
  }
  r.xfrm = true;
  sa_params p;
  p.src = *ip_address::parse("192.0.2.1");
  p.dst = *ip_address::parse("192.0.2.2");
  p.spi = 0xc0000000u | (crypto::random_u32() & 0x0fffffffu);
  p.reqid = reqid_first;
  bytes key(36, 0x5a);
  // AES-GCM first (what most peers negotiate); if only the algorithm is missing, try AES-CBC + HMAC.
  std::vector<std::string> errors;
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (attempt == 0) {
      p.alg = xfrm_algorithms{};
      p.alg.aead = true;
      p.alg.aead_name = "rfc4106(gcm(aes))";
      p.alg.aead_key_bits = 160;
      p.alg.icv_bits = 128;
      p.encr_key = bytes_view(key.data(), 20);
    } else {
      p.alg = xfrm_algorithms{};
      p.alg.cipher_name = "cbc(aes)";
      p.alg.cipher_key_bits = 128;
      p.alg.auth_name = "hmac(sha256)";
      p.alg.auth_key_bits = 256;
      p.alg.auth_trunc_bits = 128;
      p.encr_key = bytes_view(key.data(), 16);
      p.integ_key = bytes_view(key.data(), 32);
    }
    auto msg = build_sa(p, false);
    if (!msg) {
      r.detail = msg.err().message;
      return r;
    }
    auto added = sock->request(*msg, "adding a probe ESP state");
    if (added) {
      if (nl_msg* del = build_delete_sa(p.dst, p.spi, 0, 0)) (void)sock->request(del, "deleting the probe ESP state");
      r.esp = true;
      r.detail = "the kernel accepts ESP states";
      return r;
    }
    errors.push_back(added.err().message);
  }
  r.detail = errors.front();
  if (errors.size() > 1 && errors[1] != errors[0]) r.detail += "; " + errors[1];
  return r;
}

// --- backend ------------------------------------------------------------------------------------

result<std::unique_ptr<xfrm_backend>> xfrm_backend::open(const xfrm_ownership& own) {
  auto s = xfrm_socket::open();
  if (!s) return s.err();
  // A harmless request proves the interface answers (a dump of one policy direction would be more).
  return std::unique_ptr<xfrm_backend>(new xfrm_backend(std::move(*s), own));
}

xfrm_backend::xfrm_backend(xfrm_socket s, const xfrm_ownership& own) : sock_(std::move(s)), own_(own) {}

xfrm_backend::~xfrm_backend() { stop(); }

result<std::vector<xfrm_backend::planned_policy>> xfrm_backend::plan_policies(const child_install& c) {
  const auto& ch = c.child;
  bool tunnel = ch.mode == sa::child_mode::tunnel;
  std::vector<planned_policy> plan;
  for (const auto& l : ch.local_ts)
    for (const auto& r : ch.remote_ts) {
      if (l.v6 != r.v6) continue;  // a pair of different families selects no packet
      auto out = to_kernel_selectors(l, r);
      if (!out) return out.err();
      auto in = to_kernel_selectors(r, l);
      if (!in) return in.err();
      auto add = [&](std::uint8_t dir, const kernel_selector& k, bool inbound) {
        const auto& mark = inbound ? c.mark_in : c.mark_out;
        plan.push_back({dir, k, inbound, policy_key(dir, raw_selector(k), mark.value, mark.mask)});
      };
      for (const auto& k : *out) add(XFRM_POLICY_OUT, k, false);
      for (const auto& k : *in) {
        add(XFRM_POLICY_IN, k, true);
        if (tunnel) add(XFRM_POLICY_FWD, k, true);
      }
    }
  if (plan.empty())
    return make_error(errc::invalid_argument, "CHILD_SA " + ch.name + " has no selector pair of one address family");
  return plan;
}

status xfrm_backend::add_policies(const child_install& c, const std::vector<planned_policy>& plan,
                                  std::uint32_t kernel_reqid, child_record& rec) {
  for (const auto& p : plan) {
    xfrm_selector raw = raw_selector(p.sel);
    const auto& mark = p.inbound ? c.mark_in : c.mark_out;
    const std::string& key = p.key;
    if (auto it = policies_.find(key); it != policies_.end()) {
      ++it->second->refs;
      rec.policies.push_back(key);
      continue;
    }
    std::uint32_t prio = policy_priority(policy_kind::ipsec, p.sel.shape(), own_);
    xfrmnl_sp* sp = build_policy(p.dir, p.sel, prio, c, p.inbound, kernel_reqid);
    if (!sp) return make_error(errc::kernel_failure, "out of memory building an XFRM policy");
    auto trap = trap_policies_.find(key);
    bool replaces_trap = trap != trap_policies_.end() && !trap->second->displaced;
    nl_msg* msg = nullptr;
    int e = replaces_trap ? xfrmnl_sp_build_update_request(sp, 0, &msg) : xfrmnl_sp_build_add_request(sp, 0, &msg);
    xfrmnl_sp_put(sp);
    if (e < 0) return make_error(errc::kernel_failure, std::string("building an XFRM policy: ") + nl_geterror(e));
    std::string what = std::string("adding the ") + dir_name(p.dir) + " policy " + describe(p.sel);
    if (auto r = sock_.request(msg, what); !r) {
      if (sock_.last_errno() == EEXIST)
        return make_error(errc::kernel_failure, what + ": a policy for this selector and direction already exists "
                                                       "and aike does not own it (another IPsec daemon or a manual "
                                                       "`ip xfrm policy`)");
      return r;
    }
    if (replaces_trap) trap->second->displaced = true;
    auto entry = std::make_shared<policy_entry>();
    entry->dir = p.dir;
    entry->sel = raw;
    entry->mark_value = mark.value;
    entry->mark_mask = mark.mask;
    entry->refs = 1;
    policies_.emplace(key, entry);
    rec.policies.push_back(key);
  }
  return ok_v;
}

void xfrm_backend::release_policy(const std::string& key) {
  auto it = policies_.find(key);
  if (it == policies_.end()) return;
  if (--it->second->refs > 0) return;
  const auto& e = *it->second;
  if (auto trap = trap_policies_.find(key); trap != trap_policies_.end() && trap->second->displaced) {
    // The trap takes its selector back.
    trap->second->displaced = false;
    (void)put_trap_policy(*trap->second, true);
  } else if (nl_msg* m = build_delete_policy(e.dir, e.sel, e.mark_value, e.mark_mask)) {
    (void)sock_.request(m, "deleting a policy");  // already gone is fine: removal is idempotent
  }
  policies_.erase(it);
}

status xfrm_backend::put_trap_policy(const trap_policy& t, bool update) {
  xfrmnl_sp* sp = build_policy(XFRM_POLICY_OUT, t.sel, policy_priority(policy_kind::trap, t.sel.shape(), own_), t.params,
                               false, t.reqid);
  if (!sp) return make_error(errc::kernel_failure, "out of memory building an XFRM policy");
  nl_msg* msg = nullptr;
  int e = update ? xfrmnl_sp_build_update_request(sp, 0, &msg) : xfrmnl_sp_build_add_request(sp, 0, &msg);
  xfrmnl_sp_put(sp);
  if (e < 0) return make_error(errc::kernel_failure, std::string("building an XFRM policy: ") + nl_geterror(e));
  std::string what = "adding the trap policy " + describe(t.sel) + " (reqid " + std::to_string(t.reqid) + ")";
  auto r = sock_.request(msg, what);
  if (!r && sock_.last_errno() == EEXIST)
    return make_error(errc::kernel_failure, what + ": a policy for this selector already exists and aike does not "
                                                   "own it (another IPsec daemon or a manual `ip xfrm policy`)");
  return r;
}

status xfrm_backend::install_trap(const trap_install& t) {
  if (traps_.count(t.reqid)) return make_error(errc::invalid_argument, "trap reqid " + std::to_string(t.reqid) + " is already installed");
  if (!own_.owns_reqid(t.reqid))
    return make_error(errc::invalid_argument, "trap reqid " + std::to_string(t.reqid) + " lies outside aike's range");
  if (t.local.v6 != t.remote.v6)
    return make_error(errc::invalid_argument, "trap " + t.connection + "/" + t.child + ": outer addresses of two families");
  child_install params;
  params.connection = t.connection;
  params.child.name = t.child;
  params.child.reqid = t.reqid;
  params.child.mode = t.mode;
  params.mark_out = t.mark_out;
  params.local.addr = t.local;
  params.remote.addr = t.remote;
  std::vector<std::string> keys;
  auto undo = [&] {
    for (const auto& k : keys) {
      auto it = trap_policies_.find(k);
      if (!it->second->displaced)
        if (nl_msg* m = build_delete_policy(XFRM_POLICY_OUT, raw_selector(it->second->sel), t.mark_out.value,
                                            t.mark_out.mask))
          (void)sock_.request(m, "removing a trap policy");
      trap_policies_.erase(it);
    }
  };
  for (const auto& l : t.local_ts)
    for (const auto& r : t.remote_ts) {
      if (l.v6 != r.v6) continue;
      auto sels = to_kernel_selectors(l, r);
      if (!sels) {
        undo();
        return sels.err();
      }
      for (const auto& k : *sels) {
        std::string key = policy_key(XFRM_POLICY_OUT, raw_selector(k), t.mark_out.value, t.mark_out.mask);
        if (trap_policies_.count(key)) continue;  // another trap already catches this selector
        auto tp = std::make_shared<trap_policy>();
        tp->sel = k;
        tp->params = params;
        tp->reqid = t.reqid;
        // A CHILD_SA already holds this selector: the trap waits until it goes.
        tp->displaced = policies_.count(key) > 0;
        if (!tp->displaced)
          if (auto r2 = put_trap_policy(*tp, false); !r2) {
            undo();
            return r2;
          }
        trap_policies_.emplace(key, tp);
        keys.push_back(key);
      }
    }
  if (keys.empty())
    return make_error(errc::invalid_argument, "trap " + t.connection + "/" + t.child + " has no selector pair of one address family");
  traps_.emplace(t.reqid, std::move(keys));
  return ok_v;
}

status xfrm_backend::remove_trap(std::uint32_t reqid) {
  auto it = traps_.find(reqid);
  if (it == traps_.end()) return ok_v;
  status result = ok_v;
  for (const auto& k : it->second) {
    auto tp = trap_policies_.find(k);
    if (tp == trap_policies_.end()) continue;
    const auto& mark = tp->second->params.mark_out;
    if (!tp->second->displaced)
      if (nl_msg* m = build_delete_policy(XFRM_POLICY_OUT, raw_selector(tp->second->sel), mark.value, mark.mask))
        if (auto r = sock_.request(m, "removing a trap policy"); !r && sock_.last_errno() != ENOENT && result) result = r;
    trap_policies_.erase(tp);
  }
  traps_.erase(it);
  return result;
}

namespace {

// One direction of a CHILD_SA as an XFRM state.
result<sa_params> sa_params_for(const child_install& c, bool inbound, std::uint32_t kernel_reqid) {
  const auto& ch = c.child;
  auto alg = map_esp_proposal(ch.proposal, (inbound ? ch.encr_in : ch.encr_out).size(),
                              (inbound ? ch.integ_in : ch.integ_out).size());
  if (!alg) return alg.err();
  sa_params p;
  p.src = inbound ? c.remote.addr : c.local.addr;
  p.dst = inbound ? c.local.addr : c.remote.addr;
  p.spi = inbound ? ch.spi_in : ch.spi_out;
  p.reqid = kernel_reqid;
  p.tunnel = ch.mode == sa::child_mode::tunnel;
  p.encap = ch.encap;
  p.sport = inbound ? c.remote.port : c.local.port;
  p.dport = inbound ? c.local.port : c.remote.port;
  p.replay_window = c.replay_window;
  p.lifetime = c.lifetime;
  p.mark_value = (inbound ? c.mark_in : c.mark_out).value;
  p.mark_mask = (inbound ? c.mark_in : c.mark_out).mask;
  p.alg = *alg;
  p.encr_key = inbound ? bytes_view(ch.encr_in) : bytes_view(ch.encr_out);
  p.integ_key = inbound ? bytes_view(ch.integ_in) : bytes_view(ch.integ_out);
  return p;
}

}  // namespace

status xfrm_backend::add_sa(const child_install& c, bool inbound, std::uint32_t kernel_reqid) {
  auto params = sa_params_for(c, inbound, kernel_reqid);
  if (!params) return params.err();
  sa_params& p = *params;
  auto larval = larval_.find({address_key(p.dst), p.spi});
  bool update = inbound && larval != larval_.end();
  std::string what = std::string("adding the ") + (inbound ? "inbound" : "outbound") + " ESP SA " + spi_hex(p.spi) +
                     " " + p.src.to_string() + " -> " + p.dst.to_string();
  auto msg = build_sa(p, update);
  if (!msg) return msg.err();
  auto r = sock_.request(*msg, what);
  if (update && !r && sock_.last_errno() == ESRCH) {
    // The larval state expired (net.core.xfrm_acq_expires) before the exchange finished: add anew.
    larval_.erase(larval);
    update = false;
    auto again = build_sa(p, false);
    if (!again) return again.err();
    r = sock_.request(*again, what);
  }
  if (update) {
    // Completed, or refused (then the larval state would only wait for its expiry): either way
    // this backend no longer holds it as a reservation.
    if (!r) (void)delete_sa({p.dst, p.spi, 0, 0});
    larval_.erase(larval);
  }
  return r;
}

status xfrm_backend::delete_sa(const sa_ref& s) {
  nl_msg* m = build_delete_sa(s.dst, s.spi, s.mark_value, s.mark_mask);
  if (!m) return make_error(errc::kernel_failure, "out of memory building an XFRM state deletion");
  auto r = sock_.request(m, "deleting the ESP SA " + spi_hex(s.spi) + " to " + s.dst.to_string());
  if (!r && sock_.last_errno() == ESRCH) return ok_v;  // already gone (expired, flushed)
  return r;
}

status xfrm_backend::install(const child_install& c) {
  const auto& ch = c.child;
  if (children_.count(ch.id))
    return make_error(errc::invalid_argument, "CHILD_SA " + std::to_string(ch.id) + " is already installed");
  if (c.local.addr.v6 != c.remote.addr.v6)
    return make_error(errc::invalid_argument, "outer addresses " + c.local.addr.to_string() + " and " +
                                                  c.remote.addr.to_string() + " are of different families");
  if (!own_.owns_reqid(ch.reqid))
    return make_error(errc::invalid_argument, "reqid " + std::to_string(ch.reqid) +
                                                  " lies outside aike's reqid range; it would not be recognised "
                                                  "as aike's after a crash");
  if (c.replay_window > 4096) return make_error(errc::invalid_argument, "replay window above 4096 packets");
  // Refuse unusable algorithms before touching the kernel.
  for (bool inbound : {true, false}) {
    auto alg = map_esp_proposal(ch.proposal, (inbound ? ch.encr_in : ch.encr_out).size(),
                                (inbound ? ch.integ_in : ch.integ_out).size());
    if (!alg) return alg.err();
  }

  auto plan = plan_policies(c);
  if (!plan) return plan.err();
  std::vector<std::string> keys;
  for (const auto& p : *plan) keys.push_back(p.key);
  // The kernel reqid: the one the templates of its shared policies name (kernel/shared_reqids.hpp).
  auto assigned = reqids_.add(ch.id, ch.reqid, c.connection + "/" + ch.name + "{" + std::to_string(ch.id) + "}", keys);
  if (!assigned.warning.empty()) warnings_.push_back(assigned.warning);
  child_record rec;
  rec.info = describe(c);
  rec.kernel_reqid = assigned.kernel_reqid;
  rec.lifetime = c.lifetime;

  if (auto r = add_policies(c, *plan, rec.kernel_reqid, rec); !r) {
    for (const auto& k : rec.policies) release_policy(k);
    reqids_.remove(ch.id);
    return r;
  }
  status sa_status = ok_v;
  for (bool inbound : {true, false}) {
    auto r = add_sa(c, inbound, rec.kernel_reqid);
    if (!r) {
      sa_status = r;
      break;
    }
    const auto& mark = inbound ? c.mark_in : c.mark_out;
    rec.sas.push_back({inbound ? c.local.addr : c.remote.addr, inbound ? ch.spi_in : ch.spi_out, mark.value, mark.mask});
  }
  if (!sa_status) {
    // Fail closed: the policies stay, so the tunnel's traffic is dropped, never sent in the clear.
    for (const auto& s : rec.sas) (void)delete_sa(s);
    rec.sas.clear();
    rec.info.kernel_error = sa_status.err().message;
  }
  children_.emplace(ch.id, std::move(rec));
  if (!sa_status)
    return make_error(errc::kernel_failure, sa_status.err().message + " (the policies of CHILD_SA " + ch.name +
                                                " stay installed, so its traffic is dropped rather than sent in the "
                                                "clear)");
  return ok_v;
}

status xfrm_backend::remove(std::uint32_t child_id) {
  auto it = children_.find(child_id);
  if (it == children_.end()) return ok_v;
  status result = ok_v;
  for (const auto& s : it->second.sas)
    if (auto r = delete_sa(s); !r && result) result = r;
  for (const auto& k : it->second.policies) release_policy(k);
  reqids_.remove(child_id);
  children_.erase(it);
  return result;
}

result<std::uint32_t> xfrm_backend::reserve_spi(const ip_address& local, std::uint32_t reqid) {
  ip_address any;
  any.v6 = local.v6;
  return alloc_spi(any, local, reqid);
}

void xfrm_backend::release_spi(const ip_address& local, std::uint32_t spi) {
  auto it = larval_.find({address_key(local), spi});
  if (it == larval_.end()) return;
  larval_.erase(it);
  // Gone already is fine: the kernel drops larval states after net.core.xfrm_acq_expires.
  if (nl_msg* m = build_delete_sa(local, spi, 0, 0)) (void)sock_.request(m, "releasing a reserved SPI");
}

std::uint32_t xfrm_backend::note_migrate(std::uint32_t reqid, const ip_address& old_local, const ip_address& old_remote,
                                         const ip_address& new_local, const ip_address& new_remote) {
  std::uint32_t n = 0;
  for (auto& [id, rec] : children_) {
    // The kernel names the reqid of the templates and SAs: a CHILD_SA's kernel reqid.
    if (rec.kernel_reqid != reqid || !(rec.info.local.addr == old_local) || !(rec.info.remote.addr == old_remote))
      continue;
    rec.info.local.addr = new_local;
    rec.info.remote.addr = new_remote;
    for (auto& s : rec.sas) s.dst = s.dst == old_local ? new_local : new_remote;
    ++n;
  }
  return n;
}

status xfrm_backend::update_remote(const child_install& c) {
  auto it = children_.find(c.child.id);
  if (it == children_.end())
    return make_error(errc::invalid_argument, "CHILD_SA " + std::to_string(c.child.id) + " is not installed");
  auto& rec = it->second;
  const std::string name = c.connection + "/" + c.child.name + "{" + std::to_string(c.child.id) + "}";
  if (rec.info.remote == c.remote) return ok_v;
  if (!(rec.info.remote.addr == c.remote.addr))
    return make_error(errc::unsupported, "CHILD_SA " + name + ": the peer moved to " + c.remote.to_string() +
                                             ", but its kernel SAs and policies stay with " +
                                             rec.info.remote.to_string() +
                                             " (a new peer address needs XFRM_MSG_MIGRATE, which aike does not send)");
  // Without UDP encapsulation no port is in the kernel; SAs the kernel refused are not there.
  if (!rec.info.encap || rec.sas.empty()) {
    rec.info.remote = c.remote;
    return ok_v;
  }
  child_install now = c;
  now.local = rec.info.local;
  now.lifetime = rec.lifetime;
  for (const auto& s : rec.sas) {
    bool inbound = s.spi == c.child.spi_in;
    auto p = sa_params_for(now, inbound, rec.kernel_reqid);
    if (!p) return p.err();
    p->mark_value = s.mark_value;  // as installed: the kernel finds the state by mark too
    p->mark_mask = s.mark_mask;
    auto msg = build_sa(*p, true);
    if (!msg) return msg.err();
    std::string what = std::string("moving the ") + (inbound ? "inbound" : "outbound") + " ESP SA " + spi_hex(s.spi) +
                       " of " + name + " to peer port " + std::to_string(c.remote.port);
    if (auto r = sock_.request(*msg, what); !r) return r;
  }
  rec.info.remote = c.remote;
  return ok_v;
}

std::vector<installed_child> xfrm_backend::list() const {
  std::vector<installed_child> out;
  out.reserve(children_.size());
  for (const auto& [id, rec] : children_) out.push_back(rec.info);
  return out;
}

void xfrm_backend::stop() {
  while (!children_.empty()) (void)remove(children_.begin()->first);
  while (!traps_.empty()) (void)remove_trap(traps_.begin()->first);
  for (const auto& [dst, spi] : larval_) {
    if (auto a = ip_address::parse(dst))
      if (nl_msg* m = build_delete_sa(*a, spi, 0, 0)) (void)sock_.request(m, "deleting a reserved SPI");
  }
  larval_.clear();
}

void xfrm_backend::abandon() {
  children_.clear();
  policies_.clear();
  reqids_.clear();
  trap_policies_.clear();
  traps_.clear();
  larval_.clear();
}

result<std::vector<std::string>> xfrm_backend::start(bool flush_on_start) {
  std::vector<std::string> lines;
  auto hint = [this](const error& e) {
    if (sock_.last_errno() != EPERM) return e;
    return make_error(errc::kernel_failure, e.message + "; aiked needs CAP_NET_ADMIN for kernel = \"xfrm\"");
  };
  if (flush_on_start) {
    if (auto r = flush_all(); !r) return hint(r.err());
    lines.push_back("flush_on_start: flushed every XFRM SA and policy (of every owner)");
    return lines;
  }
  auto rep = reconcile();
  if (!rep) return hint(rep.err());
  lines.push_back("reconciled kernel state: removed " + std::to_string(rep->policies_removed) + " policies and " +
                  std::to_string(rep->sas_removed) + " SAs left by an earlier aiked; left " +
                  std::to_string(rep->policies_kept) + " policies and " + std::to_string(rep->sas_kept) +
                  " SAs of others alone");
  for (const auto& f : rep->failures) lines.push_back("reconcile: " + f);
  return lines;
}

namespace {

// Dumps one kernel table (policies or states) through a libnl cache and calls f for every object.
template <class Object, class F>
status for_each_cached(xfrm_socket& sock, int (*alloc)(nl_sock*, nl_cache**), const char* what, F f) {
  nl_cache* cache = nullptr;
  if (int e = alloc(sock.get(), &cache); e < 0) return sock.check(e, what);
  for (nl_object* o = nl_cache_get_first(cache); o; o = nl_cache_get_next(o)) f(reinterpret_cast<Object*>(o));
  nl_cache_free(cache);
  return ok_v;
}

// Sends prepared deletions; one that finds its object already gone (gone_errno) counts as done.
void send_deletions(xfrm_socket& sock, const std::vector<nl_msg*>& msgs, const char* what, int gone_errno,
                    unsigned& done, std::vector<std::string>& failures) {
  for (nl_msg* m : msgs) {
    auto r = sock.request(m, what);
    if (r || sock.last_errno() == gone_errno)
      ++done;
    else
      failures.push_back(r.err().message);
  }
}


}  // namespace

result<reconcile_report> xfrm_backend::reconcile() {
  reconcile_report rep;
  // Policies in aike's band, except those this backend holds right now.
  std::vector<dumped_policy> dumped;
  if (auto r = dump_policies(sock_, dumped); !r) return r.err();
  std::vector<nl_msg*> deletions;
  for (const auto& p : dumped) {
    if (p.info.dir >= XFRM_POLICY_MAX || !own_.owns_policy_priority(p.info.priority)) {
      ++rep.policies_kept;
      continue;
    }
    std::string key = policy_key(p.info.dir, p.info.sel, p.mark_value, p.mark_mask);
    if (policies_.count(key) || trap_policies_.count(key)) continue;
    if (nl_msg* m = build_delete_policy(p.info.dir, p.info.sel, p.mark_value, p.mark_mask, p.info.index))
      deletions.push_back(m);
  }
  send_deletions(sock_, deletions, "removing a stale aike policy", ENOENT, rep.policies_removed, rep.failures);
  deletions.clear();

  // SAs with a reqid in aike's range, except those this backend holds (installed or reserved).
  std::set<std::pair<std::string, std::uint32_t>> held = larval_;
  for (const auto& [id, rec] : children_)
    for (const auto& s : rec.sas) held.insert({address_key(s.dst), s.spi});
  auto listed = for_each_cached<xfrmnl_sa>(sock_, xfrmnl_sa_alloc_cache, "listing the kernel's XFRM states",
                                      [&](xfrmnl_sa* sa) {
    int reqid = xfrmnl_sa_get_reqid(sa);
    if (reqid < 0 || !own_.owns_reqid(static_cast<std::uint32_t>(reqid))) {
      ++rep.sas_kept;
      return;
    }
    if (nl_addr* d = xfrmnl_sa_get_daddr(sa)) {
      ip_address a = ip_address::from_bytes(
          bytes_view(static_cast<const std::uint8_t*>(nl_addr_get_binary_addr(d)), nl_addr_get_len(d)));
      if (held.count({address_key(a), static_cast<std::uint32_t>(xfrmnl_sa_get_spi(sa))})) return;
    }
    nl_msg* m = nullptr;
    if (xfrmnl_sa_build_delete_request(sa, 0, &m) >= 0) deletions.push_back(m);
  });
  if (!listed) return listed.err();
  send_deletions(sock_, deletions, "removing a stale aike SA", ESRCH, rep.sas_removed, rep.failures);
  return rep;
}

status xfrm_backend::flush_all() {
  nl_msg* m = nlmsg_alloc_simple(XFRM_MSG_FLUSHSA, 0);
  if (!m) return make_error(errc::kernel_failure, "out of memory");
  xfrm_usersa_flush f;
  std::memset(&f, 0, sizeof f);
  f.proto = IPSEC_PROTO_ANY;
  if (nlmsg_append(m, &f, sizeof f, NLMSG_ALIGNTO) < 0) {
    nlmsg_free(m);
    return make_error(errc::kernel_failure, "building XFRM_MSG_FLUSHSA");
  }
  if (auto r = sock_.request(m, "flushing all XFRM states"); !r) return r;
  m = nlmsg_alloc_simple(XFRM_MSG_FLUSHPOLICY, 0);
  if (!m) return make_error(errc::kernel_failure, "out of memory");
  if (auto r = sock_.request(m, "flushing all XFRM policies"); !r) return r;
  // Nothing this backend held survives a flush.
  children_.clear();
  policies_.clear();
  reqids_.clear();
  trap_policies_.clear();
  traps_.clear();
  larval_.clear();
  return ok_v;
}

namespace {
int on_allocspi_reply(nl_msg* msg, void* arg) {
  nlmsghdr* h = nlmsg_hdr(msg);
  if (h->nlmsg_type == XFRM_MSG_NEWSA && nlmsg_datalen(h) >= static_cast<int>(sizeof(xfrm_usersa_info))) {
    auto* info = static_cast<xfrm_usersa_info*>(nlmsg_data(h));
    *static_cast<std::uint32_t*>(arg) = ntohl(info->id.spi);
  }
  return NL_OK;
}
}  // namespace

result<std::uint32_t> xfrm_backend::alloc_spi(const ip_address& src, const ip_address& dst, std::uint32_t reqid) {
  if (src.v6 != dst.v6) return make_error(errc::invalid_argument, "SPI allocation with addresses of two families");
  nl_msg* m = build_allocspi(src, dst, reqid);
  if (!m) return make_error(errc::kernel_failure, "building XFRM_MSG_ALLOCSPI: out of memory");
  int e = nl_send_auto(sock_.get(), m);
  nlmsg_free(m);
  std::uint32_t spi = 0;
  if (e >= 0) e = sock_.receive(on_allocspi_reply, &spi);
  if (e >= 0) e = nl_wait_for_ack(sock_.get());
  if (auto r = sock_.check(e, "reserving an ESP SPI for " + src.to_string() + " -> " + dst.to_string()); !r)
    return r.err();
  if (spi == 0) return make_error(errc::kernel_failure, "the kernel answered XFRM_MSG_ALLOCSPI without an SPI");
  larval_.insert({address_key(dst), spi});
  return spi;
}

}  // namespace aike::kernel
