#include "config/connection_section.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <limits>

#include "config/duration.hpp"
#include "config/file_text.hpp"
#include "config/mark_value.hpp"
#include "config/volume_value.hpp"
#include "engine/proposal/parser.hpp"
#include "engine/ts/selector.hpp"

namespace aike::config::detail {

namespace {

using std::chrono::milliseconds;

// swanctl options we know but do not implement: named as such instead of "unknown key".
constexpr std::string_view kUnsupportedConnection[] = {
    "pools", "send_certreq", "send_cert", "ppk_id", "ppk_required", "aggressive", "pull", "dscp", "childless",
    "if_id_in", "if_id_out", "mediation", "mediated_by", "mediation_peer", "vips", "cert_policy", "ocsp"};
constexpr std::string_view kUnsupportedLocal[] = {"eap_id", "aaa_id", "xauth_id", "round",
                                                                        "perm_id", "ca_id", "cert"};
constexpr std::string_view kUnsupportedRemote[] = {
    "certs", "eap_id", "groups", "cert_policy", "revocation", "ca_id", "round", "cert", "cacert"};
constexpr std::string_view kUnsupportedChild[] = {
    "ah_proposals", "sha256_96", "ipcomp", "inactivity", "reqid", "priority", "interface", "mark_in_sa", "set_mark_in", "set_mark_out", "if_id_in", "if_id_out", "label", "label_mode", "tfc_padding",
    "hostaccess", "policies", "policies_fwd_out", "hw_offload", "copy_df", "copy_ecn", "copy_dscp", "per_cpu_sas"};

// Names are what aikectl and the logs use: refuse what would not survive a command line.
bool valid_name(std::string_view n) {
  return !n.empty() && std::none_of(n.begin(), n.end(), [](char c) {
    return static_cast<unsigned char>(c) <= ' ' || c == 0x7f;
  });
}

bool shares_family(const std::vector<ip_address>& a, const std::vector<ip_address>& b) {
  for (const auto& x : a)
    for (const auto& y : b)
      if (x.v6 == y.v6) return true;
  return false;
}

// local_addrs / remote_addrs. Returns false on a problem; `any` is set for "%any" (or no key).
bool read_addrs(section& s, std::string_view key, std::vector<ip_address>& out, bool& any) {
  any = true;
  auto items = s.list(key);
  if (!items) return !s.has(key);
  bool ok = true;
  bool saw_any = false;
  for (const auto& item : *items) {
    const std::string& t = item.text;
    if (t == "%any") {
      saw_any = true;
      continue;
    }
    if (auto a = ip_address::parse(t)) {
      out.push_back(*a);
      continue;
    }
    ok = false;
    if (t == "%any4" || t == "%any6")
      s.error_at(item.where, key, "'" + t + "' is not supported (use \"%any\" or list addresses)");
    else if (t.find('/') != std::string::npos || t.find('-') != std::string::npos)
      s.error_at(item.where, key, "'" + t + "': subnets and ranges are not supported here, list single addresses");
    else
      s.error_at(item.where, key, "'" + t + "' is not an IP address (host names are not supported yet)");
  }
  if (saw_any && !out.empty()) {
    s.error(key, "'%any' cannot be combined with addresses");
    ok = false;
  }
  if (items->empty()) {
    s.error(key, "empty list (leave the key out, or write \"%any\")");
    ok = false;
  }
  any = out.empty();
  return ok;
}

// proposals / esp_proposals: each string on its own first, so a problem points at the right one.
std::optional<std::vector<wire::proposal>> read_proposals(section& s, std::string_view key, bool ike) {
  auto parse = [&](const std::vector<std::string>& specs) {
    return ike ? proposal::parse_ike_proposals(specs) : proposal::parse_esp_proposals(specs);
  };
  std::vector<std::string> specs;
  if (s.has(key)) {
    auto items = s.list(key, false);  // ',' separates proposals inside a string; the parser reads it
    if (!items) return std::nullopt;
    if (items->empty()) {
      s.error(key, "empty list (leave the key out for \"default\")");
      return std::nullopt;
    }
    bool ok = true;
    for (const auto& item : *items) {
      auto one = parse({item.text});
      if (!one) {
        s.error_at(item.where, key, one.err().message);
        ok = false;
      }
      specs.push_back(item.text);
    }
    if (!ok) return std::nullopt;
  } else {
    specs = {"default"};
  }
  auto all = parse(specs);
  if (!all) {
    s.error(key, all.err().message);
    return std::nullopt;
  }
  return std::move(*all);
}

std::optional<sa::auth_kind> read_auth(section& s) {
  auto text = s.text("auth");
  if (!text) return s.has("auth") ? std::nullopt : std::optional(sa::auth_kind::pubkey);  // swanctl's default
  const std::string& a = *text;
  if (a == "psk") return sa::auth_kind::psk;
  if (a == "pubkey") return sa::auth_kind::pubkey;
  if (a.rfind("eap", 0) == 0 || a.rfind("xauth", 0) == 0)
    s.error("auth", "'" + a + "' is not supported (use psk or pubkey)");
  else if (a == "rsa" || a == "ecdsa" || a == "ed25519" || a == "ed448" || a.rfind("rsa/", 0) == 0 || a == "bliss")
    s.error("auth", "key-type specific auth '" + a + "' is not supported; 'pubkey' accepts every supported key type");
  else
    s.error("auth", "unknown value '" + a + "' (expected one of: psk, pubkey)");
  return std::nullopt;
}

// Collects the certificates of every file of a list (each may hold a chain), in order.
std::optional<std::vector<auth::certificate>> read_cert_files(section& s, std::string_view key, const load_context& ctx) {
  auto items = s.list(key);
  if (!items) return s.has(key) ? std::nullopt : std::optional(std::vector<auth::certificate>{});
  std::vector<auth::certificate> out;
  bool ok = true;
  for (const auto& item : *items) {
    auto chain = ctx.creds.chain_from_file(resolve_path(ctx.base_dir, item.text));
    if (!chain) {
      s.error_at(item.where, key, chain.err().message);
      ok = false;
      continue;
    }
    out.insert(out.end(), chain->begin(), chain->end());
  }
  if (!ok) return std::nullopt;
  return out;
}

std::optional<std::vector<auth::public_key>> read_key_files(section& s, std::string_view key, const load_context& ctx) {
  auto items = s.list(key);
  if (!items) return s.has(key) ? std::nullopt : std::optional(std::vector<auth::public_key>{});
  std::vector<auth::public_key> out;
  bool ok = true;
  for (const auto& item : *items) {
    auto k = ctx.creds.public_key_from_file(resolve_path(ctx.base_dir, item.text));
    if (!k) {
      s.error_at(item.where, key, k.err().message);
      ok = false;
      continue;
    }
    out.push_back(std::move(*k));
  }
  if (!ok) return std::nullopt;
  return out;
}

std::optional<auth::identity> read_identity(section& s, std::string_view key) {
  auto text = s.text(key);
  if (!text) return std::nullopt;
  auto id = auth::identity::parse(*text);
  if (!id) {
    s.error(key, id.err().message);
    return std::nullopt;
  }
  return std::move(*id);
}

// Warns about credentials written for a psk side: they would be silently unused otherwise.
void warn_unused_for_psk(section& s, std::initializer_list<std::string_view> keys) {
  for (auto k : keys)
    if (s.has(k)) s.warning(k, "ignored with auth = psk");
}

// [connections.<name>.local]. `side` is null when the table is absent (swanctl's defaults then
// apply: pubkey auth); problems are named from `conn` then. Returns false if auth itself was bad.
bool read_local(section* side, section& conn, const std::vector<ip_address>& local_addrs, const load_context& ctx,
                sa::local_auth& out) {
  section& s = side ? *side : conn;
  const std::string prefix = side ? "" : "local.";
  auto kind = side ? read_auth(*side) : std::optional(sa::auth_kind::pubkey);
  std::optional<auth::identity> id = side && side->has("id") ? read_identity(*side, "id") : std::nullopt;
  if (id && id->is_any()) {
    s.error("id", "our own identity cannot be %any");
    id.reset();
  }
  if (!kind) return false;
  out.kind = *kind;
  const bool default_auth = !side || !side->has("auth");

  if (out.kind == sa::auth_kind::pubkey) {
    auto certs = side ? read_cert_files(*side, "certs", ctx) : std::optional(std::vector<auth::certificate>{});
    auto pubkeys = side ? read_key_files(*side, "pubkeys", ctx) : std::optional(std::vector<auth::public_key>{});
    const bool key_written = side && side->has("private_key");
    std::optional<std::string> key_path = side ? side->text("private_key") : std::nullopt;
    if (!key_written || (key_path && key_path->empty())) {
      conn.diag().error(side ? side->where("auth") : conn.where(), s.key_path(prefix + "private_key"),
                        std::string("auth = pubkey") + (default_auth ? " (the default)" : "") +
                            " needs private_key (a PEM file)");
    } else if (key_path) {
      auto key = ctx.creds.private_key_from_file(resolve_path(ctx.base_dir, *key_path));
      if (!key) s.error("private_key", key.err().message);
      else out.key = std::move(*key);
    }
    if (certs && pubkeys && !certs->empty() && !pubkeys->empty()) s.error("pubkeys", "set certs or pubkeys, not both");
    if (pubkeys && pubkeys->size() > 1)
      s.error("pubkeys", "we have one raw public key (the one of private_key), not " + std::to_string(pubkeys->size()));
    if (certs && !certs->empty()) {
      out.certs = *certs;
      auto cert_key = auth::public_key::from_cert(certs->front());
      // EVP_PKEY_eq, not public_key::operator== (which DER-encodes both keys, slowly in OpenSSL 3).
      if (out.key && cert_key && EVP_PKEY_eq(cert_key->get(), out.key->get()) != 1)
        s.error("private_key", "'" + *key_path + "' is not the key of the first certificate in certs (" +
                                   certs->front().subject().to_string() + ")");
      if (id && !certs->front().has_identity(*id))
        s.error("id", "'" + id->to_string() + "' is neither the subject nor a subjectAltName of the certificate (" +
                          certs->front().subject().to_string() + "); the peer would refuse it");
      if (!id && !(side && side->has("id"))) id = certs->front().subject();  // swanctl's default with a certificate
    } else if (out.key) {
      if (pubkeys && pubkeys->size() == 1) {
        if (EVP_PKEY_eq(pubkeys->front().get(), out.key->get()) != 1)
          s.error("pubkeys", "not the public key of private_key '" + *key_path + "'");
        out.raw_key = pubkeys->front();
      } else {
        out.raw_key = out.key->public_part();
      }
    }
  } else if (side) {
    warn_unused_for_psk(*side, {"certs", "pubkeys", "private_key"});
  }

  if (side && side->has("id")) {
    if (id) out.id = std::move(*id);
    return true;  // a bad id is reported already
  }
  if (!id && !local_addrs.empty()) id = auth::identity::parse(local_addrs.front().to_string()).value();
  if (!id) {
    conn.diag().error(s.where(), s.key_path(prefix + "id"),
                      "missing, and there is no local address to take it from (set id or local_addrs)");
    return true;
  }
  out.id = std::move(*id);
  return true;
}

bool read_remote(section* side, section& conn, const load_context& ctx, sa::remote_auth& out) {
  section& s = side ? *side : conn;
  const std::string prefix = side ? "" : "remote.";
  auto kind = side ? read_auth(*side) : std::optional(sa::auth_kind::pubkey);
  out.id = auth::identity::parse("%any").value();
  if (side && side->has("id"))
    if (auto id = read_identity(*side, "id")) out.id = std::move(*id);
  if (!kind) return false;
  out.kind = *kind;

  if (out.kind == sa::auth_kind::pubkey) {
    auto cas = side ? read_cert_files(*side, "cacerts", ctx) : std::optional(std::vector<auth::certificate>{});
    auto keys = side ? read_key_files(*side, "pubkeys", ctx) : std::optional(std::vector<auth::public_key>{});
    if (cas && !cas->empty()) out.cas = ctx.creds.trust_store_for(*cas);
    if (keys) out.pubkeys = std::move(*keys);
    if (cas && keys && cas->empty() && out.pubkeys.empty())  // (a file that failed is reported already)
      conn.diag().error(side ? side->where("auth") : conn.where(), s.key_path(prefix + "auth"),
                        std::string("auth = pubkey") + (!side || !side->has("auth") ? " (the default)" : "") +
                            " needs cacerts or pubkeys to check the peer with");
  } else if (side) {
    warn_unused_for_psk(*side, {"cacerts", "pubkeys"});
  }
  return true;
}

bool secret_applies(const named_secret& s, const sa::connection& c) {
  if (s.psk.ids.empty()) return true;
  for (const auto& id : s.psk.ids)
    for (const auto* ours : {&c.local.id, &c.remote.id})
      if (id.matches(*ours) || ours->matches(id)) return true;
  return false;
}

// Lifetimes that follow swanctl's defaults: life = base + 10%, rand = 10% of rekey.
struct lifetimes {
  milliseconds rekey, life, rand;
};

void check_rand(section& s, milliseconds rekey, milliseconds rand) {
  if (s.has("rand_time") && rekey.count() > 0 && rand >= rekey)
    s.error("rand_time", format_duration(rand) + " must be shorter than rekey_time (" + format_duration(rekey) + ")");
}

// rekey_<what>, life_<what>, rand_<what> ("bytes": byte counts with units; "packets": integers).
void read_volume(section& s, const std::string& what, sa::volume_lifetime& out) {
  volume_keys keys;
  for (auto [name, slot] : {std::pair{"rekey_", &keys.rekey}, {"life_", &keys.life}, {"rand_", &keys.rand}}) {
    const std::string key = name + what;
    if (what == "bytes") {
      *slot = s.byte_count(key);
    } else if (auto v = s.integer(key, 0, std::numeric_limits<std::int64_t>::max())) {
      *slot = static_cast<std::uint64_t>(*v);
    }
  }
  if (auto p = resolve_volume(keys, what, out)) s.error(p->key, p->message);
}

child_action read_child_action(section& s, std::string_view key) {
  return s.choice<child_action>(key, {{"none", child_action::none},
                                      {"clear", child_action::clear},
                                      {"trap", child_action::trap},
                                      {"hold", child_action::trap},  // ipsec.conf's name for trap
                                      {"restart", child_action::restart}})
      .value_or(child_action::none);
}

void read_selectors(section& s, std::string_view key, std::vector<ts::selector>& out) {
  auto items = s.list(key);
  if (!items) return;
  bool dynamic = false;
  for (const auto& item : *items) {
    if (item.text == "dynamic") {
      dynamic = true;
      continue;
    }
    if (item.text.rfind("dynamic[", 0) == 0) {
      s.error_at(item.where, key, "'" + item.text + "': a protocol/port restriction on 'dynamic' is not supported");
      continue;
    }
    auto sel = ts::selector::parse(item.text);
    if (!sel) s.error_at(item.where, key, sel.err().message);
    else out.push_back(*sel);
  }
  if (dynamic && !out.empty()) {
    s.error(key, "'dynamic' (our address) cannot be combined with other selectors");
    out.clear();
  }
  if (items->empty()) s.error(key, "empty list (leave the key out for \"dynamic\")");
}

void read_child(section& s, const std::string& name, bool remote_any, const load_context& ctx, sa::child_config& engine,
                child_policy& policy) {
  engine.name = policy.name = name;
  if (!valid_name(name))
    s.diag().error(s.where(), s.path(), "child name '" + name + "' must not be empty or contain white space");
  read_selectors(s, "local_ts", engine.local_ts);
  read_selectors(s, "remote_ts", engine.remote_ts);
  if (auto p = read_proposals(s, "esp_proposals", false)) engine.esp_proposals = std::move(*p);
  if (auto m = s.choice<sa::child_mode>("mode", {{"tunnel", sa::child_mode::tunnel}, {"transport", sa::child_mode::transport}},
                                        {{"pass", "mode 'pass' (bypass policies) is not supported"},
                                         {"drop", "mode 'drop' (drop policies) is not supported"},
                                         {"beet", "mode 'beet' is not supported"}}))
    engine.mode = *m;
  if (auto a = s.choice<start_action>("start_action", {{"none", start_action::none},
                                                       {"start", start_action::start},
                                                       {"trap", start_action::trap}})) {
    policy.start = *a;
    if (*a != start_action::none && remote_any)
      s.error("start_action", std::string("start_action = ") + to_string(*a) +
                                  " needs remote_addrs: with a %any remote we can only respond");
  }
  policy.on_dpd = read_child_action(s, "dpd_action");
  policy.on_close = read_child_action(s, "close_action");

  if (auto r = s.duration("rekey_time")) policy.rekey_time = *r;
  policy.life_time = policy.rekey_time + policy.rekey_time / 10;
  policy.rand_time = policy.rekey_time / 10;
  if (auto l = s.duration("life_time")) {
    policy.life_time = *l;
    if (l->count() != 0 && policy.rekey_time.count() != 0 && *l <= policy.rekey_time)
      s.error("life_time", format_duration(*l) + " must be longer than rekey_time (" + format_duration(policy.rekey_time) + ")");
  }
  if (auto r = s.duration("rand_time")) policy.rand_time = *r;
  check_rand(s, policy.rekey_time, policy.rand_time);
  engine.rekey_time = policy.rekey_time;
  engine.life_time = policy.life_time;
  engine.rand_time = policy.rand_time;
  read_volume(s, "bytes", policy.bytes);
  read_volume(s, "packets", policy.packets);
  engine.bytes = policy.bytes;
  engine.packets = policy.packets;

  if (auto u = s.text("updown"); u && !u->empty()) {
    policy.updown = resolve_path(ctx.base_dir, *u);
    if (auto st = check_executable(policy.updown); !st) s.error("updown", st.err().message);
  }
  // 4096 is what both backends take (the XFRM ESN bitmap and the userspace window).
  if (auto w = s.integer("replay_window", 0, 4096)) policy.replay_window = static_cast<unsigned>(*w);
  engine.replay_window = policy.replay_window;
  for (auto [key, mark] : {std::pair{"mark_in", &engine.mark_in}, std::pair{"mark_out", &engine.mark_out}})
    if (auto t = s.text(key)) {
      if (auto m = parse_mark(*t)) *mark = *m;
      else s.error(key, m.err().message);
    }
  s.finish(kUnsupportedChild);
}

struct pinned_connection {
  sa::connection conn;
  std::shared_ptr<const void> pin;  // keeps this connection's credentials in the cache
};

}  // namespace

std::optional<connection> read_connection(section& s, const std::string& name, const load_context& ctx) {
  const std::size_t problems_before = s.diag().problems.size();
  auto pinned = std::make_shared<pinned_connection>();
  sa::connection& ike = pinned->conn;
  connection out;
  ike.name = name;
  if (!valid_name(name))
    s.diag().error(s.where(), s.path(), "connection name '" + name + "' must not be empty or contain white space");

  if (auto v = s.integer("version", 0, 2); v && *v == 1) s.error("version", "IKEv1 is not supported (only version = 2)");

  bool local_any = true;
  read_addrs(s, "local_addrs", ike.local_addrs, local_any);
  read_addrs(s, "remote_addrs", ike.remote_addrs, out.remote_any);
  if (!ike.local_addrs.empty() && !ike.remote_addrs.empty() && !shares_family(ike.local_addrs, ike.remote_addrs))
    s.error("remote_addrs", "no address family in common with local_addrs");

  out.local_port = ctx.daemon.ike_port;
  if (auto p = s.integer("local_port", 1, 65535)) {
    out.local_port = static_cast<std::uint16_t>(*p);
    if (out.local_port != ctx.daemon.ike_port && out.local_port != ctx.daemon.natt_port)
      s.error("local_port", std::to_string(*p) + " is neither daemon.ike_port (" + std::to_string(ctx.daemon.ike_port) +
                                ") nor daemon.natt_port (" + std::to_string(ctx.daemon.natt_port) + ")");
  }
  if (auto p = s.integer("remote_port", 1, 65535)) ike.remote_port = static_cast<std::uint16_t>(*p);
  if (auto p = read_proposals(s, "proposals", true)) ike.ike_proposals = std::move(*p);

  // IKE SA lifetimes (swanctl: over_time defaults to 10% of the longer of rekey and reauth time).
  if (auto r = s.duration("rekey_time")) out.rekey_time = *r;
  if (auto r = s.duration("reauth_time")) out.reauth_time = *r;
  const milliseconds base = std::max(out.rekey_time, out.reauth_time);
  auto over = s.duration("over_time");
  auto life = s.duration("life_time");
  if (over && life) s.error("life_time", "set over_time or life_time, not both");
  out.life_time = life ? *life : base + (over ? *over : base / 10);
  for (const char* key : {"life_time", "over_time"})
    if (s.has(key) && out.life_time.count() != 0 && base.count() != 0 && out.life_time <= base && !(over && life))
      s.error(key, "the IKE SA would expire (at " + format_duration(out.life_time) + ") before it is renewed (at " +
                       format_duration(base) + ")");
  // rand_time defaults to 10% of the shorter of rekey and reauth time (of those set).
  const milliseconds first = out.reauth_time.count() > 0 && (out.rekey_time.count() == 0 || out.reauth_time < out.rekey_time)
                                 ? out.reauth_time
                                 : out.rekey_time;
  out.rand_time = first / 10;
  if (auto r = s.duration("rand_time")) out.rand_time = *r;
  check_rand(s, out.rekey_time, out.rand_time);
  if (s.has("rand_time") && out.reauth_time.count() > 0 && out.rand_time >= out.reauth_time)
    s.error("rand_time", format_duration(out.rand_time) + " must be shorter than reauth_time (" +
                             format_duration(out.reauth_time) + ")");
  ike.rekey_time = out.rekey_time;
  ike.reauth_time = out.reauth_time;
  ike.life_time = out.life_time;
  ike.rand_time = out.rand_time;

  if (auto d = s.duration("dpd_delay")) ike.dpd_delay = *d;
  if (s.has("dpd_timeout"))
    s.warning("dpd_timeout", "ignored (as by swanctl for IKEv2): a peer is declared dead when the retransmissions of "
                             "daemon.retransmit run out");
  if (auto a = s.choice<dpd_action>("dpd_action", {{"clear", dpd_action::clear},
                                                   {"none", dpd_action::clear},  // swanctl: none also just closes
                                                   {"restart", dpd_action::restart},
                                                   {"trap", dpd_action::trap},
                                                   {"hold", dpd_action::trap}}))
    out.on_dpd = *a;
  if (auto u = s.choice<unique_policy>("unique", {{"replace", unique_policy::replace},
                                                  {"keep", unique_policy::keep},
                                                  {"never", unique_policy::never},
                                                  {"no", unique_policy::no}}))
    out.unique = *u;
  if (auto e = s.flag("encap")) ike.force_encap = *e;
  if (const toml::node* f = s.node("fragmentation"); f && f->is_string() &&
                                                       (f->as_string()->get() == "accept" || f->as_string()->get() == "force")) {
    ike.fragmentation = true;
    out.fragmentation_force = f->as_string()->get() == "force";
  } else if (auto b = s.flag("fragmentation")) {
    ike.fragmentation = *b;
  }
  ike.fragment_size = ctx.daemon.fragment_size;
  if (auto n = s.integer("fragment_size", 576, 65535)) ike.fragment_size = static_cast<std::size_t>(*n);
  ike.reassembly = ctx.daemon.reassembly;
  ike.fragment_timeout = ctx.daemon.fragment_timeout;
  if (const toml::node* k = s.node("keyingtries"); k && k->is_string() && k->as_string()->get() == "%forever")
    out.keyingtries = 0;
  else if (auto n = s.integer("keyingtries", 0, 1000000))
    out.keyingtries = static_cast<unsigned>(*n);
  if (auto m = s.flag("mobike")) {
    out.mobike = *m;
    if (*m) s.warning("mobike", "MOBIKE is not implemented yet: the setting is stored but has no effect");
  }
  // aike's own: a script for IKE SA up/down (PLUTO_VERB=up-ike / down-ike), docs/updown.md.
  if (auto u = s.text("updown"); u && !u->empty()) {
    out.updown = resolve_path(ctx.base_dir, *u);
    if (auto st = check_executable(out.updown); !st) s.error("updown", st.err().message);
  }
  ike.retransmit = ctx.daemon.retransmit;

  // Authentication.
  auto local = s.subtable("local");
  auto remote = s.subtable("remote");
  const bool local_ok = read_local(local ? &*local : nullptr, s, ike.local_addrs, ctx, ike.local);
  const bool remote_ok = read_remote(remote ? &*remote : nullptr, s, ctx, ike.remote);
  if (local) local->finish(kUnsupportedLocal);
  if (remote) remote->finish(kUnsupportedRemote);

  const bool local_psk = local_ok && ike.local.kind == sa::auth_kind::psk;
  const bool remote_psk = remote_ok && ike.remote.kind == sa::auth_kind::psk;
  if (local_psk || remote_psk) {
    for (const auto& secret : ctx.secrets)
      if (secret_applies(secret, ike)) ike.secrets.push_back(secret.psk);
    // A psk side always has its table (without one the default is pubkey).
    section* side = local_psk ? (local ? &*local : nullptr) : (remote ? &*remote : nullptr);
    if (ike.secrets.empty() && side && local_ok && remote_ok && !ctx.secrets_incomplete) {
      side->error("auth", "no entry of [secrets] is for '" + ike.local.id.to_string() + "' or '" +
                             ike.remote.id.to_string() + "' (add one with ids = [...] and secret = ...)");
    }
  }

  // Children.
  if (auto children = s.subtable("children")) {
    for (const auto& [k, v] : in_file_order(children->table_node())) {
      std::string child_name(k->str());
      auto c = children->subtable(child_name);
      if (!c) continue;
      sa::child_config engine_child;
      child_policy policy;
      read_child(*c, child_name, out.remote_any, ctx, engine_child, policy);
      ike.children.push_back(std::move(engine_child));
      out.children.push_back(std::move(policy));
    }
  }
  if (out.children.empty())
    s.warning("children", "no children: the IKE SA would carry no traffic (add [connections." + name + ".children.<name>])");

  // swanctl's extra authentication rounds (local-2, remote-eap, ...).
  for (const auto& [k, v] : in_file_order(s.table_node())) {
    std::string_view key = k->str();
    if ((key.rfind("local", 0) == 0 || key.rfind("remote", 0) == 0) && key != "local" && key != "remote" &&
        v->is_table()) {
      s.node(key);
      s.diag().error(at(k->source()), s.key_path(key), "more than one authentication round (swanctl's '" +
                                                           std::string(key) + "') is not supported");
    }
  }
  s.finish(kUnsupportedConnection);

  if (s.diag().problems.size() != problems_before) return std::nullopt;
  pinned->pin = ctx.creds.pin(ike);
  out.ike = std::shared_ptr<const sa::connection>(pinned, &pinned->conn);
  return out;
}

}  // namespace aike::config::detail
