// [kernel] reqid_range and policy_priority_base: defaults, valid values, and errors that name the
// file, the line and the key.
#include <gtest/gtest.h>

#include <string>

#include "config/config.hpp"
#include "config/reqid_range.hpp"
#include "kernel/xfrm_ownership.hpp"

namespace aike::config {
namespace {

std::string problems_text(const load_result& r) {
  std::string s;
  for (const auto& p : r.problems) s += p.to_string() + "\n";
  return s;
}

TEST(ConfigXfrmOwnership, DefaultsAreTheKernelConstants) {
  credential_cache creds;
  auto r = load_string("", "empty.toml", creds);
  ASSERT_TRUE(r.cfg) << problems_text(r);
  EXPECT_EQ(r.cfg->daemon.xfrm_ownership, kernel::default_ownership);
  EXPECT_EQ(r.cfg->daemon.xfrm_ownership.reqid_first, 0x0a1e0000u);
  EXPECT_EQ(r.cfg->daemon.xfrm_ownership.reqid_count, 0x01000000u);
  EXPECT_EQ(r.cfg->daemon.xfrm_ownership.policy_priority_first, 1'500'000u);
  EXPECT_EQ(format_reqid_range({0x0a1e0000, 0x01000000}), "0x0a1e0000-0x0b1dffff");
}

TEST(ConfigXfrmOwnership, ValidValues) {
  credential_cache creds;
  auto r = load_string("[kernel]\nreqid_range = \"0x00100000-0x001fffff\"\npolicy_priority_base = 2000000\n", "k.toml",
                       creds);
  ASSERT_TRUE(r.cfg) << problems_text(r);
  const auto& o = r.cfg->daemon.xfrm_ownership;
  EXPECT_EQ(o.reqid_first, 0x00100000u);
  EXPECT_EQ(o.reqid_count, 0x00100000u);
  EXPECT_EQ(o.policy_priority_first, 2'000'000u);
  EXPECT_TRUE(o.owns_reqid(0x001fffff));
  EXPECT_FALSE(o.owns_reqid(0x00200000));
  EXPECT_FALSE(o.owns_reqid(kernel::reqid_at(0)));
  EXPECT_TRUE(o.owns_policy_priority(2'000'000 + 65'535));
  EXPECT_FALSE(o.owns_policy_priority(1'500'000));
  EXPECT_EQ(o.reqid_at(0x00100000), 0x00100000u);  // wraps inside the range

  // Decimal, a single reqid, the largest band start.
  r = load_string("[kernel]\nreqid_range = \"100-100\"\npolicy_priority_base = 4294901760\n", "k.toml", creds);
  ASSERT_TRUE(r.cfg) << problems_text(r);
  EXPECT_EQ(r.cfg->daemon.xfrm_ownership.reqid_first, 100u);
  EXPECT_EQ(r.cfg->daemon.xfrm_ownership.reqid_count, 1u);
  EXPECT_EQ(r.cfg->daemon.xfrm_ownership.reqid_at(7), 100u);
  EXPECT_EQ(r.cfg->daemon.xfrm_ownership.policy_priority_first, 4294901760u);
  auto most = parse_reqid_range("0xff000000-0xffffffff");
  ASSERT_TRUE(most.ok());
  EXPECT_EQ(most->count, 0x01000000u);
}

TEST(ConfigXfrmOwnership, InvalidValuesNameFileLineAndKey) {
  credential_cache creds;
  struct bad_case {
    const char* line;
    const char* key;
    const char* words;
  };
  for (const auto& c : {bad_case{"reqid_range = \"100\"", "kernel.reqid_range", "is not a range"},
                        bad_case{"reqid_range = \"a-b\"", "kernel.reqid_range", "is not a range"},
                        bad_case{"reqid_range = \"1-0x100000000\"", "kernel.reqid_range", "is not a range"},
                        bad_case{"reqid_range = \"-5\"", "kernel.reqid_range", "is not a range"},
                        bad_case{"reqid_range = \"0-100\"", "kernel.reqid_range", "reqid 0"},
                        bad_case{"reqid_range = \"200-100\"", "kernel.reqid_range", "below the start"},
                        bad_case{"reqid_range = \"1-0x01000001\"", "kernel.reqid_range", "at most 16777216"},
                        bad_case{"reqid_range = 5", "kernel.reqid_range", ""},
                        bad_case{"policy_priority_base = 0", "kernel.policy_priority_base", ""},
                        bad_case{"policy_priority_base = 4294901761", "kernel.policy_priority_base", ""},
                        bad_case{"policy_priority_base = \"high\"", "kernel.policy_priority_base", ""}}) {
    auto r = load_string(std::string("# ownership\n[kernel]\n") + c.line + "\n", "own.toml", creds);
    EXPECT_FALSE(r.cfg) << c.line;
    ASSERT_EQ(r.problems.size(), 1u) << c.line << ": " << problems_text(r);
    std::string text = r.problems[0].to_string();
    EXPECT_NE(text.find("own.toml:3"), std::string::npos) << text;
    EXPECT_NE(text.find(c.key), std::string::npos) << text;
    EXPECT_NE(text.find(c.words), std::string::npos) << text;
  }
}

}  // namespace
}  // namespace aike::config
