#include "kernel/xfrm_doctor.hpp"

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>

#include "engine/common/spi_text.hpp"
#include "kernel/xfrm_ownership.hpp"
#include "kernel/xfrm_selectors.hpp"

namespace aike::kernel {

// --- counters -----------------------------------------------------------------------------------

std::vector<xfrm_counter> parse_xfrm_stat(std::string_view text) {
  std::vector<xfrm_counter> out;
  while (!text.empty()) {
    auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    auto name_end = line.find_first_of(" \t");
    if (name_end == 0 || name_end == std::string_view::npos) continue;
    auto num = line.find_first_not_of(" \t", name_end);
    if (num == std::string_view::npos) continue;
    std::uint64_t v = 0;
    bool digits = false, bad = false;
    for (char c : line.substr(num)) {
      if (c >= '0' && c <= '9') {
        v = v * 10 + static_cast<std::uint64_t>(c - '0');
        digits = true;
      } else if (c != ' ' && c != '\t' && c != '\r') {
        bad = true;
        break;
      }
    }
    if (!digits || bad) continue;
    out.push_back({std::string(line.substr(0, name_end)), v});
  }
  return out;
}

const std::vector<counter_explanation>& all_counter_explanations() {
  // Meanings follow the kernel's Documentation/networking/xfrm_proc.rst (and net/xfrm for the
  // counters it does not describe); the checks are aike's advice.
  static const std::vector<counter_explanation> table = {
      {"XfrmInError", "inbound IPsec packets dropped for a reason none of the other inbound counters names",
       "look at the other counters first; then the kernel log (dmesg) and the SAs' algorithms"},
      {"XfrmInBufferError", "inbound IPsec packets dropped because no buffer memory was left",
       "memory pressure on the host (free -m, /proc/net/sockstat); a burst larger than the socket buffers"},
      {"XfrmInHdrError", "inbound IPsec packets dropped because their headers were malformed or truncated",
       "a middlebox mangling ESP or ESP-in-UDP, or an MTU problem fragmenting the outer packets"},
      {"XfrmInNoStates",
       "inbound ESP/AH packets for which no SA exists: the SPI, the destination address or the protocol "
       "matches no installed SA",
       "whether the peer still uses an SPI this host already deleted (after a rekey or a restart: compare "
       "`aikectl list-sas` with the peer's view), and whether NAT changed the addresses the SA was made for"},
      {"XfrmInStateProtoError",
       "inbound packets that found their SA but failed in the ESP/AH transform itself, e.g. the integrity "
       "check failed because the keys differ",
       "both ends negotiated the same keys and algorithms (a peer that rekeyed alone, a hardware-offload "
       "bug); rekey or re-establish the CHILD_SA"},
      {"XfrmInStateModeError", "inbound packets that failed in the SA's mode handling (tunnel/transport)",
       "both ends use the same mode for this CHILD_SA (mode = \"tunnel\" vs \"transport\")"},
      {"XfrmInStateSeqError",
       "inbound packets dropped by anti-replay: their sequence number lay outside the replay window or was "
       "seen before",
       "reordering on the path (a larger replay window), or a real replay; a sender that restarted its "
       "sequence numbers without a new SA"},
      {"XfrmInStateExpired", "inbound packets for an SA that had already reached its hard lifetime",
       "rekeying happens before the hard lifetime (soft limits well below hard), and the peer moves to the "
       "new SA in time"},
      {"XfrmInStateMismatch",
       "inbound packets whose SA did not fit how they arrived, e.g. ESP-in-UDP arriving for an SA without "
       "UDP encapsulation (or the other way round)",
       "NAT detection: both ends must agree on UDP encapsulation (a NAT appearing or disappearing after the "
       "SA was made; forced encapsulation on one side only)"},
      {"XfrmInStateInvalid", "inbound packets for an SA that is not valid (being deleted, or not complete yet)",
       "SAs deleted while the peer still sends on them; a delete that reached one side only"},
      {"XfrmInTmplMismatch",
       "inbound packets matched an SA, but the policy template did not match: the inbound policy for their "
       "inner addresses names a different SA (reqid, addresses, mode)",
       "usually two CHILD_SAs with different reqids for one tunnel (several subnets configured as separate "
       "tunnels with overlapping selectors): see the overlapping-reqids findings; keep the subnets of one "
       "tunnel in one CHILD_SA so all its policies share one reqid"},
      {"XfrmInNoPols",
       "inbound packets that were decrypted correctly, but no inbound policy matches their inner addresses",
       "the CHILD_SA's traffic selectors cover the traffic the peer sends (its inner source and our inner "
       "destination); the in/fwd policies exist (`ip xfrm policy`)"},
      {"XfrmInPolBlock", "inbound packets dropped by a policy whose action is block",
       "which block policies exist (`ip xfrm policy` with action block) and whether they are meant to catch "
       "this traffic"},
      {"XfrmInPolError", "inbound packets dropped by an error while checking the policy",
       "the kernel log; policies with unusual templates"},
      {"XfrmOutError", "outbound packets dropped for a reason none of the other outbound counters names",
       "the other counters first; then the kernel log"},
      {"XfrmOutBundleGenError", "outbound packets for which the kernel could not build the chain of transforms",
       "routes to the tunnel endpoints (the outer destination must be routable), the SAs' algorithms"},
      {"XfrmOutBundleCheckError", "outbound packets whose cached chain of transforms failed its validity check",
       "SAs or routes changing underneath traffic; usually transient"},
      {"XfrmOutNoStates",
       "outbound packets matched a policy, but no SA matching its template exists (the tunnel is not up, or "
       "the SA carries a different reqid)",
       "whether the CHILD_SA is up (`aikectl list-sas`), and whether the policy's template reqid equals the "
       "SA's (policy-without-sa findings); with start_action = \"trap\" these packets start negotiation"},
      {"XfrmOutStateProtoError", "outbound packets that failed in the ESP/AH transform itself",
       "the SAs' algorithms are supported by this kernel (crypto modules), the kernel log"},
      {"XfrmOutStateModeError", "outbound packets that failed in the SA's mode handling",
       "inner/outer address families of the SA (e.g. IPv6 inside IPv4 without the needed mode support)"},
      {"XfrmOutStateSeqError", "outbound packets dropped because the SA's sequence number would overflow",
       "rekeying happens before 2^32 packets (packet lifetimes), or negotiate ESN"},
      {"XfrmOutStateExpired", "outbound packets for an SA that had already reached its hard lifetime",
       "rekeying starts early enough (soft lifetime well below the hard one) and succeeds"},
      {"XfrmOutPolBlock", "outbound packets dropped by a policy whose action is block",
       "block policies (`ip xfrm policy`), including ones a daemon installs to keep traffic from leaving in "
       "the clear while a tunnel is down"},
      {"XfrmOutPolDead", "outbound packets that hit a policy that was being removed",
       "policies removed and re-added under traffic; usually transient"},
      {"XfrmOutPolError", "outbound packets dropped by an error while looking up or applying the policy",
       "the kernel log; policies with unusual templates"},
      {"XfrmFwdHdrError", "forwarded packets dropped because the policy check for forwarding failed",
       "a fwd policy exists for tunnel traffic that this host routes on (tunnel mode installs one), and IP "
       "forwarding is wanted"},
      {"XfrmOutStateInvalid", "outbound packets for an SA that is no longer valid (deleted or expired)",
       "SAs deleted while policies still point at them; rekeys that removed the old SA too early"},
      {"XfrmAcquireError", "packets that needed an SA which had not been fully negotiated (acquire) yet",
       "an IKE daemon is listening for acquires (start_action = \"trap\") and negotiation succeeds; "
       "`aikectl list-sas`, the daemon log"},
      {"XfrmOutStateDirError", "outbound packets whose SA lookup found an SA marked for the input direction",
       "SAs added with an explicit direction (XFRMA_SA_DIR) that is wrong"},
      {"XfrmInStateDirError", "inbound packets whose SA lookup found an SA marked for the output direction",
       "SAs added with an explicit direction (XFRMA_SA_DIR) that is wrong"},
      {"XfrmInIptfsError", "inbound IP-TFS (RFC 9347) packets that could not be processed",
       "IP-TFS settings of both ends; only SAs in IP-TFS mode count here"},
      {"XfrmOutNoQueueSpace", "outbound packets dropped because an IP-TFS SA's output queue was full",
       "the IP-TFS queue size and rate of the SA; only SAs in IP-TFS mode count here"},
  };
  return table;
}

const counter_explanation* explain_counter(std::string_view name) {
  for (const auto& e : all_counter_explanations())
    if (name == e.name) return &e;
  return nullptr;
}

// --- printing -----------------------------------------------------------------------------------

const char* to_string(xfrm_dir d) {
  switch (d) {
    case xfrm_dir::in: return "in";
    case xfrm_dir::out: return "out";
    case xfrm_dir::fwd: return "fwd";
  }
  return "?";
}

const char* to_string(severity s) { return s == severity::error ? "error" : "warning"; }

namespace {

std::string hex(std::uint32_t v) { return "0x" + spi_hex(v); }

std::string proto_name(std::uint8_t p) {
  switch (p) {
    case 50: return "ESP";
    case 51: return "AH";
    case 108: return "IPComp";
    default: return "proto " + std::to_string(p);
  }
}

}  // namespace

std::string xfrm_sel::to_string() const {
  auto side = [](const ip_address& a, unsigned prefix, std::uint16_t port, std::uint16_t mask) {
    std::string s = a.to_string() + "/" + std::to_string(prefix);
    if (mask) s += ":" + std::to_string(port);
    return s;
  };
  std::string s = side(src, src_prefix, sport, sport_mask) + " -> " + side(dst, dst_prefix, dport, dport_mask);
  if (proto) s += " proto " + std::to_string(proto);
  return s;
}

std::string xfrm_policy_view::to_string() const {
  std::string s = std::string(kernel::to_string(dir)) + " " + sel.to_string() + " priority " + std::to_string(priority);
  if (block) s += " block";
  for (const auto& t : tmpls) s += " reqid " + std::to_string(t.reqid);
  if (mark_mask) s += " mark " + hex(mark_value) + "/" + hex(mark_mask);
  return s;
}

std::string xfrm_sa_view::to_string() const {
  return proto_name(proto) + " " + hex(spi) + " " + src.to_string() + " -> " + dst.to_string() + " reqid " +
         std::to_string(reqid);
}

// --- analysis -----------------------------------------------------------------------------------

namespace {

bool prefixes_intersect(const ip_address& a, unsigned pa, const ip_address& b, unsigned pb) {
  // Two prefixes intersect when they agree on the shorter prefix's bits.
  unsigned bits = std::min(pa, pb);
  for (unsigned i = 0; i < 16 && bits > 0; ++i) {
    unsigned n = std::min(bits, 8u);
    auto mask = static_cast<std::uint8_t>(0xff << (8 - n));
    if ((a.octets[i] & mask) != (b.octets[i] & mask)) return false;
    bits -= n;
  }
  return true;
}

bool ports_intersect(std::uint16_t pa, std::uint16_t ma, std::uint16_t pb, std::uint16_t mb) {
  // Masked port sets intersect when they agree on the bits both masks fix.
  std::uint16_t both = ma & mb;
  return (pa & both) == (pb & both);
}

bool marks_can_both_match(const xfrm_policy_view& a, const xfrm_policy_view& b) {
  std::uint32_t both = a.mark_mask & b.mark_mask;
  return (a.mark_value & both) == (b.mark_value & both);
}

// IPsec policies: allow with at least one non-optional template.
bool is_ipsec(const xfrm_policy_view& p) {
  if (p.block) return false;
  return std::any_of(p.tmpls.begin(), p.tmpls.end(), [](const xfrm_tmpl_view& t) { return !t.optional; });
}

bool in_trap_band(std::uint32_t priority, const xfrm_ownership& own) {
  if (!own.owns_policy_priority(priority)) return false;
  auto off = priority - own.policy_priority_first;
  return off >= static_cast<std::uint32_t>(policy_kind::trap);
}

std::string join(const std::vector<std::string>& v, const char* sep) {
  std::string s;
  for (const auto& x : v) {
    if (!s.empty()) s += sep;
    s += x;
  }
  return s;
}

void counter_findings(const doctor_input& in, doctor_report& r) {
  if (!in.counters) {
    r.findings.push_back({severity::warning, "kernel-unreadable", "/proc/net/xfrm_stat",
                          "the XFRM error counters could not be read: " + in.counters_error,
                          "without them, drops inside the kernel's IPsec code stay invisible",
                          "run doctor where /proc/net/xfrm_stat exists (a kernel with CONFIG_XFRM_STATISTICS) and "
                          "is readable"});
    return;
  }
  for (const auto& c : *in.counters) {
    if (c.value == 0) continue;
    const counter_explanation* e = explain_counter(c.name);
    finding f;
    f.level = severity::warning;
    f.kind = "counter";
    f.subject = c.name;
    f.what = c.name + " = " + std::to_string(c.value) + ": " +
             (e ? e->meaning : "a counter this version of aike does not know (a newer kernel)");
    f.why = "each count is a packet the kernel dropped; counters add up since boot (or since the network "
            "namespace was made), so compare two runs to see whether it still grows";
    f.todo = e ? std::string("check ") + e->check : "look the counter up in the kernel's xfrm_proc documentation";
    r.findings.push_back(std::move(f));
  }
}

// The reqids the SAD holds, and whether an SA fits a reqid-0 template.
bool sa_for_template(const std::vector<xfrm_sa_view>& sas, const xfrm_tmpl_view& t) {
  for (const auto& s : sas) {
    if (s.proto != t.proto) continue;
    if (t.reqid != 0) {
      if (s.reqid == t.reqid) return true;
      continue;
    }
    if (!t.dst.is_any() && !(s.dst == t.dst)) continue;
    return true;
  }
  return false;
}

void policy_sa_findings(const doctor_input& in, const xfrm_ownership& own, doctor_report& r) {
  const auto& pols = *in.policies;
  const auto& sas = *in.sas;
  // Policies without an SA, one finding per reqid (reqid-0 templates one per policy).
  std::map<std::uint32_t, std::vector<std::string>> missing;
  std::vector<std::string> missing_any;
  for (const auto& p : pols) {
    if (!is_ipsec(p) || in_trap_band(p.priority, own)) continue;  // trap policies are meant to have no SA
    for (const auto& t : p.tmpls) {
      if (t.optional || sa_for_template(sas, t)) continue;
      if (t.reqid)
        missing[t.reqid].push_back(p.to_string());
      else
        missing_any.push_back(p.to_string());
    }
  }
  std::string no_esp;
  if (in.esp_supported && !*in.esp_supported)
    no_esp = " This kernel refuses ESP states (" + in.esp_detail +
             "), so no kernel SA can exist here: carry ESP with aiked's userspace backend (kernel = \"userspace\", which \"auto\" selects on such kernels) instead.";
  auto add_missing = [&](const std::string& subject, const std::vector<std::string>& which) {
    r.findings.push_back(
        {severity::error, "policy-without-sa", subject,
         "policies whose template needs an SA that does not exist: " + join(which, "; "),
         "packets these policies catch are dropped (counted as XfrmOutNoStates outbound) until an SA with a "
         "matching reqid is installed; a policy left behind by a deleted tunnel blackholes its traffic." +
             no_esp,
         "if the tunnel should be up, bring it up (`aikectl initiate`) and compare the reqid in `aikectl "
         "list-sas` with the policy's; if the tunnel is gone, remove the policies (`ip xfrm policy delete`), "
         "or restart aiked if they are in aike's priority band"});
  };
  for (const auto& [reqid, which] : missing) add_missing("reqid " + std::to_string(reqid), which);
  for (const auto& w : missing_any) add_missing(w, {w});

  // SAs no policy template names.
  std::set<std::uint32_t> tmpl_reqids;
  std::vector<const xfrm_tmpl_view*> any_tmpls;
  for (const auto& p : pols)
    for (const auto& t : p.tmpls) {
      if (t.reqid)
        tmpl_reqids.insert(t.reqid);
      else
        any_tmpls.push_back(&t);
    }
  std::map<std::uint32_t, std::vector<std::string>> orphans;
  for (const auto& s : sas) {
    if (tmpl_reqids.count(s.reqid)) continue;
    bool by_any = std::any_of(any_tmpls.begin(), any_tmpls.end(), [&](const xfrm_tmpl_view* t) {
      return t->proto == s.proto && (t->dst.is_any() || t->dst == s.dst);
    });
    if (by_any) continue;
    orphans[s.reqid].push_back(s.to_string());
  }
  for (const auto& [reqid, which] : orphans)
    r.findings.push_back(
        {severity::warning, "sa-without-policy", "reqid " + std::to_string(reqid),
         "SAs that no policy template uses: " + join(which, "; "),
         "outbound traffic never reaches an SA no policy points at, and inbound packets decrypted with it find "
         "no matching template (XfrmInTmplMismatch or XfrmInNoPols) — or the SA is simply left over",
         "if the SA belongs to a live tunnel, its policies are missing or carry another reqid (re-establish "
         "the CHILD_SA); else delete it (`ip xfrm state delete`), or restart aiked if its reqid is in aike's "
         "range"});

  // Overlapping selectors of one direction with different reqids, grouped by reqid pair.
  struct overlap {
    std::vector<std::string> dirs, examples;
  };
  std::map<std::pair<std::uint32_t, std::uint32_t>, overlap> overlaps;
  for (std::size_t i = 0; i < pols.size(); ++i) {
    const auto& a = pols[i];
    if (!is_ipsec(a) || a.tmpls.front().reqid == 0) continue;
    for (std::size_t j = i + 1; j < pols.size(); ++j) {
      const auto& b = pols[j];
      if (a.dir != b.dir || !is_ipsec(b) || b.tmpls.front().reqid == 0) continue;
      std::uint32_t ra = a.tmpls.front().reqid, rb = b.tmpls.front().reqid;
      if (ra == rb || !marks_can_both_match(a, b) || !selectors_overlap(a.sel, b.sel)) continue;
      auto& o = overlaps[{std::min(ra, rb), std::max(ra, rb)}];
      std::string d = to_string(a.dir);
      if (std::find(o.dirs.begin(), o.dirs.end(), d) == o.dirs.end()) o.dirs.push_back(d);
      if (o.examples.size() < 4) o.examples.push_back(a.to_string() + " overlaps " + b.to_string());
    }
  }
  for (const auto& [pair, o] : overlaps)
    r.findings.push_back(
        {severity::error, "overlapping-reqids",
         "reqids " + std::to_string(pair.first) + " and " + std::to_string(pair.second),
         "policies of the same direction (" + join(o.dirs, ", ") +
             ") with overlapping selectors carry different reqids: " + join(o.examples, "; "),
         "a packet both selectors match is handled by the higher-priority policy only: outbound it may leave "
         "on the other tunnel's SA, and inbound, packets decrypted with one reqid's SA meet the other reqid's "
         "template and are dropped (XfrmInTmplMismatch). This is the classic mistake of configuring several "
         "subnets of one tunnel as separate CHILD_SAs",
         "put the subnets of one tunnel into one CHILD_SA (several local_ts/remote_ts entries share one "
         "reqid), or make the selectors disjoint"});
}

std::string hex32(std::uint32_t v) {
  char b[16];
  std::snprintf(b, sizeof b, "0x%08x", v);
  return b;
}

// Whether the policy's selector is one the XFRM backend installs for this CHILD_SA: out from its
// local to its remote selectors, in and fwd the reverse (kernel/xfrm_backend.cpp, plan_policies).
bool child_selects(const daemon_child& c, const xfrm_policy_view& p) {
  const auto& s = p.sel;
  auto same_side = [&](const prefix_port& k, const ip_address& addr, unsigned prefix, std::uint16_t port,
                       std::uint16_t mask) {
    return k.prefix == prefix && prefixes_intersect(ip_address{s.v6, k.addr}, k.prefix, addr, prefix) &&
           k.port_mask == mask && (k.port & k.port_mask) == (port & mask);
  };
  bool out = p.dir == xfrm_dir::out;
  for (const auto& l : c.local_ts)
    for (const auto& r : c.remote_ts) {
      if (l.v6 != r.v6 || l.v6 != s.v6) continue;
      auto ks = out ? to_kernel_selectors(l, r) : to_kernel_selectors(r, l);
      if (!ks) continue;  // the backend could not install these either
      for (const auto& k : *ks)
        if (k.protocol == s.proto && same_side(k.src, s.src, s.src_prefix, s.sport, s.sport_mask) &&
            same_side(k.dst, s.dst, s.dst_prefix, s.dport, s.dport_mask))
          return true;
    }
  return false;
}

// What the running aiked holds. Its CHILD_SAs list their own reqids, but the XFRM backend gives a
// CHILD_SA whose policies another one installed that policy's template reqid as its kernel reqid
// (kernel/shared_reqids.hpp), and it keeps it after the other is gone. So an SA is held when a
// CHILD_SA has its SPI (or its reqid), and a policy when its template reqid is a held SA's, a
// CHILD_SA's selectors make it, or its reqid is a CHILD_SA's own — the selectors are what is left
// on a kernel without ESP states, where no SA exists.
struct held_state {
  std::set<std::uint32_t> own_reqids, spis, sa_reqids;
  const std::vector<daemon_child>* children = nullptr;

  explicit held_state(const doctor_input& in) : children(&in.daemon.children) {
    for (const auto& c : in.daemon.children) {
      own_reqids.insert(c.reqid);
      for (auto spi : {c.spi_in, c.spi_out})
        if (spi) spis.insert(spi);
    }
    if (in.sas)
      for (const auto& s : *in.sas)
        if (holds(s)) sa_reqids.insert(s.reqid);
  }
  bool holds(const xfrm_sa_view& s) const { return spis.count(s.spi) || own_reqids.count(s.reqid); }
  bool holds(const xfrm_policy_view& p) const {
    std::uint32_t reqid = p.tmpls.front().reqid;
    if (own_reqids.count(reqid) || (reqid && sa_reqids.count(reqid))) return true;
    return std::any_of(children->begin(), children->end(), [&](const daemon_child& c) { return child_selects(c, p); });
  }
};

void stale_findings(const doctor_input& in, const xfrm_ownership& own, doctor_report& r) {
  std::vector<std::string> pols, sas;
  held_state held(in);
  if (in.policies)
    for (const auto& p : *in.policies) {
      if (!own.owns_policy_priority(p.priority) || p.tmpls.empty()) continue;
      // Trap policies belong to configured connections, not to SAs; the daemon does not list them.
      if (in.daemon.reachable && in_trap_band(p.priority, own)) continue;
      if (in.daemon.reachable && held.holds(p)) continue;
      pols.push_back(p.to_string());
    }
  if (in.sas)
    for (const auto& s : *in.sas) {
      if (!own.owns_reqid(s.reqid)) continue;
      if (in.daemon.reachable && held.holds(s)) continue;
      sas.push_back(s.to_string());
    }
  if (pols.empty() && sas.empty()) return;
  std::string what;
  if (!pols.empty()) what += std::to_string(pols.size()) + " policies in aike's priority band: " + join(pols, "; ");
  if (!sas.empty())
    what += std::string(what.empty() ? "" : "; ") + std::to_string(sas.size()) +
            " SAs with a reqid in aike's range: " + join(sas, "; ");
  if (in.daemon.reachable)
    r.findings.push_back({severity::warning, "stale", "aike state",
                          what + " — and no CHILD_SA of the running aiked has their SPI, reqid or selectors",
                          "left over from an earlier aiked that did not stop cleanly (or from a CHILD_SA whose "
                          "removal failed): stale policies drop or divert the traffic they select",
                          "restart aiked (at start it removes what it owns that no SA of its own matches), or "
                          "delete them with `ip xfrm policy delete` / `ip xfrm state delete`"});
  else
    r.findings.push_back({severity::warning, "stale", "aike state",
                          what + " — and no aiked answered (" + in.daemon.why_not + ")",
                          "if aiked is not running, this is state a crashed aiked left behind: its policies still "
                          "drop or divert the traffic they select",
                          "start aiked (it removes its own stale state at start), or delete the objects by hand; "
                          "if aiked is running, give doctor its --uri/--token-file so it can compare"});
}

}  // namespace

chosen_ownership effective_ownership(const doctor_input& in) {
  chosen_ownership c;
  if (in.daemon.reachable && in.daemon.ownership) {
    c.own = *in.daemon.ownership;
    c.from = "aiked's [kernel] reqid_range and policy_priority_base";
  } else if (in.daemon.reachable) {
    c.from = "the defaults: aiked did not say its own" +
             (in.daemon.ownership_why_not.empty() ? std::string() : " (" + in.daemon.ownership_why_not + ")");
  } else {
    c.from = "the defaults: aiked did not answer, so its configured reqid_range and policy_priority_base are not "
             "known; aikectl doctor --reqid-range START-END names the range";
  }
  if (in.reqid_override) {
    c.own.reqid_first = in.reqid_override->first;
    c.own.reqid_count = in.reqid_override->count;
    c.from += "; the reqid range from --reqid-range";
  }
  return c;
}

bool selectors_overlap(const xfrm_sel& a, const xfrm_sel& b) {
  if (a.v6 != b.v6) return false;
  if (a.proto && b.proto && a.proto != b.proto) return false;
  if (!prefixes_intersect(a.src, a.src_prefix, b.src, b.src_prefix)) return false;
  if (!prefixes_intersect(a.dst, a.dst_prefix, b.dst, b.dst_prefix)) return false;
  return ports_intersect(a.sport, a.sport_mask, b.sport, b.sport_mask) &&
         ports_intersect(a.dport, a.dport_mask, b.dport, b.dport_mask);
}

doctor_report diagnose(const doctor_input& in) {
  doctor_report r;
  counter_findings(in, r);
  if (!in.policies)
    r.findings.push_back({severity::error, "kernel-unreadable", "SPD",
                          "the kernel's XFRM policies could not be read: " + in.policies_error,
                          "without them no policy or SA check can run",
                          "run doctor as root (it needs CAP_NET_ADMIN) on a kernel with XFRM (CONFIG_XFRM_USER)"});
  if (!in.sas)
    r.findings.push_back({severity::error, "kernel-unreadable", "SAD",
                          "the kernel's XFRM SAs could not be read: " + in.sas_error,
                          "without them no policy or SA check can run",
                          "run doctor as root (it needs CAP_NET_ADMIN) on a kernel with XFRM (CONFIG_XFRM_USER)"});
  auto chosen = effective_ownership(in);
  if (in.policies && in.sas) policy_sa_findings(in, chosen.own, r);
  stale_findings(in, chosen.own, r);

  if (in.policies && in.sas)
    r.notes.push_back("kernel: " + std::to_string(in.policies->size()) + " policies, " +
                      std::to_string(in.sas->size()) + " SAs");
  if (in.esp_supported && !*in.esp_supported)
    r.notes.push_back("this kernel has XFRM but refuses ESP states (" + in.esp_detail +
                      "): policies can be installed, SAs cannot (kernel = \"auto\" selects aiked's userspace backend on "
                      "such kernels), and SA checks only see what exists");
  r.notes.push_back("aike's state is what has a reqid in " + hex32(chosen.own.reqid_first) + "-" +
                    hex32(chosen.own.reqid_first + (chosen.own.reqid_count - 1)) + " or a policy priority in " +
                    std::to_string(chosen.own.policy_priority_first) + "-" +
                    std::to_string(chosen.own.policy_priority_first + (xfrm_ownership::policy_priority_span - 1)) +
                    " (" + chosen.from + ")");
  if (in.daemon.reachable)
    r.notes.push_back("aiked answered: " + std::to_string(in.daemon.children.size()) + " CHILD_SAs");
  else
    r.notes.push_back("aiked did not answer (" + in.daemon.why_not +
                      "): the kernel was checked alone, and aike's own policies and SAs cannot be matched to "
                      "live CHILD_SAs");
  return r;
}

std::string render_text(const doctor_report& r) {
  std::string o;
  for (const auto& f : r.findings) {
    o += "[" + std::string(to_string(f.level)) + "] " + f.kind + ": " + f.subject + "\n";
    o += "  what: " + f.what + "\n";
    o += "  why it matters: " + f.why + "\n";
    o += "  what to do: " + f.todo + "\n\n";
  }
  if (r.findings.empty()) o += "no findings\n\n";
  for (const auto& n : r.notes) o += "note: " + n + "\n";
  return o;
}

namespace {

std::string json_string(std::string_view s) {
  std::string o = "\"";
  for (char c : s) {
    switch (c) {
      case '"': o += "\\\""; break;
      case '\\': o += "\\\\"; break;
      case '\n': o += "\\n"; break;
      case '\t': o += "\\t"; break;
      case '\r': o += "\\r"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char b[8];
          std::snprintf(b, sizeof b, "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(c)));
          o += b;
        } else {
          o += c;
        }
    }
  }
  return o + "\"";
}

}  // namespace

std::string render_json(const doctor_report& r) {
  std::string o = "{\"findings\":[";
  bool first = true;
  for (const auto& f : r.findings) {
    if (!first) o += ",";
    first = false;
    o += "{\"severity\":" + json_string(to_string(f.level)) + ",\"kind\":" + json_string(f.kind) +
         ",\"subject\":" + json_string(f.subject) + ",\"what\":" + json_string(f.what) +
         ",\"why\":" + json_string(f.why) + ",\"todo\":" + json_string(f.todo) + "}";
  }
  o += "],\"notes\":[";
  first = true;
  for (const auto& n : r.notes) {
    if (!first) o += ",";
    first = false;
    o += json_string(n);
  }
  return o + "]}\n";
}

}  // namespace aike::kernel
