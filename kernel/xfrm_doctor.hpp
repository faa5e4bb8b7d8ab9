// `aikectl doctor`: what is wrong with the kernel's IPsec state, in plain words.
//
// Pure functions over parsed input — /proc/net/xfrm_stat, the SPD and SAD as plain structs, and the
// daemon's view of its CHILD_SAs — so every finding can be tested with fabricated input. Reading
// the real kernel state lives in kernel/xfrm_dump.*, the command itself in cli/doctor.*.
//
// Findings (one per paragraph in the text output, each with severity, what, why, what to do):
//   counter              a non-zero /proc/net/xfrm_stat error counter, explained
//   policy-without-sa    an IPsec policy whose template's reqid no SA carries
//   sa-without-policy    an SA whose reqid no policy template names
//   overlapping-reqids   two policies of one direction whose selectors overlap, with different reqids
//   stale                policies / SAs in aike's priority band / reqid range (the running
//                        daemon's, see effective_ownership) no CHILD_SA of it holds — judged by SPI,
//                        by the reqids of held SAs and by selectors, not only by the CHILD_SAs' own
//                        reqids, which differ from the kernel's when policies are shared
//                        (kernel/shared_reqids.hpp) — or aike state while no daemon answers
//   kernel-unreadable    the SPD, SAD or counters could not be read at all
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/common/endpoint.hpp"
#include "engine/ts/selector.hpp"
#include "kernel/xfrm_ownership.hpp"

namespace aike::kernel {

// --- /proc/net/xfrm_stat ------------------------------------------------------------------------

struct xfrm_counter {
  std::string name;
  std::uint64_t value = 0;
};
// "XfrmInError  0\nXfrmInNoStates 3\n..." -> counters in file order; lines that do not parse are skipped.
std::vector<xfrm_counter> parse_xfrm_stat(std::string_view text);

struct counter_explanation {
  const char* name;
  const char* meaning;  // what the kernel counts (from the kernel's xfrm_proc documentation)
  const char* check;    // what to look at
};
// Every counter the kernel lists; nullptr for a name it does not know (a newer kernel).
const counter_explanation* explain_counter(std::string_view name);
const std::vector<counter_explanation>& all_counter_explanations();

// --- the kernel's SPD and SAD, as the analysis sees them ---------------------------------------

enum class xfrm_dir : std::uint8_t { in = 0, out = 1, fwd = 2 };
const char* to_string(xfrm_dir d);

struct xfrm_sel {
  bool v6 = false;
  ip_address src, dst;
  unsigned src_prefix = 0, dst_prefix = 0;
  std::uint8_t proto = 0;                      // 0 = any
  std::uint16_t sport = 0, sport_mask = 0;     // mask 0 = any port
  std::uint16_t dport = 0, dport_mask = 0;
  std::string to_string() const;
};

struct xfrm_tmpl_view {
  ip_address src, dst;  // tunnel endpoints (unset in transport mode)
  std::uint8_t proto = 50;
  bool tunnel = true;
  std::uint32_t reqid = 0;  // 0 = any SA of the right proto/addresses
  bool optional = false;
};

struct xfrm_policy_view {
  xfrm_dir dir = xfrm_dir::out;
  xfrm_sel sel;
  std::uint32_t priority = 0;
  std::uint32_t index = 0;
  bool block = false;  // action block (else allow)
  std::uint32_t mark_value = 0, mark_mask = 0;
  std::vector<xfrm_tmpl_view> tmpls;  // empty: a pass (bypass) or block policy
  std::string to_string() const;      // "out 10.1.0.0/24 -> 10.2.0.0/24 prio 1500000 reqid 5"
};

struct xfrm_sa_view {
  ip_address src, dst;
  std::uint32_t spi = 0;
  std::uint8_t proto = 50;
  std::uint32_t reqid = 0;
  bool tunnel = true;
  std::uint32_t mark_value = 0, mark_mask = 0;
  std::string to_string() const;  // "ESP 0xc0000001 10.0.0.1 -> 10.0.0.2 reqid 5"
};

// --- what the daemon says it holds (from `list-sas --json`) --------------------------------------

struct daemon_child {
  std::string ike_name;
  std::uint32_t ike_id = 0;
  std::string child_name;
  std::uint32_t child_id = 0;
  std::uint32_t reqid = 0;  // its own reqid; its SAs and policies may carry another (shared_reqids)
  std::uint32_t spi_in = 0, spi_out = 0;
  std::vector<ts::selector> local_ts, remote_ts;  // the negotiated selectors
};

struct daemon_view {
  bool reachable = false;
  std::string why_not;  // when not reachable: what aikectl saw
  std::vector<daemon_child> children;
  // The priority band and reqid range the running aiked marks its objects with (`stats --json`,
  // its `kernel` object: `[kernel] reqid_range` / `policy_priority_base`); nullopt when it did not
  // say (ownership_why_not: why), and then doctor uses the defaults.
  std::optional<xfrm_ownership> ownership;
  std::string ownership_why_not;
};

// The reqid range `aikectl doctor --reqid-range START-END` gives (both ends inclusive).
struct reqid_span {
  std::uint32_t first = 0, count = 0;
};

// --- input and output ---------------------------------------------------------------------------

struct doctor_input {
  std::optional<std::vector<xfrm_counter>> counters;  // nullopt: /proc/net/xfrm_stat not readable
  std::string counters_error;
  std::optional<std::vector<xfrm_policy_view>> policies;  // nullopt: the SPD could not be read
  std::string policies_error;
  std::optional<std::vector<xfrm_sa_view>> sas;  // nullopt: the SAD could not be read
  std::string sas_error;
  std::optional<bool> esp_supported;  // whether the kernel accepts ESP states (nullopt: unknown)
  std::string esp_detail;             // the kernel's words when it does not
  daemon_view daemon;
  std::optional<reqid_span> reqid_override;  // --reqid-range: replaces the range of effective_ownership
};

// What marks aike's policies and SAs for the stale check: the daemon's band and range when it said
// them, else the defaults (kernel/xfrm_ownership.hpp); --reqid-range replaces the range. `from`
// says where each came from, for the report's notes.
struct chosen_ownership {
  xfrm_ownership own;
  std::string from;  // "aiked's [kernel] settings", "the defaults: ..." (+ "; reqid range from --reqid-range")
};
chosen_ownership effective_ownership(const doctor_input& in);

enum class severity { error, warning };
const char* to_string(severity s);

struct finding {
  severity level = severity::warning;
  std::string kind;     // "counter", "policy-without-sa", ... (stable, for --json and scripts)
  std::string subject;  // the counter, reqid or object it is about
  std::string what;
  std::string why;
  std::string todo;
};

struct doctor_report {
  std::vector<finding> findings;
  std::vector<std::string> notes;  // context that is not a problem (daemon not running, no ESP, counts)
};

doctor_report diagnose(const doctor_input& in);

// One finding per paragraph (severity, what, why it matters, what to do), then the notes.
std::string render_text(const doctor_report& r);
// {"findings":[{"severity","kind","subject","what","why","todo"}...],"notes":[...]}
std::string render_json(const doctor_report& r);

// Whether two selectors can match one packet (same family, addresses, protocol and ports intersect).
bool selectors_overlap(const xfrm_sel& a, const xfrm_sel& b);

}  // namespace aike::kernel
