#include "config/check_config.hpp"

#include "config/credential_cache.hpp"
#include "config/loader.hpp"

namespace aike::config {

namespace {

std::string count(std::size_t n, const char* what) {
  return std::to_string(n) + " " + what + (n == 1 ? "" : "s");
}

}  // namespace

int check_config(const std::string& path, std::ostream& out, std::ostream& err) {
  credential_cache creds;
  load_result r = load_file(path, creds);
  for (const auto& p : r.problems) err << p.to_string() << '\n';
  for (const auto& w : r.warnings) err << w.to_warning_string() << '\n';
  if (!r.cfg) {
    err << path << ": " << count(r.problems.size(), "problem") << '\n';
    return 1;
  }
  out << path << ": OK, " << count(r.cfg->connections.size(), "connection") << ", " << count(r.cfg->secrets, "secret")
      << '\n';
  return 0;
}

}  // namespace aike::config
