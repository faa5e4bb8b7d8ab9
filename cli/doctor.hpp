// `aikectl doctor`: gathers /proc/net/xfrm_stat, the kernel's SPD and SAD (libnl, kernel/xfrm_dump)
// and aiked's view (`list-sas --json`, then `stats --json` for its ownership band), runs kernel::diagnose and prints the findings.
// Exit codes: 0 nothing found, 1 findings (see docs/cli.md).
#pragma once
#include <optional>
#include <string>

#include "kernel/xfrm_doctor.hpp"

namespace aike::cli {

// The CHILD_SAs in aiked's `list-sas --json` answer; an answer that does not parse makes the
// view unreachable with the parser's message.
kernel::daemon_view daemon_view_from_list_sas(const std::string& json_text);
kernel::daemon_view daemon_unreachable(const std::string& why);
// aiked's band and range from its `stats --json` answer (the `kernel` object: "reqid_range"
// "START-END", "policy_priority_base"); an answer without them (an older aiked) or a failed one
// leaves view.ownership unset and says why in view.ownership_why_not.
void add_ownership_from_stats(kernel::daemon_view& view, int code, const std::string& stats_text);

// Reads the kernel state, prints the report (text or JSON) to stdout, returns the exit code.
// reqid_override: `--reqid-range` (replaces the daemon's or the default range).
int run_doctor(const kernel::daemon_view& daemon, bool json,
               const std::optional<kernel::reqid_span>& reqid_override = std::nullopt);

}  // namespace aike::cli
