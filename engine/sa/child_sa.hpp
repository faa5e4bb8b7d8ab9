// A negotiated CHILD_SA (ESP): what the kernel backend installs and what list-sas shows.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "engine/crypto/keymat.hpp"
#include "engine/sa/connection.hpp"
#include "engine/ts/selector.hpp"
#include "engine/wire/payloads.hpp"

namespace aike::sa {

enum class child_state { creating, installed, rekeying, deleting, deleted };
const char* to_string(child_state s);

struct child_sa {
  std::uint32_t id = 0;  // unique id, the one `--child-id` takes
  std::string name;      // the child_config's name
  child_state state = child_state::creating;
  child_mode mode = child_mode::tunnel;
  std::uint32_t spi_in = 0;   // we receive with this SPI (we chose it)
  std::uint32_t spi_out = 0;  // we send with this SPI (the peer chose it)
  std::uint32_t reqid = 0;    // set by the kernel layer: one per CHILD_SA, kept across rekeys
  wire::proposal proposal;    // the selected ESP proposal
  std::vector<ts::selector> local_ts;
  std::vector<ts::selector> remote_ts;
  bool encap = false;         // UDP encapsulation (NAT-T)
  // Keys by direction: in = peer -> us, out = us -> peer.
  bytes encr_in, integ_in, encr_out, integ_out;

  void wipe_keys();
};

}  // namespace aike::sa
