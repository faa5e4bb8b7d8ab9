// [connections.<name>] with its local, remote and children tables -> config::connection (and the
// engine's sa::connection inside it). Internal to config/.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "config/credential_cache.hpp"
#include "config/model.hpp"
#include "config/secrets_section.hpp"
#include "config/toml_section.hpp"

namespace aike::config::detail {

struct load_context {
  const daemon_config& daemon;
  const std::vector<named_secret>& secrets;
  bool secrets_incomplete;  // an entry of [secrets] had a problem: do not also blame the connections
  std::string base_dir;  // relative paths start here
  credential_cache& creds;
};

// Reports every problem of the connection; returns it only if it had none.
std::optional<connection> read_connection(section& s, const std::string& name, const load_context& ctx);

}  // namespace aike::config::detail
