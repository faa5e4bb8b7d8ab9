#include "config/problem.hpp"

namespace aike::config {

namespace {

std::string format(const problem& p, const char* severity) {
  std::string out = p.file;
  if (p.line > 0) {
    out += ':' + std::to_string(p.line);
    if (p.column > 0) out += ':' + std::to_string(p.column);
  }
  out += ": ";
  out += severity;
  if (!p.key.empty()) out += p.key + ": ";
  out += p.message;
  return out;
}

}  // namespace

std::string problem::to_string() const { return format(*this, ""); }
std::string problem::to_warning_string() const { return format(*this, "warning: "); }

}  // namespace aike::config
