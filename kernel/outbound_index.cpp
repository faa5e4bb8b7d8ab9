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

// a + 1, or nullopt past the largest key (the range then runs to the end of the space).
std::optional<key> successor(key a) {
  if (++a.lo == 0 && ++a.hi == 0) return std::nullopt;
  return a;
}

bool covers(const outbound_rule& r, const inner_flow& f) { return flow_matches_any(f, r.local, r.remote); }

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
    if (covers(rules[i], f)) return i;
  return no_outbound_rule;
}

outbound_index::outbound_index() : serial_(next_serial.fetch_add(1, std::memory_order_relaxed)) {}

outbound_index::outbound_index(std::vector<outbound_rule> rules)
    : rules_(std::move(rules)), serial_(next_serial.fetch_add(1, std::memory_order_relaxed)) {
  v4_ = build(rules_, false);
  v6_ = build(rules_, true);
}

outbound_index::family outbound_index::build(const std::vector<outbound_rule>& rules, bool v6) {
  family fam;
  std::vector<range> ranges;
  for (std::size_t i = 0; i < rules.size(); ++i)
    for (const auto& s : rules[i].remote) {
      if (s.v6 != v6 || s.start > s.end) continue;  // another family, or an empty range: never matches
      ranges.push_back({static_cast<std::uint32_t>(i), key_of(s.start), successor(key_of(s.end))});
    }
  if (ranges.empty()) return fam;

  // Intervals each rule would be listed in (an upper bound: a rule's own ranges may overlap).
  std::vector<bool> in_fallback(rules.size(), false);
  fam.bounds = bounds_of(ranges, in_fallback);
  std::vector<std::size_t> cost(rules.size(), 0);
  std::size_t total = 0;
  for (const auto& r : ranges) {
    auto [first, last] = span_of(fam.bounds, r);
    cost[r.rule] += last - first + 1;
    total += last - first + 1;
  }
  const std::size_t budget = listed_per_range * ranges.size() + listed_slack;
  if (total > budget) {
    std::vector<std::uint32_t> widest;
    for (std::uint32_t i = 0; i < rules.size(); ++i)
      if (cost[i] > 0) widest.push_back(i);
    std::sort(widest.begin(), widest.end(), [&](std::uint32_t a, std::uint32_t b) { return cost[a] > cost[b]; });
    for (std::uint32_t i : widest) {
      if (total <= budget) break;
      in_fallback[i] = true;
      total -= cost[i];
    }
    for (std::uint32_t i = 0; i < rules.size(); ++i)
      if (in_fallback[i]) fam.fallback.push_back(i);
    // Without the fallback rules' ends there are fewer intervals; no listed rule spans more.
    fam.bounds = bounds_of(ranges, in_fallback);
  }

  // Two passes over the ranges in rule order (count, then fill), so every interval's list comes
  // out ascending; `seen` keeps a rule whose own ranges overlap from being listed twice.
  const std::size_t n = fam.bounds.size();
  std::vector<std::uint32_t> count(n + 1, 0);
  std::vector<std::uint32_t> seen(n, 0);  // rule + 1 that last listed itself here
  std::vector<std::pair<std::size_t, std::size_t>> spans(ranges.size());
  for (std::size_t j = 0; j < ranges.size(); ++j) {
    const auto& r = ranges[j];
    if (in_fallback[r.rule]) continue;
    spans[j] = span_of(fam.bounds, r);
    for (std::size_t iv = spans[j].first; iv <= spans[j].second; ++iv)
      if (seen[iv] != r.rule + 1) {
        seen[iv] = r.rule + 1;
        ++count[iv + 1];
      }
  }
  fam.first.assign(n + 1, 0);
  for (std::size_t iv = 0; iv < n; ++iv) fam.first[iv + 1] = fam.first[iv] + count[iv + 1];
  fam.listed.resize(fam.first[n]);
  std::vector<std::uint32_t> fill(fam.first.begin(), fam.first.end() - 1);
  std::fill(seen.begin(), seen.end(), 0);
  for (std::size_t j = 0; j < ranges.size(); ++j) {
    const auto& r = ranges[j];
    if (in_fallback[r.rule]) continue;
    for (std::size_t iv = spans[j].first; iv <= spans[j].second; ++iv)
      if (seen[iv] != r.rule + 1) {
        seen[iv] = r.rule + 1;
        fam.listed[fill[iv]++] = r.rule;
      }
  }
  return fam;
}

std::size_t outbound_index::find(const inner_flow& f) const {
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
    if (covers(rules_[r], f)) return r;
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
