// In-memory form of an IKEv2 message and every payload RFC 7296 (and RFC 7383) defines.
// Parsing and encoding live in message_codec.hpp; these are plain values.
#pragma once
#include <cstdint>
#include <optional>
#include <variant>
#include <vector>

#include "engine/common/bytes.hpp"
#include "engine/wire/constants.hpp"

namespace aike::wire {

struct ike_header {
  std::uint64_t spi_i = 0;
  std::uint64_t spi_r = 0;
  payload_type next_payload = payload_type::none;  // filled by the encoder from the payload list
  std::uint8_t version = ike_version;
  exchange exchange_type = exchange::ike_sa_init;
  std::uint8_t flags = 0;
  std::uint32_t message_id = 0;
  std::uint32_t length = 0;  // filled by the encoder
  bool is_response() const { return flags & flag::response; }
  bool is_initiator() const { return flags & flag::initiator; }
  bool operator==(const ike_header&) const = default;
};
inline constexpr std::size_t ike_header_size = 28;
inline constexpr std::size_t generic_header_size = 4;

// --- SA payload (§3.3) ---
struct transform_attribute {
  std::uint16_t type = 0;  // without the AF bit
  bool tv = true;          // TV format: value holds the 16-bit value; TLV: data holds the bytes
  std::uint16_t value = 0;
  bytes data;
  bool operator==(const transform_attribute&) const = default;
};

struct transform {
  transform_type type = transform_type::encr;
  std::uint16_t id = 0;
  std::vector<transform_attribute> attributes;
  // The Key Length attribute, if present.
  std::optional<std::uint16_t> key_length() const;
  bool operator==(const transform&) const = default;
};

struct proposal {
  std::uint8_t number = 1;
  protocol_id protocol = protocol_id::ike;
  bytes spi;  // empty for IKE_SA_INIT, 8 octets for IKE rekey, 4 for ESP/AH
  std::vector<transform> transforms;
  bool operator==(const proposal&) const = default;
};

struct sa_payload {
  std::vector<proposal> proposals;
  bool operator==(const sa_payload&) const = default;
};

// --- others ---
struct ke_payload {
  std::uint16_t group = 0;
  bytes data;
  bool operator==(const ke_payload&) const = default;
};

struct id_payload {  // IDi or IDr: which one is the payload's type
  id_type type = id_type::fqdn;
  bytes data;
  bool operator==(const id_payload&) const = default;
};

struct cert_payload {
  cert_encoding encoding = cert_encoding::x509_signature;
  bytes data;
  bool operator==(const cert_payload&) const = default;
};

struct certreq_payload {
  cert_encoding encoding = cert_encoding::x509_signature;
  bytes data;  // concatenated SHA-1 hashes of CA public keys for X.509
  bool operator==(const certreq_payload&) const = default;
};

struct auth_payload {
  auth_method method = auth_method::psk;
  bytes data;
  bool operator==(const auth_payload&) const = default;
};

struct nonce_payload {
  bytes data;  // 16..256 octets
  bool operator==(const nonce_payload&) const = default;
};

struct notify_payload {
  protocol_id protocol = protocol_id::none;
  bytes spi;
  std::uint16_t type = 0;
  bytes data;
  bool operator==(const notify_payload&) const = default;
};

struct delete_payload {
  protocol_id protocol = protocol_id::ike;
  std::uint8_t spi_size = 0;  // 0 for IKE, 4 for ESP/AH
  std::vector<bytes> spis;
  bool operator==(const delete_payload&) const = default;
};

struct vendor_payload {
  bytes data;
  bool operator==(const vendor_payload&) const = default;
};

struct traffic_selector {
  ts_type type = ts_type::ipv4_addr_range;
  std::uint8_t ip_protocol = 0;  // 0 = any
  std::uint16_t start_port = 0;
  std::uint16_t end_port = 65535;
  bytes start_addr;  // 4 or 16 octets
  bytes end_addr;
  bool operator==(const traffic_selector&) const = default;
};

struct ts_payload {  // TSi or TSr: which one is the payload's type
  std::vector<traffic_selector> selectors;
  bool operator==(const ts_payload&) const = default;
};

struct cp_attribute {
  std::uint16_t type = 0;  // without the reserved high bit
  bytes value;
  bool operator==(const cp_attribute&) const = default;
};

struct cp_payload {
  cfg_type type = cfg_type::request;
  std::vector<cp_attribute> attributes;
  bool operator==(const cp_payload&) const = default;
};

struct eap_payload {  // parsed only so far: code, identifier and the rest
  std::uint8_t code = 0;
  std::uint8_t identifier = 0;
  bytes data;  // everything after the 4-octet EAP header (type and type data)
  bool operator==(const eap_payload&) const = default;
};

// SK: the encrypted and integrity-protected payload. `first_inner` is the generic header's
// Next Payload field (the first payload inside); `data` is IV || ciphertext || ICV.
struct sk_payload {
  payload_type first_inner = payload_type::none;
  bytes data;
  bool operator==(const sk_payload&) const = default;
};

// SKF (RFC 7383 §2.5): one fragment; `first_inner` is non-zero only in fragment 1.
struct skf_payload {
  payload_type first_inner = payload_type::none;
  std::uint16_t fragment_number = 1;
  std::uint16_t total_fragments = 1;
  bytes data;  // IV || ciphertext || ICV of this fragment
  bool operator==(const skf_payload&) const = default;
};

// A payload type we do not know, without the critical bit: kept so the message re-encodes.
struct unknown_payload {
  bytes data;
  bool operator==(const unknown_payload&) const = default;
};

using payload_body =
    std::variant<sa_payload, ke_payload, id_payload, cert_payload, certreq_payload, auth_payload,
                 nonce_payload, notify_payload, delete_payload, vendor_payload, ts_payload,
                 cp_payload, eap_payload, sk_payload, skf_payload, unknown_payload>;

struct payload {
  payload_type type = payload_type::none;
  bool critical = false;
  payload_body body;
  bool operator==(const payload&) const = default;
};

struct message {
  ike_header header;
  std::vector<payload> payloads;  // in wire order; an SK/SKF payload, if any, is the last one
  bool operator==(const message&) const = default;
};

}  // namespace aike::wire
