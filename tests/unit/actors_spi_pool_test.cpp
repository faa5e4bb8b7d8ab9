// The pool of kernel-reserved inbound SPIs: disabled (not XFRM) it hands out nothing, so callers
// pick random SPIs; enabled it hands out each SPI once, per local address, never an aged one.
#include <gtest/gtest.h>

#include "actors/spi_pool.hpp"

using namespace aike;
using actors::spi_pool;

namespace {
ip_address ip(const char* s) { return *ip_address::parse(s); }
}  // namespace

TEST(SpiPool, DisabledGivesNothing) {
  spi_pool pool;
  pool.put(ip("10.0.0.1"), 0xc0000001u, spi_pool::clock::now());
  EXPECT_FALSE(pool.take(ip("10.0.0.1")).has_value());
}

TEST(SpiPool, EachSpiOncePerAddress) {
  spi_pool pool;
  pool.enable(caf::actor());  // no kernel actor to ask for more
  auto now = spi_pool::clock::now();
  pool.put(ip("10.0.0.1"), 0xc0000001u, now);
  pool.put(ip("10.0.0.1"), 0xc0000002u, now);
  pool.put(ip("10.0.0.2"), 0xc0000003u, now);
  EXPECT_EQ(pool.take(ip("10.0.0.2")), 0xc0000003u);
  EXPECT_FALSE(pool.take(ip("10.0.0.2")).has_value());
  EXPECT_EQ(pool.take(ip("10.0.0.1")), 0xc0000001u);
  EXPECT_EQ(pool.take(ip("10.0.0.1")), 0xc0000002u);
  EXPECT_FALSE(pool.take(ip("10.0.0.1")).has_value());
  EXPECT_FALSE(pool.take(ip("0.0.0.0")).has_value());  // unspecified: never reserved for
  EXPECT_EQ(pool.addresses().size(), 2u);
}

TEST(SpiPool, AgedReservationsAreNotHandedOutButReturnedForRelease) {
  spi_pool pool;
  pool.enable(caf::actor());
  auto now = spi_pool::clock::now();
  pool.put(ip("10.0.0.1"), 0xc0000010u, now - spi_pool::max_age - std::chrono::seconds(1));
  pool.put(ip("10.0.0.1"), 0xc0000011u, now);
  EXPECT_EQ(pool.take(ip("10.0.0.1")), 0xc0000011u);  // the fresh one, not the aged one
  std::vector<std::uint32_t> aged;
  EXPECT_EQ(pool.missing(ip("10.0.0.1"), now, aged), spi_pool::target);
  ASSERT_EQ(aged.size(), 1u);
  EXPECT_EQ(aged[0], 0xc0000010u);
  EXPECT_EQ(pool.size(ip("10.0.0.1")), 0u);
  pool.disable();
  EXPECT_EQ(pool.addresses().size(), 0u);
}
