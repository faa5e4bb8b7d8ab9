#include "engine/crypto/openssl_util.hpp"

#include <string>

#include <openssl/err.h>

namespace aike::crypto::ossl {

error failure(errc code, std::string_view what) {
  std::string msg(what);
  if (unsigned long e = ERR_get_error(); e != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    msg += ": ";
    msg += buf;
  }
  ERR_clear_error();
  return make_error(code, std::move(msg));
}

error failure(std::string_view what) { return failure(errc::crypto_failure, what); }

void clear_errors() { ERR_clear_error(); }

}  // namespace aike::crypto::ossl
