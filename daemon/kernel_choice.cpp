#include "daemon/kernel_choice.hpp"

#include "kernel/null_backend.hpp"
#include "kernel/xfrm_backend.hpp"

namespace aike::daemon {

namespace {

kernel::userspace_options userspace_options_of(const config::daemon_config& d) {
  kernel::userspace_options o;
  o.tun_name = d.tun_name;
  o.tun_mtu = d.tun_mtu;
  o.replay_window = d.replay_window;
  return o;
}

result<kernel_choice> userspace(const config::daemon_config& d, std::string why) {
  auto u = kernel::userspace_backend::open(userspace_options_of(d));
  if (!u) return u.err();
  kernel_choice c;
  c.userspace = std::move(*u);
  c.backend = c.userspace;
  c.why = std::move(why);
  return c;
}

}  // namespace

result<kernel_choice> choose_kernel_backend(const config::daemon_config& d) {
  switch (d.kernel) {
    case config::kernel_mode::null: {
      kernel_choice c;
      c.backend = std::make_shared<kernel::null_backend>();
      c.why = "kernel = \"null\": CHILD_SAs are negotiated and listed, no packet is protected";
      return c;
    }
    case config::kernel_mode::xfrm: {
      auto x = kernel::xfrm_backend::open(d.xfrm_ownership);
      if (!x) return make_error(x.err().code, "kernel = \"xfrm\": " + x.err().message);
      kernel_choice c;
      c.backend = std::move(*x);
      c.why = "kernel = \"xfrm\": CHILD_SAs go into the Linux kernel's IPsec (XFRM)";
      return c;
    }
    case config::kernel_mode::userspace: {
      auto c = userspace(d, "kernel = \"userspace\": aiked carries ESP itself (in UDP) over TUN device " + d.tun_name);
      if (!c) return make_error(c.err().code, "kernel = \"userspace\": " + c.err().message);
      return c;
    }
    case config::kernel_mode::auto_:
      break;
  }
  auto probe = kernel::probe_esp();
  if (probe.esp) {
    auto x = kernel::xfrm_backend::open(d.xfrm_ownership);
    if (x) {
      kernel_choice c;
      c.backend = std::move(*x);
      c.why = "kernel = \"auto\": using XFRM, the kernel accepts ESP states";
      return c;
    }
    probe.detail = x.err().message;
  }
  bool not_permitted = probe.detail.find("not permitted") != std::string::npos;
  std::string no_esp = not_permitted ? "aiked may not add ESP states without CAP_NET_ADMIN"
                       : probe.xfrm  ? "the kernel refuses ESP states"
                                     : "the kernel's XFRM interface is not usable";
  no_esp += " (" + probe.detail + ")";
  auto c = userspace(d, "kernel = \"auto\": using the userspace ESP backend over TUN device " + d.tun_name +
                            ", because " + no_esp);
  if (c) return c;
  return make_error(errc::kernel_failure,
                    "kernel = \"auto\": no backend can protect packets: " + no_esp + ", and the userspace backend " +
                        "cannot start: " + c.err().message +
                        ". Load the kernel's ESP support (modprobe esp4 esp6) or give aiked /dev/net/tun and "
                        "CAP_NET_ADMIN; kernel = \"null\" negotiates SAs without protecting any packet");
}

}  // namespace aike::daemon
