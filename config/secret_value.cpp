#include "config/secret_value.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <string>

namespace aike::config {

namespace {

bool is_base64_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
}

// Overwrites the cleaned-up copy of the secret text on every way out.
struct wiped_string {
  std::string s;
  ~wiped_string() {
    if (!s.empty()) OPENSSL_cleanse(s.data(), s.size());
  }
};

result<bytes> decode_base64(std::string_view body) {
  wiped_string holder;
  std::string& clean = holder.s;  // line breaks and blanks are allowed inside long values
  clean.reserve(body.size());
  for (char c : body)
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r') clean.push_back(c);
  auto fail = [](const std::string& why) { return make_error(errc::invalid_argument, "secret: bad base64 after '0s': " + why); };
  if (clean.empty()) return fail("nothing after the prefix");
  if (clean.size() % 4 != 0) return fail("length " + std::to_string(clean.size()) + " is not a multiple of 4 (missing '=' padding?)");

  std::size_t pad = 0;
  while (pad < 2 && clean[clean.size() - 1 - pad] == '=') ++pad;
  for (std::size_t i = 0; i < clean.size() - pad; ++i)
    if (!is_base64_char(clean[i]))
      return fail(clean[i] == '=' ? std::string("'=' before the end") : "character " + std::to_string(i + 1) + " is not base64");

  bytes out(clean.size() / 4 * 3);
  int n = EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char*>(clean.data()), static_cast<int>(clean.size()));
  if (n < 0 || static_cast<std::size_t>(n) != out.size()) {
    wipe(out);
    return fail("OpenSSL rejected it");
  }
  // EVP_DecodeBlock counts the zero bytes the padding stands for; they are not part of the value.
  out.resize(out.size() - pad);
  if (out.empty()) return fail("decodes to nothing");
  return out;
}

}  // namespace

result<bytes> decode_secret(std::string_view text) {
  if (text.size() >= 2 && text[0] == '0' && (text[1] == 's' || text[1] == 'S')) return decode_base64(text.substr(2));
  if (text.size() >= 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
    bytes out;
    if (!from_hex(text.substr(2), out)) {
      wipe(out);
      return make_error(errc::invalid_argument, "secret: bad hex after '0x' (odd number of digits or a non-hex character)");
    }
    if (out.empty()) return make_error(errc::invalid_argument, "secret: nothing after '0x'");
    return out;
  }
  if (text.empty()) return make_error(errc::invalid_argument, "secret: empty");
  return to_bytes(text);
}

}  // namespace aike::config
