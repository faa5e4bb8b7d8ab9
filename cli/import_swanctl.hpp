// aikectl import-swanctl FILE [-o OUT]: swanctl.conf to aiked.toml, locally.
#pragma once
#include <string>

namespace aike::cli {

// Writes the TOML to `out_file` (stdout when empty) and everything not carried over to stderr,
// one line each. Returns 0 (all converted), 1 (something left out) or 2 (input unreadable or
// not valid swanctl.conf syntax; output not writable).
int import_swanctl(const std::string& file, const std::string& out_file);

}  // namespace aike::cli
