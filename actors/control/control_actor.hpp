// The control actor: what aikectl talks to over TCP (CAF's middleman). Every request carries the
// token from the daemon's token file; without it nothing happens. Commands are forwarded to the
// registry as plain messages; the control actor only formats the answers (text or JSON).
#pragma once
#include <caf/all.hpp>

#include <memory>
#include <string>
#include <vector>

#include "actors/control/config_reload.hpp"
#include "actors/logger.hpp"
#include "config/config.hpp"

namespace aike::actors {

struct control_state {
  caf::actor registry;
  caf::actor kernel;
  caf::actor events;  // the event hub (monitor subscriptions)
  caf::actor updown;  // the updown supervisor (stats: running and queued scripts); may be invalid
  std::shared_ptr<const config::config> cfg;
  std::string token;
  log_sink log;
  std::int64_t started_at = 0;
  reload_owner reload;  // the daemon's credential cache lives here: only this actor uses it
  static inline const char* name = "control";
};

// Request: (ctl, token, command, args as "key=value" lines) -> (int32 exit code, output text).
// Exit codes as aikectl reports them: 0 done, 1 failed or partly failed, 2 usage, 3 refused.
// `creds` is the cache `cfg` was loaded with; the control actor becomes its only user (reloads).
caf::behavior control_actor(caf::stateful_actor<control_state>* self, caf::actor registry, caf::actor kernel,
                            caf::actor events, caf::actor updown, std::shared_ptr<const config::config> cfg,
                            std::string token, log_sink log, std::shared_ptr<config::credential_cache> creds);

// A fresh random token (hex).
std::string new_control_token();
// Writes `token` to `path` with mode 0600, in a directory made with 0700 if missing. Called only
// once the control endpoint listens, so a second daemon that fails to start never replaces the
// token of the one that runs.
status write_control_token(const std::string& path, const std::string& token);

}  // namespace aike::actors
