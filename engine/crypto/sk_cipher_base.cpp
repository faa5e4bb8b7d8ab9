#include "engine/crypto/sk_cipher_base.hpp"

#include <string>

#include "engine/crypto/random.hpp"

namespace aike::crypto {

result<bytes> sk_cipher_base::seal(const sk_keys& keys, bytes_view header, bytes_view plaintext) const {
  // A fresh random IV per message: RFC 3602 requires unpredictable CBC IVs, and random
  // 64-bit AEAD IVs do not repeat within the lifetime of any realistic IKE SA.
  bytes iv(iv_size());
  if (auto s = random_fill_public(iv); !s) return s.err();
  return seal_with_iv(keys, header, plaintext, iv);
}

result<bytes> sk_cipher_base::seal_with_iv(const sk_keys& keys, bytes_view header, bytes_view plaintext,
                                           bytes_view iv) const {
  const bytes padded = pad_sk_plaintext(plaintext, block_size());
  return seal_padded(keys, header, iv, padded);
}

bytes pad_sk_plaintext(bytes_view plaintext, std::size_t block_size) {
  const std::size_t pad = block_size > 1 ? (block_size - (plaintext.size() + 1) % block_size) % block_size : 0;
  bytes out;
  out.reserve(plaintext.size() + pad + 1);
  append(out, plaintext);
  out.insert(out.end(), pad, 0);
  out.push_back(static_cast<std::uint8_t>(pad));
  return out;
}

result<bytes> strip_sk_padding(bytes_view decrypted) {
  if (decrypted.empty()) return make_error(errc::invalid_syntax, "SK payload: no Pad Length octet");
  const std::size_t pad = decrypted.back();
  if (pad + 1 > decrypted.size())
    return make_error(errc::invalid_syntax, "SK payload: Pad Length " + std::to_string(pad) + " does not fit in " +
                                                std::to_string(decrypted.size()) + " decrypted octets");
  return bytes(decrypted.begin(), decrypted.end() - static_cast<std::ptrdiff_t>(pad + 1));
}

status check_padded(bytes_view padded, std::size_t block_size) {
  // The Pad Length value itself is not checked: open() must cope with any value, and tests
  // use seal_padded() to build authenticated messages whose padding is wrong.
  if (padded.empty() || padded.size() % block_size != 0)
    return make_error(errc::invalid_argument, "SK payload: padded plaintext of " + std::to_string(padded.size()) +
                                                  " octets is not a non-empty multiple of " +
                                                  std::to_string(block_size));
  return ok_v;
}

}  // namespace aike::crypto
