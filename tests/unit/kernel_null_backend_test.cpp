#include <gtest/gtest.h>

#include "kernel/null_backend.hpp"

using namespace aike;

TEST(NullBackend, InstallListRemove) {
  kernel::null_backend b;
  kernel::child_install c;
  c.ike_id = 7;
  c.connection = "site";
  c.child.id = 3;
  c.child.name = "net";
  c.child.reqid = 1;
  c.child.spi_in = 0xc0000001;
  c.child.spi_out = 0xc0000002;
  c.child.local_ts = {*ts::selector::parse("10.1.0.0/24"), *ts::selector::parse("10.1.1.0/24")};
  ASSERT_TRUE(b.install(c).ok());
  EXPECT_FALSE(b.install(c).ok());  // the same CHILD_SA twice is a bug in the caller
  auto l = b.list();
  ASSERT_EQ(l.size(), 1u);
  EXPECT_EQ(l[0].spi_in, 0xc0000001u);
  EXPECT_EQ(l[0].local_ts.size(), 2u);
  EXPECT_EQ(l[0].reqid, 1u);
  EXPECT_TRUE(b.remove(3).ok());
  EXPECT_TRUE(b.remove(3).ok());
  EXPECT_TRUE(b.list().empty());
}

// Backends that share no policies (null, userspace) know each CHILD_SA by its own reqid.
TEST(NullBackend, KernelReqidIsTheChildsOwn) {
  kernel::null_backend b;
  kernel::child_install c;
  c.connection = "site";
  c.child.name = "net";
  for (std::uint32_t id : {3u, 4u, 5u}) {
    c.child.id = id;
    c.child.reqid = id == 5 ? 9 : 1;
    ASSERT_TRUE(b.install(c).ok());
  }
  EXPECT_EQ(b.children_with_kernel_reqid(1), (std::vector<std::uint32_t>{3, 4}));
  EXPECT_EQ(b.children_with_kernel_reqid(9), (std::vector<std::uint32_t>{5}));
  EXPECT_TRUE(b.children_with_kernel_reqid(2).empty());
}

TEST(NullBackend, UpdateRemoteIsListed) {
  kernel::null_backend b;
  kernel::child_install c;
  c.child.id = 3;
  c.remote = endpoint{*ip_address::parse("192.0.2.2"), 4500};
  ASSERT_TRUE(b.install(c).ok());
  c.remote.port = 31337;
  ASSERT_TRUE(b.update_remote(c).ok());
  EXPECT_EQ(b.list()[0].remote, c.remote);
  c.child.id = 4;
  EXPECT_FALSE(b.update_remote(c).ok());  // not installed
}
