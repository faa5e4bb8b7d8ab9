// libFuzzer target for protected messages: verify-and-decrypt of the SK payload followed by the
// parse of the inner payload chain (wire::open_message), under fixed keys for three suites.
//
// Input: the first octet selects the suite (low bits: AES-GCM-16-256, ChaCha20-Poly1305,
// AES-CBC-256 + HMAC-SHA2-256-128) and the mode (two high bits):
//   00, 01  raw: the rest is a datagram given to open_message (and to fragment reassembly).
//           Random octets essentially never carry a valid ICV, so this covers the outer parse
//           and the rejection paths.
//   10      seal: the rest is [first inner type][exchange][flags] + a plaintext inner payload
//           chain. It is sealed as it is (a valid SK payload around arbitrary plaintext), so
//           open_message must get past the ICV and the fuzzer reaches the parser behind
//           decryption. Whatever opens must equal parse_payloads of the plaintext and survive a
//           seal_message/open_message round trip.
//   11      mutate: a valid sealed IKE_AUTH-like message (the plaintext from the rest when it
//           parses, else a fixed one) is changed as the rest says (flip octets, truncate,
//           extend); the result must never open.
// A violated property is a bug: trap so libFuzzer keeps the input.
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <optional>

#include "engine/crypto/sk_cipher.hpp"
#include "engine/wire/message_codec.hpp"
#include "engine/wire/payload_access.hpp"
#include "engine/wire/sk_frame.hpp"
#include "tests/fuzz/sk_fuzz_suites.hpp"

namespace {

using namespace aike;
using namespace aike::wire;

void check(bool ok) {
  if (!ok) __builtin_trap();
}

using suite = fuzz::sk_suite;

bytes pattern(std::size_t n, std::uint8_t start) {
  bytes b(n);
  for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::uint8_t>(start + 7 * i);
  return b;
}

const suite& suite_for(std::uint8_t selector) {
  static const suite suites[] = {fuzz::make_sk_suite(0), fuzz::make_sk_suite(1), fuzz::make_sk_suite(2)};
  static_assert(std::size(suites) == fuzz::sk_suite_count);
  const suite& s = suites[selector % fuzz::sk_suite_count];
  if (!s.cipher) __builtin_trap();  // the fuzzer is useless without its ciphers
  return s;
}

ike_header protected_header(exchange x, std::uint8_t flags) {
  ike_header h;
  h.spi_i = 0x0102030405060708ULL;
  h.spi_r = 0x1112131415161718ULL;
  h.exchange_type = x;
  h.flags = flags;
  h.message_id = 7;
  return h;
}

// Header + SK payload around `plaintext` exactly as given (no encoding of payload structs), with
// an IV derived from the plaintext size so runs are reproducible. The IV repeats across inputs
// under the same key: harmless here (the keys protect nothing) and what seal_with_iv is for.
std::optional<bytes> seal_raw(const suite& s, payload_type first, ike_header h, bytes_view plaintext) {
  const std::size_t body = sk_body_size(*s.cipher, plaintext.size());
  if (generic_header_size + body > 0xffff) return std::nullopt;
  h.next_payload = payload_type::sk;
  h.length = static_cast<std::uint32_t>(ike_header_size + generic_header_size + body);
  bytes out = encode_header(h);
  out.push_back(static_cast<std::uint8_t>(first));
  out.push_back(0);
  out.push_back(static_cast<std::uint8_t>((generic_header_size + body) >> 8));
  out.push_back(static_cast<std::uint8_t>(generic_header_size + body));
  bytes iv(s.cipher->iv_size(), static_cast<std::uint8_t>(plaintext.size()));
  auto sealed = s.cipher->seal_with_iv(s.keys, out, plaintext, iv);
  check(sealed.ok());
  check(sealed->size() == body);
  out.insert(out.end(), sealed->begin(), sealed->end());
  return out;
}

void raw_open(const suite& s, bytes_view in) {
  // Random octets carry a valid ICV with negligible probability; what matters is that every
  // outer and SK-framing defect is refused cleanly, with a message.
  auto m = open_message(in, *s.cipher, s.keys);
  if (!m) check(!m.err().message.empty());
  fragment_reassembly r;
  auto f = r.add(in, *s.cipher, s.keys);
  if (!f) check(!f.err().message.empty());
}

void seal_then_open(const suite& s, bytes_view in) {
  if (in.size() < 3) return;
  const auto first = static_cast<payload_type>(in[0]);
  const ike_header h = protected_header(static_cast<exchange>(in[1]), in[2]);
  const bytes_view plain = in.subspan(3);
  auto datagram = seal_raw(s, first, h, plain);
  if (!datagram) return;

  auto m = open_message(*datagram, *s.cipher, s.keys);
  auto direct = parse_payloads(first, plain);
  if (!m) {
    // The ICV is ours and valid: only the inner chain may be refused, for the parser's reasons.
    check(m.err().code != errc::integrity_check_failed);
    check(!direct.ok());
    check(m.err().code == direct.err().code);
    return;
  }
  check(direct.ok());
  check(m->payloads == direct.value());
  check(m->header.exchange_type == h.exchange_type && m->header.flags == h.flags);

  // What opened seals again through the production path and opens to the same payloads.
  if (m->payloads.empty()) return;
  auto again = seal_message(m->header, m->payloads, *s.cipher, s.keys);
  if (!again) {
    check(again.err().code == errc::invalid_argument);  // only a too-large chain may fail
    return;
  }
  auto back = open_message(again.value(), *s.cipher, s.keys);
  check(back.ok());
  check(back->payloads == m->payloads);
}

std::vector<payload> typical_ike_auth() {
  proposal p;
  p.protocol = protocol_id::esp;
  p.spi = {0xc0, 0, 0, 1};
  p.transforms = {{transform_type::encr, encr::aes_gcm_16, {{attr_key_length, true, 256, {}}}},
                  {transform_type::esn, esn::no, {}}};
  ts_payload ts{{{ts_type::ipv4_addr_range, 0, 0, 65535, {10, 1, 0, 0}, {10, 1, 0, 255}}}};
  return {make_payload(payload_type::idi, id_payload{id_type::fqdn, to_bytes("moon.example")}),
          make_payload(payload_type::auth, auth_payload{auth_method::psk, pattern(32, 3)}),
          make_payload(payload_type::sa, sa_payload{{p}}), make_payload(payload_type::tsi, ts),
          make_payload(payload_type::tsr, ts)};
}

void mutate_sealed(const suite& s, bytes_view in) {
  std::optional<bytes> datagram;
  bytes_view edits = in;
  if (in.size() >= 3) {
    const auto first = static_cast<payload_type>(in[0]);
    if (parse_payloads(first, in.subspan(3)).ok())
      datagram = seal_raw(s, first, protected_header(static_cast<exchange>(in[1]), in[2]), in.subspan(3));
  }
  if (!datagram) {
    const bytes plain = encode_payloads(typical_ike_auth());
    datagram = seal_raw(s, payload_type::idi, protected_header(exchange::ike_auth, flag::initiator), plain);
  } else {
    edits = in.subspan(in.size() / 2);  // the plaintext's second half doubles as edit script
  }
  check(open_message(*datagram, *s.cipher, s.keys).ok());

  bytes d = *datagram;
  const bytes original = d;
  // Edit script: [op][pos hi][pos lo][value]...; op % 4: 0/1 xor, 2 truncate, 3 append.
  for (std::size_t i = 0; i + 4 <= edits.size() && !d.empty(); i += 4) {
    const std::size_t pos = static_cast<std::size_t>(edits[i + 1] << 8 | edits[i + 2]) % d.size();
    const std::uint8_t v = edits[i + 3];
    switch (edits[i] % 4) {
      case 0:
      case 1: d[pos] ^= v == 0 ? 0x01 : v; break;
      case 2: d.resize(pos); break;
      case 3: d.insert(d.begin() + static_cast<std::ptrdiff_t>(pos), v); break;
    }
  }
  if (d == original) d.back() ^= 0x80;  // an empty or cancelling script still changes something
  auto m = open_message(d, *s.cipher, s.keys);
  // Every octet is covered by the ICV (header and SK header as AAD or MAC input, the IV as nonce
  // or MAC input), so no change may verify.
  check(!m.ok());
  check(m.err().code == errc::integrity_check_failed || m.err().code == errc::invalid_syntax ||
        m.err().code == errc::invalid_major_version || m.err().code == errc::unsupported_critical_payload ||
        m.err().code == errc::invalid_argument);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const suite& s = suite_for(data[0] & 0x3f);
  const bytes_view rest(data + 1, size - 1);
  switch (data[0] & 0xc0) {
    case fuzz::sk_mode_seal: seal_then_open(s, rest); break;
    case fuzz::sk_mode_mutate: mutate_sealed(s, rest); break;
    default: raw_open(s, rest); break;  // sk_mode_raw, and 0x40 too
  }
  return 0;
}
