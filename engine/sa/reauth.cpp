// Reauthentication (RFC 7296 §2.8.3) and the IKE SA's hard lifetime. Part of sa::ike_sa.
//
// Make-before-break: the old SA never builds the new one itself. At reauth_time (or when asked)
// it hands its CHILD_SAs (names, reqids, selectors) to its owner with reauth_due; the owner
// starts a new IKE SA as initiator with ike_sa_params::reauth_of / reauth_children. That SA
// brings up the first CHILD_SA with IKE_AUTH, the further ones with CREATE_CHILD_SA, each with
// the old reqid, and once all are installed it emits reauth_complete: the owner then deletes the
// old SA (DELETE sent, its CHILD_SAs removed after the new ones are in). Should the new SA fail,
// the old one keeps running (a retry follows) until its life_time ends it.
#include <algorithm>

#include "engine/crypto/random.hpp"
#include "engine/sa/ike_sa.hpp"

namespace aike::sa {

namespace {

// After a reauthentication was asked for, the next attempt (should this SA still exist: the new
// one failed) comes 10 to 20 s later.
std::chrono::milliseconds reauth_retry_delay() { return std::chrono::milliseconds(10000 + crypto::random_u64() % 10001); }

}  // namespace

void ike_sa::arm_reauth(std::chrono::milliseconds after) {
  // reauth_time minus a random part of rand_time, as for rekey_time.
  std::chrono::milliseconds jitter{0};
  if (conn_->rand_time.count() > 0)
    jitter = std::chrono::milliseconds(crypto::random_u64() % static_cast<std::uint64_t>(conn_->rand_time.count() + 1));
  arm(timer_kind::ike_reauth, std::max(after - jitter, std::chrono::milliseconds(1000)));
}

bool ike_sa::request_reauth() {
  if (state_ != ike_state::established || !conn_) return false;
  reauth_due due;
  for (const auto& [id, ch] : children_) {
    if (superseded_.count(id) || ch.state == child_state::deleting || ch.state == child_state::deleted) continue;
    due.children.push_back({ch.name, ch.reqid, ch.local_ts, ch.remote_ts});
  }
  std::string names;
  for (const auto& c : due.children) names += (names.empty() ? "" : ", ") + c.name + " (reqid " + std::to_string(c.reqid) + ")";
  log(log_level::info, "reauthenticating IKE SA '" + conn_->name + "' with " + remote_.to_string() +
                           ": a new IKE SA recreates " + (names.empty() ? std::string("no CHILD_SA") : names));
  actions_.emplace_back(std::in_place_type<reauth_due>, std::move(due));
  // Should this SA still be here then (the new one failed), try again.
  arm(timer_kind::ike_reauth, reauth_retry_delay());
  return true;
}

void ike_sa::on_lifetime_timer(timer_kind kind) {
  if (state_ != ike_state::established) return;
  if (kind == timer_kind::ike_reauth) {
    log(log_level::info, "IKE SA reauth_time reached");
    request_reauth();
    return;
  }
  log(log_level::warning, "IKE SA life_time (" + std::to_string(conn_->life_time.count() / 1000) +
                              " s) reached without a rekey or reauthentication, deleting it");
  request_delete();
}

const reauth_child* ike_sa::reauth_child_named(const std::string& name) const {
  if (!params_.reauth_of) return nullptr;
  for (const auto& c : params_.reauth_children)
    if (c.name == name) return &c;
  return nullptr;
}

void ike_sa::continue_reauth() {
  reauth_started_ = true;
  // The CHILD_SA of IKE_AUTH is in by now, or it failed.
  bool first_up = wanted_child_.empty() || std::any_of(children_.begin(), children_.end(), [&](const auto& c) {
                    return c.second.name == wanted_child_;
                  });
  if (!first_up) {
    reauth_failed_ = true;
    log(log_level::warning, "reauthentication: CHILD_SA " + wanted_child_ + " could not be recreated");
    end_reauth();
    return;
  }
  std::vector<std::string> further;
  for (const auto& c : params_.reauth_children)
    if (c.name != wanted_child_) further.push_back(c.name);
  reauth_waiting_.insert(further.begin(), further.end());
  if (further.empty())
    end_reauth();
  else
    recreate_further_children(further);
}

// Each name here stays in reauth_waiting_ until complete_child() installs it, or its creation is
// reported failed with settle_reauth_child(name, false).
void ike_sa::recreate_further_children(const std::vector<std::string>& child_names) {
  // One CREATE_CHILD_SA each (RFC 7296 §1.3.1), queued one after the other; complete_child()
  // or fail_child_create() settles each name.
  for (const auto& name : child_names)
    if (!request_child_create(name)) settle_reauth_child(name, false);
}

void ike_sa::settle_reauth_child(const std::string& name, bool ok) {
  if (!reauth_waiting_.erase(name)) return;
  if (!ok) {
    reauth_failed_ = true;
    log(log_level::warning, "reauthentication: CHILD_SA " + name + " could not be recreated");
  }
  if (reauth_waiting_.empty()) end_reauth();
}

void ike_sa::end_reauth() {
  if (state_ != ike_state::established) return;
  if (reauth_failed_) {
    // Never break what works: the old SA keeps its CHILD_SAs (and retries later).
    log(log_level::warning, "reauthentication of IKE SA [" + std::to_string(params_.reauth_of) +
                                "] failed: deleting this new IKE SA, the old one stays");
    request_delete();
    return;
  }
  log(log_level::info, "reauthentication complete: this IKE SA replaces IKE SA [" + std::to_string(params_.reauth_of) + "]");
  actions_.emplace_back(std::in_place_type<reauth_complete>, reauth_complete{params_.reauth_of});
}

}  // namespace aike::sa
