// Immutable, deduplicated credentials for configurations.
//
// Every public key, certificate and private key read from a file is interned by its SHA-256
// fingerprint (SPKI DER for keys, the public part's SPKI for private keys, the DER for
// certificates), and every trust store by the fingerprints of its CAs: loading the same files
// again hands out the objects already held, so reloading a config 10,000 times keeps memory flat
// and SAs made from an old and a new config share their keys.
//
// Lifetime: the loader pins the credentials of each connection it builds; the pin lives as long
// as that connection's shared_ptr<const sa::connection> (the config's copy and every SA's copy).
// prune() drops every entry no live pin names. Dropping an entry never frees a key still in use:
// the handles are reference-counted, the cache only forgets it for deduplication.
//
// Files are read every time (a reload must see a changed file), but a file whose bytes hash to
// what was parsed before is not parsed again: OpenSSL 3's PEM decoders take about a millisecond
// per key, which would dominate a reload. All members are safe to call from several threads.
#pragma once
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "engine/auth/keys.hpp"
#include "engine/auth/trust_store.hpp"
#include "engine/common/result.hpp"
#include "engine/sa/connection.hpp"

namespace aike::config {

class credential_cache {
 public:
  credential_cache() = default;
  credential_cache(const credential_cache&) = delete;
  credential_cache& operator=(const credential_cache&) = delete;

  // PEM "BEGIN PUBLIC KEY", or DER SubjectPublicKeyInfo.
  result<auth::public_key> public_key_from_file(const std::string& path);
  // The first certificate of a PEM file, or a DER certificate.
  result<auth::certificate> certificate_from_file(const std::string& path);
  // Every certificate of a PEM file in order (or the one DER certificate).
  result<std::vector<auth::certificate>> chain_from_file(const std::string& path);
  // PEM private key, unencrypted (nothing is ever prompted).
  result<auth::private_key> private_key_from_file(const std::string& path);
  // A trust store holding `cas` (duplicates dropped, order kept); the same CA set gives the same store.
  std::shared_ptr<const auth::trust_store> trust_store_for(const std::vector<auth::certificate>& cas);

  // Keeps every credential `c` holds in the cache while the returned handle lives. The credentials
  // must have come from this cache (the loader's do); others are simply not kept.
  std::shared_ptr<const void> pin(const sa::connection& c);

  // Interned entries: public keys + certificates + private keys + trust stores.
  std::size_t size() const;
  // Forgets the entries no live pin names.
  void prune();

 private:
  struct pin_set;
  enum class kind : std::uint8_t { public_key, certificates, private_key };
  // Interning happens under the lock; the files are read and parsed outside it.
  auth::public_key intern(const auth::public_key& k);
  auth::certificate intern(const auth::certificate& c);
  auth::private_key intern(const auth::private_key& k);
  // SHA-256 of the file bytes, tagged with what they were parsed as.
  static bytes content_key(kind k, const std::string& text);
  // The fingerprints `content` parsed to last time, if every one of them is still interned.
  std::optional<std::vector<bytes>> known_content(const bytes& content);
  void remember_content(bytes content, std::vector<bytes> fingerprints);
  void drop_dead_pins();

  mutable std::mutex mu_;
  std::map<bytes, auth::public_key> public_keys_;
  std::map<bytes, auth::certificate> certificates_;
  std::map<bytes, auth::private_key> private_keys_;
  std::map<bytes, std::shared_ptr<const auth::trust_store>> trust_stores_;
  std::map<bytes, std::vector<bytes>> by_content_;  // content_key -> fingerprints (several for a chain)
  std::vector<std::weak_ptr<const pin_set>> pins_;
};

}  // namespace aike::config
