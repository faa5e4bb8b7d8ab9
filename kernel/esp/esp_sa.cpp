#include "kernel/esp/esp_sa.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <algorithm>
#include <array>
#include <climits>
#include <cstring>

#include "engine/crypto/openssl_util.hpp"
#include "engine/crypto/random.hpp"
#include "kernel/esp/esp_suite.hpp"
#include "kernel/esp/esp_testing.hpp"
#include "kernel/esp/replay_window.hpp"

namespace aike::kernel::esp {

const char* to_string(drop d) {
  switch (d) {
    case drop::none: return "none";
    case drop::malformed: return "malformed";
    case drop::replay: return "replay";
    case drop::auth_failed: return "auth_failed";
    case drop::bad_padding: return "bad_padding";
    case drop::seq_exhausted: return "seq_exhausted";
    case drop::hard_lifetime: return "hard_lifetime";
  }
  return "unknown";
}

std::uint32_t spi_of(bytes_view esp) { return esp.size() < 8 ? 0 : get_u32(esp.data()); }

namespace {

namespace ossl = crypto::ossl;

constexpr std::size_t header_size = 8;  // SPI + sequence number (RFC 4303 §2)
constexpr std::size_t max_icv = 32;
constexpr std::size_t max_payload = INT_MAX / 2;  // EVP lengths are ints

void put32(std::uint8_t* p, std::uint32_t v) {
  p[0] = static_cast<std::uint8_t>(v >> 24);
  p[1] = static_cast<std::uint8_t>(v >> 16);
  p[2] = static_cast<std::uint8_t>(v >> 8);
  p[3] = static_cast<std::uint8_t>(v);
}

// The keyed OpenSSL objects of one direction: a cipher context keyed once (each packet only
// sets its IV, so the key schedule is never recomputed) and, for AES-CBC, an HMAC context keyed
// once and re-initialised without a key per packet (see bench/esp_bench.cpp: cheaper than
// EVP_MAC_CTX_dup of a keyed template, and no allocation in our code).
class transform {
 public:
  static result<std::unique_ptr<transform>> make(const sa_params& p, bool encrypt) {
    auto s = map_esp_suite(p.proposal, p.encr_key.size(), p.integ_key.size());
    if (!s) return s.err();
    auto t = std::unique_ptr<transform>(new transform(std::move(*s)));
    const auto& su = t->suite_;
    t->cipher_.reset(EVP_CIPHER_fetch(nullptr, su.cipher.c_str(), nullptr));
    if (!t->cipher_) return ossl::failure("ESP " + su.cipher + ": EVP_CIPHER_fetch");
    t->ctx_.reset(EVP_CIPHER_CTX_new());
    if (!t->ctx_) return ossl::failure("ESP " + su.cipher + ": EVP_CIPHER_CTX_new");
    const int ok = encrypt ? EVP_EncryptInit_ex2(t->ctx_.get(), t->cipher_.get(), p.encr_key.data(), nullptr, nullptr)
                           : EVP_DecryptInit_ex2(t->ctx_.get(), t->cipher_.get(), p.encr_key.data(), nullptr, nullptr);
    if (ok != 1) return ossl::failure("ESP " + su.cipher + ": keying the cipher");
    if (su.aead) {
      std::copy_n(p.encr_key.end() - static_cast<std::ptrdiff_t>(su.salt_size), su.salt_size, t->salt_.begin());
    } else {
      if (EVP_CIPHER_CTX_set_padding(t->ctx_.get(), 0) != 1) return ossl::failure("ESP " + su.cipher + ": padding off");
      t->mac_.reset(EVP_MAC_fetch(nullptr, "HMAC", nullptr));
      if (!t->mac_) return ossl::failure("ESP HMAC: EVP_MAC_fetch");
      t->mac_ctx_.reset(EVP_MAC_CTX_new(t->mac_.get()));
      if (!t->mac_ctx_) return ossl::failure("ESP HMAC: EVP_MAC_CTX_new");
      OSSL_PARAM params[] = {
          OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>(su.digest.c_str()), 0),
          OSSL_PARAM_construct_end()};
      if (EVP_MAC_init(t->mac_ctx_.get(), p.integ_key.data(), p.integ_key.size(), params) != 1)
        return ossl::failure("ESP HMAC-" + su.digest + ": keying");
    }
    return t;
  }

  const esp_suite& suite() const { return suite_; }

  // pkt: the whole packet; SPI, sequence number and IV written, the plaintext payload (padded,
  // with trailer) at pkt + 8 + IV, `len` octets, room for the ICV after it. Encrypts in place
  // and appends the ICV.
  bool seal(std::uint8_t* pkt, std::size_t len, std::uint64_t seq) {
    std::uint8_t* iv = pkt + header_size;
    std::uint8_t* payload = iv + suite_.iv_size;
    int n = 0, tail = 0;
    if (suite_.aead) {
      gcm_input in;
      const std::size_t aad_len = gcm_prepare(pkt, seq, in);
      auto& [nonce, aad] = in;
      if (EVP_EncryptInit_ex(ctx_.get(), nullptr, nullptr, nullptr, nonce.data()) != 1 ||
          EVP_EncryptUpdate(ctx_.get(), nullptr, &n, aad.data(), static_cast<int>(aad_len)) != 1 ||
          EVP_EncryptUpdate(ctx_.get(), payload, &n, payload, static_cast<int>(len)) != 1 ||
          EVP_EncryptFinal_ex(ctx_.get(), payload + n, &tail) != 1 ||
          EVP_CIPHER_CTX_ctrl(ctx_.get(), EVP_CTRL_AEAD_GET_TAG, static_cast<int>(suite_.icv_size), payload + len) != 1)
        return fail();
      return true;
    }
    if (EVP_EncryptInit_ex(ctx_.get(), nullptr, nullptr, nullptr, iv) != 1 ||
        EVP_EncryptUpdate(ctx_.get(), payload, &n, payload, static_cast<int>(len)) != 1 ||
        EVP_EncryptFinal_ex(ctx_.get(), payload + n, &tail) != 1)
      return fail();
    std::array<std::uint8_t, 64> mac;
    if (!hmac(pkt, header_size + suite_.iv_size + len, seq, mac.data())) return false;
    std::copy_n(mac.begin(), suite_.icv_size, payload + len);
    return true;
  }

  // pkt/size: the whole packet (length already checked); writes the `len` = payload octets of
  // plaintext to `plain`. false: the ICV did not verify (nothing usable in `plain`).
  bool open(const std::uint8_t* pkt, std::size_t size, std::uint64_t seq, std::uint8_t* plain) {
    const std::uint8_t* iv = pkt + header_size;
    const std::uint8_t* payload = iv + suite_.iv_size;
    const std::size_t len = size - header_size - suite_.iv_size - suite_.icv_size;
    const std::uint8_t* icv = payload + len;
    int n = 0, tail = 0;
    if (suite_.aead) {
      gcm_input in;
      const std::size_t aad_len = gcm_prepare(pkt, seq, in);
      auto& [nonce, aad] = in;
      std::array<std::uint8_t, 16> tag;
      std::copy_n(icv, suite_.icv_size, tag.begin());
      if (EVP_DecryptInit_ex(ctx_.get(), nullptr, nullptr, nullptr, nonce.data()) != 1 ||
          EVP_DecryptUpdate(ctx_.get(), nullptr, &n, aad.data(), static_cast<int>(aad_len)) != 1 ||
          EVP_DecryptUpdate(ctx_.get(), plain, &n, payload, static_cast<int>(len)) != 1 ||
          EVP_CIPHER_CTX_ctrl(ctx_.get(), EVP_CTRL_AEAD_SET_TAG, static_cast<int>(suite_.icv_size), tag.data()) != 1)
        return fail();
      // The tag comparison inside OpenSSL's GCM final is constant-time (CRYPTO_memcmp).
      if (EVP_DecryptFinal_ex(ctx_.get(), plain + n, &tail) != 1) return fail();
      return true;
    }
    // Encrypt-then-MAC: the ICV is checked before anything is decrypted.
    std::array<std::uint8_t, 64> mac;
    if (!hmac(pkt, header_size + suite_.iv_size + len, seq, mac.data())) return false;
    if (CRYPTO_memcmp(mac.data(), icv, suite_.icv_size) != 0) return false;
    if (EVP_DecryptInit_ex(ctx_.get(), nullptr, nullptr, nullptr, iv) != 1 ||
        EVP_DecryptUpdate(ctx_.get(), plain, &n, payload, static_cast<int>(len)) != 1 ||
        EVP_DecryptFinal_ex(ctx_.get(), plain + n, &tail) != 1)
      return fail();
    return true;
  }

 private:
  explicit transform(esp_suite s) : suite_(std::move(s)) {}

  static bool fail() {
    ossl::clear_errors();
    return false;
  }

  struct gcm_input {
    std::array<std::uint8_t, 12> nonce;
    std::array<std::uint8_t, 12> aad;
  };
  // RFC 4106 §4: nonce = salt || the packet's 8-octet IV. §5: AAD = SPI || sequence number
  // (32 bits), or SPI || high 32 || low 32 with ESN. Returns the AAD length.
  std::size_t gcm_prepare(const std::uint8_t* pkt, std::uint64_t seq, gcm_input& in) const {
    std::copy_n(salt_.begin(), 4, in.nonce.begin());
    std::copy_n(pkt + header_size, 8, in.nonce.begin() + 4);
    std::uint8_t* aad = in.aad.data();
    std::copy_n(pkt, 4, aad);
    if (!suite_.esn) {
      std::copy_n(pkt + 4, 4, aad + 4);
      return 8;
    }
    put32(aad + 4, static_cast<std::uint32_t>(seq >> 32));
    std::copy_n(pkt + 4, 4, aad + 8);
    return 12;
  }

  // RFC 4303 §2.2.1 / §3.3.2.1: the ICV covers SPI .. end of the ciphertext, plus the high 32
  // bits of an extended sequence number (which are never sent).
  bool hmac(const std::uint8_t* covered, std::size_t n, std::uint64_t seq, std::uint8_t* mac) {
    std::size_t out = 0;
    std::array<std::uint8_t, 4> hi;
    put32(hi.data(), static_cast<std::uint32_t>(seq >> 32));
    if (EVP_MAC_init(mac_ctx_.get(), nullptr, 0, nullptr) != 1 || EVP_MAC_update(mac_ctx_.get(), covered, n) != 1 ||
        (suite_.esn && EVP_MAC_update(mac_ctx_.get(), hi.data(), hi.size()) != 1) ||
        EVP_MAC_final(mac_ctx_.get(), mac, &out, 64) != 1 || out < suite_.icv_size)
      return fail();
    return true;
  }

  esp_suite suite_;
  ossl::cipher_ptr cipher_;
  ossl::cipher_ctx_ptr ctx_;
  ossl::mac_ptr mac_;
  ossl::mac_ctx_ptr mac_ctx_;
  std::array<std::uint8_t, 4> salt_{};
};

void count(esp::counters& c, std::size_t inner_octets) {
  c.packets.fetch_add(1, std::memory_order_relaxed);
  c.bytes.fetch_add(inner_octets, std::memory_order_relaxed);
}

void count_drop(esp::counters& c, drop d) {
  switch (d) {
    case drop::replay: c.replay_drops.fetch_add(1, std::memory_order_relaxed); break;
    case drop::auth_failed: c.auth_failures.fetch_add(1, std::memory_order_relaxed); break;
    case drop::none: break;
    default: c.other_drops.fetch_add(1, std::memory_order_relaxed); break;
  }
}

// Volume limits of one direction: counted on what was carried, checked before each packet.
class volume {
 public:
  explicit volume(const volume_limits& l) : l_(l) {}
  bool hard_reached(const esp::counters& c) const {
    return (l_.hard_packets && c.packets.load(std::memory_order_relaxed) >= l_.hard_packets) ||
           (l_.hard_bytes && c.bytes.load(std::memory_order_relaxed) >= l_.hard_bytes);
  }
  void after(const esp::counters& c) {
    if (soft_.load(std::memory_order_relaxed)) return;
    if ((l_.soft_packets && c.packets.load(std::memory_order_relaxed) >= l_.soft_packets) ||
        (l_.soft_bytes && c.bytes.load(std::memory_order_relaxed) >= l_.soft_bytes))
      soft_.store(true, std::memory_order_relaxed);
  }
  bool soft() const { return soft_.load(std::memory_order_relaxed); }

 private:
  volume_limits l_;
  std::atomic<bool> soft_{false};
};

class outbound_impl final : public outbound_sa {
 public:
  outbound_impl(const sa_params& p, std::unique_ptr<transform> t)
      : spi_(p.spi), seq_(p.initial_sequence), t_(std::move(t)), volume_(p.limits) {}

  drop seal(bytes_view inner, std::uint8_t next_header, bytes& out) override {
    const esp_suite& s = t_->suite();
    const std::uint64_t last = seq_.load(std::memory_order_relaxed);
    if (volume_.hard_reached(counters_)) return reject(drop::hard_lifetime);
    // Without ESN the counter must not pass 2^32 - 1, with ESN not 2^64 - 1 (RFC 4303 §3.3.3).
    if (s.esn ? last == ~std::uint64_t{0} : last >= 0xffffffffu) return reject(drop::seq_exhausted);
    if (inner.size() > max_payload) return reject(drop::malformed);

    // RFC 4303 §2.4: Padding so that payload + Pad Length + Next Header ends on the alignment
    // (4 octets for AES-GCM, the 16-octet block for AES-CBC); the padding octets are 1, 2, 3 ...
    const std::size_t unpadded = inner.size() + 2;
    const std::size_t payload = (unpadded + s.align - 1) / s.align * s.align;
    const std::size_t pad = payload - unpadded;
    out.resize(header_size + s.iv_size + payload + s.icv_size);
    std::uint8_t* pkt = out.data();
    const std::uint64_t seq = last + 1;
    put32(pkt, spi_);
    put32(pkt + 4, static_cast<std::uint32_t>(seq));
    std::uint8_t* iv = pkt + header_size;
    if (forced_iv_) {
      std::copy_n(iv_once_.begin(), s.iv_size, iv);
      forced_iv_ = false;
    } else if (s.aead) {
      // RFC 4106 §3.1: the IV must never repeat under one key; the 64-bit counter never does.
      put32(iv, static_cast<std::uint32_t>(seq >> 32));
      put32(iv + 4, static_cast<std::uint32_t>(seq));
    } else if (!random_iv(iv, s.iv_size)) {
      out.clear();
      return reject(drop::malformed);  // the DRBG failed: nothing can be sent safely
    }
    std::uint8_t* p = iv + s.iv_size;
    if (!inner.empty()) std::memcpy(p, inner.data(), inner.size());
    p += inner.size();
    for (std::size_t i = 1; i <= pad; ++i) *p++ = static_cast<std::uint8_t>(i);
    *p++ = static_cast<std::uint8_t>(pad);
    *p = next_header;
    if (!t_->seal(pkt, payload, seq)) {
      out.clear();
      return reject(drop::malformed);  // OpenSSL refused (cannot happen with the checked keys)
    }
    seq_.store(seq, std::memory_order_relaxed);
    count(counters_, inner.size());
    volume_.after(counters_);
    return drop::none;
  }

  std::uint32_t spi() const override { return spi_; }
  std::uint64_t last_sequence() const override { return seq_.load(std::memory_order_relaxed); }
  bool soft_expired() const override { return volume_.soft(); }
  const esp::counters& counters() const override { return counters_; }

  bool force_iv(bytes_view iv) {
    if (iv.size() != t_->suite().iv_size) return false;
    std::copy(iv.begin(), iv.end(), iv_once_.begin());
    forced_iv_ = true;
    return true;
  }

 private:
  drop reject(drop d) {
    count_drop(counters_, d);
    return d;
  }

  // AES-CBC IVs must be unpredictable (RFC 3602 §2.4): random octets from OpenSSL's DRBG, drawn
  // a kilobyte at a time (one DRBG call per 64 packets: a call costs about as much as sealing
  // a small packet, see bench/esp_bench.cpp BM_RandomIv).
  bool random_iv(std::uint8_t* iv, std::size_t n) {
    if (iv_pool_used_ + n > iv_pool_.size()) {
      if (!crypto::random_fill(iv_pool_)) return false;
      iv_pool_used_ = 0;
    }
    std::copy_n(iv_pool_.begin() + static_cast<std::ptrdiff_t>(iv_pool_used_), n, iv);
    iv_pool_used_ += n;
    return true;
  }

  std::uint32_t spi_;
  std::atomic<std::uint64_t> seq_;  // written by the sealing thread only; last_sequence() may be read anywhere
  std::unique_ptr<transform> t_;
  volume volume_;
  esp::counters counters_;
  bool forced_iv_ = false;
  std::array<std::uint8_t, 16> iv_once_{};
  std::array<std::uint8_t, 1024> iv_pool_{};
  std::size_t iv_pool_used_ = iv_pool_.size();
};

class inbound_impl final : public inbound_sa {
 public:
  inbound_impl(const sa_params& p, std::unique_ptr<transform> t, unsigned window)
      : spi_(p.spi),
        t_(std::move(t)),
        window_(window, t_->suite().esn, p.initial_sequence),
        highest_(window_.highest()),
        volume_(p.limits) {}

  opened open(bytes_view esp, bytes& inner) override {
    const esp_suite& s = t_->suite();
    opened r;
    if (volume_.hard_reached(counters_)) return reject(drop::hard_lifetime, inner);
    // Shortest: header, IV, one aligned unit of payload (at least Pad Length and Next Header), ICV.
    const std::size_t overhead = header_size + s.iv_size + s.icv_size;
    if (esp.size() < overhead + s.align || esp.size() - overhead > max_payload || (esp.size() - overhead) % s.align)
      return reject(drop::malformed, inner);
    const std::size_t len = esp.size() - overhead;
    const auto v = window_.check(get_u32(esp.data() + 4));
    if (!v.ok) return reject(drop::replay, inner);
    inner.resize(len);
    if (!t_->open(esp.data(), esp.size(), v.seq, inner.data())) return reject(drop::auth_failed, inner);
    const std::uint8_t pad = inner[len - 2];
    r.next_header = inner[len - 1];
    if (pad + 2u > len) return reject(drop::bad_padding, inner);
    const std::uint8_t* padding = inner.data() + len - 2 - pad;
    for (std::size_t i = 0; i < pad; ++i)
      if (padding[i] != i + 1) return reject(drop::bad_padding, inner);
    // Only now, with the ICV verified, may the window move (RFC 4303 §3.4.3).
    if (!window_.accept(v.seq)) return reject(drop::replay, inner);
    highest_.store(window_.highest(), std::memory_order_relaxed);
    inner.resize(len - 2 - pad);
    count(counters_, inner.size());
    volume_.after(counters_);
    return r;
  }

  std::uint32_t spi() const override { return spi_; }
  std::uint64_t highest_sequence() const override { return highest_.load(std::memory_order_relaxed); }
  bool soft_expired() const override { return volume_.soft(); }
  const esp::counters& counters() const override { return counters_; }

 private:
  opened reject(drop d, bytes& inner) {
    inner.clear();
    count_drop(counters_, d);
    opened r;
    r.reason = d;
    return r;
  }

  std::uint32_t spi_;
  std::unique_ptr<transform> t_;
  replay_window window_;
  std::atomic<std::uint64_t> highest_;  // window_.highest() for readers on other threads
  volume volume_;
  esp::counters counters_;
};

}  // namespace

result<std::unique_ptr<outbound_sa>> outbound_sa::create(const sa_params& p) {
  auto t = transform::make(p, true);
  if (!t) return t.err();
  if (!(*t)->suite().esn && p.initial_sequence > 0xffffffffu)
    return make_error(errc::invalid_argument, "ESP initial sequence number " + std::to_string(p.initial_sequence) +
                                                  " does not fit in 32 bits without ESN");
  return std::unique_ptr<outbound_sa>(new outbound_impl(p, std::move(*t)));
}

result<std::unique_ptr<inbound_sa>> inbound_sa::create(const sa_params& p, unsigned replay_window) {
  if (replay_window != 0 && (replay_window < 32 || replay_window > 4096))
    return make_error(errc::invalid_argument, "ESP replay window of " + std::to_string(replay_window) +
                                                  " packets: 0 (off) or 32..4096 expected");
  auto t = transform::make(p, false);
  if (!t) return t.err();
  if (!(*t)->suite().esn && p.initial_sequence > 0xffffffffu)
    return make_error(errc::invalid_argument, "ESP initial sequence number " + std::to_string(p.initial_sequence) +
                                                  " does not fit in 32 bits without ESN");
  const unsigned window = (replay_window + 31) / 32 * 32;
  return std::unique_ptr<inbound_sa>(new inbound_impl(p, std::move(*t), window));
}

bool use_iv_once(outbound_sa& sa, bytes_view iv) {
  auto* impl = dynamic_cast<outbound_impl*>(&sa);
  return impl && impl->force_iv(iv);
}

}  // namespace aike::kernel::esp
