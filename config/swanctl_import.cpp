#include "config/swanctl_import.hpp"

#include <algorithm>
#include <optional>

#include "config/duration.hpp"
#include "config/mark_value.hpp"
#include "config/volume_value.hpp"
#include "engine/common/endpoint.hpp"
#include "engine/proposal/parser.hpp"

namespace aike::config::swanctl {

const setting* section::find(std::string_view key) const {
  for (const auto& s : settings)
    if (s.key == key) return &s;
  return nullptr;
}

const section* section::subsection(std::string_view n) const {
  for (const auto& s : sections)
    if (s->name == n) return s.get();
  return nullptr;
}

std::string unsupported_item::to_string(std::string_view file) const {
  return std::string(file) + ":" + std::to_string(line) + ": " + path + ": " + message;
}

// --- parser ------------------------------------------------------------------------------------

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' || s.front() == '\n'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) s.remove_suffix(1);
  return s;
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r'; }

class parser {
 public:
  explicit parser(std::string_view text) : t_(text) {}

  parse_result run() {
    parse_result r;
    auto root = std::make_unique<section>();
    std::vector<section*> stack{root.get()};
    for (;;) {
      skip_blank();
      if (eof()) break;
      char c = t_[i_];
      if (c == '}') {
        if (stack.size() == 1) return fail(line_, "'}' without an open section");
        stack.pop_back();
        ++i_;
        continue;
      }
      const int name_line = line_;
      std::string name = read_name();
      if (name.empty()) return fail(line_, std::string("unexpected '") + c + "'");
      skip_spaces();
      if (name == "include" && !eof() && t_[i_] != '=' && t_[i_] != '{' && t_[i_] != ':') {
        std::size_t start = i_;
        while (!eof() && t_[i_] != '\n' && t_[i_] != '#') ++i_;
        std::string pattern(trim(t_.substr(start, i_ - start)));
        if (pattern.empty()) return fail(name_line, "include without a file name");
        stack.back()->includes.push_back({"include", pattern, name_line});
        continue;
      }
      skip_blank();
      if (eof()) return fail(name_line, "expected '=' or '{' after '" + name + "'");
      c = t_[i_];
      std::vector<std::string> refs;
      if (c == '=') {
        ++i_;
        auto value = read_value();
        if (!value) return std::move(r_);
        set(*stack.back(), name, std::move(*value), name_line);
        continue;
      }
      if (c == ':') {
        ++i_;
        std::string list;
        while (!eof() && t_[i_] != '{' && t_[i_] != '}' && t_[i_] != '=' && t_[i_] != '#' && t_[i_] != '\n')
          list += t_[i_++];
        std::string_view rest = list;
        while (!rest.empty()) {
          auto comma = rest.find(',');
          auto item = trim(rest.substr(0, comma));
          if (!item.empty()) refs.emplace_back(item);
          rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
        }
        skip_blank();
        if (eof() || t_[i_] != '{' || refs.empty())
          return fail(name_line, "expected 'name : base {' for the section reference of '" + name + "'");
        c = '{';
      }
      if (c == '{') {
        ++i_;
        section* parent = stack.back();
        section* child = nullptr;
        for (auto& s : parent->sections)
          if (s->name == name) child = s.get();
        if (!child) {
          parent->sections.push_back(std::make_unique<section>());
          child = parent->sections.back().get();
          child->name = name;
          child->line = name_line;
        }
        child->references.insert(child->references.end(), refs.begin(), refs.end());
        stack.push_back(child);
        continue;
      }
      return fail(name_line, "expected '=' or '{' after '" + name + "'");
    }
    if (stack.size() > 1)
      return fail(line_, "section '" + stack.back()->name + "' opened at line " + std::to_string(stack.back()->line) +
                             " is not closed (missing '}')");
    r.root = std::move(root);
    return r;
  }

 private:
  bool eof() const { return i_ >= t_.size(); }

  parse_result fail(int line, std::string message) {
    parse_result r;
    r.error = {line, std::move(message)};
    return r;
  }

  void skip_spaces() {
    while (!eof() && is_space(t_[i_])) ++i_;
  }

  // Blanks, line breaks and comments.
  void skip_blank() {
    while (!eof()) {
      char c = t_[i_];
      if (c == '\n') {
        ++line_;
        ++i_;
      } else if (is_space(c)) {
        ++i_;
      } else if (c == '#') {
        while (!eof() && t_[i_] != '\n') ++i_;
      } else {
        break;
      }
    }
  }

  std::string read_name() {
    std::string n;
    while (!eof()) {
      char c = t_[i_];
      if (is_space(c) || c == '\n' || c == '{' || c == '}' || c == '=' || c == '#' || c == ':' || c == '"') break;
      n += c;
      ++i_;
    }
    return n;
  }

  // After '='. Unquoted: up to a line break, '}' or '#' (which are left for the caller).
  std::optional<std::string> read_value() {
    skip_spaces();
    if (!eof() && t_[i_] == '"') {
      const int open_line = line_;
      ++i_;
      std::string v;
      for (;;) {
        if (eof()) {
          r_ = fail(open_line, "quoted value is not closed (missing '\"')");
          return std::nullopt;
        }
        char c = t_[i_++];
        if (c == '"') break;
        if (c == '\n') ++line_;
        if (c == '\\' && !eof()) {
          char e = t_[i_++];
          switch (e) {
            case 'n': v += '\n'; break;
            case 't': v += '\t'; break;
            case 'r': v += '\r'; break;
            case '"': v += '"'; break;
            case '\\': v += '\\'; break;
            case '\n': ++line_; break;  // a continued line
            default: v += '\\'; v += e; break;
          }
          continue;
        }
        v += c;
      }
      skip_spaces();
      if (!eof() && t_[i_] != '\n' && t_[i_] != '}' && t_[i_] != '#') {
        r_ = fail(line_, "unexpected text after a quoted value");
        return std::nullopt;
      }
      return v;
    }
    std::size_t start = i_;
    while (!eof() && t_[i_] != '\n' && t_[i_] != '}' && t_[i_] != '#') ++i_;
    return std::string(trim(t_.substr(start, i_ - start)));
  }

  static void set(section& s, const std::string& key, std::string value, int line) {
    for (auto& existing : s.settings)
      if (existing.key == key) {
        existing.value = std::move(value);
        existing.line = line;
        return;
      }
    s.settings.push_back({key, std::move(value), line});
  }

  std::string_view t_;
  std::size_t i_ = 0;
  int line_ = 1;
  parse_result r_;  // the error of read_value
};

}  // namespace

parse_result parse_swanctl(std::string_view text) { return parser(text).run(); }

// --- mapper ------------------------------------------------------------------------------------

namespace {

std::string quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
          static constexpr char hex[] = "0123456789ABCDEF";
          out += "\\u00";
          out += hex[(c >> 4) & 0xf];
          out += hex[c & 0xf];
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

// A TOML key: bare when it can be.
std::string toml_key(std::string_view s) {
  bool bare = !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
  });
  return bare ? std::string(s) : quote(s);
}

std::string array(const std::vector<std::string>& items) {
  std::string out = "[";
  for (std::size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + quote(items[i]);
  return out + "]";
}

std::vector<std::string> split_list(std::string_view v) {
  std::vector<std::string> out;
  while (true) {
    auto comma = v.find(',');
    auto item = trim(v.substr(0, comma));
    if (!item.empty()) out.emplace_back(item);
    if (comma == std::string_view::npos) break;
    v.remove_prefix(comma + 1);
  }
  return out;
}

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

std::optional<bool> parse_bool(std::string_view v) {
  if (v == "yes" || v == "true" || v == "1") return true;
  if (v == "no" || v == "false" || v == "0") return false;
  return std::nullopt;
}

// Decimal, or hexadecimal with 0x (swanctl accepts both).
std::optional<long long> parse_int(std::string_view v, long long lo, long long hi) {
  int base = 10;
  if (v.size() > 2 && v[0] == '0' && (v[1] == 'x' || v[1] == 'X')) {
    v.remove_prefix(2);
    base = 16;
  }
  auto digit = [base](char c) {
    return (c >= '0' && c <= '9') || (base == 16 && ((c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')));
  };
  if (v.empty() || v.size() > 15 || !std::all_of(v.begin(), v.end(), digit)) return std::nullopt;
  long long n = std::stoll(std::string(v), nullptr, base);
  if (n < lo || n > hi) return std::nullopt;
  return n;
}

bool one_of(std::string_view v, std::initializer_list<std::string_view> choices) {
  return std::find(choices.begin(), choices.end(), v) != choices.end();
}

std::string join(const std::vector<std::string>& v, std::string_view sep) {
  std::string out;
  for (std::size_t i = 0; i < v.size(); ++i) out += (i ? std::string(sep) : "") + v[i];
  return out;
}

class mapper {
 public:
  mapper(const section& root, const import_options& opts) : root_(root), opts_(opts) {}

  import_result run() {
    report_includes_and_references(root_, "");
    out_ += "# aiked.toml converted from " + opts_.source_name + " by aikectl import-swanctl.\n";
    out_ += "# Check it with: aiked --check-config -c FILE\n";
    out_ += "#\n";
    out_ += "# swanctl.conf has no daemon settings, so this file has no [daemon] table and aiked's\n";
    out_ += "# defaults apply (listen on all addresses, ports 500/4500, kernel = \"auto\", control on\n";
    out_ += "# 127.0.0.1:4510). Add one if needed, for example:\n";
    out_ += "# [daemon]\n# listen = [\"192.0.2.1\"]\n# kernel = \"auto\"\n# control_token = \"/run/aike/control.token\"\n";

    for (const auto& s : root_.settings) report(s.key, s.line, "not a swanctl.conf setting; not carried over");
    // Key files named by secrets must be known before the connections are mapped.
    key_files_ = opts_.key_files;
    if (const section* secrets = root_.subsection("secrets")) collect_key_files(*secrets);

    for (const auto& s : root_.sections) {
      if (s->name == "connections") {
        for (const auto& kv : s->settings)
          report("connections." + kv.key, kv.line, "a setting directly in 'connections' means nothing; not carried over");
        for (const auto& c : s->sections) map_connection(*c);
      } else if (s->name == "secrets") {
        map_secrets(*s);
      } else if (s->name == "pools") {
        report("pools", s->line, "virtual IP address pools are not supported by aiked; not carried over");
      } else if (s->name == "authorities") {
        report("authorities", s->line, "certification authorities (CRL/OCSP URIs) are not supported by aiked; "
                                       "name CA certificates in remote.cacerts instead");
      } else {
        report(s->name, s->line, "unknown swanctl.conf section; not carried over");
      }
    }
    std::stable_sort(items_.begin(), items_.end(),
                     [](const unsupported_item& a, const unsupported_item& b) { return a.line < b.line; });
    return {std::move(out_), std::move(items_)};
  }

 private:
  void report(std::string path, int line, std::string message) {
    items_.push_back({std::move(path), line, std::move(message)});
  }

  void report_includes_and_references(const section& s, const std::string& path) {
    for (const auto& inc : s.includes)
      report(path.empty() ? "include" : path + ".include", inc.line,
             "include '" + inc.value + "' is not followed; convert that file separately and add the result");
    if (!s.references.empty())
      report(path, s.line,
             "section references (': " + join(s.references, ", ") +
                 "') are not supported; only the settings written in this section are carried over");
    for (const auto& sub : s.sections) report_includes_and_references(*sub, path.empty() ? sub->name : path + "." + sub->name);
  }

  // swanctl names files relative to its folders (x509/, x509ca/, pubkey/, private/, ...).
  std::string file_in(std::string_view folder, std::string_view name) const {
    if (starts_with(name, "/")) return std::string(name);
    std::string rel = std::string(folder) + "/" + std::string(name);
    return opts_.swanctl_dir.empty() ? rel : opts_.swanctl_dir + "/" + rel;
  }

  // --- values, each returns the TOML value or nullopt after reporting -------------------------

  std::optional<std::string> duration(const setting& s, const std::string& path) {
    auto d = parse_duration(s.value);
    if (!d) {
      report(path, s.line, "'" + s.value + "' is not a duration aiked accepts; not carried over");
      return std::nullopt;
    }
    return quote(format_duration(*d));
  }

  // Written as swanctl wrote it ("500M" stays "500M"), an integer when it had no unit.
  std::optional<std::string> byte_count(const setting& s, const std::string& path) {
    const std::string text(trim(s.value));
    auto n = parse_byte_count(text);
    if (!n) {
      report(path, s.line, n.err().message + "; not carried over");
      return std::nullopt;
    }
    if (!text.empty() && (text.back() < '0' || text.back() > '9')) return quote(text);
    return std::to_string(*n);
  }

  std::optional<std::string> boolean(const setting& s, const std::string& path) {
    auto b = parse_bool(s.value);
    if (!b) {
      report(path, s.line, "'" + s.value + "' is not yes or no; not carried over");
      return std::nullopt;
    }
    return *b ? "true" : "false";
  }

  std::optional<std::string> integer(const setting& s, const std::string& path, long long lo, long long hi) {
    auto n = parse_int(trim(s.value), lo, hi);
    if (!n) {
      report(path, s.line,
             "'" + s.value + "' is not a number from " + std::to_string(lo) + " to " + std::to_string(hi) +
                 "; not carried over");
      return std::nullopt;
    }
    return std::to_string(*n);
  }

  std::optional<std::string> choice(const setting& s, const std::string& path,
                                    std::initializer_list<std::string_view> choices) {
    if (one_of(s.value, choices)) return quote(s.value);
    std::vector<std::string> names(choices.begin(), choices.end());
    report(path, s.line,
           "'" + s.value + "' is not supported by aiked (it knows " + join(names, ", ") + "); not carried over");
    return std::nullopt;
  }

  std::optional<std::string> addresses(const setting& s, const std::string& path) {
    std::vector<std::string> keep;
    bool any = false;
    for (const auto& item : split_list(s.value)) {
      if (item == "%any") {
        any = true;
      } else if (ip_address::parse(item)) {
        keep.push_back(item);
      } else {
        report(path, s.line,
               "'" + item + "' is not supported by aiked (only IP addresses and %any: no host names, subnets, "
                            "ranges, %any4 or %any6); left out");
      }
    }
    if (!keep.empty()) return array(keep);
    if (any) return array({"%any"});
    report(path, s.line, "no address left; the key is left out, which means %any");
    return std::nullopt;
  }

  std::optional<std::string> proposals(const setting& s, const std::string& path, bool ike) {
    std::vector<std::string> keep;
    for (const auto& item : split_list(s.value)) {
      auto parsed = ike ? proposal::parse_ike_proposals({item}) : proposal::parse_esp_proposals({item});
      if (parsed) {
        keep.push_back(item);
      } else {
        report(path, s.line, "proposal '" + item + "' is not supported by aiked (" + parsed.err().message + "); left out");
      }
    }
    if (keep.empty()) {
      report(path, s.line, "no proposal left; the key is left out, which means aiked's \"default\"");
      return std::nullopt;
    }
    return array(keep);
  }

  // --- secrets -------------------------------------------------------------------------------

  static std::optional<std::string_view> key_folder(std::string_view name) {
    for (std::string_view prefix : {"private", "rsa", "ecdsa", "pkcs8"})
      if (starts_with(name, prefix)) return prefix;
    return std::nullopt;
  }

  void collect_key_files(const section& secrets) {
    for (const auto& s : secrets.sections) {
      auto folder = key_folder(s->name);
      if (!folder) continue;
      if (const setting* f = s->find("file")) {
        std::string path = file_in(*folder, f->value);
        if (std::find(key_files_.begin(), key_files_.end(), path) == key_files_.end()) key_files_.push_back(path);
      }
    }
  }

  void map_secrets(const section& secrets) {
    for (const auto& kv : secrets.settings)
      report("secrets." + kv.key, kv.line, "a setting directly in 'secrets' means nothing; not carried over");
    for (const auto& s : secrets.sections) {
      const std::string path = "secrets." + s->name;
      if (starts_with(s->name, "ike")) {
        map_ike_secret(*s, path);
      } else if (key_folder(s->name)) {
        for (const auto& kv : s->settings) {
          if (kv.key == "file") continue;  // collected before
          if (kv.key == "secret")
            report(path + ".secret", kv.line,
                   "encrypted private keys are not supported by aiked: decrypt the key (openssl pkey -in KEY -out "
                   "PLAIN) and name the plain file");
          else
            report(path + "." + kv.key, kv.line, "not supported by aiked; not carried over");
        }
        if (!s->find("file")) report(path, s->line, "no 'file'; nothing to carry over");
      } else {
        std::string message = "unknown kind of secret; not carried over";
        for (std::string_view kind : {"eap", "xauth", "ntlm", "ppk", "pkcs12", "token"})
          if (starts_with(s->name, kind)) {
            message = std::string(kind) + " secrets are not supported by aiked; not carried over";
            break;
          }
        report(path, s->line, message);
      }
    }
  }

  void map_ike_secret(const section& s, const std::string& path) {
    std::vector<std::string> ids;
    const setting* secret = nullptr;
    for (const auto& kv : s.settings) {
      if (kv.key == "secret") secret = &kv;
      else if (starts_with(kv.key, "id")) {
        if (!kv.value.empty()) ids.push_back(std::string(trim(kv.value)));
      } else {
        report(path + "." + kv.key, kv.line, "not supported by aiked; not carried over");
      }
    }
    if (!secret || secret->value.empty()) {
      report(path, s.line, "no secret; the entry is not carried over");
      return;
    }
    out_ += "\n# " + path + " (" + opts_.source_name + " line " + std::to_string(s.line) + ")\n";
    out_ += "[secrets." + toml_key(s.name) + "]\n";
    if (!ids.empty()) out_ += "ids = " + array(ids) + "\n";
    out_ += "secret = " + quote(secret->value) + "\n";
  }

  // --- connections ---------------------------------------------------------------------------

  // local / remote. Appends the table's lines to `body`; false if the connection cannot be used.
  bool map_side(const section& side, const std::string& path, bool local, std::string& body) {
    std::string lines;
    bool pubkey = true;  // swanctl's default
    for (const auto& kv : side.settings) {
      const std::string kp = path + "." + kv.key;
      const std::string& k = kv.key;
      if (k == "auth") {
        const std::string& a = kv.value;
        if (a == "psk") {
          pubkey = false;
          lines += "auth = \"psk\"\n";
        } else if (a == "pubkey") {
          lines += "auth = \"pubkey\"\n";
        } else if (one_of(a, {"rsa", "ecdsa", "ed25519", "ed448"}) || starts_with(a, "pubkey-") ||
                   starts_with(a, "rsa-") || starts_with(a, "rsa/") || starts_with(a, "ecdsa-")) {
          lines += "auth = \"pubkey\"\n";
          report(kp, kv.line,
                 "'" + a + "' written as auth = \"pubkey\": aiked does not restrict the key type or signature scheme");
        } else {
          report(kp, kv.line,
                 "'" + a + "' is not supported by aiked (psk and pubkey only); the connection is not carried over");
          return false;
        }
      } else if (k == "id") {
        lines += "id = " + quote(kv.value) + "\n";
      } else if (k == "certs" && local) {
        std::vector<std::string> files;
        for (const auto& f : split_list(kv.value)) files.push_back(file_in("x509", f));
        lines += "certs = " + array(files) + "\n";
      } else if (k == "cacerts" && !local) {
        std::vector<std::string> files;
        for (const auto& f : split_list(kv.value)) files.push_back(file_in("x509ca", f));
        lines += "cacerts = " + array(files) + "\n";
      } else if (k == "pubkeys") {
        std::vector<std::string> files;
        for (const auto& f : split_list(kv.value)) files.push_back(file_in("pubkey", f));
        lines += "pubkeys = " + array(files) + "\n";
      } else {
        report(kp, kv.line, "not supported by aiked; not carried over");
      }
    }
    for (const auto& sub : side.sections)
      report(path + "." + sub->name, sub->line, "unknown section; not carried over");
    const bool remote_trust = side.find("cacerts") || side.find("pubkeys");
    if (!local && pubkey && !remote_trust)
      report(path + ".auth", side.line,
             "pubkey authentication of the peer needs cacerts or pubkeys in aiked (swanctl trusts every CA "
             "certificate in x509ca/ by itself); add them by hand");
    if (local && pubkey) {
      if (key_files_.size() == 1) {
        lines += "private_key = " + quote(key_files_.front()) + "\n";
      } else if (key_files_.empty()) {
        report(path + ".auth", side.line,
               "pubkey authentication needs private_key in aiked, and no private key was found (swanctl's private/, "
               "rsa/, ecdsa/, pkcs8/ folders or secrets); set private_key by hand");
      } else {
        report(path + ".auth", side.line,
               "pubkey authentication needs private_key in aiked, and there are " + std::to_string(key_files_.size()) +
                   " private keys to choose from; set private_key by hand (candidates are listed as comments)");
        for (const auto& f : key_files_) lines += "# private_key = " + quote(f) + "\n";
      }
    }
    body += lines;
    return true;
  }

  // One child; appends it to `body`. `dpd` collects its dpd_action for the connection.
  void map_child(const section& c, const std::string& path, const std::string& table, std::string& body,
                 std::vector<std::string>& dpd) {
    std::string lines;
    for (const auto& kv : c.settings) {
      const std::string kp = path + "." + kv.key;
      const std::string& k = kv.key;
      std::optional<std::string> v;
      if (k == "local_ts" || k == "remote_ts") {
        v = array(split_list(kv.value));
      } else if (k == "esp_proposals") {
        v = proposals(kv, kp, false);
      } else if (k == "mode") {
        if (one_of(kv.value, {"pass", "drop"})) {
          report(kp, kv.line, "'" + kv.value + "' (bypass/drop policies) is not supported by aiked; the child is not "
                                               "carried over");
          return;
        }
        v = choice(kv, kp, {"tunnel", "transport"});
      } else if (k == "start_action") {
        if (kv.value == "trap|start" || kv.value == "start|trap") {
          report(kp, kv.line, "'" + kv.value + "': aiked takes one action; written as \"start\"");
          v = quote("start");
        } else {
          v = choice(kv, kp, {"none", "start", "trap"});
        }
      } else if (k == "dpd_action" || k == "close_action") {
        v = choice(kv, kp, {"none", "clear", "trap", "hold", "restart"});
        if (v && k == "dpd_action") dpd.push_back(kv.value);
      } else if (k == "updown") {
        v = quote(kv.value);
      } else if (k == "rekey_time" || k == "life_time" || k == "rand_time") {
        v = duration(kv, kp);
      } else if (k == "rekey_bytes" || k == "life_bytes" || k == "rand_bytes") {
        v = byte_count(kv, kp);
      } else if (k == "rekey_packets" || k == "life_packets" || k == "rand_packets") {
        v = integer(kv, kp, 0, 9223372036854775807LL);
      } else if (k == "replay_window") {
        v = integer(kv, kp, 0, 2147483647);
      } else if (k == "mark_in" || k == "mark_out") {
        if (auto m = parse_mark(kv.value)) v = quote(kv.value);
        else report(kp, kv.line, m.err().message + "; not carried over");
      } else {
        report(kp, kv.line, "not supported by aiked; not carried over");
      }
      if (v) lines += k + " = " + *v + "\n";
    }
    for (const auto& sub : c.sections) report(path + "." + sub->name, sub->line, "unknown section; not carried over");
    body += "[" + table + "]\n" + lines;
  }

  void map_connection(const section& c) {
    const std::string path = "connections." + c.name;
    const std::string table = "connections." + toml_key(c.name);
    std::string head, sides, children;
    std::vector<std::string> dpd;
    for (const auto& kv : c.settings) {
      const std::string kp = path + "." + kv.key;
      const std::string& k = kv.key;
      std::optional<std::string> v;
      if (k == "version") {
        if (kv.value == "1") {
          report(kp, kv.line, "IKEv1 is not supported by aiked; the connection is not carried over");
          return;
        }
        if (kv.value == "0") report(kp, kv.line, "0 (IKEv1 or IKEv2): aiked speaks IKEv2 only; written as 2");
        v = kv.value == "0" || kv.value == "2" ? std::optional<std::string>("2") : integer(kv, kp, 2, 2);
      } else if (k == "local_addrs" || k == "remote_addrs") {
        v = addresses(kv, kp);
      } else if (k == "local_port" || k == "remote_port") {
        v = integer(kv, kp, 1, 65535);
      } else if (k == "proposals") {
        v = proposals(kv, kp, true);
      } else if (k == "encap" || k == "mobike") {
        v = boolean(kv, kp);
      } else if (k == "dpd_delay" || k == "rekey_time" || k == "reauth_time" || k == "over_time" || k == "rand_time") {
        v = duration(kv, kp);
      } else if (k == "dpd_timeout") {
        report(kp, kv.line, "ignored by aiked (as by charon for IKEv2): [daemon.retransmit] decides when a peer is "
                            "dead; not carried over");
      } else if (k == "unique") {
        v = choice(kv, kp, {"replace", "keep", "never", "no"});
      } else if (k == "keyingtries") {
        v = kv.value == "%forever" ? std::optional<std::string>("0") : integer(kv, kp, 0, 1000000);
      } else if (k == "fragmentation") {
        v = choice(kv, kp, {"yes", "accept", "force", "no"});
      } else {
        report(kp, kv.line, "not supported by aiked; not carried over");
      }
      if (v) head += k + " = " + *v + "\n";
    }
    for (const auto& sub : c.sections) {
      const std::string sp = path + "." + sub->name;
      if (sub->name == "local" || sub->name == "remote") {
        std::string body = "[" + table + "." + sub->name + "]\n";
        if (!map_side(*sub, sp, sub->name == "local", body)) return;
        sides += body;
      } else if (starts_with(sub->name, "local") || starts_with(sub->name, "remote")) {
        report(sp, sub->line,
               "more than one authentication round (local-N/remote-N) is not supported by aiked; this round is not "
               "carried over");
      } else if (sub->name == "children") {
        for (const auto& kv : sub->settings)
          report(sp + "." + kv.key, kv.line, "a setting directly in 'children' means nothing; not carried over");
        for (const auto& child : sub->sections)
          map_child(*child, sp + "." + child->name, table + ".children." + toml_key(child->name), children, dpd);
      } else {
        report(sp, sub->line, "unknown section; not carried over");
      }
    }
    // A side left out gets swanctl's defaults (pubkey), which need files aiked must be told.
    for (const char* side_name : {"local", "remote"}) {
      if (c.subsection(side_name)) continue;
      std::string body = "[" + table + "." + side_name + "]\n";
      section empty;
      empty.line = c.line;
      map_side(empty, path + "." + side_name, std::string_view(side_name) == "local", body);
      sides += body;
    }
    // swanctl sets dpd_action per child; aiked decides per connection.
    std::string conn_dpd;
    if (std::find(dpd.begin(), dpd.end(), "restart") != dpd.end()) conn_dpd = "restart";
    else if (std::find(dpd.begin(), dpd.end(), "trap") != dpd.end()) conn_dpd = "trap";
    else if (std::find(dpd.begin(), dpd.end(), "clear") != dpd.end()) conn_dpd = "clear";
    if (!conn_dpd.empty()) head += "dpd_action = " + quote(conn_dpd) + "   # from the children's dpd_action\n";

    out_ += "\n# " + path + " (" + opts_.source_name + " line " + std::to_string(c.line) + ")\n";
    out_ += "[" + table + "]\n" + head + sides + children;
  }

  const section& root_;
  const import_options& opts_;
  std::vector<std::string> key_files_;
  std::string out_;
  std::vector<unsupported_item> items_;
};

}  // namespace

import_result import_swanctl(const section& root, const import_options& opts) { return mapper(root, opts).run(); }

}  // namespace aike::config::swanctl
