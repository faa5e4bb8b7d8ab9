// make_seed_corpus [TARGET] OUTDIR: writes valid IKEv2 messages (one per payload type, an
// IKE_SA_INIT-like request, an IKE_AUTH-like message) as files, the seed corpus for the fuzz
// targets (tests/fuzz/run-fuzzers passes the target name first). Every target gets the same
// seeds: they are all fed IKEv2 octets.
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "engine/wire/message_codec.hpp"
#include "engine/wire/payload_access.hpp"

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

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2 && argc != 3) {
    std::fprintf(stderr, "usage: make_seed_corpus [TARGET] OUTDIR\n");
    return 2;
  }
  const std::string dir = argv[argc - 1];
  int n = 0;
  for (const auto& [name, m] : seeds()) {
    const bytes wire = encode_message(m);
    // A seed that does not parse would only teach the fuzzer the rejection paths.
    if (auto back = parse_message(wire); !back) {
      std::fprintf(stderr, "make_seed_corpus: seed %s does not parse: %s\n", name.c_str(), back.err().message.c_str());
      return 1;
    }
    if (!write_file(dir + "/" + name + ".bin", wire)) {
      std::fprintf(stderr, "make_seed_corpus: cannot write %s/%s.bin\n", dir.c_str(), name.c_str());
      return 1;
    }
    ++n;
  }
  std::printf("make_seed_corpus: wrote %d seeds to %s\n", n, dir.c_str());
  return 0;
}
