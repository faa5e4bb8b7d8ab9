// [daemon] and [kernel]: the daemon-wide settings. Internal to config/.
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "config/model.hpp"
#include "config/toml_section.hpp"

namespace aike::config::detail {

// Either section may be absent; defaults apply to everything not written.
void read_daemon(std::optional<section> daemon, std::optional<section> kernel, const std::string& base_dir,
                 daemon_config& out);

// "127.0.0.1:4510", "[::1]:4510", or an address alone (port 4510). Hostnames are refused.
result<std::pair<ip_address, std::uint16_t>> parse_control_address(std::string_view text);

}  // namespace aike::config::detail
