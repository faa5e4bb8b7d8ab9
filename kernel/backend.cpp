#include "kernel/backend.hpp"

namespace aike::kernel {

installed_child describe(const child_install& c) {
  installed_child i;
  i.ike_id = c.ike_id;
  i.child_id = c.child.id;
  i.connection = c.connection;
  i.name = c.child.name;
  i.reqid = c.child.reqid;
  i.spi_in = c.child.spi_in;
  i.spi_out = c.child.spi_out;
  i.local_ts = c.child.local_ts;
  i.remote_ts = c.child.remote_ts;
  i.encap = c.child.encap;
  i.local = c.local;
  i.remote = c.remote;
  return i;
}

}  // namespace aike::kernel
