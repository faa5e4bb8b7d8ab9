// Reading a configuration file: everything is read and validated before anything is returned.
// On ANY problem the result carries every problem found (each with file, line, column and key)
// and no config, so a config with an error is never partly applied.
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/credential_cache.hpp"
#include "config/model.hpp"
#include "config/problem.hpp"

namespace aike::config {

struct load_result {
  std::optional<config> cfg;        // set exactly when problems is empty
  std::vector<problem> problems;    // in file order
  std::vector<problem> warnings;    // never stop a load
};

// Relative paths inside the file are relative to the file's folder.
load_result load_file(const std::string& path, credential_cache& creds);
// `path_for_messages` names the text in problems and gives the folder relative paths start from.
load_result load_string(std::string_view toml, const std::string& path_for_messages, credential_cache& creds);

}  // namespace aike::config
