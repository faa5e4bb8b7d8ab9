#include "engine/crypto/cbc_hmac_sk_cipher.hpp"

#include <algorithm>
#include <climits>

#include <openssl/crypto.h>

#include "engine/crypto/hmac.hpp"

namespace aike::crypto {

namespace {
// EVP update calls take int lengths; IKE messages are far smaller anyway.
constexpr std::size_t max_len = INT_MAX / 2;
}  // namespace

result<std::unique_ptr<sk_cipher>> cbc_hmac_sk_cipher::create(const encr_info& encr, std::uint16_t integ_id,
                                                              const integ_info& integ) {
  const char* digest = integ_digest_name(integ_id);
  if (!digest || integ.icv_size == 0)
    return make_error(errc::invalid_argument, "AES-CBC needs an HMAC integrity transform, got " + std::to_string(integ_id));
  const std::string cipher_name = "AES-" + std::to_string(encr.key_size * 8) + "-CBC";
  ossl::cipher_ptr cipher(EVP_CIPHER_fetch(nullptr, cipher_name.c_str(), nullptr));
  if (!cipher) return ossl::failure(cipher_name + ": EVP_CIPHER_fetch");
  return std::unique_ptr<sk_cipher>(
      new cbc_hmac_sk_cipher(encr, integ, digest, std::move(cipher), cipher_name + "/HMAC-" + digest));
}

status cbc_hmac_sk_cipher::check_keys(const sk_keys& keys) const {
  if (keys.encr.size() != encr_.key_size || keys.integ.size() != integ_.key_size)
    return make_error(errc::invalid_argument, name_ + ": SK_e/SK_a of " + std::to_string(keys.encr.size()) + "/" +
                                                  std::to_string(keys.integ.size()) + " octets, want " +
                                                  std::to_string(encr_.key_size) + "/" +
                                                  std::to_string(integ_.key_size));
  return ok_v;
}

result<bytes> cbc_hmac_sk_cipher::icv(const sk_keys& keys, bytes_view header, bytes_view iv_and_ciphertext) const {
  auto mac = hmac::create(digest_, keys.integ);
  if (!mac) return mac.err();
  auto full = mac->compute({header, iv_and_ciphertext});
  if (!full) return full;
  full->resize(integ_.icv_size);  // RFC 2404 / RFC 4868: the leftmost bits
  return full;
}

result<bytes> cbc_hmac_sk_cipher::seal_padded(const sk_keys& keys, bytes_view header, bytes_view iv,
                                              bytes_view padded) const {
  if (auto s = check_keys(keys); !s) return s.err();
  if (iv.size() != encr_.iv_size)
    return make_error(errc::invalid_argument, name_ + ": IV of " + std::to_string(iv.size()) + " octets, want " +
                                                  std::to_string(encr_.iv_size));
  if (auto s = check_padded(padded, encr_.block_size); !s) return s.err();
  if (padded.size() > max_len) return make_error(errc::invalid_argument, name_ + ": message too large");

  ossl::cipher_ctx_ptr ctx(EVP_CIPHER_CTX_new());
  if (!ctx || EVP_EncryptInit_ex2(ctx.get(), cipher_.get(), keys.encr.data(), iv.data(), nullptr) != 1)
    return ossl::failure(name_ + ": EVP_EncryptInit_ex2");
  // IKE does its own padding (with the Pad Length octet); PKCS#7 padding must be off.
  EVP_CIPHER_CTX_set_padding(ctx.get(), 0);

  bytes out(iv.size() + padded.size());
  std::copy(iv.begin(), iv.end(), out.begin());
  std::uint8_t* ct = out.data() + iv.size();
  int len = 0, tail = 0;
  if (EVP_EncryptUpdate(ctx.get(), ct, &len, padded.data(), static_cast<int>(padded.size())) != 1 ||
      EVP_EncryptFinal_ex(ctx.get(), ct + len, &tail) != 1 || static_cast<std::size_t>(len + tail) != padded.size())
    return ossl::failure(name_ + ": encryption");
  auto mac = icv(keys, header, out);
  if (!mac) return mac.err();
  append(out, *mac);
  return out;
}

result<bytes> cbc_hmac_sk_cipher::open(const sk_keys& keys, bytes_view header, bytes_view body) const {
  if (auto s = check_keys(keys); !s) return s.err();
  // Shape checks before any crypto. A body that cannot be authenticated is an integrity
  // failure (dropped silently), not INVALID_SYNTAX.
  const std::size_t fixed = encr_.iv_size + integ_.icv_size;
  if (body.size() < fixed + encr_.block_size)
    return make_error(errc::integrity_check_failed,
                      name_ + ": SK payload body of " + std::to_string(body.size()) + " octets is shorter than IV (" +
                          std::to_string(encr_.iv_size) + ") + one block + ICV (" + std::to_string(integ_.icv_size) +
                          ")");
  const std::size_t ct_len = body.size() - fixed;
  if (ct_len % encr_.block_size != 0)
    return make_error(errc::integrity_check_failed, name_ + ": ciphertext of " + std::to_string(ct_len) +
                                                        " octets is not a multiple of the block size");
  if (body.size() > max_len) return make_error(errc::integrity_check_failed, name_ + ": message too large");

  const bytes_view signed_part = body.first(encr_.iv_size + ct_len);
  const bytes_view received = body.last(integ_.icv_size);
  auto expected = icv(keys, header, signed_part);
  if (!expected) return expected.err();
  if (CRYPTO_memcmp(expected->data(), received.data(), integ_.icv_size) != 0)
    return make_error(errc::integrity_check_failed, name_ + ": ICV does not verify");

  const bytes_view iv = body.first(encr_.iv_size);
  const bytes_view ct = body.subspan(encr_.iv_size, ct_len);
  ossl::cipher_ctx_ptr ctx(EVP_CIPHER_CTX_new());
  if (!ctx || EVP_DecryptInit_ex2(ctx.get(), cipher_.get(), keys.encr.data(), iv.data(), nullptr) != 1)
    return ossl::failure(name_ + ": EVP_DecryptInit_ex2");
  EVP_CIPHER_CTX_set_padding(ctx.get(), 0);
  bytes plain(ct.size());
  int len = 0, tail = 0;
  if (EVP_DecryptUpdate(ctx.get(), plain.data(), &len, ct.data(), static_cast<int>(ct.size())) != 1 ||
      EVP_DecryptFinal_ex(ctx.get(), plain.data() + len, &tail) != 1)
    return ossl::failure(name_ + ": decryption");
  return strip_sk_padding(plain);
}

}  // namespace aike::crypto
