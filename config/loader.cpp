#include "config/loader.hpp"

#include <algorithm>

#include "config/connection_section.hpp"
#include "config/daemon_section.hpp"
#include "config/file_text.hpp"
#include "config/secrets_section.hpp"
#include "config/toml_section.hpp"

namespace aike::config {

namespace {

using detail::diagnostics;
using detail::section;

void sort_by_position(std::vector<problem>& list) {
  std::stable_sort(list.begin(), list.end(), [](const problem& a, const problem& b) {
    return a.line != b.line ? a.line < b.line : a.column < b.column;
  });
}

load_result finish(diagnostics& d, std::optional<config> cfg) {
  load_result r;
  sort_by_position(d.problems);
  sort_by_position(d.warnings);
  r.problems = std::move(d.problems);
  r.warnings = std::move(d.warnings);
  if (r.problems.empty()) r.cfg = std::move(cfg);
  return r;
}

}  // namespace

load_result load_string(std::string_view text, const std::string& path_for_messages, credential_cache& creds) {
  diagnostics d(path_for_messages);
  toml::table root;
  try {
    root = toml::parse(text, std::string_view(path_for_messages));
  } catch (const toml::parse_error& e) {
    d.error(detail::at(e.source()), "", std::string(e.description()));
    return finish(d, std::nullopt);
  }

  config cfg;
  cfg.path = path_for_messages;
  section top(root, "", d);
  const std::string base_dir = folder_of(path_for_messages);

  detail::read_daemon(top.subtable("daemon"), top.subtable("kernel"), base_dir, cfg.daemon);

  std::vector<detail::named_secret> secrets;
  bool secrets_incomplete = false;
  if (auto s = top.subtable("secrets")) {
    secrets = detail::read_secrets(*s);
    cfg.secrets = s->table_node().size();
    secrets_incomplete = secrets.size() != cfg.secrets;
  } else {
    secrets_incomplete = top.has("secrets");  // there, but not a table
  }

  if (auto conns = top.subtable("connections")) {
    detail::load_context ctx{cfg.daemon, secrets, secrets_incomplete, base_dir, creds};
    for (const auto& [k, v] : detail::in_file_order(conns->table_node())) {
      (void)v;
      std::string name(k->str());
      auto c = conns->subtable(name);
      if (!c) continue;
      if (auto conn = detail::read_connection(*c, name, ctx)) cfg.connections.push_back(std::move(*conn));
    }
  }
  top.finish();
  for (auto& s : secrets) wipe(s.psk.secret);  // the connections hold their own copies
  return finish(d, std::move(cfg));
}

load_result load_file(const std::string& path, credential_cache& creds) {
  auto text = read_text_file(path, 16 << 20);
  if (!text) {
    load_result r;
    r.problems.push_back(problem{path, 0, 0, "", text.err().message});
    return r;
  }
  return load_string(*text, path, creds);
}

}  // namespace aike::config
