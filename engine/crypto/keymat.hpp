// Key derivation for IKE SAs and Child SAs: RFC 7296 §2.14 (initial IKE SA), §2.18 (IKE SA
// rekey) and §2.17 (Child SA KEYMAT).
#pragma once
#include <cstdint>

#include "engine/common/bytes.hpp"
#include "engine/common/result.hpp"
#include "engine/crypto/prf.hpp"

namespace aike::crypto {

// SK_d | SK_ai | SK_ar | SK_ei | SK_er | SK_pi | SK_pr in the order prf+ produces them.
// All copies are wiped when they are destroyed or overwritten.
struct ike_keys {
  bytes sk_d, sk_ai, sk_ar, sk_ei, sk_er, sk_pi, sk_pr;

  ike_keys() = default;
  ike_keys(const ike_keys&) = default;
  ike_keys(ike_keys&&) noexcept = default;
  ike_keys& operator=(const ike_keys& o);
  ike_keys& operator=(ike_keys&& o) noexcept;
  ~ike_keys() { wipe_all(); }
  void wipe_all();
};

// Child SA keys; *_i protect initiator->responder traffic, *_r responder->initiator.
struct child_keys {
  bytes encr_i, integ_i, encr_r, integ_r;

  child_keys() = default;
  child_keys(const child_keys&) = default;
  child_keys(child_keys&&) noexcept = default;
  child_keys& operator=(const child_keys& o);
  child_keys& operator=(child_keys&& o) noexcept;
  ~child_keys() { wipe_all(); }
  void wipe_all();
};

// §2.14: SKEYSEED = prf(Ni | Nr, g^ir); {SK_*} = prf+(SKEYSEED, Ni | Nr | SPIi | SPIr).
// SK_d, SK_pi, SK_pr are p.key_size() octets; encr_key_len includes any AEAD salt;
// integ_key_len is 0 for AEADs. (The HMAC PRFs take the whole Ni | Nr as key; only the
// fixed-key PRFs AES-XCBC/CMAC would use halves, and they are not supported.)
result<ike_keys> derive_ike_keys(const prf& p, bytes_view ni, bytes_view nr, bytes_view shared_secret,
                                 std::uint64_t spi_i, std::uint64_t spi_r, std::size_t encr_key_len,
                                 std::size_t integ_key_len);

// §2.18: SKEYSEED = prf(SK_d (old), g^ir (new) | Ni | Nr) with the OLD SA's PRF; the SK_* then come
// from the NEW SA's PRF as in §2.14 with the new nonces and SPIs.
result<ike_keys> derive_rekeyed_ike_keys(const prf& old_prf, bytes_view old_sk_d, const prf& new_prf,
                                         bytes_view ni, bytes_view nr, bytes_view new_shared_secret,
                                         std::uint64_t spi_i, std::uint64_t spi_r, std::size_t encr_key_len,
                                         std::size_t integ_key_len);

// §2.17: KEYMAT = prf+(SK_d, [g^ir (new) |] Ni | Nr), taken as encr_i, integ_i, encr_r, integ_r.
// new_shared_secret is empty without PFS. encr_key_len includes any salt (RFC 4106 / RFC 7634).
result<child_keys> derive_child_keys(const prf& p, bytes_view sk_d, bytes_view new_shared_secret, bytes_view ni,
                                     bytes_view nr, std::size_t encr_key_len, std::size_t integ_key_len);

}  // namespace aike::crypto
