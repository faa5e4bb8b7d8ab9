// Converting strongSwan's swanctl.conf into aiked.toml (aikectl import-swanctl).
//
// Two parts, both pure (no files are read here):
//  - parse_swanctl(): strongSwan's settings syntax as swanctl.conf uses it: `name { ... }`
//    sections, `key = value` (a value ends at a newline, `}` or `#`; "quoted" values may hold
//    those and span lines), `#` comments, `include PATTERN` lines and `name : base { }` section
//    references (both kept, so the mapper can report them). Sections with the same name are
//    merged and a later key replaces an earlier one, as strongSwan does.
//  - import_swanctl(): maps the tree onto aiked's schema and writes TOML. Everything that has no
//    counterpart is listed in `unsupported` with the swanctl key path and line; nothing is
//    dropped silently.
#pragma once
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/common/result.hpp"

namespace aike::config::swanctl {

struct setting {
  std::string key;
  std::string value;
  int line = 0;
};

struct section {
  std::string name;
  int line = 0;                                    // where it was (first) opened; 0 for the root
  std::vector<std::string> references;             // `name : a, b { }`
  std::vector<setting> settings;                   // file order; a repeated key keeps its first place
  std::vector<std::unique_ptr<section>> sections;  // file order
  std::vector<setting> includes;                   // `include PATTERN` (key "include", value PATTERN)

  const setting* find(std::string_view key) const;
  const section* subsection(std::string_view name) const;
};

struct parse_error {
  int line = 0;
  std::string message;
};

struct parse_result {
  std::unique_ptr<section> root;  // set exactly when error.line == 0
  parse_error error;
};

parse_result parse_swanctl(std::string_view text);

// One thing that was not carried over: "connections.rw.pools", line 12, why.
struct unsupported_item {
  std::string path;
  int line = 0;
  std::string message;

  std::string to_string(std::string_view file) const;  // "FILE:12: connections.rw.pools: ..."
};

struct import_options {
  // Name of the input in the header comment and in messages.
  std::string source_name = "swanctl.conf";
  // swanctl's folder (the one holding x509/, x509ca/, pubkey/, private/, ...). File names in
  // the input are relative to those subfolders; with a folder set they are written as
  // absolute paths, otherwise relative to the output file ("x509/moon.pem").
  std::string swanctl_dir;
  // Private key files found in swanctl's key folders (private/, rsa/, ecdsa/, pkcs8/), paths as
  // they should appear in the output. swanctl loads these without naming them in the config.
  std::vector<std::string> key_files;
};

struct import_result {
  std::string toml;
  std::vector<unsupported_item> unsupported;  // in input order
};

import_result import_swanctl(const section& root, const import_options& opts = {});

}  // namespace aike::config::swanctl
