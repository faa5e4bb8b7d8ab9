// make_seed_corpus [TARGET] OUTDIR: writes valid IKEv2 messages (one per payload type, an
// IKE_SA_INIT-like request, an IKE_AUTH-like message) as files, the seed corpus for the fuzz
// targets (tests/fuzz/run-fuzzers passes the target name first). Targets fed plain IKEv2 octets
// get those messages; fuzz_sk_open, whose first input octet selects a suite and a mode, gets
// them prefixed that way: sealed datagrams under its fixed keys (raw mode) and plaintext inner
// chains (seal and mutate modes).
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "engine/wire/message_codec.hpp"
#include "engine/wire/payload_access.hpp"
#include "engine/wire/sk_frame.hpp"
#include "tests/fuzz/sk_fuzz_suites.hpp"

namespace {

using namespace aike;
using namespace aike::wire;

bytes pattern(std::size_t n, std::uint8_t start) {
  bytes b(n);
  for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::uint8_t>(start + i);
  return b;
}

ike_header header(exchange x) {
  ike_header h;
  h.spi_i = 0x0102030405060708ULL;
  h.spi_r = x == exchange::ike_sa_init ? 0 : 0x1112131415161718ULL;
  h.exchange_type = x;
  h.flags = flag::initiator;
  h.message_id = x == exchange::ike_sa_init ? 0 : 1;
  return h;
}

sa_payload ike_sa() {
  proposal p1;
  p1.transforms = {{transform_type::encr, encr::aes_gcm_16, {{attr_key_length, true, 256, {}}}},
                   {transform_type::prf, prf::hmac_sha2_256, {}},
                   {transform_type::ke, ke::curve25519, {}},
                   {transform_type::ke, ke::ecp256, {}}};
  proposal p2;
  p2.number = 2;
  p2.transforms = {{transform_type::encr, encr::aes_cbc, {{attr_key_length, true, 128, {}}}},
                   {transform_type::prf, prf::hmac_sha2_256, {}},
                   {transform_type::integ, integ::hmac_sha2_256_128, {}},
                   {transform_type::ke, ke::modp2048, {}}};
  return sa_payload{{p1, p2}};
}

ts_payload ts() {
  return ts_payload{{{ts_type::ipv4_addr_range, 0, 0, 65535, {10, 0, 0, 0}, {10, 0, 0, 255}},
                     {ts_type::ipv6_addr_range, 17, 500, 500, bytes(16, 0), bytes(16, 0xff)}}};
}

std::vector<std::pair<std::string, message>> seeds() {
  std::vector<std::pair<std::string, message>> out;
  auto one = [&](const std::string& name, payload p) {
    out.push_back({name, message{header(exchange::informational), {std::move(p)}}});
  };
  one("sa", make_payload(payload_type::sa, ike_sa()));
  one("ke", make_payload(payload_type::ke, ke_payload{ke::curve25519, pattern(32, 1)}));
  one("idi", make_payload(payload_type::idi, id_payload{id_type::fqdn, to_bytes("alice.example.org")}));
  one("idr", make_payload(payload_type::idr, id_payload{id_type::ipv6_addr, pattern(16, 0x20)}));
  one("cert", make_payload(payload_type::cert, cert_payload{cert_encoding::x509_signature, pattern(64, 3)}));
  one("certreq", make_payload(payload_type::certreq, certreq_payload{cert_encoding::x509_signature, pattern(20, 4)}));
  one("auth", make_payload(payload_type::auth, auth_payload{auth_method::digital_signature, pattern(48, 5)}));
  one("nonce", make_payload(payload_type::nonce, nonce_payload{pattern(32, 6)}));
  one("notify", make_payload(payload_type::notify, notify_payload{protocol_id::esp, {1, 2, 3, 4}, notify::rekey_sa, {}}));
  one("delete", make_payload(payload_type::del, delete_payload{protocol_id::esp, 4, {{1, 2, 3, 4}, {5, 6, 7, 8}}}));
  one("vendor", make_payload(payload_type::vendor, vendor_payload{to_bytes("aike")}));
  one("tsi", make_payload(payload_type::tsi, ts()));
  one("tsr", make_payload(payload_type::tsr, ts()));
  one("sk", make_payload(payload_type::sk, sk_payload{payload_type::idi, pattern(40, 7)}));
  one("cp", make_payload(payload_type::cp, cp_payload{cfg_type::reply,
                                                      {{cfg_attr::internal_ip4_address, {10, 0, 0, 2}},
                                                       {cfg_attr::internal_ip6_address, pattern(17, 8)}}}));
  one("eap", make_payload(payload_type::eap, eap_payload{1, 1, {1, 'a'}}));
  one("skf", make_payload(payload_type::skf, skf_payload{payload_type::idi, 1, 2, pattern(40, 9)}));
  one("unknown", make_payload(static_cast<payload_type>(200), unknown_payload{{1, 2, 3}}));

  out.push_back({"ike_sa_init",
                 message{header(exchange::ike_sa_init),
                         {make_payload(payload_type::sa, ike_sa()),
                          make_payload(payload_type::ke, ke_payload{ke::curve25519, pattern(32, 1)}),
                          make_payload(payload_type::nonce, nonce_payload{pattern(32, 2)}),
                          make_notify(notify::nat_detection_source_ip, pattern(20, 3)),
                          make_notify(notify::nat_detection_destination_ip, pattern(20, 4)),
                          make_notify(notify::ikev2_fragmentation_supported),
                          make_notify(notify::signature_hash_algorithms, {0, 2, 0, 3, 0, 4})}}});
  out.push_back({"ike_auth",
                 message{header(exchange::ike_auth),
                         {make_payload(payload_type::idi, id_payload{id_type::fqdn, to_bytes("alice")}),
                          make_payload(payload_type::auth, auth_payload{auth_method::psk, pattern(32, 5)}),
                          make_payload(payload_type::sa, ike_sa()), make_payload(payload_type::tsi, ts()),
                          make_payload(payload_type::tsr, ts()),
                          make_payload(payload_type::sk, sk_payload{payload_type::none, pattern(24, 6)})}}});
  return out;
}

bool write_file(const std::string& path, const bytes& b) {
  std::ofstream f(path, std::ios::binary);
  f.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
  return static_cast<bool>(f);
}

// Inner payload chains (what an SK payload carries) taken from the message seeds: everything
// except the SK/SKF payloads, which may not appear inside.
std::vector<std::pair<std::string, std::vector<payload>>> inner_chains() {
  std::vector<std::pair<std::string, std::vector<payload>>> out;
  for (auto& [name, m] : seeds()) {
    std::vector<payload> chain;
    for (auto& p : m.payloads)
      if (p.type != payload_type::sk && p.type != payload_type::skf) chain.push_back(p);
    if (!chain.empty()) out.push_back({name, std::move(chain)});
  }
  out.push_back({"delete_ike", {make_payload(payload_type::del, delete_payload{protocol_id::ike, 0, {}})}});
  out.push_back({"empty", {}});
  return out;
}

bytes with_prefix(std::initializer_list<std::uint8_t> prefix, const bytes& rest) {
  bytes b(prefix);
  b.insert(b.end(), rest.begin(), rest.end());
  return b;
}

// Seeds for fuzz_sk_open; false (with a message) if one is not what its mode expects.
bool sk_open_seeds(std::vector<std::pair<std::string, bytes>>& out) {
  for (int i = 0; i < fuzz::sk_suite_count; ++i) {
    const auto s = fuzz::make_sk_suite(i);
    if (!s.cipher) {
      std::fprintf(stderr, "make_seed_corpus: SK suite %d is not available\n", i);
      return false;
    }
    const auto sel = static_cast<std::uint8_t>(i);
    const std::string suffix = "_" + std::to_string(i);
    for (const auto& [name, chain] : inner_chains()) {
      // raw: a complete protected message that opens under the fuzzer's keys.
      ike_header h = header(exchange::informational);
      h.flags = flag::response;
      auto sealed = seal_message(h, chain, *s.cipher, s.keys);
      if (!sealed || !open_message(sealed.value(), *s.cipher, s.keys)) {
        std::fprintf(stderr, "make_seed_corpus: sealed seed %s does not open\n", name.c_str());
        return false;
      }
      out.push_back({"raw_" + name + suffix, with_prefix({static_cast<std::uint8_t>(fuzz::sk_mode_raw | sel)}, sealed.value())});
      // seal: [first inner type][exchange][flags] + the plaintext chain.
      const auto first = static_cast<std::uint8_t>(chain.empty() ? payload_type::none : chain.front().type);
      const bytes plain = encode_payloads(chain);
      out.push_back({"seal_" + name + suffix,
                     with_prefix({static_cast<std::uint8_t>(fuzz::sk_mode_seal | sel), first,
                                  static_cast<std::uint8_t>(exchange::ike_auth), flag::initiator},
                                 plain)});
    }
    // mutate: a parsing chain (its second half is the edit script), and a bare edit script
    // against the fuzzer's built-in IKE_AUTH (flip an octet, truncate, insert).
    const auto auth = seeds().back().second.payloads;
    const std::vector<payload> auth_inner(auth.begin(), auth.end() - 1);
    out.push_back({"mutate_ike_auth" + suffix,
                   with_prefix({static_cast<std::uint8_t>(fuzz::sk_mode_mutate | sel), static_cast<std::uint8_t>(payload_type::idi),
                                static_cast<std::uint8_t>(exchange::ike_auth), flag::initiator},
                               encode_payloads(auth_inner))});
    out.push_back({"mutate_edits" + suffix, {static_cast<std::uint8_t>(fuzz::sk_mode_mutate | sel), 0, 0, 30, 0x40, 2, 0,
                                             100, 0, 3, 0, 5, 0x99}});
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2 && argc != 3) {
    std::fprintf(stderr, "usage: make_seed_corpus [TARGET] OUTDIR\n");
    return 2;
  }
  const std::string target = argc == 3 ? argv[1] : "";
  const std::string dir = argv[argc - 1];
  std::vector<std::pair<std::string, bytes>> files;
  if (target == "fuzz_sk_open") {
    if (!sk_open_seeds(files)) return 1;
  } else {
    for (const auto& [name, m] : seeds()) {
      const bytes wire = encode_message(m);
      // A seed that does not parse would only teach the fuzzer the rejection paths.
      if (auto back = parse_message(wire); !back) {
        std::fprintf(stderr, "make_seed_corpus: seed %s does not parse: %s\n", name.c_str(), back.err().message.c_str());
        return 1;
      }
      files.push_back({name, wire});
    }
  }
  for (const auto& [name, data] : files) {
    if (!write_file(dir + "/" + name + ".bin", data)) {
      std::fprintf(stderr, "make_seed_corpus: cannot write %s/%s.bin\n", dir.c_str(), name.c_str());
      return 1;
    }
  }
  std::printf("make_seed_corpus: wrote %zu seeds to %s\n", files.size(), dir.c_str());
  return 0;
}
