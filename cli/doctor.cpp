#include "cli/doctor.hpp"

#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "actors/control/control_protocol.hpp"
#include "cli/json_value.hpp"
#include "config/reqid_range.hpp"
#include "kernel/xfrm_backend.hpp"
#include "kernel/xfrm_dump.hpp"

namespace aike::cli {

namespace {

std::uint32_t hex_or_zero(const std::string& s) {
  try {
    return static_cast<std::uint32_t>(std::stoul(s, nullptr, 16));
  } catch (...) {
    return 0;
  }
}

// list-sas prints selectors in ts::selector's notation; one that does not read back is left out
// (doctor then judges that CHILD_SA by SPI and reqid alone).
std::vector<ts::selector> selectors_of(const json_value& child, const char* key) {
  std::vector<ts::selector> out;
  const json_value* list = child.get(key);
  if (!list || list->t != json_value::type::array) return out;
  for (const auto& item : list->items)
    if (item.t == json_value::type::string)
      if (auto s = ts::selector::parse(item.str)) out.push_back(*s);
  return out;
}

}  // namespace

kernel::daemon_view daemon_unreachable(const std::string& why) {
  kernel::daemon_view v;
  v.why_not = why;
  return v;
}

kernel::daemon_view daemon_view_from_list_sas(const std::string& json_text) {
  std::string err;
  auto doc = parse_json(json_text, err);
  if (!doc || doc->t != json_value::type::array)
    return daemon_unreachable("aiked's list-sas answer is not the JSON array expected" +
                              (err.empty() ? std::string() : ": " + err));
  kernel::daemon_view v;
  v.reachable = true;
  for (const auto& ike : doc->items) {
    const json_value* children = ike.get("children");
    if (!children || children->t != json_value::type::array) continue;
    for (const auto& c : children->items) {
      kernel::daemon_child d;
      d.ike_name = ike.string_or("name");
      d.ike_id = static_cast<std::uint32_t>(ike.uint_or("id"));
      d.child_name = c.string_or("name");
      d.child_id = static_cast<std::uint32_t>(c.uint_or("id"));
      d.reqid = static_cast<std::uint32_t>(c.uint_or("reqid"));
      d.spi_in = hex_or_zero(c.string_or("spi_in"));
      d.spi_out = hex_or_zero(c.string_or("spi_out"));
      d.local_ts = selectors_of(c, "local_ts");
      d.remote_ts = selectors_of(c, "remote_ts");
      v.children.push_back(std::move(d));
    }
  }
  return v;
}

void add_ownership_from_stats(kernel::daemon_view& view, int code, const std::string& stats_text) {
  if (code != 0) {
    view.ownership_why_not = "stats failed: " + stats_text.substr(0, stats_text.find('\n'));
    return;
  }
  std::string err;
  auto doc = parse_json(stats_text, err);
  const json_value* k = doc ? doc->get("kernel") : nullptr;
  if (!k || k->t != json_value::type::object) {
    view.ownership_why_not = "its stats answer has no kernel object (an older aiked?)";
    return;
  }
  auto range = config::parse_reqid_range(k->string_or("reqid_range"));
  std::uint64_t base = k->uint_or("policy_priority_base");
  if (!range || base == 0 || base > std::uint64_t{0xffffffff} - kernel::xfrm_ownership::policy_priority_span + 1) {
    view.ownership_why_not = "its stats name an unusable reqid_range \"" + k->string_or("reqid_range") +
                             "\" or policy_priority_base " + std::to_string(base);
    return;
  }
  kernel::xfrm_ownership own;
  own.reqid_first = range->first;
  own.reqid_count = range->count;
  own.policy_priority_first = static_cast<std::uint32_t>(base);
  view.ownership = own;
}

int run_doctor(const kernel::daemon_view& daemon, bool json, const std::optional<kernel::reqid_span>& reqid_override) {
  kernel::doctor_input in;
  in.daemon = daemon;
  in.reqid_override = reqid_override;
  {
    std::ifstream f("/proc/net/xfrm_stat");
    if (f) {
      std::stringstream ss;
      ss << f.rdbuf();
      in.counters = kernel::parse_xfrm_stat(ss.str());
    } else {
      in.counters_error = std::string("/proc/net/xfrm_stat: ") + std::strerror(errno);
    }
  }
  if (auto sock = kernel::xfrm_socket::open(); !sock) {
    in.policies_error = in.sas_error = sock.err().message;
  } else {
    std::vector<kernel::dumped_policy> pols;
    if (auto r = kernel::dump_policies(*sock, pols); r) {
      in.policies.emplace();
      for (const auto& p : pols) in.policies->push_back(kernel::to_view(p));
    } else {
      in.policies_error = r.err().message;
    }
    std::vector<kernel::dumped_state> states;
    if (auto r = kernel::dump_states(*sock, states); r) {
      in.sas.emplace();
      for (const auto& s : states) in.sas->push_back(kernel::to_view(s));
    } else {
      in.sas_error = r.err().message;
    }
  }
  if (in.policies) {
    // Adds a throwaway ESP state with documentation addresses and removes it at once.
    auto probe = kernel::probe_esp();
    if (probe.xfrm) {
      in.esp_supported = probe.esp;
      in.esp_detail = probe.detail;
    }
  }
  auto report = kernel::diagnose(in);
  std::fputs((json ? kernel::render_json(report) : kernel::render_text(report)).c_str(), stdout);
  std::fflush(stdout);
  return report.findings.empty() ? control::exit_ok : control::exit_failed;
}

}  // namespace aike::cli
