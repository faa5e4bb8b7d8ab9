// The reload decision: which connections a new configuration adds, removes or changes, which
// children it starts, and which [daemon] settings keep their running values until a restart.
#include <gtest/gtest.h>

#include <string>

#include "config/config.hpp"
#include "config/reload_plan.hpp"

namespace aike::config {
namespace {

const std::string kDir = AIKE_TEST_DATA_DIR "/config";

std::string problems_text(const load_result& r) {
  std::string s;
  for (const auto& p : r.problems) s += p.to_string() + "\n";
  return s;
}

// A raw-key connection; `extra` goes into the connection table, `child_extra` into its child.
std::string raw_conn(const std::string& name, const std::string& local_id = "moon.example",
                     const std::string& remote_key = "sun_raw.pub", const std::string& extra = "",
                     const std::string& child_extra = "") {
  return "[connections." + name + "]\nremote_addrs = [\"10.0.0.2\"]\n" + extra +
         "\n[connections." + name + ".local]\nauth = \"pubkey\"\nid = \"" + local_id +
         "\"\nprivate_key = \"moon_raw.key\"\npubkeys = [\"moon_raw.pub\"]\n[connections." + name +
         ".remote]\npubkeys = [\"" + remote_key + "\"]\n[connections." + name + ".children.net]\nremote_ts = [\"10.2.0.0/16\"]\n" +
         child_extra + "\n";
}

class ReloadPlan : public ::testing::Test {
 protected:
  config load(const std::string& text) {
    auto r = load_string(text, kDir + "/reload.toml", creds_);
    EXPECT_TRUE(r.cfg) << problems_text(r);
    return r.cfg ? std::move(*r.cfg) : config{};
  }
  credential_cache creds_;
};

TEST_F(ReloadPlan, SameFileChangesNothing) {
  const std::string text = raw_conn("a") + raw_conn("b");
  config running = load(text);
  auto plan = plan_reload(running, load(text));
  EXPECT_TRUE(plan.added.empty());
  EXPECT_TRUE(plan.removed.empty());
  EXPECT_TRUE(plan.changed.empty());
  EXPECT_EQ(plan.unchanged, (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(plan.to_start.empty());
  EXPECT_TRUE(plan.restart_needed.empty());
  EXPECT_EQ(restart_warning(plan), "");
  ASSERT_EQ(plan.effective.connections.size(), 2u);
  // The credentials are the interned ones: the new connection shares the running one's keys.
  EXPECT_EQ(plan.effective.find("a")->ike->remote.pubkeys[0].get(), running.find("a")->ike->remote.pubkeys[0].get());
}

TEST_F(ReloadPlan, AddedRemovedChangedInFileOrder) {
  config running = load(raw_conn("keep") + raw_conn("gone") + raw_conn("ident") + raw_conn("key") + raw_conn("policy"));
  config next = load(raw_conn("new2", "moon.example", "sun_raw.pub", "", "start_action = \"start\"") +
                     raw_conn("keep") + raw_conn("ident", "other.example") + raw_conn("key", "moon.example", "moon_raw.pub") +
                     raw_conn("policy", "moon.example", "sun_raw.pub", "unique = \"never\"") +
                     raw_conn("new1", "moon.example", "sun_raw.pub", "", "start_action = \"none\""));
  auto plan = plan_reload(running, std::move(next));
  EXPECT_EQ(plan.added, (std::vector<std::string>{"new2", "new1"}));
  EXPECT_EQ(plan.removed, (std::vector<std::string>{"gone"}));
  EXPECT_EQ(plan.changed, (std::vector<std::string>{"ident", "key", "policy"}));
  EXPECT_EQ(plan.unchanged, (std::vector<std::string>{"keep"}));
  // Only start_action = "start" children of added connections are started.
  ASSERT_EQ(plan.to_start.size(), 1u);
  EXPECT_EQ(plan.to_start[0], std::make_pair(std::string("new2"), std::string("net")));
  EXPECT_EQ(plan.effective.connections.size(), 6u);
  EXPECT_EQ(plan.effective.find("gone"), nullptr);
}

TEST_F(ReloadPlan, AStartChildOfAChangedConnectionIsNotStartedAgain) {
  config running = load(raw_conn("a", "moon.example", "sun_raw.pub", "", "start_action = \"start\""));
  auto plan = plan_reload(running, load(raw_conn("a", "moon.example", "sun_raw.pub", "", "start_action = \"start\"\nmode = \"transport\"")));
  EXPECT_EQ(plan.changed, (std::vector<std::string>{"a"}));
  EXPECT_TRUE(plan.to_start.empty());
}

TEST_F(ReloadPlan, ChildContentCounts) {
  config running = load(raw_conn("a"));
  auto ts = plan_reload(running, load(raw_conn("a", "moon.example", "sun_raw.pub", "", "local_ts = [\"10.1.0.0/16\"]")));
  EXPECT_EQ(ts.changed, (std::vector<std::string>{"a"}));
  auto rekey = plan_reload(running, load(raw_conn("a", "moon.example", "sun_raw.pub", "", "rekey_time = \"2h\"")));
  EXPECT_EQ(rekey.changed, (std::vector<std::string>{"a"}));
  auto same = plan_reload(running, load(raw_conn("a", "moon.example", "sun_raw.pub", "", "rekey_time = \"1h\"")));
  EXPECT_EQ(same.unchanged, (std::vector<std::string>{"a"}));  // 1h is the default
}

TEST_F(ReloadPlan, StartSettingsKeepTheirRunningValues) {
  config running = load(
      "[daemon]\nlisten = [\"127.0.0.1\"]\nike_port = 500\nnatt_port = 4500\ncontrol = \"127.0.0.1:4510\"\n"
      "workers = 2\nhalf_open_cookie_threshold = 10\n" +
      raw_conn("a"));
  auto plan = plan_reload(running, load("[daemon]\nlisten = [\"127.0.0.2\"]\nike_port = 600\nnatt_port = 4600\n"
                                        "control = \"127.0.0.1:4999\"\nworkers = 2\nhalf_open_cookie_threshold = 20\n"
                                        "log = \"debug\"\n[daemon.retransmit]\ntries = 1\n" +
                                        raw_conn("a") + raw_conn("b", "moon.example", "sun_raw.pub", "local_port = 4600")));
  EXPECT_EQ(plan.restart_needed,
            (std::vector<std::string>{"daemon.listen", "daemon.ike_port", "daemon.natt_port", "daemon.control", "daemon.log"}));
  const daemon_config& d = plan.effective.daemon;
  ASSERT_EQ(d.listen.size(), 1u);
  EXPECT_EQ(d.listen[0].to_string(), "127.0.0.1");
  EXPECT_EQ(d.ike_port, 500);
  EXPECT_EQ(d.natt_port, 4500);
  EXPECT_EQ(d.control_port, 4510);
  EXPECT_EQ(d.log.default_level, "info");
  // Settings read at run time take the new value.
  EXPECT_EQ(d.half_open_cookie_threshold, 20u);
  EXPECT_EQ(d.retransmit.tries, 1);
  // The connections follow the ports that are really bound.
  EXPECT_EQ(plan.effective.find("a")->local_port, 500);
  EXPECT_EQ(plan.effective.find("b")->local_port, 4500);
  // New retransmission settings are baked into the connections: "a" is changed (its new SAs use them).
  EXPECT_EQ(plan.changed, (std::vector<std::string>{"a"}));
  EXPECT_EQ(plan.added, (std::vector<std::string>{"b"}));
  EXPECT_EQ(restart_warning(plan),
            "daemon.listen, daemon.ike_port, daemon.natt_port, daemon.control, daemon.log: changed in the file but take "
            "effect only after a restart of aiked; the running values were kept");
}

TEST_F(ReloadPlan, OneRestartSettingIsNamedInTheSingular) {
  config running = load("[daemon]\nworkers = 1\n" + raw_conn("a"));
  auto plan = plan_reload(running, load("[daemon]\nworkers = 3\n" + raw_conn("a")));
  EXPECT_EQ(plan.restart_needed, (std::vector<std::string>{"daemon.workers"}));
  EXPECT_EQ(plan.effective.daemon.workers, 1u);
  EXPECT_EQ(plan.unchanged, (std::vector<std::string>{"a"}));
  EXPECT_EQ(restart_warning(plan),
            "daemon.workers: changed in the file but takes effect only after a restart of aiked; the running value was kept");
}

TEST_F(ReloadPlan, ConnectionsFromAnotherCacheCompareByFingerprint) {
  config running = load(raw_conn("a"));
  credential_cache other;
  auto r = load_string(raw_conn("a"), kDir + "/reload.toml", other);
  ASSERT_TRUE(r.cfg) << problems_text(r);
  EXPECT_NE(r.cfg->find("a")->ike->local.key->get(), running.find("a")->ike->local.key->get());
  EXPECT_TRUE(same_connection(*running.find("a"), *r.cfg->find("a")));
  auto plan = plan_reload(running, std::move(*r.cfg));
  EXPECT_EQ(plan.unchanged, (std::vector<std::string>{"a"}));
}

}  // namespace
}  // namespace aike::config
