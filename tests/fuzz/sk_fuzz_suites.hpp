// The fixed suites and keys of the fuzz_sk_open target, shared with make_seed_corpus so its
// seeds are sealed under exactly the keys the fuzzer opens with. Test-only: these keys protect
// nothing.
#pragma once
#include <cstdint>
#include <memory>

#include "engine/crypto/sk_cipher.hpp"
#include "engine/wire/constants.hpp"

namespace aike::fuzz {

struct sk_suite {
  std::unique_ptr<crypto::sk_cipher> cipher;  // null only if OpenSSL lacks the algorithm
  crypto::sk_keys keys;
};

inline constexpr int sk_suite_count = 3;
// The first input octet's low six bits modulo sk_suite_count pick the suite; its two high bits
// the mode.
inline constexpr std::uint8_t sk_mode_raw = 0x00, sk_mode_seal = 0x80, sk_mode_mutate = 0xc0;

// 0: AES-GCM-16-256, 1: ChaCha20-Poly1305, 2: AES-CBC-256 with HMAC-SHA2-256-128.
inline sk_suite make_sk_suite(int index) {
  struct spec {
    std::uint16_t encr, bits, integ;
  };
  static constexpr spec specs[sk_suite_count] = {{wire::encr::aes_gcm_16, 256, wire::integ::none},
                                                 {wire::encr::chacha20_poly1305, 0, wire::integ::none},
                                                 {wire::encr::aes_cbc, 256, wire::integ::hmac_sha2_256_128}};
  const spec& s = specs[index % sk_suite_count];
  sk_suite out;
  auto c = crypto::sk_cipher::create(s.encr, s.bits, s.integ);
  if (!c) return out;
  out.cipher = std::move(c.value());
  out.keys.encr.resize(out.cipher->encr_key_size());
  out.keys.integ.resize(out.cipher->integ_key_size());
  for (std::size_t i = 0; i < out.keys.encr.size(); ++i) out.keys.encr[i] = static_cast<std::uint8_t>(0x11 + 7 * i);
  for (std::size_t i = 0; i < out.keys.integ.size(); ++i) out.keys.integ[i] = static_cast<std::uint8_t>(0x55 + 7 * i);
  return out;
}

}  // namespace aike::fuzz
