// For config tests of one child's keys: a valid PSK connection whose last table is the child
// [connections.c.children.net] (line 11), so that the keys under test start at line 12.
#pragma once
#include <string>

#include "config/config.hpp"

namespace aike::config::test {

inline const std::string kChildFile = AIKE_TEST_DATA_DIR "/config/inline.toml";

inline const std::string kChildBase = R"([secrets.s]
ids = ["moon.example"]
secret = "x"
[connections.c]
remote_addrs = ["10.0.0.2"]
[connections.c.local]
auth = "psk"
id = "moon.example"
[connections.c.remote]
auth = "psk"
[connections.c.children.net]
)";

// Loads the base with `child_keys` appended to the child's table.
inline load_result load_child_keys(const std::string& child_keys) {
  credential_cache creds;
  return load_string(kChildBase + child_keys, kChildFile, creds);
}

}  // namespace aike::config::test
