// The nonce rule that settles rekey collisions (RFC 7296 §2.8.1, §2.8.2), seen from both ends:
// for every pair of colliding exchanges exactly one end finds its own exchange redundant,
// including when the lowest nonces are equal.
#include <gtest/gtest.h>

#include "engine/sa/nonce_rule.hpp"

using namespace aike;
using namespace aike::sa;

namespace {

bytes n(std::initializer_list<std::uint8_t> b) { return bytes(b); }

// A collision: A started exchange X (nonces xi by A, xr by B), B started exchange Y (yi by B, yr
// by A). `a_started_ike` says which end is the IKE SA's original initiator. Returns whether X
// (A's exchange) made the redundant SA, after checking that both ends agree on it.
bool x_redundant(const bytes& xi, const bytes& xr, const bytes& yi, const bytes& yr, bool a_started_ike) {
  const bool a_says_ours = ours_is_redundant(exchange_nonces(xi, xr), exchange_nonces(yi, yr), a_started_ike);
  const bool b_says_ours = ours_is_redundant(exchange_nonces(yr, yi), exchange_nonces(xr, xi), !a_started_ike);
  EXPECT_NE(a_says_ours, b_says_ours) << "both ends must pick the same redundant SA";
  return a_says_ours;
}

}  // namespace

TEST(SaNonceRule, ExchangeNoncesAreSorted) {
  exchange_nonces e(n({9, 9}), n({1, 2, 3}));
  EXPECT_EQ(e.low, n({1, 2, 3}));
  EXPECT_EQ(e.high, n({9, 9}));
  // Octet-string order: a prefix is lower than the longer string.
  exchange_nonces p(n({1, 2, 3}), n({1, 2}));
  EXPECT_EQ(p.low, n({1, 2}));
}

TEST(SaNonceRule, DistinctLowestNonceDecidesAsTheRfcSays) {
  // The lowest of the four is in X: X's SA is redundant, whatever the other nonces are.
  EXPECT_TRUE(x_redundant(n({0x50}), n({0x01}), n({0x02}), n({0x03}), true));
  EXPECT_TRUE(x_redundant(n({0x01}), n({0xff}), n({0x02}), n({0x03}), false));
  // ... in Y.
  EXPECT_FALSE(x_redundant(n({0x50}), n({0x60}), n({0x70}), n({0x10}), true));
  EXPECT_FALSE(x_redundant(n({0x50}), n({0x60}), n({0x10}), n({0xff}), false));
}

// CHILD_SA collision: both exchanges run on one IKE SA. The lowest nonce is the same in both
// exchanges; the higher nonces decide.
TEST(SaNonceRule, ChildSaCollisionEqualLowestNonceHigherOneDecides) {
  const bytes low = n({0x00, 0x11, 0x22});
  EXPECT_TRUE(x_redundant(low, n({0x40}), low, n({0x41}), true));    // X's higher nonce is lower
  EXPECT_FALSE(x_redundant(n({0x42}), low, n({0x41}), low, true));   // Y's higher nonce is lower
  EXPECT_TRUE(x_redundant(n({0x40}), low, low, n({0x40, 0x00}), false));  // prefix is lower
  // The same for either IKE initiator: only fully equal pairs look at the roles.
  for (bool a_init : {true, false}) {
    EXPECT_TRUE(x_redundant(low, n({0x40}), n({0x41}), low, a_init));
    EXPECT_FALSE(x_redundant(low, n({0x41}), n({0x40}), low, a_init));
  }
}

TEST(SaNonceRule, ChildSaCollisionAllNoncesEqualTheIkeInitiatorsExchangeIsRedundant) {
  const bytes a = n({0x05, 0x06}), b = n({0x07});
  // A is the IKE SA's original initiator: A's exchange X is redundant; B is: Y is.
  EXPECT_TRUE(x_redundant(a, b, a, b, true));
  EXPECT_FALSE(x_redundant(a, b, a, b, false));
  EXPECT_TRUE(x_redundant(a, b, b, a, true));  // the same pair, sent the other way round
  EXPECT_FALSE(x_redundant(a, a, a, a, false));
}

// IKE SA collision (§2.8.2): the same rule, the roles being those of the old IKE SA.
TEST(SaNonceRule, IkeSaCollisionEqualLowestNonce) {
  bytes low(32, 0x00);
  bytes h1(32, 0x80), h2(32, 0x80);
  h2.back() = 0x81;
  EXPECT_TRUE(x_redundant(h1, low, low, h2, true));
  EXPECT_TRUE(x_redundant(h1, low, low, h2, false));
  EXPECT_FALSE(x_redundant(low, h2, h1, low, true));
  EXPECT_FALSE(x_redundant(low, h2, h1, low, false));
  // Everything equal: the old IKE SA's initiator made the redundant SA.
  EXPECT_TRUE(x_redundant(low, h1, h1, low, true));
  EXPECT_FALSE(x_redundant(low, h1, h1, low, false));
}

TEST(SaNonceRule, AlwaysExactlyOneRedundantOverManyNonces) {
  // Small nonces from a tiny alphabet, so equal lowest and equal pairs are frequent.
  std::vector<bytes> pool{n({}), n({0}), n({0, 0}), n({0, 1}), n({1}), n({1, 0}), n({2})};
  int ties = 0;
  for (const auto& xi : pool)
    for (const auto& xr : pool)
      for (const auto& yi : pool)
        for (const auto& yr : pool)
          for (bool a_init : {true, false}) {
            const bool x = x_redundant(xi, xr, yi, yr, a_init);
            exchange_nonces ex(xi, xr), ey(yi, yr);
            if (ex.low == ey.low) {
              ++ties;
            } else {
              // Distinct lowest nonces: exactly the RFC's rule.
              EXPECT_EQ(x, less_nonce(ex.low, ey.low));
            }
          }
  EXPECT_GT(ties, 0);
}
