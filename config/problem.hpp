// One thing wrong (or worth a warning) in a configuration file, with where it was written.
#pragma once
#include <string>

namespace aike::config {

struct problem {
  std::string file;    // the config file as it was named to the loader
  int line = 0;        // 1-based; 0 = the file as a whole (e.g. it cannot be read)
  int column = 0;      // 1-based; 0 = unknown
  std::string key;     // dotted TOML key ("connections.site.proposals"); empty if none applies
  std::string message;

  // "aiked.toml:12:5: connections.site.proposals: unknown algorithm 'aes257' in 'aes257-sha256'"
  std::string to_string() const;
  // The same with "warning: " after the location, as compilers print warnings.
  std::string to_warning_string() const;
};

}  // namespace aike::config
