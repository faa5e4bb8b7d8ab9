// certificate: the X.509 part of keys.hpp.
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "engine/auth/keys.hpp"
#include "engine/auth/openssl_util.hpp"

namespace aike::auth {
namespace {

std::shared_ptr<X509> own(X509* x) { return std::shared_ptr<X509>(x, X509_free); }

identity name_identity(const X509_NAME* name) {
  return identity{wire::id_type::der_asn1_dn, detail::to_der(name, i2d_X509_NAME), false};
}

struct general_names_free {
  void operator()(GENERAL_NAMES* g) const { GENERAL_NAMES_free(g); }
};

bytes string_bytes(const ASN1_STRING* s) {
  const unsigned char* p = ASN1_STRING_get0_data(s);
  int n = ASN1_STRING_length(s);
  return n > 0 && p ? bytes(p, p + n) : bytes{};
}

}  // namespace

result<certificate> certificate::from_pem(std::string_view pem) {
  detail::bio_ptr bio = detail::memory_bio(pem);
  if (!bio) return make_error(errc::invalid_argument, "certificate PEM: input too large");
  X509* x = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr);
  if (!x) return detail::openssl_error(errc::invalid_argument, "certificate PEM: no certificate found");
  return certificate(own(x));
}

result<std::vector<certificate>> certificate::chain_from_pem(std::string_view pem) {
  detail::bio_ptr bio = detail::memory_bio(pem);
  if (!bio) return make_error(errc::invalid_argument, "certificate PEM: input too large");
  std::vector<certificate> out;
  while (X509* x = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) out.push_back(certificate(own(x)));
  // The loop ends on "no start line" at the end of input; anything else is a real error.
  unsigned long e = ERR_peek_last_error();
  bool clean_end = ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE;
  if (!out.empty() && clean_end) {
    detail::take_openssl_errors();
    return out;
  }
  if (out.empty()) return detail::openssl_error(errc::invalid_argument, "certificate PEM: no certificate found");
  return detail::openssl_error(errc::invalid_argument,
                               "certificate PEM: certificate " + std::to_string(out.size() + 1) + " does not parse");
}

result<certificate> certificate::from_der(bytes_view der) {
  if (der.empty() || der.size() > static_cast<std::size_t>(INT32_MAX))
    return make_error(errc::invalid_syntax, "certificate: empty DER");
  const unsigned char* p = der.data();
  X509* x = d2i_X509(nullptr, &p, static_cast<long>(der.size()));
  if (!x) return detail::openssl_error(errc::invalid_syntax, "certificate: DER does not parse as X.509");
  certificate c(own(x));
  if (p != der.data() + der.size())
    return make_error(errc::invalid_syntax, "certificate: " + std::to_string(der.data() + der.size() - p) +
                                                " trailing octets after the DER");
  return c;
}

certificate certificate::from_x509(X509* x509) {
  X509_up_ref(x509);
  return certificate(own(x509));
}

bytes certificate::der() const { return detail::to_der(x509_.get(), i2d_X509); }

identity certificate::subject() const { return name_identity(X509_get_subject_name(x509_.get())); }

identity certificate::issuer() const { return name_identity(X509_get_issuer_name(x509_.get())); }

std::vector<identity> certificate::subject_alt_names() const {
  std::vector<identity> out;
  std::unique_ptr<GENERAL_NAMES, general_names_free> names(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(x509_.get(), NID_subject_alt_name, nullptr, nullptr)));
  if (!names) {
    detail::take_openssl_errors();
    return out;
  }
  for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* gn = sk_GENERAL_NAME_value(names.get(), i);
    int kind = 0;
    void* value = GENERAL_NAME_get0_value(gn, &kind);
    switch (kind) {
      case GEN_DNS:
        out.push_back(identity{wire::id_type::fqdn, string_bytes(static_cast<ASN1_IA5STRING*>(value)), false});
        break;
      case GEN_EMAIL:
        out.push_back(identity{wire::id_type::rfc822_addr, string_bytes(static_cast<ASN1_IA5STRING*>(value)), false});
        break;
      case GEN_IPADD: {
        bytes a = string_bytes(static_cast<ASN1_OCTET_STRING*>(value));
        if (a.size() == 4)
          out.push_back(identity{wire::id_type::ipv4_addr, std::move(a), false});
        else if (a.size() == 16)
          out.push_back(identity{wire::id_type::ipv6_addr, std::move(a), false});
        break;
      }
      case GEN_DIRNAME:
        out.push_back(name_identity(static_cast<X509_NAME*>(value)));
        break;
      default:
        break;
    }
  }
  return out;
}

bool certificate::has_identity(const identity& id) const {
  if (id.is_any()) return false;
  if (id.type == wire::id_type::der_asn1_dn && subject() == id) return true;
  for (const identity& san : subject_alt_names())
    if (san == id) return true;
  return false;
}

bytes certificate::fingerprint() const { return detail::digest("SHA256", der()); }

}  // namespace aike::auth
