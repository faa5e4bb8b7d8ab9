// [secrets.<name>]: pre-shared keys and the identities they are for. Internal to config/.
#pragma once
#include <string>
#include <vector>

#include "config/toml_section.hpp"
#include "engine/sa/connection.hpp"

namespace aike::config::detail {

struct named_secret {
  std::string name;
  sa::psk_secret psk;
};

// Reads every entry of [secrets]; entries with problems are reported and left out.
std::vector<named_secret> read_secrets(section& secrets);

}  // namespace aike::config::detail
