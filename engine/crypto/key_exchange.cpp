#include "engine/crypto/key_exchange.hpp"

#include <climits>
#include <string>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/dh.h>
#include <openssl/ec.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>

#include "engine/crypto/openssl_util.hpp"
#include "engine/wire/constants.hpp"

namespace aike::crypto {

namespace {

enum class family { modp, ecp, ecx };

struct group_desc {
  std::uint16_t id;
  family fam;
  const char* name;        // OpenSSL group / key type name
  std::size_t value_size;  // MODP: prime octets; ECP: coordinate octets; ECX: key octets
  int curve_nid;           // ECP only
};

// RFC 3526 primes are OpenSSL 3's named FFDH groups "modp_*".
constexpr group_desc groups[] = {
    {wire::ke::modp2048, family::modp, "modp_2048", 256, 0},
    {wire::ke::modp3072, family::modp, "modp_3072", 384, 0},
    {wire::ke::modp4096, family::modp, "modp_4096", 512, 0},
    {wire::ke::modp8192, family::modp, "modp_8192", 1024, 0},
    {wire::ke::ecp256, family::ecp, "P-256", 32, NID_X9_62_prime256v1},
    {wire::ke::ecp384, family::ecp, "P-384", 48, NID_secp384r1},
    {wire::ke::ecp521, family::ecp, "P-521", 66, NID_secp521r1},
    {wire::ke::curve25519, family::ecx, "X25519", 32, 0},
    {wire::ke::curve448, family::ecx, "X448", 56, 0},
};

const group_desc* find_group(std::uint16_t id) {
  for (const auto& g : groups)
    if (g.id == id) return &g;
  return nullptr;
}

std::string label(const group_desc& g) {
  return "KE group " + std::to_string(g.id) + " (" + g.name + ")";
}

struct param_bld_deleter { void operator()(OSSL_PARAM_BLD* p) const { OSSL_PARAM_BLD_free(p); } };
struct param_deleter { void operator()(OSSL_PARAM* p) const { OSSL_PARAM_free(p); } };
struct ec_group_deleter { void operator()(EC_GROUP* p) const { EC_GROUP_free(p); } };
struct ec_point_deleter { void operator()(EC_POINT* p) const { EC_POINT_clear_free(p); } };
struct bn_ctx_deleter { void operator()(BN_CTX* p) const { BN_CTX_free(p); } };
using param_bld_ptr = std::unique_ptr<OSSL_PARAM_BLD, param_bld_deleter>;
using param_ptr = std::unique_ptr<OSSL_PARAM, param_deleter>;

ossl::bn_ptr bn_from(bytes_view v) {
  return ossl::bn_ptr(BN_bin2bn(v.data(), static_cast<int>(v.size()), nullptr));
}

// Builds a key of `type` (e.g. "DH", "EC") from parameters; selection is EVP_PKEY_KEYPAIR or
// EVP_PKEY_PUBLIC_KEY.
result<ossl::pkey_ptr> key_from_params(const char* type, int selection, OSSL_PARAM* params, errc code,
                                       const std::string& what) {
  ossl::pkey_ctx_ptr ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1) return ossl::failure(what + ": EVP_PKEY_fromdata_init");
  EVP_PKEY* key = nullptr;
  if (EVP_PKEY_fromdata(ctx.get(), &key, selection, params) != 1) return ossl::failure(code, what);
  return ossl::pkey_ptr(key);
}

// Diffie-Hellman / ECDH / X25519 / X448 derivation. Peer values are validated by the callers
// before this, so derive_set_peer's own (for MODP: expensive full subgroup) check is not run.
result<bytes> evp_derive(EVP_PKEY* own, EVP_PKEY* peer, bool pad, errc derive_error, const std::string& what) {
  ossl::pkey_ctx_ptr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, own, nullptr));
  if (!ctx || EVP_PKEY_derive_init(ctx.get()) != 1) return ossl::failure(what + ": EVP_PKEY_derive_init");
  // Without padding OpenSSL strips leading zero octets of g^ir; IKE uses the full prime length.
  if (pad && EVP_PKEY_CTX_set_dh_pad(ctx.get(), 1) != 1) return ossl::failure(what + ": setting DH padding");
  if (EVP_PKEY_derive_set_peer_ex(ctx.get(), peer, 0) != 1)
    return ossl::failure(errc::invalid_syntax, what + ": peer public value not usable");
  std::size_t len = 0;
  if (EVP_PKEY_derive(ctx.get(), nullptr, &len) != 1) return ossl::failure(what + ": EVP_PKEY_derive (size)");
  bytes out(len);
  if (EVP_PKEY_derive(ctx.get(), out.data(), &len) != 1) {
    wipe(out);
    return ossl::failure(derive_error, what + ": EVP_PKEY_derive");
  }
  out.resize(len);
  return out;
}

result<ossl::pkey_ptr> generate(const group_desc& g) {
  const char* type = g.fam == family::modp ? "DH" : g.fam == family::ecp ? "EC" : g.name;
  ossl::pkey_ctx_ptr ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  if (!ctx || EVP_PKEY_keygen_init(ctx.get()) != 1) return ossl::failure(label(g) + ": EVP_PKEY_keygen_init");
  if (g.fam != family::ecx) {
    const OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, const_cast<char*>(g.name), 0),
        OSSL_PARAM_construct_end()};
    if (EVP_PKEY_CTX_set_params(ctx.get(), params) != 1) return ossl::failure(label(g) + ": unknown group");
  }
  EVP_PKEY* key = nullptr;
  if (EVP_PKEY_generate(ctx.get(), &key) != 1) return ossl::failure(label(g) + ": key generation");
  return ossl::pkey_ptr(key);
}

// --- MODP (RFC 3526) -------------------------------------------------------------------

// A DH public key y in the named group (no validation).
result<ossl::pkey_ptr> modp_public_key(const group_desc& g, const BIGNUM* y, errc code) {
  param_bld_ptr bld(OSSL_PARAM_BLD_new());
  if (!bld || OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, g.name, 0) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, y) != 1)
    return ossl::failure(label(g) + ": building public key parameters");
  param_ptr params(OSSL_PARAM_BLD_to_param(bld.get()));
  if (!params) return ossl::failure(label(g) + ": building public key parameters");
  return key_from_params("DH", EVP_PKEY_PUBLIC_KEY, params.get(), code, label(g) + ": importing public value");
}

result<bytes> modp_public_bytes(const group_desc& g, EVP_PKEY* key) {
  BIGNUM* raw = nullptr;
  if (EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_PUB_KEY, &raw) != 1) return ossl::failure(label(g) + ": no public key");
  ossl::bn_ptr y(raw);
  bytes out(g.value_size);
  if (BN_bn2binpad(y.get(), out.data(), static_cast<int>(out.size())) < 0)
    return ossl::failure(label(g) + ": public value longer than the prime");
  return out;
}

result<ossl::pkey_ptr> modp_private_key(const group_desc& g, bytes_view priv) {
  if (priv.empty() || priv.size() > g.value_size)
    return make_error(errc::invalid_argument, label(g) + ": private value of " + std::to_string(priv.size()) +
                                                  " octets, want 1.." + std::to_string(g.value_size));
  ossl::bn_ptr x = bn_from(priv);
  param_bld_ptr bld(OSSL_PARAM_BLD_new());
  if (!x || !bld || OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, g.name, 0) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_PRIV_KEY, x.get()) != 1)
    return ossl::failure(label(g) + ": building private key parameters");
  param_ptr params(OSSL_PARAM_BLD_to_param(bld.get()));
  if (!params) return ossl::failure(label(g) + ": building private key parameters");
  auto key = key_from_params("DH", EVP_PKEY_KEYPAIR, params.get(), errc::invalid_argument,
                             label(g) + ": importing private value");
  if (!key) return key;
  ossl::pkey_ctx_ptr check(EVP_PKEY_CTX_new_from_pkey(nullptr, key->get(), nullptr));
  if (!check || EVP_PKEY_private_check(check.get()) != 1)
    return ossl::failure(errc::invalid_argument, label(g) + ": private value out of range");
  return key;
}

// OpenSSL 3.0 does not compute y from an imported x. y = g^x is exactly DH(x, g), so the
// generator is used as the "peer" value to get it through EVP_PKEY_derive.
result<bytes> modp_public_from_private(const group_desc& g, EVP_PKEY* key) {
  BIGNUM* raw = nullptr;
  if (EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_FFC_G, &raw) != 1) return ossl::failure(label(g) + ": no generator");
  ossl::bn_ptr gen(raw);
  auto gen_key = modp_public_key(g, gen.get(), errc::crypto_failure);
  if (!gen_key) return gen_key.err();
  return evp_derive(key, gen_key->get(), true, errc::crypto_failure, label(g) + ": computing g^x");
}

result<ossl::pkey_ptr> modp_peer(const group_desc& g, bytes_view peer) {
  ossl::bn_ptr y = bn_from(peer);
  if (!y) return ossl::failure(label(g) + ": BN_bin2bn");
  auto key = modp_public_key(g, y.get(), errc::invalid_syntax);
  if (!key) return key;
  // The partial check is the range test 1 < y < p-1 (RFC 6989); with the safe primes of
  // RFC 3526 that excludes the only small subgroup, so the full y^q check is not needed.
  ossl::pkey_ctx_ptr check(EVP_PKEY_CTX_new_from_pkey(nullptr, key->get(), nullptr));
  if (!check) return ossl::failure(label(g) + ": EVP_PKEY_CTX_new_from_pkey");
  if (EVP_PKEY_public_check_quick(check.get()) != 1)
    return ossl::failure(errc::invalid_syntax, label(g) + ": peer public value is not in 1 < y < p-1 (RFC 6989)");
  return key;
}

// --- ECP (RFC 5903) --------------------------------------------------------------------

result<bytes> ecp_public_bytes(const group_desc& g, EVP_PKEY* key) {
  bytes enc(1 + 2 * g.value_size);
  std::size_t len = 0;
  if (EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, enc.data(), enc.size(), &len) != 1)
    return ossl::failure(label(g) + ": no public key");
  // OpenSSL's default encoding is SEC1 uncompressed, 0x04 || x || y; IKE sends x || y.
  if (len != enc.size() || enc[0] != 0x04)
    return make_error(errc::crypto_failure, label(g) + ": public key not in uncompressed form");
  return bytes(enc.begin() + 1, enc.end());
}

result<ossl::pkey_ptr> ecp_key(const group_desc& g, const BIGNUM* priv, bytes_view uncompressed_pub, int selection,
                               errc code, const std::string& what) {
  param_bld_ptr bld(OSSL_PARAM_BLD_new());
  if (!bld || OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, g.name, 0) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, uncompressed_pub.data(),
                                       uncompressed_pub.size()) != 1 ||
      (priv && OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_PRIV_KEY, priv) != 1))
    return ossl::failure(label(g) + ": building key parameters");
  param_ptr params(OSSL_PARAM_BLD_to_param(bld.get()));
  if (!params) return ossl::failure(label(g) + ": building key parameters");
  return key_from_params("EC", selection, params.get(), code, what);
}

// OpenSSL 3.0 does not compute Q = d*G from an imported d, so it is done with EC_POINT_mul
// (part of the supported EC_GROUP/EC_POINT API, not the deprecated EC_KEY one).
result<ossl::pkey_ptr> ecp_private_key(const group_desc& g, bytes_view priv) {
  if (priv.empty() || priv.size() > g.value_size)
    return make_error(errc::invalid_argument, label(g) + ": private value of " + std::to_string(priv.size()) +
                                                  " octets, want 1.." + std::to_string(g.value_size));
  std::unique_ptr<EC_GROUP, ec_group_deleter> group(EC_GROUP_new_by_curve_name_ex(nullptr, nullptr, g.curve_nid));
  std::unique_ptr<BN_CTX, bn_ctx_deleter> bnctx(BN_CTX_secure_new());
  ossl::bn_ptr d = bn_from(priv);
  if (!group || !bnctx || !d) return ossl::failure(label(g) + ": setting up the curve");
  if (BN_is_zero(d.get()) || BN_cmp(d.get(), EC_GROUP_get0_order(group.get())) >= 0)
    return make_error(errc::invalid_argument, label(g) + ": private value not in 1..order-1");
  std::unique_ptr<EC_POINT, ec_point_deleter> q(EC_POINT_new(group.get()));
  if (!q || EC_POINT_mul(group.get(), q.get(), d.get(), nullptr, nullptr, bnctx.get()) != 1)
    return ossl::failure(label(g) + ": computing d*G");
  bytes pub(1 + 2 * g.value_size);
  if (EC_POINT_point2oct(group.get(), q.get(), POINT_CONVERSION_UNCOMPRESSED, pub.data(), pub.size(),
                         bnctx.get()) != pub.size())
    return ossl::failure(label(g) + ": encoding d*G");
  return ecp_key(g, d.get(), pub, EVP_PKEY_KEYPAIR, errc::invalid_argument, label(g) + ": importing private value");
}

result<ossl::pkey_ptr> ecp_peer(const group_desc& g, bytes_view peer) {
  bytes enc;
  enc.reserve(1 + peer.size());
  enc.push_back(0x04);
  append(enc, peer);
  // Import decodes the point and refuses coordinates that are not on the curve.
  auto key = ecp_key(g, nullptr, enc, EVP_PKEY_PUBLIC_KEY, errc::invalid_syntax,
                     label(g) + ": peer public value is not a point on the curve");
  if (!key) return key;
  // Explicitly: on the curve and not the point at infinity (RFC 6989).
  ossl::pkey_ctx_ptr check(EVP_PKEY_CTX_new_from_pkey(nullptr, key->get(), nullptr));
  if (!check) return ossl::failure(label(g) + ": EVP_PKEY_CTX_new_from_pkey");
  if (EVP_PKEY_public_check_quick(check.get()) != 1)
    return ossl::failure(errc::invalid_syntax, label(g) + ": peer public value is not a valid curve point");
  return key;
}

// --- X25519 / X448 (RFC 7748, RFC 8031) ------------------------------------------------

result<bytes> ecx_public_bytes(const group_desc& g, EVP_PKEY* key) {
  bytes out(g.value_size);
  std::size_t len = out.size();
  if (EVP_PKEY_get_raw_public_key(key, out.data(), &len) != 1 || len != out.size())
    return ossl::failure(label(g) + ": EVP_PKEY_get_raw_public_key");
  return out;
}

// --- the one implementation --------------------------------------------------------------

// Every group through EVP_PKEY; derive() picks the peer import and validation of its family
// (RFC 3526 + RFC 6989 range check, RFC 5903 §7, RFC 8031 §2).
class evp_key_exchange final : public key_exchange {
 public:
  evp_key_exchange(const group_desc& g, ossl::pkey_ptr key, bytes pub)
      : key_exchange(g.id, std::move(pub)), desc_(g), key_(std::move(key)) {}

 private:
  result<bytes> derive(bytes_view peer) const override {
    const std::string what = label(desc_);
    result<bytes> secret = make_error(errc::crypto_failure, what + ": no secret");
    switch (desc_.fam) {
      case family::modp: {
        auto pk = modp_peer(desc_, peer);
        if (!pk) return pk.err();
        secret = evp_derive(key_.get(), pk->get(), true, errc::crypto_failure, what);
        break;
      }
      case family::ecp: {
        auto pk = ecp_peer(desc_, peer);
        if (!pk) return pk.err();
        // ECDH yields the x coordinate of the shared point, as RFC 5903 §7 wants.
        secret = evp_derive(key_.get(), pk->get(), false, errc::crypto_failure, what);
        break;
      }
      case family::ecx: {
        ossl::pkey_ptr pk(EVP_PKEY_new_raw_public_key_ex(nullptr, desc_.name, nullptr, peer.data(), peer.size()));
        if (!pk) return ossl::failure(errc::invalid_syntax, what + ": importing peer public value");
        // OpenSSL refuses an all-zero result (a small-order peer point) in the derive step.
        secret = evp_derive(key_.get(), pk.get(), false, errc::invalid_syntax,
                            what + ": peer public value gives an all-zero shared secret (RFC 8031 §2)");
        break;
      }
    }
    if (!secret) return secret;
    if (secret->size() != desc_.value_size) {
      wipe(*secret);
      return make_error(errc::crypto_failure, what + ": shared secret of " + std::to_string(secret->size()) +
                                                  " octets, want " + std::to_string(desc_.value_size));
    }
    // RFC 8031 §2 requires this check; done here too so it never depends on the provider.
    if (desc_.fam == family::ecx) {
      std::uint8_t acc = 0;
      for (std::uint8_t b : *secret) acc |= b;
      if (acc == 0)
        return make_error(errc::invalid_syntax, what + ": all-zero shared secret (RFC 8031 §2)");
    }
    return secret;
  }

  const group_desc& desc_;
  ossl::pkey_ptr key_;
};

result<bytes> public_bytes(const group_desc& g, EVP_PKEY* key) {
  switch (g.fam) {
    case family::modp: return modp_public_bytes(g, key);
    case family::ecp: return ecp_public_bytes(g, key);
    case family::ecx: break;
  }
  return ecx_public_bytes(g, key);
}

result<std::unique_ptr<key_exchange>> finish(const group_desc& g, result<ossl::pkey_ptr> key) {
  if (!key) return key.err();
  auto pub = public_bytes(g, key->get());
  if (!pub) return pub.err();
  return std::unique_ptr<key_exchange>(new evp_key_exchange(g, std::move(*key), std::move(*pub)));
}

error unsupported_group(std::uint16_t group) {
  return make_error(errc::unsupported, "KE group " + std::to_string(group) + " is not supported");
}

}  // namespace

key_exchange::~key_exchange() = default;

bool key_exchange::supported(std::uint16_t group) { return find_group(group) != nullptr; }

result<std::unique_ptr<key_exchange>> key_exchange::create(std::uint16_t group) {
  const group_desc* g = find_group(group);
  if (!g) return unsupported_group(group);
  return finish(*g, generate(*g));
}

result<std::unique_ptr<key_exchange>> key_exchange::create_with_private(std::uint16_t group, bytes_view priv) {
  const group_desc* g = find_group(group);
  if (!g) return unsupported_group(group);
  switch (g->fam) {
    case family::modp: {
      auto key = modp_private_key(*g, priv);
      if (!key) return key.err();
      auto pub = modp_public_from_private(*g, key->get());
      if (!pub) return pub.err();
      return std::unique_ptr<key_exchange>(new evp_key_exchange(*g, std::move(*key), std::move(*pub)));
    }
    case family::ecp:
      return finish(*g, ecp_private_key(*g, priv));
    case family::ecx: {
      if (priv.size() != g->value_size)
        return make_error(errc::invalid_argument, label(*g) + ": private value of " + std::to_string(priv.size()) +
                                                      " octets, want " + std::to_string(g->value_size));
      ossl::pkey_ptr key(EVP_PKEY_new_raw_private_key_ex(nullptr, g->name, nullptr, priv.data(), priv.size()));
      if (!key) return ossl::failure(label(*g) + ": importing private value");
      return finish(*g, std::move(key));
    }
  }
  return unsupported_group(group);
}

result<bytes> key_exchange::shared_secret(bytes_view peer_public) const {
  // Every supported group has fixed-size public values, the same on both sides.
  if (peer_public.size() != public_.size())
    return make_error(errc::invalid_syntax, "KE group " + std::to_string(group_) + ": peer public value of " +
                                                std::to_string(peer_public.size()) + " octets, want " +
                                                std::to_string(public_.size()));
  return derive(peer_public);
}

}  // namespace aike::crypto
