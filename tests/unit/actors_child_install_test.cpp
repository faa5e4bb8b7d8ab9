// The install request an IKE SA actor sends to the kernel actor carries what the configuration
// asks of the CHILD_SA: the replay window and the byte/packet lifetimes with their jitter.
#include <gtest/gtest.h>

#include "actors/child_install_params.hpp"

namespace aike::actors {
namespace {

sa::connection conn_with(sa::volume_lifetime bytes, sa::volume_lifetime packets) {
  sa::connection c;
  c.name = "site";
  sa::child_config other;
  other.name = "other";
  other.replay_window = 7;
  other.packets = {5, 6, 0};
  sa::child_config net;
  net.name = "net";
  net.replay_window = 128;
  net.bytes = bytes;
  net.packets = packets;
  c.children = {other, net};
  return c;
}

sa::child_sa child_named(const char* name) {
  sa::child_sa ch;
  ch.name = name;
  ch.id = 3;
  ch.spi_in = 0x1111;
  ch.spi_out = 0x2222;
  return ch;
}

TEST(ChildInstallParams, CarryTheConfiguredLimits) {
  auto c = conn_with({500000000, 550000000, 0}, {200, 220, 0});
  auto ci = child_install_params(9, &c, child_named("net"), endpoint{}, endpoint{}, [] { return std::uint64_t{12345}; });
  EXPECT_EQ(ci.ike_id, 9u);
  EXPECT_EQ(ci.connection, "site");
  EXPECT_EQ(ci.child.spi_in, 0x1111u);
  EXPECT_EQ(ci.replay_window, 128u);
  EXPECT_EQ(ci.lifetime.soft_bytes, 500000000u);  // no rand: exactly rekey
  EXPECT_EQ(ci.lifetime.hard_bytes, 550000000u);
  EXPECT_EQ(ci.lifetime.soft_packets, 200u);
  EXPECT_EQ(ci.lifetime.hard_packets, 220u);
  EXPECT_EQ(ci.lifetime.soft_seconds, 0u);  // no rekey_time / life_time configured: none
  EXPECT_EQ(ci.lifetime.hard_seconds, 0u);
}

// Time limits: the kernel's come after the IKE SA's own timers, by the margin.
TEST(ChildInstallParams, TimeLimitsAreABackstopAfterTheOwnTimers) {
  auto c = conn_with({0, 0, 0}, {0, 0, 0});
  c.children[1].rekey_time = std::chrono::milliseconds(3'600'000);
  c.children[1].life_time = std::chrono::milliseconds(3'960'500);  // rounded up to whole seconds
  auto ci = child_install_params(1, &c, child_named("net"), endpoint{}, endpoint{}, [] { return std::uint64_t{0}; });
  EXPECT_EQ(ci.lifetime.soft_seconds, 3600u + kernel_time_margin_s);
  EXPECT_EQ(ci.lifetime.hard_seconds, 3961u + kernel_time_margin_s);
  EXPECT_EQ(ci.lifetime.soft_bytes, 0u);

  // Only a life_time: a hard limit, no soft one; a rekey_time past life_time: no soft one either.
  c.children[1].rekey_time = std::chrono::milliseconds(0);
  ci = child_install_params(1, &c, child_named("net"), endpoint{}, endpoint{}, [] { return std::uint64_t{0}; });
  EXPECT_EQ(ci.lifetime.soft_seconds, 0u);
  EXPECT_EQ(ci.lifetime.hard_seconds, 3961u + kernel_time_margin_s);
  c.children[1].rekey_time = std::chrono::milliseconds(5'000'000);
  ci = child_install_params(1, &c, child_named("net"), endpoint{}, endpoint{}, [] { return std::uint64_t{0}; });
  EXPECT_EQ(ci.lifetime.soft_seconds, 0u);
  // Only a rekey_time: a soft limit, no hard one.
  c.children[1].life_time = std::chrono::milliseconds(0);
  ci = child_install_params(1, &c, child_named("net"), endpoint{}, endpoint{}, [] { return std::uint64_t{0}; });
  EXPECT_EQ(ci.lifetime.soft_seconds, 5000u + kernel_time_margin_s);
  EXPECT_EQ(ci.lifetime.hard_seconds, 0u);
}

TEST(ChildInstallParams, JitterIsSubtractedWithinRand) {
  auto c = conn_with({1000, 1100, 100}, {200, 220, 20});
  std::uint64_t next = 0;
  auto counter = [&next] { return next++; };
  std::uint64_t lowest = ~0ull, highest = 0;
  for (int i = 0; i < 500; ++i) {
    auto l = volume_lifetime_for(c.children[1], counter);
    EXPECT_LE(l.soft_bytes, 1000u);
    EXPECT_GE(l.soft_bytes, 900u);
    EXPECT_LE(l.soft_packets, 200u);
    EXPECT_GE(l.soft_packets, 180u);
    EXPECT_EQ(l.hard_packets, 220u);
    lowest = std::min(lowest, l.soft_packets);
    highest = std::max(highest, l.soft_packets);
  }
  EXPECT_EQ(lowest, 180u);  // the whole range 0..rand is used
  EXPECT_EQ(highest, 200u);
}

TEST(ChildInstallParams, NoLimitsAndUnknownChildStayUnlimited) {
  auto c = conn_with({}, {});
  auto one = [] { return std::uint64_t{1}; };
  auto ci = child_install_params(1, &c, child_named("net"), endpoint{}, endpoint{}, one);
  EXPECT_EQ(ci.lifetime.soft_bytes, 0u);
  EXPECT_EQ(ci.lifetime.hard_bytes, 0u);
  EXPECT_EQ(ci.lifetime.soft_packets, 0u);
  EXPECT_EQ(ci.lifetime.hard_packets, 0u);
  auto unknown = child_install_params(1, &c, child_named("gone"), endpoint{}, endpoint{}, one);
  EXPECT_EQ(unknown.replay_window, 32u);
  EXPECT_EQ(unknown.lifetime.hard_packets, 0u);
  auto none = child_install_params(1, nullptr, child_named("net"), endpoint{}, endpoint{}, one);
  EXPECT_EQ(none.connection, "");
  // The other child's limits are its own.
  auto other = child_install_params(1, &c, child_named("other"), endpoint{}, endpoint{}, one);
  EXPECT_EQ(other.replay_window, 7u);
  EXPECT_EQ(other.lifetime.soft_packets, 5u);
  EXPECT_EQ(other.lifetime.hard_packets, 6u);
}

TEST(ChildInstallParams, SoftLimitNeverZeroWhenRekeyIsSet) {
  sa::child_config cc;
  cc.packets = {10, 0, 9};
  auto l = volume_lifetime_for(cc, [] { return std::uint64_t{9}; });
  EXPECT_EQ(l.soft_packets, 1u);
  EXPECT_EQ(l.hard_packets, 0u);
}

}  // namespace
}  // namespace aike::actors
