// The IKE SA actor as responder sends its IKE_AUTH response only after the kernel actor has
// installed the CHILD_SA: the initiator uses the new SAs as soon as it has the response, so a
// response that overtook the install would let the first ESP packets meet no inbound SA.
// A real IKE SA actor, kernel actor and udp_io on loopback; the initiator is an engine IKE SA
// driven by the test; the backend takes its time to install, as a busy netlink socket may.
#include <gtest/gtest.h>

#include <poll.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>

#include <atomic>
#include <caf/all.hpp>
#include <chrono>
#include <cstring>
#include <thread>

#include "actors/ike_sa_actor.hpp"
#include "actors/kernel_actor.hpp"
#include "actors/logger.hpp"
#include "actors/messages.hpp"
#include "actors/network/udp_io.hpp"
#include "engine/proposal/parser.hpp"
#include "engine/sa/ike_sa.hpp"

using namespace aike;
using namespace std::chrono_literals;

namespace {

// Installs after a pause and says when it finished.
class slow_backend final : public kernel::backend {
 public:
  const char* name() const override { return "slow"; }
  status install(const kernel::child_install&) override {
    std::this_thread::sleep_for(300ms);
    installed = true;
    return ok_v;
  }
  status remove(std::uint32_t) override { return ok_v; }
  std::vector<kernel::installed_child> list() const override { return {}; }
  std::atomic<bool> installed{false};
};

std::shared_ptr<sa::connection> site(bool responder) {
  auto c = std::make_shared<sa::connection>();
  c->name = "site";
  c->ike_proposals = *proposal::parse_ike_proposals({"aes256gcm16-prfsha256-x25519"});
  auto me = *auth::identity::parse(responder ? "moon.example" : "sun.example");
  auto peer = *auth::identity::parse(responder ? "sun.example" : "moon.example");
  c->local.id = me;
  c->remote.id = peer;
  c->secrets.push_back({{me, peer}, to_bytes("install order test secret")});
  sa::child_config net;
  net.name = "net";
  net.local_ts = {*ts::selector::parse(responder ? "10.1.0.0/24" : "10.2.0.0/24")};
  net.remote_ts = {*ts::selector::parse(responder ? "10.2.0.0/24" : "10.1.0.0/24")};
  net.esp_proposals = *proposal::parse_esp_proposals({"aes256gcm16"});
  c->children.push_back(net);
  return c;
}

// The initiator's socket: what the responder actor sends arrives here.
struct peer_socket {
  int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  endpoint ep;
  peer_socket() {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t l = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &l);
    ep = endpoint{*ip_address::parse("127.0.0.1"), ntohs(a.sin_port)};
  }
  ~peer_socket() { ::close(fd); }
  bool receive(bytes& out, std::chrono::milliseconds timeout) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) != 1) return false;
    out.resize(65536);
    ssize_t n = ::recv(fd, out.data(), out.size(), 0);
    if (n < 0) return false;
    out.resize(static_cast<std::size_t>(n));
    return true;
  }
};

// Takes the initiator's datagrams out of its actions.
std::vector<bytes> sent_by(sa::ike_sa& sa) {
  std::vector<bytes> out;
  for (auto& a : sa.take_actions())
    if (auto* s = std::get_if<sa::send_datagram>(&a)) out.push_back(std::move(s->data));
  return out;
}

// Stands where the registry would: takes the SA's reports and keeps nothing.
caf::behavior sink(caf::event_based_actor* self, int) {
  self->set_default_handler([](caf::scheduled_actor*, caf::message_view&) -> caf::result<caf::message> {
    return caf::message{};
  });
  return {[](int) {}};
}

}  // namespace

TEST(InstallBeforeResponse, IkeAuthResponseWaitsForTheKernelInstall) {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  net::udp_config ucfg;
  ucfg.listen = {*ip_address::parse("127.0.0.1")};
  ucfg.ike_port = 0;
  ucfg.natt_port = 0;
  auto io_r = net::udp_io::open(ucfg);
  ASSERT_TRUE(io_r.ok());
  std::shared_ptr<net::udp_io> io = std::move(io_r).value();
  io->start([](net::datagram&&) {}, nullptr);
  peer_socket initiator_socket;
  endpoint responder_ep{*ip_address::parse("127.0.0.1"), io->bound_port(false)};

  auto backend = std::make_shared<slow_backend>();
  auto kernel = sys.spawn(actors::kernel_actor, std::static_pointer_cast<kernel::backend>(backend), actors::log_sink{});
  auto registry = sys.spawn(sink, 0);

  std::uint32_t next_id = 1, next_spi = 0xc0000001;
  sa::ike_sa_params ip;
  ip.unique_id = 100;
  ip.connections = {site(false)};
  ip.local = initiator_socket.ep;
  ip.remote = responder_ep;
  ip.env.new_child_spi = [&] { return next_spi++; };
  ip.env.new_child_id = [&] { return next_id++; };
  auto initiator = sa::ike_sa::make_initiator(ip);
  initiator->initiate("net");
  auto init_request = sent_by(*initiator);
  ASSERT_EQ(init_request.size(), 1u);

  actors::ike_sa_init ri;
  ri.params.unique_id = 1;
  ri.params.connections = {site(true)};
  ri.params.local = responder_ep;
  ri.params.remote = initiator_socket.ep;
  ri.params.env.new_child_spi = [] { return std::uint32_t{0xd0000001}; };
  ri.params.env.new_child_id = [] { return std::uint32_t{50}; };
  ri.registry = registry;
  ri.kernel = kernel;
  ri.io = io;
  // The responder's log on stderr: what went wrong, if anything does.
  auto levels = std::make_shared<actors::log_levels>();
  levels->fallback = actors::level::info;
  auto logger = sys.spawn(actors::logger_actor, std::string(), actors::log_target::stderr_);
  ri.log = actors::log_sink(logger, levels, actors::subsystem::ike, "responder");
  auto responder = sys.spawn(actors::ike_sa_actor, std::move(ri));

  auto deliver = [&](const bytes& data) {
    caf::anon_send(responder, actors::dgram_atom::value, net::datagram{data, responder_ep, initiator_socket.ep});
  };
  deliver(init_request[0]);
  bytes init_response;
  ASSERT_TRUE(initiator_socket.receive(init_response, 2s));
  initiator->on_datagram(init_response, initiator_socket.ep, responder_ep);
  auto auth_request = sent_by(*initiator);
  ASSERT_EQ(auth_request.size(), 1u);

  deliver(auth_request[0]);
  bytes auth_response;
  if (!initiator_socket.receive(auth_response, 5s)) {
    std::this_thread::sleep_for(500ms);  // the logger's last lines
    FAIL() << "no IKE_AUTH response; responder sent " << io->counters().sent << ", errors " << io->counters().send_errors;
  }
  // Without waiting for the install, the response arrives within milliseconds, long before the
  // backend's 300 ms are up.
  EXPECT_TRUE(backend->installed.load()) << "the IKE_AUTH response left before the CHILD_SA was installed";
  initiator->on_datagram(auth_response, initiator_socket.ep, responder_ep);
  EXPECT_EQ(initiator->state(), sa::ike_state::established);

  caf::anon_send_exit(responder, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(kernel, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(registry, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(logger, caf::exit_reason::user_shutdown);
  io->stop();
}
