// aikectl import-swanctl: the file side of config/swanctl_import (reading the input, finding
// swanctl's private key folders, writing the output). Runs locally; no daemon is involved.
#include "cli/import_swanctl.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

#include "config/swanctl_import.hpp"

namespace aike::cli {

namespace {

// Private keys swanctl would load from its folders without the config naming them.
std::vector<std::string> key_files_in(const std::filesystem::path& dir) {
  std::vector<std::string> out;
  for (const char* sub : {"private", "rsa", "ecdsa", "pkcs8"}) {
    std::error_code ec;
    std::vector<std::string> here;
    for (const auto& e : std::filesystem::directory_iterator(dir / sub, ec))
      if (e.is_regular_file(ec)) here.push_back(e.path().string());
    std::sort(here.begin(), here.end());
    out.insert(out.end(), here.begin(), here.end());
  }
  return out;
}

}  // namespace

int import_swanctl(const std::string& file, const std::string& out_file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "aikectl import-swanctl: cannot read '%s'\n", file.c_str());
    return 2;
  }
  std::stringstream buf;
  buf << in.rdbuf();
  auto parsed = config::swanctl::parse_swanctl(buf.str());
  if (!parsed.root) {
    std::fprintf(stderr, "%s:%d: %s\n", file.c_str(), parsed.error.line, parsed.error.message.c_str());
    return 2;
  }
  std::error_code ec;
  auto dir = std::filesystem::absolute(std::filesystem::path(file), ec).parent_path();
  config::swanctl::import_options opts;
  opts.source_name = file;
  opts.swanctl_dir = dir.string();
  opts.key_files = key_files_in(dir);
  auto result = config::swanctl::import_swanctl(*parsed.root, opts);

  if (out_file.empty()) {
    std::fwrite(result.toml.data(), 1, result.toml.size(), stdout);
  } else {
    // The output holds the pre-shared keys: readable by the owner only.
    std::ofstream out(out_file, std::ios::binary | std::ios::trunc);
    ::chmod(out_file.c_str(), 0600);
    out << result.toml;
    out.close();
    if (!out) {
      std::fprintf(stderr, "aikectl import-swanctl: cannot write '%s'\n", out_file.c_str());
      return 2;
    }
  }
  for (const auto& item : result.unsupported) std::fprintf(stderr, "%s\n", item.to_string(file).c_str());
  return result.unsupported.empty() ? 0 : 1;
}

}  // namespace aike::cli
