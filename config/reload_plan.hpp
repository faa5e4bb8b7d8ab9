// What a configuration reload changes: the pure decision, without actors or files.
//
// A reload replaces the whole configuration at once (config::load_file either returns a complete
// config or none). plan_reload() compares the running config with the freshly loaded one:
// - connections are matched by name: added, removed, changed (same name, different content) or
//   unchanged. SAs keep the sa::connection they were made with, so "changed" only informs;
//   the daemon takes down the SAs of removed connections and starts the start_action = "start"
//   children of added ones.
// - [daemon] and [kernel] settings that are bound at start (sockets, the control endpoint, the
//   kernel backend, threads, logging, updown limits, shutdown behaviour) cannot change while aiked
//   runs: the effective config keeps their old values, and restart_needed names each key whose
//   value differed so the daemon can say so.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "config/model.hpp"

namespace aike::config {

struct reload_plan {
  config effective;  // the new config with the settings that need a restart taken from the old one
  std::vector<std::string> added, removed, changed, unchanged;  // connection names, in file order
  // (connection, child) pairs with start_action = "start" in added connections, in file order.
  std::vector<std::pair<std::string, std::string>> to_start;
  // Dotted keys ("daemon.listen") whose new value only takes effect after a restart.
  std::vector<std::string> restart_needed;
};

reload_plan plan_reload(const config& running, config next);

// Same configured content (addresses, proposals, authentication, credentials by identity of the
// interned object, children, timers, policies)?
bool same_connection(const connection& a, const connection& b);

// Human-readable: "daemon.listen, daemon.workers: changed in the file but only take effect after
// a restart of aiked; the running values were kept". Empty when nothing needs a restart.
std::string restart_warning(const reload_plan& plan);

}  // namespace aike::config
