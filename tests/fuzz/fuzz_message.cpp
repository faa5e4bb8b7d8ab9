// libFuzzer target for the IKEv2 wire codec. Any input must parse or fail cleanly; whatever
// parses must re-encode to bytes that parse to the same value and re-encode identically
// (the codec's round-trip property). A violation is a codec bug: trap so libFuzzer keeps it.
#include <cstddef>
#include <cstdint>

#include "engine/wire/message_codec.hpp"

namespace {

using namespace aike;
using namespace aike::wire;

void check(bool ok) {
  if (!ok) __builtin_trap();
}

void whole_message(bytes_view in) {
  auto hdr = parse_header(in);
  auto m = parse_message(in);
  if (!m) {
    check(!m.err().message.empty());
    return;
  }
  check(hdr.ok() && hdr->length == in.size());
  const bytes enc = encode_message(m.value());
  check(enc.size() == in.size());  // reserved bits may differ, sizes may not
  auto again = parse_message(enc);
  check(again.ok());
  check(again.value() == m.value());
  check(encode_message(again.value()) == enc);
}

// The same input read as a decrypted SK plaintext: first octet = first payload type.
void inner_chain(bytes_view in) {
  if (in.empty()) return;
  const auto first = static_cast<payload_type>(in[0]);
  auto ps = parse_payloads(first, in.subspan(1));
  if (!ps) return;
  const bytes enc = encode_payloads(ps.value());
  check(enc.size() == in.size() - 1);
  auto again = parse_payloads(first, enc);
  check(again.ok());
  check(again.value() == ps.value());
  check(encode_payloads(again.value()) == enc);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const bytes_view in(data, size);
  whole_message(in);
  inner_chain(in);
  return 0;
}
