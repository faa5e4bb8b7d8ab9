// Reading the files a configuration names (keys, certificates, the config itself), with errors
// that name the path and the system's reason.
#pragma once
#include <cstddef>
#include <string>
#include <string_view>

#include "engine/common/result.hpp"

namespace aike::config {

// The whole file. Errors: "cannot read '<path>': <strerror>", or "'<path>' is larger than N bytes"
// (so a mistyped /dev/zero cannot eat the daemon's memory).
result<std::string> read_text_file(const std::string& path, std::size_t max_bytes = 1 << 20);

// `path` as written in a config file: relative paths are relative to `base_dir` (the config
// file's folder; "" = the working directory).
std::string resolve_path(std::string_view base_dir, std::string_view path);

// The folder part of a config file path ("" when it has none).
std::string folder_of(std::string_view file);

// An updown script must be a regular file we may execute: "cannot execute '<path>': <reason>".
status check_executable(const std::string& path);

}  // namespace aike::config
