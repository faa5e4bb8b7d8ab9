#include "config/mark_value.hpp"

#include <cstdio>

namespace aike::config {

bool parse_u32(std::string_view t, std::uint32_t& out) {
  unsigned base = 10;
  if (t.size() > 2 && t[0] == '0' && (t[1] == 'x' || t[1] == 'X')) {
    base = 16;
    t.remove_prefix(2);
  }
  if (t.empty()) return false;
  std::uint64_t v = 0;
  for (char c : t) {
    unsigned d;
    if (c >= '0' && c <= '9') d = static_cast<unsigned>(c - '0');
    else if (base == 16 && c >= 'a' && c <= 'f') d = static_cast<unsigned>(c - 'a' + 10);
    else if (base == 16 && c >= 'A' && c <= 'F') d = static_cast<unsigned>(c - 'A' + 10);
    else return false;
    v = v * base + d;
    if (v > 0xffffffffu) return false;
  }
  out = static_cast<std::uint32_t>(v);
  return true;
}

namespace {

std::string hex(std::uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", v);
  return buf;
}

}  // namespace

result<sa::xfrm_mark> parse_mark(std::string_view text) {
  sa::xfrm_mark m;
  std::string_view value = text, mask;
  if (auto slash = text.find('/'); slash != std::string_view::npos) {
    value = text.substr(0, slash);
    mask = text.substr(slash + 1);
  }
  m.mask = 0xffffffffu;
  if (!mask.empty() || text.find('/') != std::string_view::npos)
    if (!parse_u32(mask, m.mask))
      return make_error(errc::invalid_argument, "'" + std::string(text) + "': mask '" + std::string(mask) +
                                                    "' is not a 32-bit number (hex with 0x, or decimal)");
  if (m.mask == 0)
    return make_error(errc::invalid_argument, "'" + std::string(text) + "': a mask of 0 matches every packet (leave the key out for no mark)");
  if (value == "%unique") {
    m.unique = sa::xfrm_mark::uniqueness::same;
    return m;
  }
  if (value == "%unique-dir") {
    m.unique = sa::xfrm_mark::uniqueness::per_direction;
    return m;
  }
  if (!value.empty() && value[0] == '%')
    return make_error(errc::invalid_argument, "'" + std::string(text) + "': unknown mark '" + std::string(value) +
                                                  "' (expected a number, %unique or %unique-dir)");
  if (!parse_u32(value, m.value))
    return make_error(errc::invalid_argument, "'" + std::string(text) + "': value '" + std::string(value) +
                                                  "' is not a 32-bit number (hex with 0x, or decimal)");
  if (m.value & ~m.mask)
    return make_error(errc::invalid_argument, "'" + std::string(text) + "': the value has bits outside the mask (" +
                                                  hex(m.value & ~m.mask) + "), so no packet could match it");
  return m;
}

std::string format_mark(const sa::xfrm_mark& m) {
  if (m.mask == 0) return "";
  switch (m.unique) {
    case sa::xfrm_mark::uniqueness::same: return "%unique/" + hex(m.mask);
    case sa::xfrm_mark::uniqueness::per_direction: return "%unique-dir/" + hex(m.mask);
    case sa::xfrm_mark::uniqueness::none: break;
  }
  return hex(m.value) + "/" + hex(m.mask);
}

}  // namespace aike::config
