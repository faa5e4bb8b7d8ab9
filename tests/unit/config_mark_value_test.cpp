// mark_in / mark_out of a child (swanctl semantics): value/mask in hex or decimal, %unique,
// %unique-dir, and the problems reported with file, line and key.
#include <gtest/gtest.h>

#include "config/config.hpp"
#include "config/mark_value.hpp"
#include "tests/unit/child_keys_fixture.hpp"

namespace aike::config {
namespace {

load_result load(const std::string& child_keys) { return test::load_child_keys(child_keys); }

using u = sa::xfrm_mark::uniqueness;

TEST(ConfigMark, ValuesAndMasks) {
  auto m = parse_mark("0x10/0xff");
  ASSERT_TRUE(m.ok()) << m.err().message;
  EXPECT_EQ(m->value, 0x10u);
  EXPECT_EQ(m->mask, 0xffu);
  EXPECT_EQ(m->unique, u::none);
  m = parse_mark("42");  // decimal, default mask
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->value, 42u);
  EXPECT_EQ(m->mask, 0xffffffffu);
  m = parse_mark("0xFFFFFFFF/4294967295");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->value, 0xffffffffu);
  m = parse_mark("%unique");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->unique, u::same);
  EXPECT_EQ(m->mask, 0xffffffffu);
  m = parse_mark("%unique-dir/0xffff");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->unique, u::per_direction);
  EXPECT_EQ(m->mask, 0xffffu);
  EXPECT_EQ(format_mark(*parse_mark("0x10/0xff")), "0x00000010/0x000000ff");
  EXPECT_EQ(format_mark(*parse_mark("%unique-dir/0xffff")), "%unique-dir/0x0000ffff");
}

TEST(ConfigMark, BadValuesSayWhy) {
  auto why = [](const char* t) {
    auto m = parse_mark(t);
    return m.ok() ? std::string("accepted") : m.err().message;
  };
  EXPECT_NE(why("0x100000000").find("not a 32-bit number"), std::string::npos);
  EXPECT_NE(why("ten").find("not a 32-bit number"), std::string::npos);
  EXPECT_NE(why("-1").find("not a 32-bit number"), std::string::npos);
  EXPECT_NE(why("0x10/").find("mask"), std::string::npos);
  EXPECT_NE(why("0x10/0").find("matches every packet"), std::string::npos);
  EXPECT_NE(why("0x1ff/0xff").find("bits outside the mask (0x00000100)"), std::string::npos);
  EXPECT_NE(why("%same").find("unknown mark '%same'"), std::string::npos);
  EXPECT_NE(why("").find("not a 32-bit number"), std::string::npos);
}

TEST(ConfigMark, LoadedIntoTheChild) {
  auto r = load("mark_in = \"0x10/0xff\"\nmark_out = \"%unique-dir\"\n");
  ASSERT_TRUE(r.cfg) << (r.problems.empty() ? "" : r.problems[0].to_string());
  const auto& cc = r.cfg->connections.at(0).ike->children.at(0);
  EXPECT_EQ(cc.mark_in.value, 0x10u);
  EXPECT_EQ(cc.mark_in.mask, 0xffu);
  EXPECT_EQ(cc.mark_out.unique, u::per_direction);
  // No key: no mark.
  r = load("");
  ASSERT_TRUE(r.cfg);
  EXPECT_EQ(r.cfg->connections.at(0).ike->children.at(0).mark_in.mask, 0u);
}

TEST(ConfigMark, ProblemsNameFileLineAndKey) {
  auto r = load("local_ts = [\"10.1.0.0/24\"]\nmark_out = \"0x1ff/0xff\"\n");
  EXPECT_FALSE(r.cfg.has_value());
  ASSERT_EQ(r.problems.size(), 1u);
  EXPECT_EQ(r.problems[0].line, 13);
  EXPECT_EQ(r.problems[0].key, "connections.c.children.net.mark_out");
  EXPECT_NE(r.problems[0].message.find("bits outside the mask"), std::string::npos) << r.problems[0].message;
  EXPECT_NE(r.problems[0].to_string().find("inline.toml"), std::string::npos) << r.problems[0].to_string();
  r = load("mark_in = 16\n");  // a string is expected
  EXPECT_FALSE(r.cfg.has_value());
  ASSERT_EQ(r.problems.size(), 1u);
  EXPECT_EQ(r.problems[0].key, "connections.c.children.net.mark_in");
}

}  // namespace
}  // namespace aike::config
