// IANA "Internet Key Exchange Version 2 (IKEv2) Parameters" values used on the wire.
#pragma once
#include <cstdint>

namespace aike::wire {

inline constexpr std::uint8_t ike_version = 0x20;  // major 2, minor 0

enum class exchange : std::uint8_t {
  ike_sa_init = 34,
  ike_auth = 35,
  create_child_sa = 36,
  informational = 37,
};

namespace flag {
inline constexpr std::uint8_t initiator = 0x08;
inline constexpr std::uint8_t version = 0x10;
inline constexpr std::uint8_t response = 0x20;
}  // namespace flag

enum class payload_type : std::uint8_t {
  none = 0,
  sa = 33,
  ke = 34,
  idi = 35,
  idr = 36,
  cert = 37,
  certreq = 38,
  auth = 39,
  nonce = 40,
  notify = 41,
  del = 42,
  vendor = 43,
  tsi = 44,
  tsr = 45,
  sk = 46,
  cp = 47,
  eap = 48,
  skf = 53,
};

enum class protocol_id : std::uint8_t { none = 0, ike = 1, ah = 2, esp = 3 };

enum class transform_type : std::uint8_t { encr = 1, prf = 2, integ = 3, ke = 4, esn = 5 };

namespace encr {
inline constexpr std::uint16_t des3 = 3;
inline constexpr std::uint16_t null = 11;
inline constexpr std::uint16_t aes_cbc = 12;
inline constexpr std::uint16_t aes_ctr = 13;
inline constexpr std::uint16_t aes_ccm_8 = 14;
inline constexpr std::uint16_t aes_ccm_12 = 15;
inline constexpr std::uint16_t aes_ccm_16 = 16;
inline constexpr std::uint16_t aes_gcm_8 = 18;
inline constexpr std::uint16_t aes_gcm_12 = 19;
inline constexpr std::uint16_t aes_gcm_16 = 20;
inline constexpr std::uint16_t null_auth_aes_gmac = 21;
inline constexpr std::uint16_t chacha20_poly1305 = 28;
}  // namespace encr

namespace prf {
inline constexpr std::uint16_t hmac_md5 = 1;
inline constexpr std::uint16_t hmac_sha1 = 2;
inline constexpr std::uint16_t aes128_xcbc = 4;
inline constexpr std::uint16_t hmac_sha2_256 = 5;
inline constexpr std::uint16_t hmac_sha2_384 = 6;
inline constexpr std::uint16_t hmac_sha2_512 = 7;
inline constexpr std::uint16_t aes128_cmac = 8;
}  // namespace prf

namespace integ {
inline constexpr std::uint16_t none = 0;
inline constexpr std::uint16_t hmac_md5_96 = 1;
inline constexpr std::uint16_t hmac_sha1_96 = 2;
inline constexpr std::uint16_t aes_xcbc_96 = 5;
inline constexpr std::uint16_t hmac_sha2_256_128 = 12;
inline constexpr std::uint16_t hmac_sha2_384_192 = 13;
inline constexpr std::uint16_t hmac_sha2_512_256 = 14;
}  // namespace integ

namespace ke {
inline constexpr std::uint16_t none = 0;
inline constexpr std::uint16_t modp1024 = 2;
inline constexpr std::uint16_t modp1536 = 5;
inline constexpr std::uint16_t modp2048 = 14;
inline constexpr std::uint16_t modp3072 = 15;
inline constexpr std::uint16_t modp4096 = 16;
inline constexpr std::uint16_t modp6144 = 17;
inline constexpr std::uint16_t modp8192 = 18;
inline constexpr std::uint16_t ecp256 = 19;
inline constexpr std::uint16_t ecp384 = 20;
inline constexpr std::uint16_t ecp521 = 21;
inline constexpr std::uint16_t curve25519 = 31;
inline constexpr std::uint16_t curve448 = 32;
}  // namespace ke

namespace esn {
inline constexpr std::uint16_t no = 0;
inline constexpr std::uint16_t yes = 1;
}  // namespace esn

// Transform attribute types (RFC 7296 §3.3.5).
inline constexpr std::uint16_t attr_key_length = 14;
inline constexpr std::uint16_t attr_format_tv = 0x8000;

enum class id_type : std::uint8_t {
  ipv4_addr = 1,
  fqdn = 2,
  rfc822_addr = 3,
  ipv6_addr = 5,
  der_asn1_dn = 9,
  der_asn1_gn = 10,
  key_id = 11,
};

enum class cert_encoding : std::uint8_t {
  pkcs7_x509 = 1,
  x509_signature = 4,
  crl = 7,
  hash_url_x509 = 12,
  hash_url_bundle = 13,
  raw_public_key = 15,
};

enum class auth_method : std::uint8_t {
  rsa_sig = 1,
  psk = 2,
  dss_sig = 3,
  ecdsa_sha256_p256 = 9,
  ecdsa_sha384_p384 = 10,
  ecdsa_sha512_p521 = 11,
  digital_signature = 14,  // RFC 7427
};

// RFC 7427 §7 / RFC 8420 hash algorithm identifiers (SIGNATURE_HASH_ALGORITHMS).
namespace hash_alg {
inline constexpr std::uint16_t sha1 = 1;
inline constexpr std::uint16_t sha2_256 = 2;
inline constexpr std::uint16_t sha2_384 = 3;
inline constexpr std::uint16_t sha2_512 = 4;
inline constexpr std::uint16_t identity = 5;
}  // namespace hash_alg

namespace notify {
// Errors (1..16383)
inline constexpr std::uint16_t unsupported_critical_payload = 1;
inline constexpr std::uint16_t invalid_ike_spi = 4;
inline constexpr std::uint16_t invalid_major_version = 5;
inline constexpr std::uint16_t invalid_syntax = 7;
inline constexpr std::uint16_t invalid_message_id = 9;
inline constexpr std::uint16_t invalid_spi = 11;
inline constexpr std::uint16_t no_proposal_chosen = 14;
inline constexpr std::uint16_t invalid_ke_payload = 17;
inline constexpr std::uint16_t authentication_failed = 24;
inline constexpr std::uint16_t single_pair_required = 34;
inline constexpr std::uint16_t no_additional_sas = 35;
inline constexpr std::uint16_t internal_address_failure = 36;
inline constexpr std::uint16_t failed_cp_required = 37;
inline constexpr std::uint16_t ts_unacceptable = 38;
inline constexpr std::uint16_t invalid_selectors = 39;
inline constexpr std::uint16_t temporary_failure = 43;
inline constexpr std::uint16_t child_sa_not_found = 44;
// Status (16384..)
inline constexpr std::uint16_t initial_contact = 16384;
inline constexpr std::uint16_t set_window_size = 16385;
inline constexpr std::uint16_t additional_ts_possible = 16386;
inline constexpr std::uint16_t ipcomp_supported = 16387;
inline constexpr std::uint16_t nat_detection_source_ip = 16388;
inline constexpr std::uint16_t nat_detection_destination_ip = 16389;
inline constexpr std::uint16_t cookie = 16390;
inline constexpr std::uint16_t use_transport_mode = 16391;
inline constexpr std::uint16_t http_cert_lookup_supported = 16392;
inline constexpr std::uint16_t rekey_sa = 16393;
inline constexpr std::uint16_t esp_tfc_padding_not_supported = 16394;
inline constexpr std::uint16_t non_first_fragments_also = 16395;
inline constexpr std::uint16_t mobike_supported = 16396;
inline constexpr std::uint16_t multiple_auth_supported = 16404;
inline constexpr std::uint16_t another_auth_follows = 16405;
inline constexpr std::uint16_t redirect_supported = 16406;
inline constexpr std::uint16_t eap_only_authentication = 16417;
inline constexpr std::uint16_t childless_ikev2_supported = 16418;
inline constexpr std::uint16_t ikev2_fragmentation_supported = 16430;
inline constexpr std::uint16_t signature_hash_algorithms = 16431;
}  // namespace notify

enum class ts_type : std::uint8_t { ipv4_addr_range = 7, ipv6_addr_range = 8 };

enum class cfg_type : std::uint8_t { request = 1, reply = 2, set = 3, ack = 4 };

namespace cfg_attr {
inline constexpr std::uint16_t internal_ip4_address = 1;
inline constexpr std::uint16_t internal_ip4_netmask = 2;
inline constexpr std::uint16_t internal_ip4_dns = 3;
inline constexpr std::uint16_t internal_ip4_nbns = 4;
inline constexpr std::uint16_t internal_ip4_dhcp = 6;
inline constexpr std::uint16_t application_version = 7;
inline constexpr std::uint16_t internal_ip6_address = 8;
inline constexpr std::uint16_t internal_ip6_dns = 10;
inline constexpr std::uint16_t internal_ip6_dhcp = 12;
inline constexpr std::uint16_t internal_ip4_subnet = 13;
inline constexpr std::uint16_t supported_attributes = 14;
inline constexpr std::uint16_t internal_ip6_subnet = 15;
}  // namespace cfg_attr

// Human-readable names for logs ("IKE_AUTH", "NO_PROPOSAL_CHOSEN", "AES_GCM_16").
const char* name_of(exchange e);
const char* name_of(payload_type t);
const char* notify_name(std::uint16_t type);
const char* transform_name(transform_type type, std::uint16_t id);

}  // namespace aike::wire
