#include "engine/crypto/aead_sk_cipher.hpp"

#include <algorithm>
#include <climits>

#include "engine/wire/constants.hpp"

namespace aike::crypto {

namespace {
// EVP update calls take int lengths; IKE messages are far smaller anyway.
constexpr std::size_t max_len = INT_MAX / 2;
}  // namespace

result<std::unique_ptr<sk_cipher>> aead_sk_cipher::create(std::uint16_t encr_id, const encr_info& info) {
  std::string name;
  if (encr_id == wire::encr::chacha20_poly1305)
    name = "ChaCha20-Poly1305";
  else
    name = "AES-" + std::to_string(info.key_size * 8) + "-GCM";
  ossl::cipher_ptr cipher(EVP_CIPHER_fetch(nullptr, name.c_str(), nullptr));
  if (!cipher) return ossl::failure(name + ": EVP_CIPHER_fetch");
  return std::unique_ptr<sk_cipher>(new aead_sk_cipher(info, std::move(cipher), std::move(name)));
}

status aead_sk_cipher::check_key(const sk_keys& keys) const {
  if (keys.encr.size() != info_.keymat_size())
    return make_error(errc::invalid_argument, name_ + ": SK_e of " + std::to_string(keys.encr.size()) +
                                                  " octets, want key + salt = " + std::to_string(info_.keymat_size()));
  return ok_v;
}

bytes aead_sk_cipher::nonce(const sk_keys& keys, bytes_view iv) const {
  // RFC 5282 / RFC 7634: nonce = salt (the last 4 octets of SK_e) || IV.
  bytes n(keys.encr.end() - static_cast<std::ptrdiff_t>(info_.salt_size), keys.encr.end());
  append(n, iv);
  return n;
}

result<bytes> aead_sk_cipher::seal_padded(const sk_keys& keys, bytes_view header, bytes_view iv,
                                          bytes_view padded) const {
  if (auto s = check_key(keys); !s) return s.err();
  if (iv.size() != info_.iv_size)
    return make_error(errc::invalid_argument, name_ + ": IV of " + std::to_string(iv.size()) + " octets, want " +
                                                  std::to_string(info_.iv_size));
  if (auto s = check_padded(padded, info_.block_size); !s) return s.err();
  if (header.size() > max_len || padded.size() > max_len)
    return make_error(errc::invalid_argument, name_ + ": message too large");

  const bytes n = nonce(keys, iv);
  ossl::cipher_ctx_ptr ctx(EVP_CIPHER_CTX_new());
  if (!ctx || EVP_EncryptInit_ex2(ctx.get(), cipher_.get(), keys.encr.data(), n.data(), nullptr) != 1)
    return ossl::failure(name_ + ": EVP_EncryptInit_ex2");
  int len = 0;
  if (!header.empty() && EVP_EncryptUpdate(ctx.get(), nullptr, &len, header.data(), static_cast<int>(header.size())) != 1)
    return ossl::failure(name_ + ": AAD");

  bytes out(iv.size() + padded.size() + info_.icv_size);
  std::copy(iv.begin(), iv.end(), out.begin());
  std::uint8_t* ct = out.data() + iv.size();
  if (EVP_EncryptUpdate(ctx.get(), ct, &len, padded.data(), static_cast<int>(padded.size())) != 1)
    return ossl::failure(name_ + ": EVP_EncryptUpdate");
  int tail = 0;
  if (EVP_EncryptFinal_ex(ctx.get(), ct + len, &tail) != 1 || static_cast<std::size_t>(len + tail) != padded.size())
    return ossl::failure(name_ + ": EVP_EncryptFinal_ex");
  // GCM's 8/12-octet ICVs are the leading octets of the full tag (RFC 5282, NIST SP 800-38D).
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_GET_TAG, static_cast<int>(info_.icv_size),
                          ct + padded.size()) != 1)
    return ossl::failure(name_ + ": getting the tag");
  return out;
}

result<bytes> aead_sk_cipher::open(const sk_keys& keys, bytes_view header, bytes_view body) const {
  if (auto s = check_key(keys); !s) return s.err();
  // Anything that cannot be authenticated is an integrity failure: such a message is dropped
  // without a reply, never answered with INVALID_SYNTAX.
  if (body.size() < info_.iv_size + 1 + info_.icv_size)
    return make_error(errc::integrity_check_failed,
                      name_ + ": SK payload body of " + std::to_string(body.size()) + " octets is shorter than IV (" +
                          std::to_string(info_.iv_size) + ") + Pad Length (1) + ICV (" +
                          std::to_string(info_.icv_size) + ")");
  if (header.size() > max_len || body.size() > max_len)
    return make_error(errc::integrity_check_failed, name_ + ": message too large");

  const bytes_view iv = body.first(info_.iv_size);
  const bytes_view ct = body.subspan(info_.iv_size, body.size() - info_.iv_size - info_.icv_size);
  bytes tag(body.end() - static_cast<std::ptrdiff_t>(info_.icv_size), body.end());

  const bytes n = nonce(keys, iv);
  ossl::cipher_ctx_ptr ctx(EVP_CIPHER_CTX_new());
  if (!ctx || EVP_DecryptInit_ex2(ctx.get(), cipher_.get(), keys.encr.data(), n.data(), nullptr) != 1)
    return ossl::failure(name_ + ": EVP_DecryptInit_ex2");
  int len = 0;
  if (!header.empty() && EVP_DecryptUpdate(ctx.get(), nullptr, &len, header.data(), static_cast<int>(header.size())) != 1)
    return ossl::failure(name_ + ": AAD");
  bytes plain(ct.size());
  if (EVP_DecryptUpdate(ctx.get(), plain.data(), &len, ct.data(), static_cast<int>(ct.size())) != 1)
    return ossl::failure(name_ + ": EVP_DecryptUpdate");
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_SET_TAG, static_cast<int>(tag.size()), tag.data()) != 1)
    return ossl::failure(name_ + ": setting the tag");
  int tail = 0;
  if (EVP_DecryptFinal_ex(ctx.get(), plain.data() + len, &tail) != 1) {
    // The unauthenticated plaintext must not leave this function.
    wipe(plain);
    ossl::clear_errors();
    return make_error(errc::integrity_check_failed, name_ + ": ICV does not verify");
  }
  return strip_sk_padding(plain);
}

}  // namespace aike::crypto
