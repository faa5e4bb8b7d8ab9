#include "engine/wire/sk_frame.hpp"

#include <algorithm>
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

// ------------------------------------------------------------- RFC 7383 ---

namespace aike::wire {

namespace {

// IKE header + SKF generic header + Fragment Number + Total Fragments.
constexpr std::size_t skf_prefix_size = ike_header_size + generic_header_size + 4;

}  // namespace

result<std::vector<bytes>> seal_fragments(ike_header h, const std::vector<payload>& inner, std::size_t max_datagram,
                                          const crypto::sk_cipher& c, const crypto::sk_keys& keys) {
  const std::size_t block = c.block_size() == 0 ? 1 : c.block_size();
  const std::size_t fixed = skf_prefix_size + c.iv_size() + c.icv_size();
  // The largest padded chunk that fits, minus the Pad Length octet, is the data per fragment.
  const std::size_t room = max_datagram > fixed ? (max_datagram - fixed) / block * block : 0;
  if (room < 2)
    return make_error(errc::invalid_argument, "fragment size " + std::to_string(max_datagram) +
                                                  " leaves no room for data after " + std::to_string(fixed) +
                                                  " octets of headers, IV and ICV");
  const std::size_t chunk = std::min<std::size_t>(room - 1, 0xffff - generic_header_size - 4 - c.iv_size() - c.icv_size() - block);

  bytes plaintext = encode_payloads(inner);
  const std::size_t count = plaintext.empty() ? 1 : (plaintext.size() + chunk - 1) / chunk;
  if (count > 0xffff) {
    wipe(plaintext);
    return make_error(errc::invalid_argument, "message needs " + std::to_string(count) + " fragments, at most 65535");
  }

  std::vector<bytes> out;
  out.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    const std::size_t off = i * chunk;
    const bytes_view part = bytes_view(plaintext).subspan(off, std::min(chunk, plaintext.size() - off));
    const std::size_t body_size = sk_body_size(c, part.size());

    ike_header fh = h;
    fh.next_payload = payload_type::skf;
    fh.length = static_cast<std::uint32_t>(skf_prefix_size + body_size);
    bytes d = encode_header(fh);
    // §2.5: only fragment 1 names the first inner payload.
    put_u8(d, static_cast<std::uint8_t>(i == 0 && !inner.empty() ? inner.front().type : payload_type::none));
    put_u8(d, 0);
    put_u16(d, static_cast<std::uint16_t>(generic_header_size + 4 + body_size));
    put_u16(d, static_cast<std::uint16_t>(i + 1));
    put_u16(d, static_cast<std::uint16_t>(count));

    auto sealed = c.seal(keys, d, part);
    if (!sealed) {
      wipe(plaintext);
      return sealed.err();
    }
    if (sealed->size() != body_size) {
      wipe(plaintext);
      return make_error(errc::crypto_failure, "SK cipher produced " + std::to_string(sealed->size()) +
                                                  " octets for a fragment, expected " + std::to_string(body_size));
    }
    append(d, sealed.value());
    out.push_back(std::move(d));
  }
  wipe(plaintext);
  return out;
}

void fragment_reassembly::clear() {
  for (auto& p : parts_)
    if (p) wipe(*p);
  parts_.clear();
  total_ = 0;
  received_ = 0;
  held_ = 0;
  first_inner_ = payload_type::none;
  header_ = ike_header{};
}

result<std::optional<message>> fragment_reassembly::add(bytes_view datagram, const crypto::sk_cipher& c,
                                                        const crypto::sk_keys& keys) {
  auto m = parse_message(datagram);
  if (!m) return m.err();
  if (m->payloads.empty() || m->payloads.back().type != payload_type::skf)
    return make_error(errc::invalid_argument, "not an Encrypted Fragment message: it does not end in an SKF payload");
  const auto& f = std::get<skf_payload>(m->payloads.back().body);
  if (m->payloads.size() != 1)
    return make_error(errc::invalid_syntax, "SKF payload: must be the only payload of a fragment message");
  if (total_ != 0 && (m->header.message_id != header_.message_id || m->header.exchange_type != header_.exchange_type))
    return make_error(errc::invalid_argument, "fragment of Message ID " + std::to_string(m->header.message_id) +
                                                  " while reassembling Message ID " +
                                                  std::to_string(header_.message_id));
  if (f.total_fragments > limits_.max_fragments)
    return make_error(errc::invalid_argument, "SKF payload: " + std::to_string(f.total_fragments) +
                                                  " fragments, at most " + std::to_string(limits_.max_fragments) +
                                                  " accepted");

  // Verify before touching any state.
  const bytes_view header = datagram.first(datagram.size() - f.data.size());
  auto plain = c.open(keys, header, f.data);
  if (!plain) return plain.err();

  if (f.total_fragments < total_ || (f.total_fragments == total_ && parts_[f.fragment_number - 1])) {
    wipe(plain.value());
    return std::optional<message>{};  // stale or duplicate
  }
  if (f.total_fragments > total_) {
    clear();
    total_ = f.total_fragments;
    parts_.resize(total_);
    header_ = m->header;
  }
  if (f.fragment_number == 1) {
    first_inner_ = f.first_inner;
    header_ = m->header;
  }
  if (held_ + plain->size() > limits_.max_size) {
    const std::size_t would = held_ + plain->size();
    wipe(plain.value());
    clear();
    return make_error(errc::invalid_argument, "fragments of Message ID " + std::to_string(m->header.message_id) +
                                                  " exceed " + std::to_string(limits_.max_size) + " octets (" +
                                                  std::to_string(would) + " so far): reassembly abandoned");
  }
  held_ += plain->size();
  parts_[f.fragment_number - 1] = std::move(plain.value());
  if (++received_ < total_) return std::optional<message>{};

  bytes all;
  for (const auto& p : parts_) append(all, *p);
  auto inner = parse_payloads(first_inner_, all);
  wipe(all);
  message done{header_, {}};
  clear();
  if (!inner) {
    error e = inner.err();
    e.message = "inside reassembled SKF: " + e.message;
    return e;
  }
  done.payloads = std::move(inner.value());
  return std::optional<message>{std::move(done)};
}

}  // namespace aike::wire
