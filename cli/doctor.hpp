// `aikectl doctor`: gathers /proc/net/xfrm_stat, the kernel's SPD and SAD (libnl, kernel/xfrm_dump)
// and aiked's view (`list-sas --json`), runs kernel::diagnose and prints the findings.
// Exit codes: 0 nothing found, 1 findings (see docs/cli.md).
#pragma once
#include <string>

#include "kernel/xfrm_doctor.hpp"

namespace aike::cli {

// The CHILD_SAs in aiked's `list-sas --json` answer; an answer that does not parse makes the
// view unreachable with the parser's message.
kernel::daemon_view daemon_view_from_list_sas(const std::string& json_text);
kernel::daemon_view daemon_unreachable(const std::string& why);

// Reads the kernel state, prints the report (text or JSON) to stdout, returns the exit code.
int run_doctor(const kernel::daemon_view& daemon, bool json);

}  // namespace aike::cli
