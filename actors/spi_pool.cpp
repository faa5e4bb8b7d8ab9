#include "actors/spi_pool.hpp"

#include "actors/messages.hpp"

namespace aike::actors {

spi_pool& spi_pool::global() {
  static spi_pool pool;
  return pool;
}

void spi_pool::enable(caf::actor kernel) {
  std::lock_guard<std::mutex> lock(mu_);
  enabled_ = true;
  kernel_ = std::move(kernel);
}

void spi_pool::disable() {
  std::lock_guard<std::mutex> lock(mu_);
  enabled_ = false;
  kernel_ = caf::actor();
  by_local_.clear();
}

bool spi_pool::enabled() const {
  std::lock_guard<std::mutex> lock(mu_);
  return enabled_;
}

namespace {
bool unspecified(const ip_address& a) {
  for (std::size_t i = 0; i < (a.v6 ? 16u : 4u); ++i)
    if (a.octets[i]) return false;
  return true;
}
}  // namespace

void spi_pool::warm(const ip_address& local) {
  if (unspecified(local)) return;
  caf::actor kernel;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!enabled_ || by_local_.count(local.to_string())) return;  // served already: refreshed anyway
    kernel = kernel_;
  }
  if (kernel) caf::anon_send(kernel, spi_atom::value, local);
}

std::optional<std::uint32_t> spi_pool::take(const ip_address& local) {
  if (unspecified(local)) return std::nullopt;  // the kernel keys SAs by destination: reserve for real ones only
  caf::actor kernel;
  std::optional<std::uint32_t> out;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!enabled_) return std::nullopt;
    kernel = kernel_;
    auto& slot = by_local_[local.to_string()];
    slot.first = local;
    auto now = clock::now();
    auto& v = slot.second;
    // Oldest first; aged ones stay for the kernel actor to delete.
    for (auto it = v.begin(); it != v.end(); ++it)
      if (now - it->reserved < max_age) {
        out = it->spi;
        v.erase(it);
        break;
      }
  }
  if (kernel) caf::anon_send(kernel, spi_atom::value, local);
  return out;
}

void spi_pool::put(const ip_address& local, std::uint32_t spi, clock::time_point reserved) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& slot = by_local_[local.to_string()];
  slot.first = local;
  slot.second.push_back({spi, reserved});
}

std::size_t spi_pool::missing(const ip_address& local, clock::time_point now, std::vector<std::uint32_t>& aged) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& slot = by_local_[local.to_string()];
  slot.first = local;
  auto& v = slot.second;
  for (auto it = v.begin(); it != v.end();) {
    if (now - it->reserved >= max_age) {
      aged.push_back(it->spi);
      it = v.erase(it);
    } else {
      ++it;
    }
  }
  return v.size() >= target ? 0 : target - v.size();
}

std::vector<ip_address> spi_pool::addresses() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<ip_address> out;
  for (const auto& [k, slot] : by_local_) out.push_back(slot.first);
  return out;
}

bool spi_pool::serves(const ip_address& local) const {
  std::lock_guard<std::mutex> lock(mu_);
  return by_local_.count(local.to_string()) > 0;
}

std::size_t spi_pool::size(const ip_address& local) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = by_local_.find(local.to_string());
  return it == by_local_.end() ? 0 : it->second.second.size();
}

}  // namespace aike::actors
