// random_fill_public: per-thread blocks of DRBG output for IVs. Each octet is handed out once,
// refills happen transparently, and large requests go straight to the DRBG.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <set>
#include <thread>
#include <vector>

#include "engine/crypto/random.hpp"

using namespace aike;

namespace {

std::array<std::uint8_t, 8> iv() {
  std::array<std::uint8_t, 8> v{};
  EXPECT_TRUE(crypto::random_fill_public(v));
  return v;
}

}  // namespace

TEST(RandomFillPublic, IvsDoNotRepeatAcrossRefills) {
  // 5,000 IVs of 8 octets use about ten 4 KiB blocks; a block handed out twice would repeat IVs.
  std::set<std::array<std::uint8_t, 8>> seen;
  for (int i = 0; i < 5000; ++i) EXPECT_TRUE(seen.insert(iv()).second) << "IV " << i << " repeated";
}

TEST(RandomFillPublic, OddSizesAndLargeRequests) {
  std::set<std::vector<std::uint8_t>> seen;
  for (std::size_t n : {1u, 3u, 16u, 511u, 512u, 513u, 4096u, 10000u}) {
    std::vector<std::uint8_t> b(n, 0);
    ASSERT_TRUE(crypto::random_fill_public(b)) << n;
    if (n >= 16) {
      EXPECT_NE(std::count(b.begin(), b.end(), 0), static_cast<long>(n)) << n << " octets all zero";
      EXPECT_TRUE(seen.insert(b).second) << n;
    }
  }
}

TEST(RandomFillPublic, ThreadsDrawDifferentValues) {
  std::array<std::uint8_t, 8> a{}, b{};
  std::thread t1([&] { a = iv(); });
  std::thread t2([&] { b = iv(); });
  t1.join();
  t2.join();
  EXPECT_NE(a, b) << "two threads' blocks started with the same output";
}
