#include "config/volume_value.hpp"

#include <limits>

namespace aike::config {

result<std::uint64_t> parse_byte_count(std::string_view text) {
  auto bad = [&](std::string why) {
    return make_error(errc::invalid_argument, "'" + std::string(text) + "' is not a byte count (" + why +
                                                  "; digits with an optional K, M, G or T suffix, e.g. \"500M\")");
  };
  if (text.empty()) return bad("empty");
  std::uint64_t shift = 0;
  std::string_view digits = text;
  switch (text.back()) {
    case 'k': case 'K': shift = 10; break;
    case 'm': case 'M': shift = 20; break;
    case 'g': case 'G': shift = 30; break;
    case 't': case 'T': shift = 40; break;
    default: break;
  }
  if (shift) digits.remove_suffix(1);
  if (digits.empty()) return bad("no number before the unit");
  std::uint64_t v = 0;
  constexpr std::uint64_t max = std::numeric_limits<std::uint64_t>::max();
  for (char c : digits) {
    if (c < '0' || c > '9') return bad(std::string("unexpected '") + c + "'");
    auto d = static_cast<std::uint64_t>(c - '0');
    if (v > (max - d) / 10) return bad("too large");
    v = v * 10 + d;
  }
  if (shift && v > (max >> shift)) return bad("too large");
  return v << shift;
}

namespace {

std::uint64_t plus_tenth(std::uint64_t v) {
  std::uint64_t tenth = v / 10;
  return v > std::numeric_limits<std::uint64_t>::max() - tenth ? std::numeric_limits<std::uint64_t>::max() : v + tenth;
}

}  // namespace

std::optional<volume_problem> resolve_volume(const volume_keys& in, std::string_view what, sa::volume_lifetime& out) {
  const std::string w(what);
  out = {};
  if (in.rekey) out.rekey = *in.rekey;
  else if (in.life) out.rekey = *in.life - *in.life / 10;
  if (in.life) out.life = *in.life;
  else out.life = plus_tenth(out.rekey);
  if (in.rekey && in.life && out.rekey != 0 && out.life != 0 && out.life <= out.rekey)
    return volume_problem{"life_" + w, std::to_string(out.life) + " " + w + " must be more than rekey_" + w + " (" +
                                           std::to_string(out.rekey) + ")"};
  if (in.rand) {
    out.rand = *in.rand;
    if (out.rekey != 0 && out.rand >= out.rekey)
      return volume_problem{"rand_" + w, std::to_string(out.rand) + " " + w + " must be less than rekey_" + w + " (" +
                                             std::to_string(out.rekey) + ")"};
  } else if (out.life > out.rekey && out.rekey != 0) {
    out.rand = std::min(out.life - out.rekey, out.rekey / 2);
  }
  return std::nullopt;
}

}  // namespace aike::config
