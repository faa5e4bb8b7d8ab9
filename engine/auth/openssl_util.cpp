#include "engine/auth/openssl_util.hpp"

#include <openssl/err.h>

namespace aike::auth::detail {

std::string take_openssl_errors() {
  std::string out;
  unsigned long e;
  while ((e = ERR_get_error()) != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out;
}

error openssl_error(errc code, std::string_view what) {
  std::string msg(what);
  std::string ossl = take_openssl_errors();
  if (!ossl.empty()) msg += " (" + ossl + ")";
  return make_error(code, std::move(msg));
}

bio_ptr memory_bio(std::string_view text) {
  if (text.size() > static_cast<std::size_t>(INT32_MAX)) return nullptr;
  return bio_ptr(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

bytes digest(const char* md_name, bytes_view data) {
  EVP_MD* md = EVP_MD_fetch(nullptr, md_name, nullptr);
  if (!md) return {};
  bytes out(static_cast<std::size_t>(EVP_MD_get_size(md)));
  unsigned int len = 0;
  bool ok = EVP_Digest(data.data(), data.size(), out.data(), &len, md, nullptr) == 1;
  EVP_MD_free(md);
  if (!ok) return {};
  out.resize(len);
  return out;
}

x509_name_ptr name_from_der(bytes_view der) {
  if (der.empty() || der.size() > static_cast<std::size_t>(INT32_MAX)) return nullptr;
  const unsigned char* p = der.data();
  x509_name_ptr name(d2i_X509_NAME(nullptr, &p, static_cast<long>(der.size())));
  if (!name || p != der.data() + der.size()) {
    take_openssl_errors();
    return nullptr;
  }
  return name;
}

}  // namespace aike::auth::detail
