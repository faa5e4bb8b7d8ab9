#include "engine/wire/constants.hpp"

namespace aike::wire {

// Unknown values get a fixed name: a formatted "UNKNOWN(n)" would need a buffer that outlives
// the call, i.e. shared mutable state, which the engine avoids. Callers log the number as well.

const char* name_of(exchange e) {
  switch (e) {
    case exchange::ike_sa_init: return "IKE_SA_INIT";
    case exchange::ike_auth: return "IKE_AUTH";
    case exchange::create_child_sa: return "CREATE_CHILD_SA";
    case exchange::informational: return "INFORMATIONAL";
  }
  return "UNKNOWN_EXCHANGE";
}

const char* name_of(payload_type t) {
  switch (t) {
    case payload_type::none: return "NONE";
    case payload_type::sa: return "SA";
    case payload_type::ke: return "KE";
    case payload_type::idi: return "IDi";
    case payload_type::idr: return "IDr";
    case payload_type::cert: return "CERT";
    case payload_type::certreq: return "CERTREQ";
    case payload_type::auth: return "AUTH";
    case payload_type::nonce: return "Ni/Nr";
    case payload_type::notify: return "N";
    case payload_type::del: return "D";
    case payload_type::vendor: return "V";
    case payload_type::tsi: return "TSi";
    case payload_type::tsr: return "TSr";
    case payload_type::sk: return "SK";
    case payload_type::cp: return "CP";
    case payload_type::eap: return "EAP";
    case payload_type::skf: return "SKF";
  }
  return "UNKNOWN_PAYLOAD";
}

const char* notify_name(std::uint16_t type) {
  switch (type) {
    case notify::unsupported_critical_payload: return "UNSUPPORTED_CRITICAL_PAYLOAD";
    case notify::invalid_ike_spi: return "INVALID_IKE_SPI";
    case notify::invalid_major_version: return "INVALID_MAJOR_VERSION";
    case notify::invalid_syntax: return "INVALID_SYNTAX";
    case notify::invalid_message_id: return "INVALID_MESSAGE_ID";
    case notify::invalid_spi: return "INVALID_SPI";
    case notify::no_proposal_chosen: return "NO_PROPOSAL_CHOSEN";
    case notify::invalid_ke_payload: return "INVALID_KE_PAYLOAD";
    case notify::authentication_failed: return "AUTHENTICATION_FAILED";
    case notify::single_pair_required: return "SINGLE_PAIR_REQUIRED";
    case notify::no_additional_sas: return "NO_ADDITIONAL_SAS";
    case notify::internal_address_failure: return "INTERNAL_ADDRESS_FAILURE";
    case notify::failed_cp_required: return "FAILED_CP_REQUIRED";
    case notify::ts_unacceptable: return "TS_UNACCEPTABLE";
    case notify::invalid_selectors: return "INVALID_SELECTORS";
    case notify::temporary_failure: return "TEMPORARY_FAILURE";
    case notify::child_sa_not_found: return "CHILD_SA_NOT_FOUND";
    case notify::initial_contact: return "INITIAL_CONTACT";
    case notify::set_window_size: return "SET_WINDOW_SIZE";
    case notify::additional_ts_possible: return "ADDITIONAL_TS_POSSIBLE";
    case notify::ipcomp_supported: return "IPCOMP_SUPPORTED";
    case notify::nat_detection_source_ip: return "NAT_DETECTION_SOURCE_IP";
    case notify::nat_detection_destination_ip: return "NAT_DETECTION_DESTINATION_IP";
    case notify::cookie: return "COOKIE";
    case notify::use_transport_mode: return "USE_TRANSPORT_MODE";
    case notify::http_cert_lookup_supported: return "HTTP_CERT_LOOKUP_SUPPORTED";
    case notify::rekey_sa: return "REKEY_SA";
    case notify::esp_tfc_padding_not_supported: return "ESP_TFC_PADDING_NOT_SUPPORTED";
    case notify::non_first_fragments_also: return "NON_FIRST_FRAGMENTS_ALSO";
    case notify::mobike_supported: return "MOBIKE_SUPPORTED";
    case notify::multiple_auth_supported: return "MULTIPLE_AUTH_SUPPORTED";
    case notify::another_auth_follows: return "ANOTHER_AUTH_FOLLOWS";
    case notify::redirect_supported: return "REDIRECT_SUPPORTED";
    case notify::eap_only_authentication: return "EAP_ONLY_AUTHENTICATION";
    case notify::childless_ikev2_supported: return "CHILDLESS_IKEV2_SUPPORTED";
    case notify::ikev2_fragmentation_supported: return "IKEV2_FRAGMENTATION_SUPPORTED";
    case notify::signature_hash_algorithms: return "SIGNATURE_HASH_ALGORITHMS";
  }
  // RFC 7296 §3.10.1: 0..16383 are error types, 16384..65535 status types.
  return type < 16384 ? "UNKNOWN_ERROR_NOTIFY" : "UNKNOWN_STATUS_NOTIFY";
}

namespace {

const char* encr_name(std::uint16_t id) {
  switch (id) {
    case encr::des3: return "3DES";
    case encr::null: return "NULL";
    case encr::aes_cbc: return "AES_CBC";
    case encr::aes_ctr: return "AES_CTR";
    case encr::aes_ccm_8: return "AES_CCM_8";
    case encr::aes_ccm_12: return "AES_CCM_12";
    case encr::aes_ccm_16: return "AES_CCM_16";
    case encr::aes_gcm_8: return "AES_GCM_8";
    case encr::aes_gcm_12: return "AES_GCM_12";
    case encr::aes_gcm_16: return "AES_GCM_16";
    case encr::null_auth_aes_gmac: return "NULL_AUTH_AES_GMAC";
    case encr::chacha20_poly1305: return "CHACHA20_POLY1305";
  }
  return "UNKNOWN_ENCR";
}

const char* prf_name(std::uint16_t id) {
  switch (id) {
    case prf::hmac_md5: return "PRF_HMAC_MD5";
    case prf::hmac_sha1: return "PRF_HMAC_SHA1";
    case prf::aes128_xcbc: return "PRF_AES128_XCBC";
    case prf::hmac_sha2_256: return "PRF_HMAC_SHA2_256";
    case prf::hmac_sha2_384: return "PRF_HMAC_SHA2_384";
    case prf::hmac_sha2_512: return "PRF_HMAC_SHA2_512";
    case prf::aes128_cmac: return "PRF_AES128_CMAC";
  }
  return "UNKNOWN_PRF";
}

const char* integ_name(std::uint16_t id) {
  switch (id) {
    case integ::none: return "NONE";
    case integ::hmac_md5_96: return "AUTH_HMAC_MD5_96";
    case integ::hmac_sha1_96: return "AUTH_HMAC_SHA1_96";
    case integ::aes_xcbc_96: return "AUTH_AES_XCBC_96";
    case integ::hmac_sha2_256_128: return "AUTH_HMAC_SHA2_256_128";
    case integ::hmac_sha2_384_192: return "AUTH_HMAC_SHA2_384_192";
    case integ::hmac_sha2_512_256: return "AUTH_HMAC_SHA2_512_256";
  }
  return "UNKNOWN_INTEG";
}

const char* ke_name(std::uint16_t id) {
  switch (id) {
    case ke::none: return "NONE";
    case ke::modp1024: return "MODP_1024";
    case ke::modp1536: return "MODP_1536";
    case ke::modp2048: return "MODP_2048";
    case ke::modp3072: return "MODP_3072";
    case ke::modp4096: return "MODP_4096";
    case ke::modp6144: return "MODP_6144";
    case ke::modp8192: return "MODP_8192";
    case ke::ecp256: return "ECP_256";
    case ke::ecp384: return "ECP_384";
    case ke::ecp521: return "ECP_521";
    case ke::curve25519: return "CURVE25519";
    case ke::curve448: return "CURVE448";
  }
  return "UNKNOWN_KE";
}

const char* esn_name(std::uint16_t id) {
  switch (id) {
    case esn::no: return "NO_ESN";
    case esn::yes: return "ESN";
  }
  return "UNKNOWN_ESN";
}

}  // namespace

const char* transform_name(transform_type type, std::uint16_t id) {
  switch (type) {
    case transform_type::encr: return encr_name(id);
    case transform_type::prf: return prf_name(id);
    case transform_type::integ: return integ_name(id);
    case transform_type::ke: return ke_name(id);
    case transform_type::esn: return esn_name(id);
  }
  return "UNKNOWN_TRANSFORM_TYPE";
}

}  // namespace aike::wire
