#include "config/credential_cache.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <algorithm>
#include <set>

#include "config/file_text.hpp"

namespace aike::config {

// The objects one connection uses, by address: every credential of a loaded connection came out of
// this cache, so the address names the entry. (Computing fingerprints here instead would mean
// re-encoding every key, which OpenSSL 3 makes slow.) The connection holds the objects, so an
// address cannot be reused by another object while the pin lives.
struct credential_cache::pin_set {
  std::set<const void*> objects;
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

bytes credential_cache::content_key(kind k, const std::string& text) {
  bytes key(1 + EVP_MAX_MD_SIZE);
  key[0] = static_cast<std::uint8_t>(k);
  unsigned int len = 0;
  if (EVP_Digest(text.data(), text.size(), key.data() + 1, &len, EVP_sha256(), nullptr) != 1) return {};
  key.resize(1 + len);
  return key;
}

std::optional<std::vector<bytes>> credential_cache::known_content(const bytes& content) {
  if (content.empty()) return std::nullopt;
  std::lock_guard lock(mu_);
  auto it = by_content_.find(content);
  if (it == by_content_.end()) return std::nullopt;
  return it->second;
}

void credential_cache::remember_content(bytes content, std::vector<bytes> fingerprints) {
  if (content.empty()) return;
  std::lock_guard lock(mu_);
  by_content_[std::move(content)] = std::move(fingerprints);
}

result<auth::public_key> credential_cache::public_key_from_file(const std::string& path) {
  auto text = read_text_file(path);
  if (!text) return text.err();
  bytes content = content_key(kind::public_key, *text);
  if (auto fps = known_content(content)) {
    std::lock_guard lock(mu_);
    if (auto it = public_keys_.find(fps->front()); it != public_keys_.end()) return it->second;
  }
  auto key = looks_like_pem(*text) ? auth::public_key::from_pem(*text) : auth::public_key::from_spki_der(as_bytes(*text));
  if (!key) return in_file(path, key.err());
  auth::public_key interned = intern(*key);
  remember_content(std::move(content), {interned.fingerprint()});
  return interned;
}

result<auth::certificate> credential_cache::certificate_from_file(const std::string& path) {
  auto chain = chain_from_file(path);
  if (!chain) return chain.err();
  return chain->front();
}

result<std::vector<auth::certificate>> credential_cache::chain_from_file(const std::string& path) {
  auto text = read_text_file(path);
  if (!text) return text.err();
  bytes content = content_key(kind::certificates, *text);
  if (auto fps = known_content(content)) {
    std::lock_guard lock(mu_);
    std::vector<auth::certificate> chain;
    for (const auto& fp : *fps)
      if (auto it = certificates_.find(fp); it != certificates_.end()) chain.push_back(it->second);
    if (chain.size() == fps->size()) return chain;
  }
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
  std::vector<bytes> fps;
  for (auto& c : chain) {
    c = intern(c);
    fps.push_back(c.fingerprint());
  }
  remember_content(std::move(content), std::move(fps));
  return chain;
}

result<auth::private_key> credential_cache::private_key_from_file(const std::string& path) {
  auto text = read_text_file(path);
  if (!text) return text.err();
  bytes content = content_key(kind::private_key, *text);
  std::optional<auth::private_key> known;
  if (auto fps = known_content(content)) {
    std::lock_guard lock(mu_);
    if (auto it = private_keys_.find(fps->front()); it != private_keys_.end()) known = it->second;
  }
  auto key = known ? result<auth::private_key>(*known) : auth::private_key::from_pem(*text);
  // The PEM text is key material: do not leave it in freed heap memory.
  OPENSSL_cleanse(text->data(), text->size());
  if (!key) return in_file(path, key.err());
  if (known) return *known;
  auth::private_key interned = intern(*key);
  remember_content(std::move(content), {interned.public_part().fingerprint()});
  return interned;
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
  if (c.local.key) p->objects.insert(c.local.key->get());
  for (const auto& cert : c.local.certs) p->objects.insert(cert.get());
  if (c.local.raw_key) p->objects.insert(c.local.raw_key->get());
  for (const auto& k : c.remote.pubkeys) p->objects.insert(k.get());
  if (c.remote.cas) {
    p->objects.insert(c.remote.cas.get());
    for (const auto& ca : c.remote.cas->cas()) p->objects.insert(ca.get());
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
  std::set<const void*> live;
  for (const auto& w : pins_)
    if (auto p = w.lock()) live.insert(p->objects.begin(), p->objects.end());
  auto used = [&](const void* object) { return live.count(object) != 0; };
  std::erase_if(public_keys_, [&](const auto& e) { return !used(e.second.get()); });
  std::erase_if(certificates_, [&](const auto& e) { return !used(e.second.get()); });
  std::erase_if(private_keys_, [&](const auto& e) { return !used(e.second.get()); });
  std::erase_if(trust_stores_, [&](const auto& e) { return !used(e.second.get()); });
  // Forget file contents whose credentials are gone.
  std::erase_if(by_content_, [&](const auto& entry) {
    const auto kind_of = static_cast<kind>(entry.first.front());
    const auto gone = [&](const bytes& fp) {
      switch (kind_of) {
        case kind::public_key: return public_keys_.count(fp) == 0;
        case kind::private_key: return private_keys_.count(fp) == 0;
        case kind::certificates: return certificates_.count(fp) == 0;
      }
      return true;
    };
    return std::any_of(entry.second.begin(), entry.second.end(), gone);
  });
}

}  // namespace aike::config
