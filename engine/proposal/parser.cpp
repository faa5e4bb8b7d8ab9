#include "engine/proposal/parser.hpp"

#include <algorithm>
#include <cctype>
#include <string_view>

#include "engine/proposal/keywords.hpp"

namespace aike::proposal {

namespace {

enum class kind { ike, esp };

// "default" expands to these: AEAD first, then AES-CBC with SHA-2, modern groups first.
constexpr std::string_view default_groups =
    "x25519-ecp256-ecp384-x448-ecp521-modp3072-modp4096-modp2048";
const std::vector<std::string>& default_specs(kind k) {
  static const std::vector<std::string> ike{
      "aes256gcm16-aes128gcm16-chacha20poly1305-prfsha256-prfsha384-prfsha512-" +
          std::string(default_groups),
      "aes256-aes128-sha256-sha384-sha512-" + std::string(default_groups)};
  static const std::vector<std::string> esp{"aes256gcm16-aes128gcm16", "aes256-aes128-sha256"};
  return k == kind::ike ? ike : esp;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

wire::transform make_transform(wire::transform_type type, std::uint16_t id, std::uint16_t key_bits) {
  wire::transform t;
  t.type = type;
  t.id = id;
  if (key_bits != 0) t.attributes.push_back({wire::attr_key_length, true, key_bits, {}});
  return t;
}

// One keyword as written, with the transform it names.
struct parsed_token {
  std::string text;
  const keyword* kw;
};

error config_error(std::string msg) { return make_error(errc::invalid_argument, std::move(msg)); }

std::string named(std::string_view spec) { return "proposal '" + std::string(spec) + "'"; }
std::string in(std::string_view spec) { return " in " + named(spec); }

void add_unique(std::vector<parsed_token>& list, parsed_token t) {
  for (const auto& e : list)
    if (e.kw->type == t.kw->type && e.kw->id == t.kw->id && e.kw->key_bits == t.kw->key_bits) return;
  list.push_back(std::move(t));
}

// For IKE users who wrote strongSwan's AEAD+integrity shorthand: name the PRF they meant.
std::string prf_hint(std::uint16_t integ_id) {
  auto prf = prf_for_integ(integ_id);
  const keyword* kw = prf ? keyword_for(wire::transform_type::prf, *prf, 0) : nullptr;
  return kw ? " (for the PRF write '" + std::string(kw->name) + "')" : std::string();
}

result<wire::proposal> parse_one(std::string_view spec, kind k) {
  std::vector<parsed_token> encrs, integs, prfs, kes, esns;
  std::size_t pos = 0;
  while (pos <= spec.size()) {
    std::size_t dash = spec.find('-', pos);
    if (dash == std::string_view::npos) dash = spec.size();
    std::string_view text = spec.substr(pos, dash - pos);
    pos = dash + 1;
    if (text.empty()) return config_error("empty algorithm name" + in(spec));
    const std::string name = lower(text);
    if (name == "default") return config_error("'default' must stand alone, not" + in(spec));
    const keyword* kw = find_keyword(name);
    if (kw == nullptr) return config_error("unknown algorithm '" + std::string(text) + "'" + in(spec));
    if (!kw->unsupported_reason.empty()) {
      std::string msg = "unsupported algorithm '" + std::string(text) + "'" + in(spec) + ": " +
                        std::string(kw->unsupported_reason);
      if (kw->type == wire::transform_type::ke) msg += " (supported: " + supported_groups_text() + ")";
      return make_error(errc::unsupported, std::move(msg));
    }
    parsed_token tok{std::string(text), kw};
    switch (kw->type) {
      case wire::transform_type::encr: add_unique(encrs, std::move(tok)); break;
      case wire::transform_type::integ: add_unique(integs, std::move(tok)); break;
      case wire::transform_type::prf: add_unique(prfs, std::move(tok)); break;
      case wire::transform_type::ke: add_unique(kes, std::move(tok)); break;
      case wire::transform_type::esn: add_unique(esns, std::move(tok)); break;
    }
  }

  const char* proto = k == kind::ike ? "IKE" : "ESP";
  if (encrs.empty()) return config_error("no encryption algorithm in " + std::string(proto) + " " + named(spec));

  // RFC 7296 §3.3: combined-mode and plain ciphers must go in separate proposals.
  const parsed_token* aead = nullptr;
  const parsed_token* plain = nullptr;
  for (const auto& e : encrs) {
    if (is_aead(e.kw->id) && !aead) aead = &e;
    if (!is_aead(e.kw->id) && !plain) plain = &e;
  }
  if (aead && plain)
    return config_error("AEAD cipher '" + aead->text + "' mixed with non-AEAD cipher '" + plain->text + "'" +
                        in(spec) + ": put them in separate proposals");
  if (aead && !integs.empty())
    return config_error("AEAD cipher '" + aead->text + "' combined with integrity algorithm '" +
                        integs.front().text + "'" + in(spec) + ": AEAD takes none" +
                        (k == kind::ike ? prf_hint(integs.front().kw->id) : std::string()));
  if (plain && integs.empty())
    return config_error("no integrity algorithm for non-AEAD cipher '" + plain->text + "'" + in(spec));

  wire::proposal p;
  p.protocol = k == kind::ike ? wire::protocol_id::ike : wire::protocol_id::esp;
  for (const auto& e : encrs) p.transforms.push_back(make_transform(e.kw->type, e.kw->id, e.kw->key_bits));

  if (k == kind::ike) {
    if (!esns.empty()) return config_error("'" + esns.front().text + "' is only valid in ESP proposals" + in(spec));
    if (prfs.empty()) {
      if (aead) return config_error("no PRF in IKE " + named(spec) + " (add e.g. 'prfsha256')");
      for (const auto& i : integs)  // strongSwan convention: integrity implies the same-hash PRF
        if (auto prf = prf_for_integ(i.kw->id))
          p.transforms.push_back(make_transform(wire::transform_type::prf, *prf, 0));
    } else {
      for (const auto& f : prfs) p.transforms.push_back(make_transform(f.kw->type, f.kw->id, 0));
    }
    if (kes.empty()) return config_error("no key exchange group in IKE " + named(spec) + " (add e.g. 'x25519')");
  } else if (!prfs.empty()) {
    return config_error("PRF '" + prfs.front().text + "' is only valid in IKE proposals" + in(spec));
  }
  for (const auto& i : integs) p.transforms.push_back(make_transform(i.kw->type, i.kw->id, 0));
  for (const auto& g : kes) p.transforms.push_back(make_transform(g.kw->type, g.kw->id, 0));
  if (k == kind::esp) {
    if (esns.empty()) p.transforms.push_back(make_transform(wire::transform_type::esn, wire::esn::no, 0));
    for (const auto& s : esns) p.transforms.push_back(make_transform(s.kw->type, s.kw->id, 0));
  }
  return p;
}

result<std::vector<wire::proposal>> parse_list(const std::vector<std::string>& specs, kind k,
                                               bool expanding_default = false) {
  std::vector<wire::proposal> out;
  for (const auto& spec : specs) {
    std::string_view rest = spec;
    if (trim(rest).empty()) return config_error("empty proposal string");
    while (true) {
      const std::size_t comma = rest.find(',');
      std::string_view piece = trim(rest.substr(0, comma));
      if (!piece.empty() && piece.back() == '!') piece = trim(piece.substr(0, piece.size() - 1));
      if (piece.empty()) return config_error("empty proposal in '" + spec + "'");
      if (lower(piece) == "default" && !expanding_default) {
        auto d = parse_list(default_specs(k), k, true);
        if (!d) return d.err();
        for (auto& p : *d) out.push_back(std::move(p));
      } else {
        auto p = parse_one(piece, k);
        if (!p) return p.err();
        out.push_back(std::move(*p));
      }
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  if (out.empty()) return config_error(std::string("no ") + (k == kind::ike ? "IKE" : "ESP") + " proposals given");
  // Proposal Num is one octet and must count up from 1 (RFC 7296 §3.3.1).
  if (out.size() > 255) return config_error("more than 255 proposals");
  for (std::size_t i = 0; i < out.size(); ++i) out[i].number = static_cast<std::uint8_t>(i + 1);
  return out;
}

std::string fallback_name(const wire::transform& t) {
  std::string type;
  switch (t.type) {
    case wire::transform_type::encr: type = "encr"; break;
    case wire::transform_type::prf: type = "prf"; break;
    case wire::transform_type::integ: type = "integ"; break;
    case wire::transform_type::ke: type = "ke"; break;
    case wire::transform_type::esn: type = "esn"; break;
    default: return "type" + std::to_string(static_cast<int>(t.type)) + "#" + std::to_string(t.id);
  }
  std::string s = type + std::to_string(t.id);
  if (auto kb = t.key_length()) s += ":" + std::to_string(*kb);
  return s;
}

}  // namespace

result<std::vector<wire::proposal>> parse_ike_proposals(const std::vector<std::string>& specs) {
  return parse_list(specs, kind::ike);
}

result<std::vector<wire::proposal>> parse_esp_proposals(const std::vector<std::string>& specs) {
  return parse_list(specs, kind::esp);
}

std::string to_string(const wire::proposal& p) {
  using wire::transform_type;
  constexpr transform_type order[] = {transform_type::encr, transform_type::integ, transform_type::prf,
                                      transform_type::ke, transform_type::esn};
  std::string out;
  auto emit = [&](const wire::transform& t) {
    const keyword* kw = keyword_for(t.type, t.id, t.key_length().value_or(0));
    if (!out.empty()) out += '-';
    out += kw ? std::string(kw->name) : fallback_name(t);
  };
  for (auto type : order) {
    std::vector<const wire::transform*> of_type;
    for (const auto& t : p.transforms)
      if (t.type == type) of_type.push_back(&t);
    // A lone "noesn" is what ESP parsing assumes anyway.
    if (type == transform_type::esn && p.protocol == wire::protocol_id::esp && of_type.size() == 1 &&
        of_type.front()->id == wire::esn::no && of_type.front()->attributes.empty())
      continue;
    for (const auto* t : of_type) emit(*t);
  }
  for (const auto& t : p.transforms)
    if (std::find(std::begin(order), std::end(order), t.type) == std::end(order)) emit(t);
  return out;
}

std::string to_string(const std::vector<wire::proposal>& ps) {
  std::string out = "[";
  for (const auto& p : ps) {
    if (out.size() > 1) out += ", ";
    out += "#" + std::to_string(p.number) + " " + to_string(p);
  }
  return out + "]";
}

}  // namespace aike::proposal
