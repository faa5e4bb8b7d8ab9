#include "config/toml_section.hpp"

#include <algorithm>
#include <cstdio>

#include "config/duration.hpp"
#include "config/key_suggestion.hpp"
#include "config/volume_value.hpp"

namespace aike::config::detail {

location at(const toml::source_region& r) {
  return {static_cast<int>(r.begin.line), static_cast<int>(r.begin.column)};
}

void diagnostics::error(location where, std::string key, std::string message) {
  problems.push_back(problem{file_, where.line, where.column, std::move(key), std::move(message)});
}

void diagnostics::warning(location where, std::string key, std::string message) {
  warnings.push_back(problem{file_, where.line, where.column, std::move(key), std::move(message)});
}

std::string a_type(toml::node_type t) {
  switch (t) {
    case toml::node_type::none: return "nothing";
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a floating-point number";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::date: return "a date";
    case toml::node_type::time: return "a time";
    case toml::node_type::date_time: return "a date-time";
  }
  return "a value";
}

namespace {

std::string number_text(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

}  // namespace

std::vector<std::pair<const toml::key*, const toml::node*>> in_file_order(const toml::table& t) {
  std::vector<std::pair<const toml::key*, const toml::node*>> out;
  for (auto it = t.begin(); it != t.end(); ++it) out.emplace_back(&it->first, &it->second);
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    const auto& pa = a.first->source().begin;
    const auto& pb = b.first->source().begin;
    return pa.line != pb.line ? pa.line < pb.line : pa.column < pb.column;
  });
  return out;
}

std::string section::key_path(std::string_view key) const {
  if (path_.empty()) return std::string(key);
  if (key.empty()) return path_;
  return path_ + "." + std::string(key);
}

location section::where(std::string_view key) const {
  if (const toml::node* n = t_->get(key)) return at(n->source());
  return where();
}

const toml::node* section::node(std::string_view key) {
  if (std::find(known_.begin(), known_.end(), key) == known_.end()) known_.emplace_back(key);
  return t_->get(key);
}

void section::error(std::string_view key, std::string message) { error_at(where(key), key, std::move(message)); }

void section::error_at(location where, std::string_view key, std::string message) {
  d_->error(where, key_path(key), std::move(message));
}

void section::warning(std::string_view key, std::string message) {
  d_->warning(where(key), key_path(key), std::move(message));
}

std::optional<std::string> section::text(std::string_view key) {
  const toml::node* n = node(key);
  if (!n) return std::nullopt;
  if (auto s = n->value<std::string>()) return *s;
  error(key, "expected a string, got " + a_type(n->type()));
  return std::nullopt;
}

std::optional<bool> section::flag(std::string_view key) {
  const toml::node* n = node(key);
  if (!n) return std::nullopt;
  if (n->is_boolean()) return n->as_boolean()->get();
  if (n->is_string()) {
    const std::string& s = n->as_string()->get();
    if (s == "yes" || s == "true") return true;
    if (s == "no" || s == "false") return false;
    error(key, "expected true or false (or \"yes\"/\"no\"), got '" + s + "'");
    return std::nullopt;
  }
  error(key, "expected true or false, got " + a_type(n->type()));
  return std::nullopt;
}

std::optional<std::int64_t> section::integer(std::string_view key, std::int64_t min, std::int64_t max) {
  const toml::node* n = node(key);
  if (!n) return std::nullopt;
  std::int64_t v = 0;
  if (n->is_integer()) {
    v = n->as_integer()->get();
  } else if (n->is_string()) {  // swanctl writes every value as a string
    const std::string& s = n->as_string()->get();
    bool digits = !s.empty() && s.size() <= 18 && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (!digits) {
      error(key, "expected an integer, got '" + s + "'");
      return std::nullopt;
    }
    v = std::stoll(s);
  } else {
    error(key, "expected an integer, got " + a_type(n->type()));
    return std::nullopt;
  }
  if (v < min || v > max) {
    error(key, std::to_string(v) + " is out of range (" + std::to_string(min) + ".." + std::to_string(max) + ")");
    return std::nullopt;
  }
  return v;
}

std::optional<double> section::number(std::string_view key, double min, double max) {
  const toml::node* n = node(key);
  if (!n) return std::nullopt;
  double v = 0;
  if (n->is_floating_point()) v = n->as_floating_point()->get();
  else if (n->is_integer()) v = static_cast<double>(n->as_integer()->get());
  else {
    error(key, "expected a number, got " + a_type(n->type()));
    return std::nullopt;
  }
  if (!(v >= min && v <= max)) {  // also catches nan
    error(key, number_text(v) + " is out of range (" + number_text(min) + ".." + number_text(max) + ")");
    return std::nullopt;
  }
  return v;
}

std::optional<std::chrono::milliseconds> section::duration(std::string_view key) {
  const toml::node* n = node(key);
  if (!n) return std::nullopt;
  if (n->is_integer()) {
    std::int64_t s = n->as_integer()->get();
    if (s < 0 || s > std::int64_t{1} << 40) {
      error(key, "invalid duration " + std::to_string(s) + ": out of range");
      return std::nullopt;
    }
    return std::chrono::milliseconds(s * 1000);
  }
  if (!n->is_string()) {
    error(key, "expected a duration such as \"30s\", got " + a_type(n->type()));
    return std::nullopt;
  }
  auto d = parse_duration(n->as_string()->get());
  if (!d) {
    error(key, d.err().message);
    return std::nullopt;
  }
  return *d;
}

std::optional<std::uint64_t> section::byte_count(std::string_view key) {
  const toml::node* n = node(key);
  if (!n) return std::nullopt;
  if (n->is_integer()) {
    std::int64_t v = n->as_integer()->get();
    if (v < 0) {
      error(key, std::to_string(v) + " is not a byte count (negative)");
      return std::nullopt;
    }
    return static_cast<std::uint64_t>(v);
  }
  if (!n->is_string()) {
    error(key, "expected a byte count such as \"500M\" or an integer, got " + a_type(n->type()));
    return std::nullopt;
  }
  auto v = parse_byte_count(n->as_string()->get());
  if (!v) {
    error(key, v.err().message);
    return std::nullopt;
  }
  return *v;
}

std::optional<std::vector<text_item>> section::list(std::string_view key, bool split_commas) {
  const toml::node* n = node(key);
  if (!n) return std::nullopt;
  std::vector<text_item> out;
  bool ok = true;
  auto add = [&](std::string_view s, location where) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    if (s.empty()) {
      error_at(where, key, "empty entry in list");
      ok = false;
      return;
    }
    out.push_back({std::string(s), where});
  };
  auto add_string = [&](const std::string& s, location where) {
    if (!split_commas) return add(s, where);
    std::size_t pos = 0;
    for (;;) {
      std::size_t comma = s.find(',', pos);
      add(std::string_view(s).substr(pos, comma == std::string::npos ? std::string::npos : comma - pos), where);
      if (comma == std::string::npos) break;
      pos = comma + 1;
    }
  };
  if (n->is_string()) {
    add_string(n->as_string()->get(), at(n->source()));
  } else if (const toml::array* a = n->as_array()) {
    for (const toml::node& e : *a) {
      if (!e.is_string()) {
        error_at(at(e.source()), key, "expected a list of strings, found " + a_type(e.type()) + " in it");
        ok = false;
        continue;
      }
      add_string(e.as_string()->get(), at(e.source()));
    }
  } else {
    error(key, "expected a list of strings, got " + a_type(n->type()));
    return std::nullopt;
  }
  if (!ok) return std::nullopt;
  return out;
}

std::optional<section> section::subtable(std::string_view key) {
  const toml::node* n = node(key);
  if (!n) return std::nullopt;
  if (const toml::table* t = n->as_table()) return section(*t, key_path(key), *d_);
  error(key, "expected a table, got " + a_type(n->type()));
  return std::nullopt;
}

void section::finish(std::span<const std::string_view> unsupported) {
  for (const auto& [k, v] : in_file_order(*t_)) {
    (void)v;
    std::string_view name = k->str();
    if (std::find(known_.begin(), known_.end(), name) != known_.end()) continue;
    location where = at(k->source());
    if (std::find(unsupported.begin(), unsupported.end(), name) != unsupported.end()) {
      d_->error(where, key_path(name), "the swanctl option '" + std::string(name) + "' is not supported by aiked");
      continue;
    }
    std::string msg = "unknown key '" + std::string(name) + "'";
    if (auto hint = closest_key(name, known_)) msg += " (did you mean '" + *hint + "'?)";
    d_->error(where, key_path(name), std::move(msg));
  }
}

}  // namespace aike::config::detail
