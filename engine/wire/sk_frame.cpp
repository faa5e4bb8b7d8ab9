#include "engine/wire/sk_frame.hpp"

#include <string>
#include <utility>

#include "engine/wire/message_codec.hpp"

namespace aike::wire {

namespace {

void patch_u16(bytes& b, std::size_t at, std::uint16_t v) {
  b[at] = static_cast<std::uint8_t>(v >> 8);
  b[at + 1] = static_cast<std::uint8_t>(v);
}

void patch_u32(bytes& b, std::size_t at, std::uint32_t v) {
  patch_u16(b, at, static_cast<std::uint16_t>(v >> 16));
  patch_u16(b, at + 2, static_cast<std::uint16_t>(v));
}

}  // namespace

std::size_t sk_body_size(const crypto::sk_cipher& c, std::size_t plaintext_len) {
  const std::size_t block = c.block_size() == 0 ? 1 : c.block_size();
  const std::size_t padded = (plaintext_len + 1 + block - 1) / block * block;  // +1: Pad Length octet
  return c.iv_size() + padded + c.icv_size();
}

result<bytes> seal_message(ike_header h, const std::vector<payload>& inner, const crypto::sk_cipher& c,
                           const crypto::sk_keys& keys) {
  return seal_message(h, {}, inner, c, keys);
}

result<bytes> seal_message(ike_header h, const std::vector<payload>& clear, const std::vector<payload>& inner,
                           const crypto::sk_cipher& c, const crypto::sk_keys& keys) {
  bytes plaintext = encode_payloads(inner);
  const std::size_t body_size = sk_body_size(c, plaintext.size());
  if (generic_header_size + body_size > 0xffff) {
    wipe(plaintext);
    return make_error(errc::invalid_argument, "SK payload of " + std::to_string(generic_header_size + body_size) +
                                                  " octets does not fit the 16-bit length (fragment it)");
  }

  // Everything before the SK body: header, clear payloads and the SK generic header, encoded
  // with an empty SK body and then given the final lengths.
  message m{h, clear};
  m.payloads.push_back(payload{payload_type::sk, false,
                               sk_payload{inner.empty() ? payload_type::none : inner.front().type, {}}});
  bytes out = encode_message(m);
  patch_u32(out, 24, static_cast<std::uint32_t>(out.size() + body_size));
  patch_u16(out, out.size() - 2, static_cast<std::uint16_t>(generic_header_size + body_size));

  auto sealed = c.seal(keys, out, plaintext);
  wipe(plaintext);
  if (!sealed) return sealed.err();
  if (sealed->size() != body_size)
    return make_error(errc::crypto_failure, "SK cipher produced " + std::to_string(sealed->size()) +
                                                " octets, expected " + std::to_string(body_size));
  append(out, sealed.value());
  return out;
}

result<message> open_message(bytes_view datagram, const crypto::sk_cipher& c, const crypto::sk_keys& keys) {
  auto m = parse_message(datagram);
  if (!m) return m.err();
  if (m->payloads.empty())
    return make_error(errc::invalid_syntax, "protected message has no payloads, expected an SK payload");
  const payload& last = m->payloads.back();
  if (last.type == payload_type::skf)
    return make_error(errc::invalid_argument, "message is an SKF fragment: reassemble before opening");
  const auto* sk = std::get_if<sk_payload>(&last.body);
  if (last.type != payload_type::sk || sk == nullptr)
    return make_error(errc::invalid_syntax, "protected message does not end in an SK payload");

  // The parser guarantees SK is last with nothing after it, so its body ends the datagram.
  const bytes_view header = datagram.first(datagram.size() - sk->data.size());
  auto plain = c.open(keys, header, sk->data);
  if (!plain) return plain.err();
  auto inner = parse_payloads(sk->first_inner, plain.value());
  wipe(plain.value());
  if (!inner) {
    error e = inner.err();
    e.message = "inside SK: " + e.message;
    return e;
  }
  m->payloads.pop_back();
  for (auto& p : inner.value()) m->payloads.push_back(std::move(p));
  return m;
}

}  // namespace aike::wire
