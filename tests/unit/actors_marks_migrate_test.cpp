// The actor-side halves of marks and MIGRATE: %unique / %unique-dir resolved per CHILD_SA from its
// reqid, and a kernel MIGRATE turned into our side's and the peer's addresses by its direction.
#include <gtest/gtest.h>
#include <linux/xfrm.h>
#include <netinet/in.h>

#include "actors/child_install_params.hpp"
#include "actors/kernel_events.hpp"
#include "kernel/xfrm_ownership.hpp"

using namespace aike;

namespace {

ip_address ip(const char* s) { return *ip_address::parse(s); }

}  // namespace

TEST(ChildMarks, FixedMarksPassUnchanged) {
  sa::child_config cc;
  cc.mark_in = {0x10, 0xff, sa::xfrm_mark::uniqueness::none};
  auto [in, out] = actors::resolve_marks(cc, kernel::reqid_at(1));
  EXPECT_EQ(in.value, 0x10u);
  EXPECT_EQ(in.mask, 0xffu);
  EXPECT_EQ(out.mask, 0u);  // no mark_out: none
}

TEST(ChildMarks, UniqueIsTheReqidInBothDirections) {
  sa::child_config cc;
  cc.mark_in = cc.mark_out = {0, 0xffffffff, sa::xfrm_mark::uniqueness::same};
  auto [in1, out1] = actors::resolve_marks(cc, kernel::reqid_at(1));
  auto [in2, out2] = actors::resolve_marks(cc, kernel::reqid_at(2));
  EXPECT_EQ(in1.value, kernel::reqid_at(1));
  EXPECT_EQ(out1.value, in1.value);
  EXPECT_NE(in1.value, in2.value);  // each CHILD_SA its own
  // The same reqid (a rekey of the CHILD_SA) keeps the mark.
  EXPECT_EQ(actors::resolve_marks(cc, kernel::reqid_at(1)).first.value, in1.value);
}

TEST(ChildMarks, UniqueDirDiffersPerDirectionAndKeepsTheMask) {
  sa::child_config cc;
  cc.mark_in = cc.mark_out = {0, 0xffffffff, sa::xfrm_mark::uniqueness::per_direction};
  auto [in, out] = actors::resolve_marks(cc, kernel::reqid_at(7));
  EXPECT_EQ(in.value, kernel::reqid_at(7));
  EXPECT_EQ(out.value, kernel::reqid_at(7) + actors::unique_dir_out_offset);
  EXPECT_FALSE(kernel::owns_reqid(out.value));  // never another CHILD_SA's in value
  cc.mark_in.mask = 0xffff;
  auto narrowed = actors::resolve_marks(cc, kernel::reqid_at(7)).first;
  EXPECT_EQ(narrowed.value, kernel::reqid_at(7) & 0xffffu);
  EXPECT_EQ(narrowed.mask, 0xffffu);
}

TEST(MigrateMoves, DirectionSaysWhichAddressIsOurs) {
  kernel::xfrm_event ev;
  ev.what = kernel::xfrm_event::kind::migrate;
  ev.migrations.push_back({ip("192.0.2.1"), ip("192.0.2.2"), ip("192.0.2.11"), ip("192.0.2.2"), IPPROTO_ESP,
                           XFRM_MODE_TUNNEL, 77});
  ev.dir = XFRM_POLICY_OUT;
  auto out = actors::migrate_moves(ev);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].reqid, 77u);
  EXPECT_EQ(out[0].old_local.to_string(), "192.0.2.1");
  EXPECT_EQ(out[0].new_local.to_string(), "192.0.2.11");
  EXPECT_EQ(out[0].new_remote.to_string(), "192.0.2.2");
  // The in policy's template runs peer -> us.
  ev.dir = XFRM_POLICY_IN;
  ev.migrations[0] = {ip("192.0.2.2"), ip("192.0.2.1"), ip("192.0.2.2"), ip("192.0.2.11"), IPPROTO_ESP,
                      XFRM_MODE_TUNNEL, 77};
  auto in = actors::migrate_moves(ev);
  ASSERT_EQ(in.size(), 1u);
  EXPECT_EQ(in[0].old_local.to_string(), "192.0.2.1");
  EXPECT_EQ(in[0].new_local.to_string(), "192.0.2.11");
  EXPECT_EQ(in[0].old_remote.to_string(), "192.0.2.2");
  // Not ESP (e.g. an AH template of someone else's): nothing of ours.
  ev.migrations[0].proto = IPPROTO_AH;
  EXPECT_TRUE(actors::migrate_moves(ev).empty());
  // Not a migrate event.
  ev.what = kernel::xfrm_event::kind::acquire;
  EXPECT_TRUE(actors::migrate_moves(ev).empty());
}
