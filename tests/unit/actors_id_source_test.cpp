// Inbound ESP SPIs from next_esp_spi(): in aike's range and never repeated (a repeated inbound
// SPI would route ESP to the wrong CHILD_SA).
#include <gtest/gtest.h>

#include <unordered_set>

#include "actors/id_source.hpp"

TEST(ActorsIdSource, EspSpisAreInRangeAndDoNotRepeat) {
  // A million draws: with 28 independent random bits each, about 1,800 would repeat.
  constexpr int n = 1'000'000;
  std::unordered_set<std::uint32_t> seen;
  seen.reserve(n);
  for (int i = 0; i < n; ++i) {
    const std::uint32_t spi = aike::actors::next_esp_spi();
    ASSERT_EQ(spi & 0xf0000000u, 0xc0000000u) << std::hex << spi;
    ASSERT_TRUE(seen.insert(spi).second) << "SPI " << std::hex << spi << " repeated after " << std::dec << i << " draws";
  }
}
