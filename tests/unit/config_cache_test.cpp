// The credential cache: keys, certificates and trust stores are interned by fingerprint, so
// reloading a config many times keeps memory flat; prune() forgets what no live connection uses.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "config/config.hpp"

namespace aike::config {
namespace {

const std::string kDir = AIKE_TEST_DATA_DIR "/config";

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kAsan = true;  // ASan's quarantine holds freed memory back: RSS says nothing then
#else
constexpr bool kAsan = false;
#endif

const char* kRawConfig = R"(
[connections.one]
remote_addrs = ["10.0.0.2"]
[connections.one.local]
auth = "pubkey"
id = "moon.example"
private_key = "moon_raw.key"
pubkeys = ["moon_raw.pub"]
[connections.one.remote]
pubkeys = ["sun_raw.pub"]
[connections.one.children.net]
remote_ts = ["10.2.0.0/16"]
[connections.two]
[connections.two.local]
auth = "pubkey"
id = "moon.example"
private_key = "moon_raw.key"
[connections.two.remote]
pubkeys = ["sun_raw.pub", "moon_raw.pub"]
[connections.two.children.net]
)";

const char* kCertConfig = R"(
[connections.cert]
[connections.cert.local]
auth = "pubkey"
certs = ["moon.pem"]
private_key = "moon_cert.key"
[connections.cert.remote]
cacerts = ["ca.pem", "ca.pem"]
[connections.cert.children.net]
)";

std::string problems_text(const load_result& r) {
  std::string s;
  for (const auto& p : r.problems) s += p.to_string() + "\n";
  return s;
}

load_result load(const char* text, credential_cache& creds) { return load_string(text, kDir + "/cache.toml", creds); }

// Resident set size in bytes, from /proc/self/statm (second field, in pages).
std::size_t rss_bytes() {
  std::ifstream statm("/proc/self/statm");
  std::size_t size_pages = 0, resident_pages = 0;
  statm >> size_pages >> resident_pages;
  return resident_pages * static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
}

TEST(ConfigCredentialCache, SameFilesGiveTheSameObjects) {
  credential_cache creds;
  auto a = load(kRawConfig, creds);
  auto b = load(kRawConfig, creds);
  ASSERT_TRUE(a.cfg) << problems_text(a);
  ASSERT_TRUE(b.cfg) << problems_text(b);
  const sa::connection& a1 = *a.cfg->find("one")->ike;
  const sa::connection& b1 = *b.cfg->find("one")->ike;
  const sa::connection& b2 = *b.cfg->find("two")->ike;
  // One EVP_PKEY per key, whichever load and connection asked for it.
  EXPECT_EQ(a1.local.key->get(), b1.local.key->get());
  EXPECT_EQ(b1.local.key->get(), b2.local.key->get());
  EXPECT_EQ(a1.remote.pubkeys[0].get(), b1.remote.pubkeys[0].get());
  EXPECT_EQ(b1.remote.pubkeys[0].get(), b2.remote.pubkeys[0].get());
  EXPECT_EQ(a1.local.raw_key->get(), b2.remote.pubkeys[1].get());  // moon_raw.pub, as raw key and as trusted key
  // private key + moon_raw.pub + sun_raw.pub
  EXPECT_EQ(creds.size(), 3u);
}

TEST(ConfigCredentialCache, TrustStoresAreShared) {
  credential_cache creds;
  auto a = load(kCertConfig, creds);
  auto b = load(kCertConfig, creds);
  ASSERT_TRUE(a.cfg) << problems_text(a);
  ASSERT_TRUE(b.cfg);
  const auto& sa_a = *a.cfg->connections[0].ike;
  const auto& sa_b = *b.cfg->connections[0].ike;
  EXPECT_EQ(sa_a.remote.cas.get(), sa_b.remote.cas.get());
  EXPECT_EQ(sa_a.remote.cas->size(), 1u);  // ca.pem listed twice, added once
  EXPECT_EQ(sa_a.local.certs[0].get(), sa_b.local.certs[0].get());
  // moon.pem, ca.pem, moon_cert.key, one trust store
  EXPECT_EQ(creds.size(), 4u);

  std::vector<auth::certificate> ca = {sa_a.remote.cas->cas()[0]};
  EXPECT_EQ(creds.trust_store_for(ca).get(), sa_a.remote.cas.get());
}

TEST(ConfigCredentialCache, TenThousandReloadsKeepMemoryFlat) {
  credential_cache creds;
  // Warm up: first allocations of OpenSSL, toml++ and the allocator's arenas.
  for (int i = 0; i < 200; ++i) {
    auto r = load(kRawConfig, creds);
    ASSERT_TRUE(r.cfg) << problems_text(r);
  }
  const std::size_t entries = creds.size();
  EXPECT_EQ(entries, 3u);
  const std::size_t rss_before = rss_bytes();
  std::optional<config> previous;  // as the daemon does: the old config lives until the new one is in place
  for (int i = 0; i < 10000; ++i) {
    auto r = load(kRawConfig, creds);
    ASSERT_TRUE(r.cfg) << problems_text(r);
    previous = std::move(r.cfg);
    if (i % 1000 == 0) {
      creds.prune();
      ASSERT_EQ(creds.size(), entries) << "after " << i << " loads";
    }
  }
  EXPECT_EQ(creds.size(), entries);
  const std::size_t rss_after = rss_bytes();
  const double growth_mib = (static_cast<double>(rss_after) - static_cast<double>(rss_before)) / (1024.0 * 1024.0);
  RecordProperty("rss_growth_kib", static_cast<int>(growth_mib * 1024));
  if (!kAsan) {
    EXPECT_LT(growth_mib, 3.0) << "RSS grew from " << rss_before << " to " << rss_after << " bytes";
  }
}

TEST(ConfigCredentialCache, PruneForgetsWhatNoConnectionUses) {
  credential_cache creds;
  auto raw = load(kRawConfig, creds);
  auto cert = load(kCertConfig, creds);
  ASSERT_TRUE(raw.cfg);
  ASSERT_TRUE(cert.cfg);
  EXPECT_EQ(creds.size(), 7u);
  creds.prune();
  EXPECT_EQ(creds.size(), 7u);  // everything in use

  cert.cfg.reset();
  creds.prune();
  EXPECT_EQ(creds.size(), 3u);

  // An SA that still holds a connection keeps its credentials pinned after its config is gone.
  std::shared_ptr<const sa::connection> held = raw.cfg->find("two")->ike;
  raw.cfg.reset();
  creds.prune();
  EXPECT_EQ(creds.size(), 3u);  // "two" uses the private key and both public keys
  EXPECT_EQ(held->remote.pubkeys.size(), 2u);
  held.reset();
  creds.prune();
  EXPECT_EQ(creds.size(), 0u);

  // A load that failed pins nothing.
  auto bad = load_string(std::string(kRawConfig) + "oops = 1\n", kDir + "/cache.toml", creds);
  ASSERT_FALSE(bad.cfg);
  EXPECT_EQ(creds.size(), 3u);
  creds.prune();
  EXPECT_EQ(creds.size(), 0u);
}

void copy_file(const std::string& from, const std::string& to) {
  std::ifstream in(from, std::ios::binary);
  std::ofstream out(to, std::ios::binary | std::ios::trunc);
  out << in.rdbuf();
}

TEST(ConfigCredentialCache, AChangedFileIsReadAgain) {
  char dir_template[] = "/tmp/aike-config-cache-XXXXXX";
  ASSERT_NE(mkdtemp(dir_template), nullptr);
  const std::string path = std::string(dir_template) + "/peer.pub";
  credential_cache creds;

  copy_file(kDir + "/moon_raw.pub", path);
  auto first = creds.public_key_from_file(path);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(creds.public_key_from_file(path)->get(), first->get());  // unchanged: the same object

  copy_file(kDir + "/sun_raw.pub", path);
  auto second = creds.public_key_from_file(path);
  ASSERT_TRUE(second.ok());
  EXPECT_NE(second->get(), first->get());
  EXPECT_EQ(EVP_PKEY_eq(second->get(), creds.public_key_from_file(kDir + "/sun_raw.pub")->get()), 1);
  EXPECT_EQ(creds.size(), 2u);

  copy_file(kDir + "/garbage.pem", path);
  EXPECT_FALSE(creds.public_key_from_file(path).ok());

  copy_file(kDir + "/moon_raw.pub", path);
  EXPECT_EQ(creds.public_key_from_file(path)->get(), first->get());  // back: interned by fingerprint
  std::remove(path.c_str());
  rmdir(dir_template);
}

TEST(ConfigCredentialCache, FileErrors) {
  credential_cache creds;
  auto k = creds.public_key_from_file(kDir + "/nope.pub");
  ASSERT_FALSE(k.ok());
  EXPECT_EQ(k.err().message, "cannot read '" + kDir + "/nope.pub': No such file or directory");
  auto d = creds.certificate_from_file(kDir);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.err().message, "cannot read '" + kDir + "': Is a directory");
  auto p = creds.private_key_from_file(kDir + "/moon_raw.pub");
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.err().message.rfind("'" + kDir + "/moon_raw.pub': ", 0), 0u) << p.err().message;
  auto c = creds.certificate_from_file(kDir + "/moon.pem");
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->has_identity(auth::identity::parse("moon.example").value()));
  EXPECT_EQ(creds.size(), 1u);
}

}  // namespace
}  // namespace aike::config
