#include "config/daemon_section.hpp"

#include <openssl/evp.h>

#include <charconv>

#include "config/file_text.hpp"
#include "config/reqid_range.hpp"
#include "engine/auth/keys.hpp"

namespace aike::config::detail {

namespace {

constexpr std::uint16_t kDefaultControlPort = 4510;

std::optional<std::uint16_t> parse_port(std::string_view s) {
  unsigned v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty() || v == 0 || v > 65535) return std::nullopt;
  return static_cast<std::uint16_t>(v);
}

bool is_loopback(const ip_address& a) {
  if (!a.v6) return a.octets[0] == 127;
  for (int i = 0; i < 15; ++i)
    if (a.octets[i] != 0) return false;
  return a.octets[15] == 1;
}

std::optional<std::string> log_level(section& s, std::string_view key) {
  auto v = s.choice<std::string_view>(key, {{"error", "error"}, {"warning", "warning"}, {"warn", "warning"},
                                           {"info", "info"}, {"debug", "debug"}});
  if (!v) return std::nullopt;
  return std::string(*v);
}

void read_log(section& d, log_config& out, const std::string& base_dir) {
  if (const toml::node* n = d.node("log")) {
    if (n->is_string()) {  // log = "debug": the default level alone
      if (auto l = log_level(d, "log")) out.default_level = *l;
    } else if (auto log = d.subtable("log")) {
      if (auto l = log_level(*log, "default")) out.default_level = *l;
      for (const char* sub : {"ike", "net", "cfg", "knl", "updown", "ctl"})
        if (auto l = log_level(*log, sub)) out.subsystems[sub] = *l;
      log->finish();
    }
  }
  if (auto f = d.text("log_file")) out.file = f->empty() ? std::string() : resolve_path(base_dir, *f);
}

// The TLS files of the control channel must exist and parse; the actor system loads them itself.
void check_control_tls(section& d, const daemon_config& out) {
  std::optional<auth::certificate> cert;
  if (!out.control_cert.empty()) {
    auto text = read_text_file(out.control_cert);
    auto chain = text ? auth::certificate::chain_from_pem(*text) : result<std::vector<auth::certificate>>(text.err());
    if (!chain) d.error("control_cert", chain.err().message);
    else cert = chain->front();
  }
  if (!out.control_key.empty()) {
    auto text = read_text_file(out.control_key);
    auto key = text ? auth::private_key::from_pem(*text) : result<auth::private_key>(text.err());
    if (!key) d.error("control_key", key.err().message);
    else if (cert) {
      auto cert_key = auth::public_key::from_cert(*cert);
      if (cert_key && EVP_PKEY_eq(cert_key->get(), key->get()) != 1)
        d.error("control_key", "'" + out.control_key + "' is not the key of control_cert '" + out.control_cert + "'");
    }
  }
  if (!out.control_ca.empty()) {
    auto text = read_text_file(out.control_ca);
    auto chain = text ? auth::certificate::chain_from_pem(*text) : result<std::vector<auth::certificate>>(text.err());
    if (!chain) d.error("control_ca", chain.err().message);
  }
  if (out.control_cert.empty() != out.control_key.empty())
    d.error(out.control_cert.empty() ? "control_key" : "control_cert", "control_cert and control_key go together");
  // Without a CA, caf::openssl would accept any client (anonymous TLS): refuse that half-way setup.
  if (!out.control_cert.empty() && !out.control_key.empty() && out.control_ca.empty())
    d.error("control_cert", "control_cert needs control_ca: aikectl must present a client certificate issued by it");
}

}  // namespace

result<std::pair<ip_address, std::uint16_t>> parse_control_address(std::string_view text) {
  auto bad = [&](const std::string& why) {
    return make_error(errc::invalid_argument, "invalid control address '" + std::string(text) + "': " + why +
                                                  " (write \"127.0.0.1:4510\" or \"[::1]:4510\")");
  };
  std::string_view host = text;
  std::optional<std::uint16_t> port = kDefaultControlPort;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos) return bad("missing ']'");
    host = text.substr(1, close - 1);
    std::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return bad("expected ':' and a port after ']'");
      port = parse_port(rest.substr(1));
    }
  } else if (!ip_address::parse(text)) {  // "::1" alone is an address, not host:port
    auto colon = text.rfind(':');
    if (colon != std::string_view::npos) {
      host = text.substr(0, colon);
      port = parse_port(text.substr(colon + 1));
    }
  }
  if (!port) return bad("the port must be 1..65535");
  auto addr = ip_address::parse(host);
  if (!addr) return bad("'" + std::string(host) + "' is not an IP address (host names are not supported)");
  if (!text.empty() && text.front() != '[' && addr->v6 && text != host) return bad("put an IPv6 address in brackets");
  return std::pair{*addr, *port};
}

namespace {
// What Linux accepts as a network interface name (dev_valid_name): 1..15 octets, not "." or "..",
// no '/', ':' or white space.
bool valid_interface_name(const std::string& n) {
  if (n.empty() || n.size() > 15 || n == "." || n == "..") return false;
  for (unsigned char ch : n)
    if (ch == '/' || ch == ':' || ch <= ' ' || ch >= 0x7f) return false;
  return true;
}
}  // namespace

void read_daemon(std::optional<section> daemon, std::optional<section> kernel, const std::string& base_dir,
                 daemon_config& out) {
  out.listen = {*ip_address::parse("0.0.0.0"), *ip_address::parse("::")};
  if (daemon) {
    section& d = *daemon;
    if (auto items = d.list("listen")) {
      out.listen.clear();
      for (const auto& item : *items) {
        auto a = ip_address::parse(item.text);
        if (!a) d.error_at(item.where, "listen", "'" + item.text + "' is not an IP address");
        else out.listen.push_back(*a);
      }
      if (items->empty()) d.error("listen", "empty: name at least one address (\"0.0.0.0\", \"::\")");
    }
    if (auto p = d.integer("ike_port", 0, 65535)) out.ike_port = static_cast<std::uint16_t>(*p);
    if (auto p = d.integer("natt_port", 0, 65535)) out.natt_port = static_cast<std::uint16_t>(*p);
    if (out.ike_port != 0 && out.ike_port == out.natt_port)
      d.error(d.has("natt_port") ? "natt_port" : "ike_port",
              "natt_port must differ from ike_port (" + std::to_string(out.ike_port) + ")");
    if (auto k = d.choice<kernel_mode>("kernel", {{"auto", kernel_mode::auto_},
                                                  {"xfrm", kernel_mode::xfrm},
                                                  {"userspace", kernel_mode::userspace},
                                                  {"null", kernel_mode::null}}))
      out.kernel = *k;

    if (auto c = d.text("control")) {
      auto parsed = parse_control_address(*c);
      if (!parsed) {
        d.error("control", parsed.err().message);
      } else {
        out.control_host = parsed->first.to_string();
        out.control_port = parsed->second;
      }
    }
    if (auto t = d.text("control_token")) {
      if (t->empty()) d.error("control_token", "must name a file (aikectl authenticates with its content)");
      else out.control_token = resolve_path(base_dir, *t);
    }
    if (auto f = d.text("control_cert")) out.control_cert = f->empty() ? "" : resolve_path(base_dir, *f);
    if (auto f = d.text("control_key")) out.control_key = f->empty() ? "" : resolve_path(base_dir, *f);
    if (auto f = d.text("control_ca")) out.control_ca = f->empty() ? "" : resolve_path(base_dir, *f);
    check_control_tls(d, out);
    auto control_addr = ip_address::parse(out.control_host);
    if (control_addr && !is_loopback(*control_addr) && (out.control_cert.empty() || out.control_key.empty()))
      d.error("control", "control address " + out.control_host +
                             " is not loopback: set control_cert, control_key and control_ca so aikectl must talk TLS "
                             "with a client certificate from that CA");

    if (auto w = d.integer("workers", 0, 1024)) out.workers = static_cast<unsigned>(*w);
    if (auto h = d.integer("half_open_cookie_threshold", 0, 100000000)) out.half_open_cookie_threshold = static_cast<unsigned>(*h);
    if (auto b = d.flag("delete_on_stop")) out.delete_on_stop = *b;
    read_log(d, out.log, base_dir);
    if (auto n = d.integer("fragment_size", 576, 65535)) out.fragment_size = static_cast<std::size_t>(*n);
    if (auto n = d.integer("max_packet", 1280, 1 << 20)) out.reassembly.max_size = static_cast<std::size_t>(*n);
    if (auto n = d.integer("max_fragments", 1, 65535)) out.reassembly.max_fragments = static_cast<std::size_t>(*n);
    if (auto t = d.duration("fragment_timeout")) {
      if (t->count() <= 0) d.error("fragment_timeout", "must be greater than 0");
      else out.fragment_timeout = *t;
    }

    if (auto r = d.subtable("retransmit")) {
      if (auto t = r->duration("timeout")) {
        if (t->count() <= 0) r->error("timeout", "must be greater than 0");
        else out.retransmit.timeout = *t;
      }
      if (auto b = r->number("base", 1.0, 10.0)) out.retransmit.base = *b;
      if (auto n = r->integer("tries", 0, 50)) out.retransmit.tries = static_cast<int>(*n);
      r->finish();
    }
    if (auto u = d.subtable("updown")) {
      if (auto m = u->integer("max_parallel", 1, 4096)) out.updown_max_parallel = static_cast<unsigned>(*m);
      if (auto t = u->duration("timeout")) {
        if (t->count() <= 0) u->error("timeout", "must be greater than 0");
        else out.updown_timeout = *t;
      }
      u->finish();
    }
    d.finish();
  }
  if (kernel) {
    if (auto f = kernel->flag("flush_on_start")) out.flush_on_start = *f;
    if (auto t = kernel->text("tun_name")) {
      if (!valid_interface_name(*t))
        kernel->error("tun_name", "'" + *t + "' is not an interface name: 1..15 characters, no '/', ':' or blanks");
      else out.tun_name = *t;
    }
    if (auto m = kernel->integer("tun_mtu", 576, 65535)) out.tun_mtu = static_cast<unsigned>(*m);
    if (auto w = kernel->integer("replay_window", 64, 4096)) out.replay_window = static_cast<unsigned>(*w);
    if (auto r = kernel->text("reqid_range")) {
      auto range = parse_reqid_range(*r);
      if (!range) kernel->error("reqid_range", range.err().message);
      else out.xfrm_ownership.reqid_first = range->first, out.xfrm_ownership.reqid_count = range->count;
    }
    // The band [base, base + 65536) must fit in the kernel's 32-bit priority.
    if (auto b = kernel->integer("policy_priority_base", 1,
                                 std::int64_t{0xffffffff} - aike::kernel::xfrm_ownership::policy_priority_span + 1))
      out.xfrm_ownership.policy_priority_first = static_cast<std::uint32_t>(*b);
    kernel->finish();
  }
}

}  // namespace aike::config::detail
