// Typed, checked access to one TOML table of the config file, collecting problems with their
// source locations instead of stopping at the first. Internal to config/.
#pragma once
#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <toml++/toml.h>

#include "config/problem.hpp"

namespace aike::config::detail {

struct location {
  int line = 0, column = 0;
};
location at(const toml::source_region& r);

// Where the problems and warnings of one load go.
class diagnostics {
 public:
  explicit diagnostics(std::string file) : file_(std::move(file)) {}
  void error(location where, std::string key, std::string message);
  void warning(location where, std::string key, std::string message);
  const std::string& file() const { return file_; }
  std::vector<problem> problems, warnings;

 private:
  std::string file_;
};

// One string of a list value, with where it was written.
struct text_item {
  std::string text;
  location where;
};

// "a string", "an integer", ...: for "expected X, got Y" messages.
std::string a_type(toml::node_type t);

class section {
 public:
  section(const toml::table& t, std::string path, diagnostics& d) : t_(&t), path_(std::move(path)), d_(&d) {}

  const std::string& path() const { return path_; }
  std::string key_path(std::string_view key) const;  // "connections.site" + "proposals"
  location where() const { return at(t_->source()); }
  location where(std::string_view key) const;        // the value of `key`, else the table
  diagnostics& diag() const { return *d_; }
  const toml::table& table_node() const { return *t_; }

  // Every accessor below marks `key` as known, so finish() does not report it.
  const toml::node* node(std::string_view key);
  bool has(std::string_view key) { return node(key) != nullptr; }
  std::optional<std::string> text(std::string_view key);
  // true/false, or swanctl's "yes"/"no" (and "true"/"false") as strings.
  std::optional<bool> flag(std::string_view key);
  // An integer (or a decimal string of one) in [min, max].
  std::optional<std::int64_t> integer(std::string_view key, std::int64_t min, std::int64_t max);
  std::optional<double> number(std::string_view key, double min, double max);
  // A duration string ("30s") or an integer number of seconds.
  std::optional<std::chrono::milliseconds> duration(std::string_view key);
  // A byte count: a non-negative integer, or a string with an optional K/M/G/T suffix ("500M").
  std::optional<std::uint64_t> byte_count(std::string_view key);
  // An array of strings, or one string; a string is split at ',' when `split_commas` is set (swanctl's
  // list syntax). Empty items are problems.
  std::optional<std::vector<text_item>> list(std::string_view key, bool split_commas = true);
  std::optional<section> subtable(std::string_view key);

  // One of `choices` by name; anything else is a problem listing the choices.
  template <class T>
  std::optional<T> choice(std::string_view key, std::initializer_list<std::pair<std::string_view, T>> choices,
                          std::initializer_list<std::pair<std::string_view, std::string_view>> refused = {}) {
    auto s = text(key);
    if (!s) return std::nullopt;
    for (const auto& [name, value] : choices)
      if (*s == name) return value;
    for (const auto& [name, why] : refused)
      if (*s == name) {
        error(key, std::string(why));
        return std::nullopt;
      }
    std::string names;
    for (const auto& [name, value] : choices) {
      (void)value;
      names += (names.empty() ? "" : ", ") + std::string(name);
    }
    error(key, "unknown value '" + *s + "' (expected one of: " + names + ")");
    return std::nullopt;
  }

  void error(std::string_view key, std::string message);  // at the value of `key`
  void error_at(location where, std::string_view key, std::string message);
  void warning(std::string_view key, std::string message);

  // Reports every key of the table no accessor asked for: a swanctl option in `unsupported`
  // gets "is not supported", anything else "unknown key" with a did-you-mean hint.
  void finish(std::span<const std::string_view> unsupported = {});

 private:
  const toml::table* t_;
  std::string path_;
  diagnostics* d_;
  std::vector<std::string> known_;
};

// The entries of a table in the order the file wrote them (toml++ keeps them sorted by name).
std::vector<std::pair<const toml::key*, const toml::node*>> in_file_order(const toml::table& t);

}  // namespace aike::config::detail
