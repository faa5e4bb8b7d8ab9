#include "config/credential_cache.hpp"

#include <openssl/crypto.h>

#include <algorithm>
#include <set>

#include "config/file_text.hpp"

namespace aike::config {

struct credential_cache::pin_set {
  std::set<bytes> public_keys, certificates, private_keys, trust_stores;
};

namespace {

bool looks_like_pem(const std::string& text) { return text.find("-----BEGIN") != std::string::npos; }

bytes as_bytes(const std::string& s) { return bytes(s.begin(), s.end()); }

error in_file(const std::string& path, const error& e) {
  return make_error(e.code, "'" + path + "': " + e.message);
}

// The key of a trust store: the fingerprints of its CAs, in order.
bytes store_key(const std::vector<auth::certificate>& cas) {
  bytes key;
  for (const auto& c : cas) append(key, c.fingerprint());
  return key;
}

}  // namespace

auth::public_key credential_cache::intern(const auth::public_key& k) {
  bytes fp = k.fingerprint();
  std::lock_guard lock(mu_);
  return public_keys_.try_emplace(std::move(fp), k).first->second;
}

auth::certificate credential_cache::intern(const auth::certificate& c) {
  bytes fp = c.fingerprint();
  std::lock_guard lock(mu_);
  return certificates_.try_emplace(std::move(fp), c).first->second;
}

auth::private_key credential_cache::intern(const auth::private_key& k) {
  bytes fp = k.public_part().fingerprint();
  std::lock_guard lock(mu_);
  return private_keys_.try_emplace(std::move(fp), k).first->second;
}

result<auth::public_key> credential_cache::public_key_from_file(const std::string& path) {
  auto text = read_text_file(path);
  if (!text) return text.err();
  auto key = looks_like_pem(*text) ? auth::public_key::from_pem(*text) : auth::public_key::from_spki_der(as_bytes(*text));
  if (!key) return in_file(path, key.err());
  return intern(*key);
}

result<auth::certificate> credential_cache::certificate_from_file(const std::string& path) {
  auto chain = chain_from_file(path);
  if (!chain) return chain.err();
  return chain->front();
}

result<std::vector<auth::certificate>> credential_cache::chain_from_file(const std::string& path) {
  auto text = read_text_file(path);
  if (!text) return text.err();
  std::vector<auth::certificate> chain;
  if (looks_like_pem(*text)) {
    auto parsed = auth::certificate::chain_from_pem(*text);
    if (!parsed) return in_file(path, parsed.err());
    chain = std::move(*parsed);
  } else {
    auto parsed = auth::certificate::from_der(as_bytes(*text));
    if (!parsed) return in_file(path, parsed.err());
    chain.push_back(std::move(*parsed));
  }
  for (auto& c : chain) c = intern(c);
  return chain;
}

result<auth::private_key> credential_cache::private_key_from_file(const std::string& path) {
  auto text = read_text_file(path);
  if (!text) return text.err();
  auto key = auth::private_key::from_pem(*text);
  // The PEM text is key material: do not leave it in freed heap memory.
  OPENSSL_cleanse(text->data(), text->size());
  if (!key) return in_file(path, key.err());
  return intern(*key);
}

std::shared_ptr<const auth::trust_store> credential_cache::trust_store_for(const std::vector<auth::certificate>& cas) {
  std::vector<auth::certificate> unique;
  std::set<bytes> seen;
  for (const auto& c : cas)
    if (seen.insert(c.fingerprint()).second) unique.push_back(c);
  bytes key = store_key(unique);
  {
    std::lock_guard lock(mu_);
    auto it = trust_stores_.find(key);
    if (it != trust_stores_.end()) return it->second;
  }
  auto store = std::make_shared<auth::trust_store>();
  for (const auto& c : unique) (void)store->add_ca(c);  // only fails on allocation; the CA is then missing
  std::lock_guard lock(mu_);
  return trust_stores_.try_emplace(std::move(key), std::move(store)).first->second;
}

std::shared_ptr<const void> credential_cache::pin(const sa::connection& c) {
  auto p = std::make_shared<pin_set>();
  if (c.local.key) p->private_keys.insert(c.local.key->public_part().fingerprint());
  for (const auto& cert : c.local.certs) p->certificates.insert(cert.fingerprint());
  if (c.local.raw_key) p->public_keys.insert(c.local.raw_key->fingerprint());
  for (const auto& k : c.remote.pubkeys) p->public_keys.insert(k.fingerprint());
  if (c.remote.cas) {
    for (const auto& ca : c.remote.cas->cas()) p->certificates.insert(ca.fingerprint());
    p->trust_stores.insert(store_key(c.remote.cas->cas()));
  }
  std::lock_guard lock(mu_);
  drop_dead_pins();
  pins_.push_back(p);
  return p;
}

void credential_cache::drop_dead_pins() {
  pins_.erase(std::remove_if(pins_.begin(), pins_.end(), [](const auto& w) { return w.expired(); }), pins_.end());
}

std::size_t credential_cache::size() const {
  std::lock_guard lock(mu_);
  return public_keys_.size() + certificates_.size() + private_keys_.size() + trust_stores_.size();
}

void credential_cache::prune() {
  std::lock_guard lock(mu_);
  drop_dead_pins();
  pin_set live;
  for (const auto& w : pins_)
    if (auto p = w.lock()) {
      live.public_keys.insert(p->public_keys.begin(), p->public_keys.end());
      live.certificates.insert(p->certificates.begin(), p->certificates.end());
      live.private_keys.insert(p->private_keys.begin(), p->private_keys.end());
      live.trust_stores.insert(p->trust_stores.begin(), p->trust_stores.end());
    }
  auto keep_live = [](auto& map, const std::set<bytes>& keep) {
    std::erase_if(map, [&](const auto& entry) { return keep.count(entry.first) == 0; });
  };
  keep_live(public_keys_, live.public_keys);
  keep_live(certificates_, live.certificates);
  keep_live(private_keys_, live.private_keys);
  keep_live(trust_stores_, live.trust_stores);
}

}  // namespace aike::config
