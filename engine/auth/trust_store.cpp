#include "engine/auth/trust_store.hpp"

#include <string>

#include <openssl/x509v3.h>

#include "engine/auth/openssl_util.hpp"

namespace aike::auth {
namespace {

std::shared_ptr<X509_STORE> new_store() {
  X509_STORE* s = X509_STORE_new();
  if (!s) return nullptr;
  // A configured CA is an anchor even when it is not self-signed.
  X509_STORE_set_flags(s, X509_V_FLAG_PARTIAL_CHAIN);
  return std::shared_ptr<X509_STORE>(s, X509_STORE_free);
}

struct store_ctx_free {
  void operator()(X509_STORE_CTX* c) const { X509_STORE_CTX_free(c); }
};
struct x509_stack_free {
  void operator()(STACK_OF(X509) * s) const { sk_X509_free(s); }  // the certificates are not owned
};

std::string subject_of(const X509* x) {
  if (!x) return "?";
  identity id{wire::id_type::der_asn1_dn, detail::to_der(X509_get_subject_name(x), i2d_X509_NAME), false};
  return id.to_string();
}

std::string hint_for(int err) {
  switch (err) {
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
      return " (issuer is not a trusted CA and not among the received intermediates)";
    default:
      return "";
  }
}

}  // namespace

trust_store::trust_store() : store_(new_store()) {}

trust_store::trust_store(const trust_store& o) : store_(new_store()) {
  for (const certificate& c : o.cas_) add_ca(c);
}

trust_store& trust_store::operator=(const trust_store& o) {
  if (this != &o) {
    trust_store copy(o);
    *this = std::move(copy);
  }
  return *this;
}

status trust_store::add_ca(const certificate& ca) {
  if (!store_) return make_error(errc::crypto_failure, "trust store: X509_STORE_new failed");
  bytes fp = ca.fingerprint();
  for (const certificate& c : cas_)
    if (c.fingerprint() == fp) return ok_v;
  if (X509_STORE_add_cert(store_.get(), ca.get()) != 1)
    return detail::openssl_error(errc::crypto_failure, "trust store: cannot add CA '" + ca.subject().to_string() + "'");
  cas_.push_back(ca);
  return ok_v;
}

result<public_key> trust_store::verify(const certificate& end_entity, const std::vector<certificate>& intermediates,
                                       std::optional<std::time_t> at) const {
  const std::string who = "certificate '" + end_entity.subject().to_string() + "'";
  if (!store_) return make_error(errc::crypto_failure, "trust store: no X509_STORE");
  std::unique_ptr<STACK_OF(X509), x509_stack_free> untrusted(sk_X509_new_null());
  std::unique_ptr<X509_STORE_CTX, store_ctx_free> ctx(X509_STORE_CTX_new());
  if (!untrusted || !ctx) return detail::openssl_error(errc::crypto_failure, "trust store: out of memory");
  for (const certificate& c : intermediates)
    if (sk_X509_push(untrusted.get(), c.get()) <= 0)
      return detail::openssl_error(errc::crypto_failure, "trust store: out of memory");
  if (X509_STORE_CTX_init(ctx.get(), store_.get(), end_entity.get(), untrusted.get()) != 1)
    return detail::openssl_error(errc::crypto_failure, "trust store: X509_STORE_CTX_init failed");
  if (at) X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(ctx.get()), *at);

  int rc = X509_verify_cert(ctx.get());
  if (rc != 1) {
    int err = X509_STORE_CTX_get_error(ctx.get());
    int depth = X509_STORE_CTX_get_error_depth(ctx.get());
    const X509* bad = X509_STORE_CTX_get_current_cert(ctx.get());
    detail::take_openssl_errors();
    if (rc < 0 && err == X509_V_OK) return make_error(errc::crypto_failure, who + ": X509_verify_cert failed internally");
    std::string where = depth == 0 ? who : who + ", at chain depth " + std::to_string(depth) + " '" + subject_of(bad) + "'";
    return make_error(errc::authentication_failed,
                      where + ": " + X509_verify_cert_error_string(err) + hint_for(err));
  }

  X509* ee = end_entity.get();
  if ((X509_get_extension_flags(ee) & EXFLAG_KUSAGE) && !(X509_get_key_usage(ee) & KU_DIGITAL_SIGNATURE))
    return make_error(errc::authentication_failed, who + ": keyUsage extension does not allow digitalSignature");

  auto key = public_key::from_cert(end_entity);
  if (!key) return make_error(errc::authentication_failed, who + ": " + key.err().message);
  return key;
}

std::vector<bytes> trust_store::ca_key_hashes() const {
  std::vector<bytes> out;
  out.reserve(cas_.size());
  for (const certificate& c : cas_)
    out.push_back(detail::digest("SHA1", detail::to_der(X509_get_X509_PUBKEY(c.get()), i2d_X509_PUBKEY)));
  return out;
}

}  // namespace aike::auth
