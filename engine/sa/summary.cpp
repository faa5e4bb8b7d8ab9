#include "engine/sa/summary.hpp"

#include "engine/proposal/parser.hpp"

namespace aike::sa {

ike_summary summarize(const ike_sa& sa) {
  ike_summary s;
  s.name = sa.conn() ? sa.conn()->name : std::string();
  s.id = sa.unique_id();
  s.state = to_string(sa.state());
  s.initiator = sa.is_initiator();
  s.local = sa.local();
  s.remote = sa.remote();
  s.local_id = sa.local_id();
  s.remote_id = sa.remote_id();
  s.local_spi = sa.local_spi();
  s.remote_spi = sa.remote_spi();
  s.proposal = sa.proposal_string();
  s.nat = sa.nat_detected();
  for (const auto& [id, c] : sa.children()) {
    child_summary cs;
    cs.name = c.name;
    cs.id = c.id;
    cs.state = to_string(c.state);
    cs.reqid = c.reqid;
    cs.mode = c.mode == child_mode::tunnel ? "TUNNEL" : "TRANSPORT";
    cs.spi_in = c.spi_in;
    cs.spi_out = c.spi_out;
    for (const auto& t : c.local_ts) cs.local_ts.push_back(t.to_string());
    for (const auto& t : c.remote_ts) cs.remote_ts.push_back(t.to_string());
    cs.proposal = proposal::to_string(c.proposal);
    cs.encap = c.encap;
    s.children.push_back(std::move(cs));
  }
  for (const auto& r : sa.spare_sas())
    s.retiring.push_back({r.local_spi, r.remote_spi, r.we_delete ? "DELETING" : "REKEYED", r.redundant ? "redundant" : "old"});
  return s;
}

}  // namespace aike::sa
