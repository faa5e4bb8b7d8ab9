// Configuration reload: `aikectl load [--file PATH]` and SIGHUP take this one path.
//
// The file is read and validated completely with the daemon's one credential cache; a file with
// any problem changes nothing and every problem (file:line:column: key: message) goes back to the
// caller. Otherwise config::plan_reload decides what changes, the control actor keeps the new
// config (list-conns, initiate), and the registry gets it as (cfg, config, timeout): new SAs and
// responder matching use it, existing SAs keep the sa::connection they were made with, and the SAs
// of removed connections are deleted (DELETE sent) and counted once gone. The start_action =
// "start" children of added connections are initiated.
#pragma once
#include <caf/all.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "actors/logger.hpp"
#include "config/config.hpp"

namespace aike::actors {

// What reloading needs beyond the running config. Ownership: the credential cache is the
// daemon's only one. main() uses it for the first load and then hands it to the control actor,
// which is from then on its sole user: reloads run one at a time inside that actor, so a load
// and the prune() after it never interleave with another load (the cache locks internally, but
// nothing else may call it, so the dedup/prune sequence stays simple to reason about).
struct reload_owner {
  std::shared_ptr<config::credential_cache> creds;
  std::string daemon_path;  // aiked -c FILE: what `load` without --file and SIGHUP read
  std::uint64_t reloads = 0;  // successful ones
};

// The answer to the caller: exit code (0 loaded, 1 problems or removed SAs not gone in time) and
// the text (JSON when asked for).
using reload_done = std::function<void(std::int32_t code, std::string text)>;

// Loads `path` and, if it is valid, replaces `current` and hands the new config to `registry`;
// `done` is called once with the outcome (after the SAs of removed connections are gone or
// `timeout_ms` passed). Everything is also logged through `log`.
void reload_config(caf::event_based_actor* self, reload_owner& owner, std::shared_ptr<const config::config>& current,
                   const caf::actor& registry, const log_sink& log, const std::string& path, std::uint32_t timeout_ms,
                   bool json, reload_done done);

}  // namespace aike::actors
