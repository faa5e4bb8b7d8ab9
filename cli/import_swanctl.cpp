// aikectl import-swanctl: the file side of config/swanctl_import (reading the input, finding
// swanctl's private key folders, writing the output). Runs locally; no daemon is involved.
#include "cli/import_swanctl.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <system_error>

#include "config/file_text.hpp"
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
  auto text = config::read_text_file(file);
  if (!text) {
    std::fprintf(stderr, "aikectl import-swanctl: %s\n", text.err().message.c_str());
    return 2;
  }
  auto parsed = config::swanctl::parse_swanctl(*text);
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
    // The output holds the pre-shared keys: readable by the owner only, from the start.
    int fd = ::open(out_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    bool ok = fd >= 0 && ::fchmod(fd, 0600) == 0;
    for (std::size_t done = 0; ok && done < result.toml.size();) {
      ssize_t n = ::write(fd, result.toml.data() + done, result.toml.size() - done);
      if (n < 0 && errno == EINTR) continue;
      ok = n > 0;
      if (ok) done += static_cast<std::size_t>(n);
    }
    const int err = errno;
    if (fd >= 0 && ::close(fd) != 0) ok = false;
    if (!ok) {
      std::fprintf(stderr, "aikectl import-swanctl: cannot write '%s': %s\n", out_file.c_str(), std::strerror(err));
      return 2;
    }
  }
  for (const auto& item : result.unsupported) std::fprintf(stderr, "%s\n", item.to_string(file).c_str());
  return result.unsupported.empty() ? 0 : 1;
}

}  // namespace aike::cli
