#include "engine/crypto/keymat.hpp"

#include <string>

namespace aike::crypto {

namespace {

// Hands out consecutive slices of the prf+ stream.
class keymat_reader {
 public:
  explicit keymat_reader(const bytes& stream) : stream_(stream) {}
  bytes take(std::size_t n) {
    bytes out(stream_.begin() + static_cast<std::ptrdiff_t>(pos_),
              stream_.begin() + static_cast<std::ptrdiff_t>(pos_ + n));
    pos_ += n;
    return out;
  }

 private:
  const bytes& stream_;
  std::size_t pos_ = 0;
};

status check_inputs(const char* what, bytes_view ni, bytes_view nr, bytes_view secret, bool secret_required) {
  if (ni.empty() || nr.empty())
    return make_error(errc::invalid_argument, std::string(what) + ": empty nonce");
  if (secret_required && secret.empty())
    return make_error(errc::invalid_argument, std::string(what) + ": empty Diffie-Hellman shared secret");
  return ok_v;
}

// SK_* = prf+(SKEYSEED, Ni | Nr | SPIi | SPIr), split in the §2.14 order.
result<ike_keys> expand_ike_keys(const prf& p, bytes& skeyseed, bytes_view ni, bytes_view nr, std::uint64_t spi_i,
                                 std::uint64_t spi_r, std::size_t encr_key_len, std::size_t integ_key_len) {
  bytes seed;
  seed.reserve(ni.size() + nr.size() + 16);
  append(seed, ni);
  append(seed, nr);
  put_u64(seed, spi_i);
  put_u64(seed, spi_r);
  const std::size_t total = 3 * p.key_size() + 2 * encr_key_len + 2 * integ_key_len;
  auto stream = p.plus(skeyseed, seed, total);
  wipe(skeyseed);
  if (!stream) return stream.err();
  keymat_reader r(*stream);
  ike_keys k;
  k.sk_d = r.take(p.key_size());
  k.sk_ai = r.take(integ_key_len);
  k.sk_ar = r.take(integ_key_len);
  k.sk_ei = r.take(encr_key_len);
  k.sk_er = r.take(encr_key_len);
  k.sk_pi = r.take(p.key_size());
  k.sk_pr = r.take(p.key_size());
  wipe(*stream);
  return k;
}

}  // namespace

void ike_keys::wipe_all() {
  for (bytes* b : {&sk_d, &sk_ai, &sk_ar, &sk_ei, &sk_er, &sk_pi, &sk_pr}) wipe(*b);
}

ike_keys& ike_keys::operator=(const ike_keys& o) {
  if (this != &o) {
    wipe_all();
    sk_d = o.sk_d, sk_ai = o.sk_ai, sk_ar = o.sk_ar, sk_ei = o.sk_ei, sk_er = o.sk_er, sk_pi = o.sk_pi, sk_pr = o.sk_pr;
  }
  return *this;
}

ike_keys& ike_keys::operator=(ike_keys&& o) noexcept {
  if (this != &o) {
    wipe_all();
    sk_d = std::move(o.sk_d), sk_ai = std::move(o.sk_ai), sk_ar = std::move(o.sk_ar);
    sk_ei = std::move(o.sk_ei), sk_er = std::move(o.sk_er), sk_pi = std::move(o.sk_pi), sk_pr = std::move(o.sk_pr);
  }
  return *this;
}

void child_keys::wipe_all() {
  for (bytes* b : {&encr_i, &integ_i, &encr_r, &integ_r}) wipe(*b);
}

child_keys& child_keys::operator=(const child_keys& o) {
  if (this != &o) {
    wipe_all();
    encr_i = o.encr_i, integ_i = o.integ_i, encr_r = o.encr_r, integ_r = o.integ_r;
  }
  return *this;
}

child_keys& child_keys::operator=(child_keys&& o) noexcept {
  if (this != &o) {
    wipe_all();
    encr_i = std::move(o.encr_i), integ_i = std::move(o.integ_i);
    encr_r = std::move(o.encr_r), integ_r = std::move(o.integ_r);
  }
  return *this;
}

result<ike_keys> derive_ike_keys(const prf& p, bytes_view ni, bytes_view nr, bytes_view shared_secret,
                                 std::uint64_t spi_i, std::uint64_t spi_r, std::size_t encr_key_len,
                                 std::size_t integ_key_len) {
  if (auto s = check_inputs("IKE SA keys", ni, nr, shared_secret, true); !s) return s.err();
  bytes nonces;
  append(nonces, ni);
  append(nonces, nr);
  bytes skeyseed = p.compute(nonces, shared_secret);
  if (skeyseed.empty()) return make_error(errc::crypto_failure, "IKE SA keys: computing SKEYSEED failed");
  return expand_ike_keys(p, skeyseed, ni, nr, spi_i, spi_r, encr_key_len, integ_key_len);
}

result<ike_keys> derive_rekeyed_ike_keys(const prf& old_prf, bytes_view old_sk_d, const prf& new_prf,
                                         bytes_view ni, bytes_view nr, bytes_view new_shared_secret,
                                         std::uint64_t spi_i, std::uint64_t spi_r, std::size_t encr_key_len,
                                         std::size_t integ_key_len) {
  if (auto s = check_inputs("rekeyed IKE SA keys", ni, nr, new_shared_secret, true); !s) return s.err();
  if (old_sk_d.empty()) return make_error(errc::invalid_argument, "rekeyed IKE SA keys: empty SK_d of the old SA");
  bytes data;
  append(data, new_shared_secret);
  append(data, ni);
  append(data, nr);
  bytes skeyseed = old_prf.compute(old_sk_d, data);
  wipe(data);
  if (skeyseed.empty()) return make_error(errc::crypto_failure, "rekeyed IKE SA keys: computing SKEYSEED failed");
  return expand_ike_keys(new_prf, skeyseed, ni, nr, spi_i, spi_r, encr_key_len, integ_key_len);
}

result<child_keys> derive_child_keys(const prf& p, bytes_view sk_d, bytes_view new_shared_secret, bytes_view ni,
                                     bytes_view nr, std::size_t encr_key_len, std::size_t integ_key_len) {
  if (auto s = check_inputs("Child SA keys", ni, nr, new_shared_secret, false); !s) return s.err();
  if (sk_d.empty()) return make_error(errc::invalid_argument, "Child SA keys: empty SK_d");
  bytes seed;
  append(seed, new_shared_secret);
  append(seed, ni);
  append(seed, nr);
  auto stream = p.plus(sk_d, seed, 2 * (encr_key_len + integ_key_len));
  wipe(seed);
  if (!stream) return stream.err();
  keymat_reader r(*stream);
  child_keys k;
  k.encr_i = r.take(encr_key_len);
  k.integ_i = r.take(integ_key_len);
  k.encr_r = r.take(encr_key_len);
  k.integ_r = r.take(integ_key_len);
  wipe(*stream);
  return k;
}

}  // namespace aike::crypto
