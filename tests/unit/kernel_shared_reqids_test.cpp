// The kernel-reqid bookkeeping of the XFRM backend (kernel/shared_reqids.*), without netlink:
// CHILD_SAs with identical selectors end up with SAs under the reqid their shared policies'
// templates name, in every order of install, rekey and removal.
#include <gtest/gtest.h>

#include "kernel/shared_reqids.hpp"

using aike::kernel::shared_reqids;

namespace {

const std::vector<std::string> net_keys = {"out 10.1/24-10.2/24", "in 10.2/24-10.1/24", "fwd 10.2/24-10.1/24"};

// Every policy held by a CHILD_SA names a reqid that some installed CHILD_SA's SAs carry.
void expect_templates_match(const shared_reqids& m, const std::vector<std::uint32_t>& live_children,
                            const std::vector<std::string>& keys) {
  for (const auto& k : keys) {
    std::uint32_t t = m.template_reqid(k);
    if (t == 0) continue;
    bool found = false;
    for (auto id : live_children) found = found || m.kernel_reqid(id) == t;
    EXPECT_TRUE(found) << "policy " << k << " names reqid " << t << " that no installed CHILD_SA's SAs carry";
  }
}

TEST(SharedReqids, FirstChildKeepsItsOwnReqid) {
  shared_reqids m;
  auto a = m.add(1, 100, "site/net{1}", net_keys);
  EXPECT_EQ(a.kernel_reqid, 100u);
  EXPECT_TRUE(a.warning.empty());
  for (const auto& k : net_keys) EXPECT_EQ(m.template_reqid(k), 100u);
}

TEST(SharedReqids, PeerReauthOldRemovedFirst) {
  shared_reqids m;
  m.add(1, 100, "site/net{1}", net_keys);
  // The peer reauthenticates: a new IKE SA, a new CHILD_SA with a new reqid and the same selectors.
  auto b = m.add(2, 200, "site/net{2}", net_keys);
  EXPECT_EQ(b.kernel_reqid, 100u) << "its SAs must carry the reqid the shared policies' templates name";
  EXPECT_TRUE(b.warning.empty());
  expect_templates_match(m, {1, 2}, net_keys);
  m.remove(1);
  for (const auto& k : net_keys) EXPECT_EQ(m.template_reqid(k), 100u) << "the policy stays as it is for child 2";
  EXPECT_EQ(m.kernel_reqid(2), 100u);
  expect_templates_match(m, {2}, net_keys);
  // A rekey of the second CHILD_SA (same logical reqid) keeps the kernel reqid, also after the
  // rekeyed one is gone.
  auto b2 = m.add(3, 200, "site/net{3}", net_keys);
  EXPECT_EQ(b2.kernel_reqid, 100u);
  m.remove(2);
  EXPECT_EQ(m.kernel_reqid(3), 100u);
  expect_templates_match(m, {3}, net_keys);
  m.remove(3);
  EXPECT_EQ(m.children(), 0u);
  EXPECT_EQ(m.policies(), 0u);
  for (const auto& k : net_keys) EXPECT_EQ(m.template_reqid(k), 0u);
}

TEST(SharedReqids, NewRemovedFirst) {
  shared_reqids m;
  m.add(1, 100, "site/net{1}", net_keys);
  m.add(2, 200, "site/net{2}", net_keys);
  m.remove(2);
  EXPECT_EQ(m.kernel_reqid(2), 0u) << "the mapping goes with its CHILD_SA";
  EXPECT_EQ(m.kernel_reqid(1), 100u);
  expect_templates_match(m, {1}, net_keys);
  // After both are gone a new CHILD_SA of reqid 200 installs its own policies under its own reqid.
  m.remove(1);
  EXPECT_EQ(m.add(4, 200, "site/net{4}", net_keys).kernel_reqid, 200u);
  for (const auto& k : net_keys) EXPECT_EQ(m.template_reqid(k), 200u);
}

TEST(SharedReqids, RekeyOfTheFirstWhileTheSecondLives) {
  shared_reqids m;
  m.add(1, 100, "site/net{1}", net_keys);
  m.add(2, 200, "site/net{2}", net_keys);
  EXPECT_EQ(m.add(3, 100, "site/net{3}", net_keys).kernel_reqid, 100u);
  m.remove(1);
  m.remove(2);
  expect_templates_match(m, {3}, net_keys);
  EXPECT_EQ(m.kernel_reqid(3), 100u);
}

// A kernel MIGRATE (or expire) names the kernel reqid: once the older CHILD_SA is gone, the reqid
// its shared policies keep names the newer CHILD_SA, whose own reqid is another one.
TEST(SharedReqids, KernelReqidOfAGoneChildNamesTheNewerOne) {
  using ids = std::vector<std::uint32_t>;
  shared_reqids m;
  m.add(1, 100, "site/net{1}", net_keys);
  m.add(2, 200, "site/net{2}", net_keys);  // the peer's reauthentication
  EXPECT_EQ(m.children_with_kernel_reqid(100), (ids{1, 2}));
  EXPECT_TRUE(m.children_with_kernel_reqid(200).empty()) << "the kernel knows no SA or template by reqid 200";
  m.remove(1);
  EXPECT_EQ(m.children_with_kernel_reqid(100), (ids{2})) << "the newer CHILD_SA keeps the older one's kernel reqid";
  EXPECT_TRUE(m.children_with_kernel_reqid(200).empty());
  m.add(3, 200, "site/net{3}", net_keys);  // its rekey
  m.remove(2);
  EXPECT_EQ(m.children_with_kernel_reqid(100), (ids{3}));
  // A CHILD_SA with policies of its own is named by its own reqid.
  m.add(4, 400, "site/other{4}", {"out 10.9/24-10.8/24"});
  EXPECT_EQ(m.children_with_kernel_reqid(400), (ids{4}));
  m.remove(3);
  EXPECT_TRUE(m.children_with_kernel_reqid(100).empty());
}

TEST(SharedReqids, ThirdDuplicateJoinsTheSameKernelReqid) {
  shared_reqids m;
  m.add(1, 100, "a{1}", net_keys);
  m.add(2, 200, "b{2}", net_keys);
  m.remove(1);
  EXPECT_EQ(m.add(5, 300, "c{5}", net_keys).kernel_reqid, 100u);
  m.remove(2);
  expect_templates_match(m, {5}, net_keys);
}

TEST(SharedReqids, PartialOverlapWarnsNamingBoth) {
  shared_reqids m;
  m.add(1, 100, "site/net{1}", net_keys);
  std::vector<std::string> wider = net_keys;
  wider.push_back("out 10.1/24-10.3/24");
  auto b = m.add(2, 200, "site/wide{2}", wider);
  EXPECT_EQ(b.kernel_reqid, 200u) << "only some policies are shared: it keeps its own reqid";
  EXPECT_NE(b.warning.find("site/wide{2}"), std::string::npos) << b.warning;
  EXPECT_NE(b.warning.find("site/net{1}"), std::string::npos) << b.warning;
  EXPECT_NE(b.warning.find("reqid 100"), std::string::npos) << b.warning;
  EXPECT_NE(b.warning.find("3 of its 4"), std::string::npos) << b.warning;
  EXPECT_EQ(m.template_reqid("out 10.1/24-10.3/24"), 200u);
  EXPECT_EQ(m.template_reqid(net_keys[0]), 100u);
}

TEST(SharedReqids, DisjointSelectorsDoNotWarn) {
  shared_reqids m;
  m.add(1, 100, "a{1}", {"x"});
  auto b = m.add(2, 200, "b{2}", {"y"});
  EXPECT_EQ(b.kernel_reqid, 200u);
  EXPECT_TRUE(b.warning.empty());
}

TEST(SharedReqids, PoliciesSharedUnderTwoReqidsKeepTheChildsOwn) {
  shared_reqids m;
  m.add(1, 100, "a{1}", {"x"});
  m.add(2, 200, "b{2}", {"y"});
  auto c = m.add(3, 300, "c{3}", {"x", "y"});
  EXPECT_EQ(c.kernel_reqid, 300u);
  EXPECT_FALSE(c.warning.empty());
}

}  // namespace
