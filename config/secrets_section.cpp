#include "config/secrets_section.hpp"

#include "config/secret_value.hpp"

namespace aike::config::detail {

std::vector<named_secret> read_secrets(section& secrets) {
  std::vector<named_secret> out;
  for (const auto& [k, v] : in_file_order(secrets.table_node())) {
    std::string name(k->str());
    auto s = secrets.subtable(name);
    if (!s) continue;
    named_secret entry{name, {}};
    bool ok = true;
    // swanctl writes one id per key (id, id-a, id-b); we take a list, and "id" for a single one.
    for (const char* key : {"ids", "id"}) {
      if (!s->has(key)) continue;
      auto ids = s->list(key, false);  // a DN holds commas
      if (!ids) {
        ok = false;
        continue;
      }
      for (const auto& item : *ids) {
        auto id = auth::identity::parse(item.text);
        if (!id) {
          s->error_at(item.where, key, id.err().message);
          ok = false;
        } else {
          entry.psk.ids.push_back(std::move(*id));
        }
      }
    }
    if (auto text = s->text("secret")) {
      auto decoded = decode_secret(*text);
      if (!decoded) {
        s->error("secret", decoded.err().message);
        ok = false;
      } else {
        entry.psk.secret = std::move(*decoded);
      }
    } else {
      if (!s->has("secret")) s->error_at(s->where(), "secret", "missing: every entry of [secrets] needs a secret");
      ok = false;
    }
    s->finish();
    if (ok) out.push_back(std::move(entry));
    else wipe(entry.psk.secret);
  }
  return out;
}

}  // namespace aike::config::detail
