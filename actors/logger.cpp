#include "actors/logger.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>

#include "actors/messages.hpp"

namespace aike::actors {

const char* name_of(level l) {
  switch (l) {
    case level::error: return "ERROR";
    case level::warning: return "WARN ";
    case level::info: return "INFO ";
    case level::debug: return "DEBUG";
  }
  return "?";
}

const char* name_of(subsystem s) {
  switch (s) {
    case subsystem::daemon: return "dmn";
    case subsystem::ike: return "ike";
    case subsystem::net: return "net";
    case subsystem::cfg: return "cfg";
    case subsystem::knl: return "knl";
    case subsystem::updown: return "updown";
    case subsystem::ctl: return "ctl";
  }
  return "?";
}

bool parse_level(const std::string& s, level& out) {
  if (s == "error") out = level::error;
  else if (s == "warning" || s == "warn") out = level::warning;
  else if (s == "info") out = level::info;
  else if (s == "debug") out = level::debug;
  else return false;
  return true;
}

bool parse_subsystem(const std::string& s, subsystem& out) {
  static const std::pair<const char*, subsystem> names[] = {
      {"daemon", subsystem::daemon}, {"ike", subsystem::ike}, {"net", subsystem::net},     {"cfg", subsystem::cfg},
      {"knl", subsystem::knl},       {"updown", subsystem::updown}, {"ctl", subsystem::ctl}};
  for (const auto& [n, v] : names)
    if (s == n) {
      out = v;
      return true;
    }
  return false;
}

level log_levels::of(subsystem s) const {
  auto it = by_subsystem.find(s);
  return it == by_subsystem.end() ? fallback : it->second;
}

void log_sink::operator()(level l, const std::string& text) const {
  if (!enabled(l) || !logger_) return;
  std::string line;
  line.reserve(text.size() + 32);
  line += name_of(l);
  line += " [";
  line += name_of(sys_);
  line += "] ";
  if (!context_.empty()) {
    line += context_;
    line += ": ";
  }
  line += text;
  caf::anon_send(logger_, log_atom::value, static_cast<int>(l), levels_->logged(sys_, l), std::move(line));
}

caf::behavior logger_actor(caf::event_based_actor* self, std::string file) {
  std::FILE* out = nullptr;
  if (!file.empty()) out = std::fopen(file.c_str(), "a");
  self->attach_functor([out] {
    if (out) std::fclose(out);
  });
  auto tap = std::make_shared<caf::actor>();
  return {
      [tap](tap_atom, caf::actor a) { *tap = std::move(a); },
      [out, tap](log_atom, int lvl, bool write, const std::string& line) {
        auto now = std::chrono::system_clock::now();
        auto t = std::chrono::system_clock::to_time_t(now);
        auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
        std::tm tm{};
        gmtime_r(&t, &tm);
        char stamp[64];
        std::snprintf(stamp, sizeof stamp, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                      tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
        if (*tap) caf::anon_send(*tap, log_atom::value, lvl, std::string(stamp) + " " + line);
        if (!write) return;
        std::fprintf(stderr, "%s %s\n", stamp, line.c_str());
        if (out) {
          std::fprintf(out, "%s %s\n", stamp, line.c_str());
          std::fflush(out);
        }
      },
  };
}

}  // namespace aike::actors
