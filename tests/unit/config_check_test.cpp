// `aiked --check-config`: the shipped example validates, and problems come out one per line.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <sstream>

#include "config/config.hpp"

namespace aike::config {
namespace {

const std::string kDir = AIKE_TEST_DATA_DIR "/config";
const std::string kExample = AIKE_TEST_DATA_DIR "/../../etc/aiked.toml.example";

TEST(ConfigCheck, ShippedExampleIsValid) {
  std::ostringstream out, err;
  EXPECT_EQ(check_config(kExample, out, err), 0) << err.str();
  EXPECT_EQ(out.str(), kExample + ": OK, 1 connection, 1 secret\n");
  EXPECT_EQ(err.str(), "");  // not even a warning

  // And it means what its comments say.
  credential_cache creds;
  auto r = load_file(kExample, creds);
  ASSERT_TRUE(r.cfg);
  const connection* site = r.cfg->find("site");
  ASSERT_NE(site, nullptr);
  EXPECT_EQ(site->ike->ike_proposals.size(), 2u);
  EXPECT_EQ(site->ike->secrets.size(), 1u);
  EXPECT_EQ(site->children.at(0).start, start_action::start);
  EXPECT_EQ(site->keyingtries, 0u);
}

TEST(ConfigCheck, FullTestConfig) {
  std::ostringstream out, err;
  EXPECT_EQ(check_config(kDir + "/full.toml", out, err), 0) << err.str();
  EXPECT_EQ(out.str(), kDir + "/full.toml: OK, 3 connections, 3 secrets\n");
}

TEST(ConfigCheck, ProblemsOnePerLineThenASummary) {
  char path_template[] = "/tmp/aike-check-XXXXXX.toml";
  int fd = mkstemps(path_template, 5);
  ASSERT_GE(fd, 0);
  const std::string text = "[daemon]\nworkers = -1\nkernl = \"xfrm\"\n[connections.c]\ndpd_timeout = \"60s\"\n";
  ASSERT_EQ(write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  close(fd);
  const std::string path = path_template;

  std::ostringstream out, err;
  EXPECT_EQ(check_config(path, out, err), 1);
  EXPECT_EQ(out.str(), "");
  EXPECT_EQ(err.str(), path + ":2:11: daemon.workers: -1 is out of range (0..1024)\n" +
                           path + ":3:1: daemon.kernl: unknown key 'kernl' (did you mean 'kernel'?)\n" +
                           path + ":4:1: connections.c.local.private_key: auth = pubkey (the default) needs private_key (a PEM file)\n" +
                           path + ":4:1: connections.c.local.id: missing, and there is no local address to take it from (set id or local_addrs)\n" +
                           path + ":4:1: connections.c.remote.auth: auth = pubkey (the default) needs cacerts or pubkeys to check the peer with\n" +
                           path + ":4:1: warning: connections.c.children: no children: the IKE SA would carry no traffic (add [connections.c.children.<name>])\n" +
                           path + ":5:15: warning: connections.c.dpd_timeout: ignored (as by swanctl for IKEv2): a peer is declared dead when the retransmissions of daemon.retransmit run out\n" +
                           path + ": 5 problems\n");
  std::remove(path.c_str());
}

TEST(ConfigCheck, MissingFile) {
  std::ostringstream out, err;
  EXPECT_EQ(check_config(kDir + "/absent.toml", out, err), 1);
  EXPECT_EQ(out.str(), "");
  EXPECT_EQ(err.str(), kDir + "/absent.toml: cannot read '" + kDir + "/absent.toml': No such file or directory\n" +
                           kDir + "/absent.toml: 1 problem\n");
}

}  // namespace
}  // namespace aike::config
