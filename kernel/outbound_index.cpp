#include "kernel/outbound_index.hpp"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <optional>

namespace aike::kernel {

namespace {

using key = outbound_index::key;

std::atomic<std::uint64_t> next_serial{1};

std::uint64_t be64(const std::uint8_t* p) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = v << 8 | p[i];
  return v;
}

key key_of(const std::array<std::uint8_t, 16>& a) { return {be64(a.data()), be64(a.data() + 8)}; }

// The least key above every address of a range ending at `a`, or nullopt when the range runs to
// the end of the space. IPv6: a + 1. IPv4 (only the first 4 octets are the address; the others
// are 0 in flows and selectors): the next IPv4 address, so that no empty interval appears between
// a.0...01 and (a+1).0...0. A bound above the true end only adds candidates that the full
// selector check then refuses; it never loses one.
std::optional<key> successor(key a, bool v6) {
  if (!v6) {
    if ((a.hi >> 32) == 0xffffffffu) return std::nullopt;
    return key{((a.hi >> 32) + 1) << 32, 0};
  }
  if (++a.lo == 0 && ++a.hi == 0) return std::nullopt;
  return a;
}

// One remote range of one rule: [start, past) or [start, end of space) when `past` is empty.
struct range {
  std::uint32_t rule;
  key start;
  std::optional<key> past;
};

// Room for listed rule entries: this many per indexed range plus a constant. Beyond it the
// widest rules go to the fallback list.
constexpr std::size_t listed_per_range = 8;
constexpr std::size_t listed_slack = 4096;

// Tables of at most this many rules are scanned (bench/outbound_lookup_bench: one rule costs
// about 28 ns scanned, 47 ns through the index).
constexpr std::size_t scan_up_to = 2;

std::vector<key> bounds_of(const std::vector<range>& ranges, const std::vector<bool>& skip) {
  std::vector<key> b{key{}};
  for (const auto& r : ranges) {
    if (skip[r.rule]) continue;
    b.push_back(r.start);
    if (r.past) b.push_back(*r.past);
  }
  std::sort(b.begin(), b.end());
  b.erase(std::unique(b.begin(), b.end()), b.end());
  return b;
}

// The intervals [first, last] that a range covers, given the bounds (which contain its ends).
std::pair<std::size_t, std::size_t> span_of(const std::vector<key>& bounds, const range& r) {
  auto at = [&](const key& k) { return static_cast<std::size_t>(std::lower_bound(bounds.begin(), bounds.end(), k) - bounds.begin()); };
  std::size_t first = at(r.start);
  std::size_t last = r.past ? at(*r.past) - 1 : bounds.size() - 1;
  return {first, last};
}

}  // namespace

std::size_t first_match_linear(std::span<const outbound_rule> rules, const inner_flow& f) {
  for (std::size_t i = 0; i < rules.size(); ++i)
    if (flow_matches_any(f, rules[i].local, rules[i].remote)) return i;
  return no_outbound_rule;
}

void outbound_index::builder::add(std::span<const ts::selector> local, std::span<const ts::selector> remote) {
  auto at = [this] { return static_cast<std::uint32_t>(selectors_.size()); };
  std::array<std::uint32_t, 3> r{at(), 0, 0};
  selectors_.insert(selectors_.end(), local.begin(), local.end());
  r[1] = at();
  selectors_.insert(selectors_.end(), remote.begin(), remote.end());
  r[2] = at();
  rules_.push_back(r);
}

outbound_index outbound_index::builder::build() && { return outbound_index(std::move(*this)); }

outbound_index::outbound_index() : serial_(next_serial.fetch_add(1, std::memory_order_relaxed)) {}

outbound_index::outbound_index(const std::vector<outbound_rule>& rules) : outbound_index([&] {
  builder b;
  for (const auto& r : rules) b.add(r.local, r.remote);
  return b;
}()) {}

outbound_index::outbound_index(builder&& b)
    : selectors_(std::move(b.selectors_)),
      rules_(std::move(b.rules_)),
      serial_(next_serial.fetch_add(1, std::memory_order_relaxed)) {
  v4_ = build(false);
  v6_ = build(true);
}

std::span<const ts::selector> outbound_index::remote_of(std::size_t rule) const {
  const auto& r = rules_[rule];
  return {selectors_.data() + r[1], selectors_.data() + r[2]};
}

bool outbound_index::covers(std::size_t rule, const inner_flow& f) const {
  const auto& r = rules_[rule];
  const ts::selector* s = selectors_.data();
  for (std::uint32_t l = r[0]; l < r[1]; ++l)
    for (std::uint32_t m = r[1]; m < r[2]; ++m)
      if (flow_matches(f, s[l], s[m])) return true;
  return false;
}

outbound_index::family outbound_index::build(bool v6) const {
  family fam;
  std::vector<range> ranges;
  for (std::size_t i = 0; i < rules_.size(); ++i)
    for (const auto& s : remote_of(i)) {
      if (s.v6 != v6 || s.start > s.end) continue;  // another family, or an empty range: never matches
      ranges.push_back({static_cast<std::uint32_t>(i), key_of(s.start), successor(key_of(s.end), v6)});
    }
  if (ranges.empty()) return fam;

  // The intervals each range covers, and how many interval lists each rule would join (an upper
  // bound: a rule's own ranges may overlap).
  std::vector<bool> in_fallback(rules_.size(), false);
  std::vector<std::pair<std::size_t, std::size_t>> spans(ranges.size());
  auto find_spans = [&] {
    for (std::size_t j = 0; j < ranges.size(); ++j)
      if (!in_fallback[ranges[j].rule]) spans[j] = span_of(fam.bounds, ranges[j]);
  };
  fam.bounds = bounds_of(ranges, in_fallback);
  find_spans();
  std::vector<std::size_t> cost(rules_.size(), 0);
  std::size_t total = 0;
  for (std::size_t j = 0; j < ranges.size(); ++j) {
    cost[ranges[j].rule] += spans[j].second - spans[j].first + 1;
    total += spans[j].second - spans[j].first + 1;
  }
  const std::size_t budget = listed_per_range * ranges.size() + listed_slack;
  if (total > budget) {
    std::vector<std::uint32_t> widest;
    for (std::uint32_t i = 0; i < rules_.size(); ++i)
      if (cost[i] > 0) widest.push_back(i);
    std::sort(widest.begin(), widest.end(), [&](std::uint32_t a, std::uint32_t b) { return cost[a] > cost[b]; });
    for (std::uint32_t i : widest) {
      if (total <= budget) break;
      in_fallback[i] = true;
      total -= cost[i];
    }
    for (std::uint32_t i = 0; i < rules_.size(); ++i)
      if (in_fallback[i]) fam.fallback.push_back(i);
    // Without the fallback rules' ends there are fewer intervals; no listed rule spans more.
    fam.bounds = bounds_of(ranges, in_fallback);
    find_spans();
  }

  // Two passes over the ranges in rule order (count, then fill), so every interval's list comes
  // out ascending; `seen` keeps a rule whose own ranges overlap from being listed twice.
  const std::size_t n = fam.bounds.size();
  std::vector<std::uint32_t> seen(n);  // rule + 1 that last listed itself here
  auto each_listing = [&](auto&& list) {
    std::fill(seen.begin(), seen.end(), 0);
    for (std::size_t j = 0; j < ranges.size(); ++j) {
      const std::uint32_t rule = ranges[j].rule;
      if (in_fallback[rule]) continue;
      for (std::size_t iv = spans[j].first; iv <= spans[j].second; ++iv)
        if (seen[iv] != rule + 1) {
          seen[iv] = rule + 1;
          list(iv, rule);
        }
    }
  };
  fam.first.assign(n + 1, 0);
  each_listing([&](std::size_t iv, std::uint32_t) { ++fam.first[iv + 1]; });
  for (std::size_t iv = 0; iv < n; ++iv) fam.first[iv + 1] += fam.first[iv];
  fam.listed.resize(fam.first[n]);
  std::vector<std::uint32_t> fill(fam.first.begin(), fam.first.end() - 1);
  each_listing([&](std::size_t iv, std::uint32_t rule) { fam.listed[fill[iv]++] = rule; });
  return fam;
}

std::size_t outbound_index::find(const inner_flow& f) const {
  // A table of a few rules is scanned: cheaper than the search, and the same answer by definition.
  if (rules_.size() <= scan_up_to) {
    for (std::size_t r = 0; r < rules_.size(); ++r)
      if (covers(r, f)) return r;
    return no_outbound_rule;
  }
  const family& fam = f.v6 ? v6_ : v4_;
  const std::uint32_t *a = nullptr, *a_end = nullptr;
  if (!fam.bounds.empty()) {
    // bounds[0] is the lowest key, so every address lies in some interval.
    auto iv = static_cast<std::size_t>(std::upper_bound(fam.bounds.begin(), fam.bounds.end(), key_of(f.dst)) -
                                       fam.bounds.begin()) - 1;
    a = fam.listed.data() + fam.first[iv];
    a_end = fam.listed.data() + fam.first[iv + 1];
  }
  const std::uint32_t* b = fam.fallback.data();
  const std::uint32_t* b_end = b + fam.fallback.size();
  // Both lists ascend: walk them merged, in table order.
  while (a != a_end || b != b_end) {
    std::uint32_t r = (b == b_end || (a != a_end && *a < *b)) ? *a++ : *b++;
    if (covers(r, f)) return r;
  }
  return no_outbound_rule;
}

outbound_index::shape outbound_index::describe() const {
  shape s;
  for (const family* fam : {&v4_, &v6_}) {
    s.intervals += fam->bounds.size();
    s.listed += fam->listed.size();
    s.fallback += fam->fallback.size();
  }
  return s;
}

// --- outbound_flow_cache ----------------------------------------------------------------------

namespace {

std::size_t slot_of(const inner_flow& f, std::size_t slots) {
  std::uint64_t d0, d1, s0, s1;
  std::memcpy(&d0, f.dst.data(), 8);
  std::memcpy(&d1, f.dst.data() + 8, 8);
  std::memcpy(&s0, f.src.data(), 8);
  std::memcpy(&s1, f.src.data() + 8, 8);
  std::uint64_t h = d0 ^ (d1 * 0x9e3779b97f4a7c15u);
  h = (h ^ (h >> 31)) * 0xbf58476d1ce4e5b9u;
  h ^= s0 ^ (s1 * 0xc2b2ae3d27d4eb4fu);
  h ^= (std::uint64_t{f.src_port} << 40) ^ (std::uint64_t{f.dst_port} << 16) ^ (std::uint64_t{f.protocol} << 8) ^ f.v6;
  h = (h ^ (h >> 29)) * 0x94d049bb133111ebu;
  return static_cast<std::size_t>(h >> 32) % slots;
}

}  // namespace

std::size_t outbound_flow_cache::find(const outbound_index& index, const inner_flow& f) {
  if (index.serial() != serial_) {
    reset();
    serial_ = index.serial();
  }
  slot& s = slots_[slot_of(f, slots)];
  if (s.valid && s.flow == f) return s.rule;
  s.flow = f;
  s.rule = index.find(f);
  s.valid = true;
  return s.rule;
}

void outbound_flow_cache::reset() {
  for (auto& s : slots_) s.valid = false;
  serial_ = 0;
}

}  // namespace aike::kernel
