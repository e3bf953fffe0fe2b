#include "infra/redis/sentinel.h"

#include <charconv>

#include "infra/config.h"
#include "infra/log.h"
#include "infra/redis/client.h"
#include "infra/redis/connection.h"
#include "infra/strings.h"

namespace cityhub::infra::redis {
namespace {

// The settings of a short-lived connection for one question (see AskOnce).
Options AskOptions(std::chrono::milliseconds timeout, const std::string& user,
                   const std::string& password) {
  Options o;
  o.user = user;
  o.password = password;
  o.connect_timeout = timeout;
  o.command_timeout = timeout;
  return o;
}

}  // namespace

absl::StatusOr<std::vector<Endpoint>> ParseSentinelList(std::string_view list) {
  std::vector<Endpoint> out;
  while (!list.empty()) {
    const size_t comma = list.find(',');
    std::string_view item = list.substr(0, comma);
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (item.empty()) continue;
    Endpoint e;
    if (!SplitHostPort(item, &e.host, &e.port) || e.port == 0 || e.host.empty()) {
      return absl::InvalidArgumentError("sentinels: each entry must be host:port");
    }
    if (e.host.front() == '[') e.host = e.host.substr(1, e.host.size() - 2);
    out.push_back(std::move(e));
  }
  if (out.empty()) return absl::InvalidArgumentError("sentinels: list is empty");
  if (out.size() > 16) return absl::InvalidArgumentError("sentinels: at most 16");
  return out;
}

Sentinel::Sentinel(SentinelOptions options) : options_(std::move(options)) {}

absl::StatusOr<Endpoint> Sentinel::Primary(const Options& redis) {
  {
    std::lock_guard lock(mu_);
    if (valid_) return primary_;
  }
  std::lock_guard lookup(lookup_mu_);
  {
    std::lock_guard lock(mu_);
    if (valid_) return primary_;  // another caller has just looked it up
  }
  for (const Endpoint& sentinel : options_.sentinels) {
    auto candidate = Ask(sentinel);
    if (!candidate.ok() || !IsPrimary(*candidate, redis)) continue;
    std::lock_guard lock(mu_);
    if (!(*candidate == primary_)) {
      if (epoch_ > 0) {
        log::Warn("redis_primary_changed",
                  {{"master", options_.master_name},
                   {"primary", StrCat(candidate->host, ":", candidate->port)}});
      }
      primary_ = *candidate;
      ++epoch_;
    }
    valid_ = true;
    return primary_;
  }
  return absl::UnavailableError(
      StrCat("redis: no sentinel names a reachable primary for ", options_.master_name));
}

void Sentinel::Invalidate() {
  std::lock_guard lock(mu_);
  valid_ = false;
}

uint64_t Sentinel::epoch() const {
  std::lock_guard lock(mu_);
  return epoch_;
}

absl::StatusOr<Endpoint> Sentinel::Ask(const Endpoint& sentinel) const {
  auto reply = AskOnce(AskOptions(options_.timeout, options_.user, options_.password),
                       Target{sentinel.host, sentinel.port, 0},
                       {"SENTINEL", "get-master-addr-by-name", options_.master_name});
  if (!reply.ok()) return absl::UnavailableError("sentinel unreachable");
  const auto& e = reply->elements();
  if (!reply->is_array() || e.size() != 2 || e[0].type() != Reply::Type::kString ||
      e[1].type() != Reply::Type::kString) {
    return absl::UnavailableError("sentinel does not know the master");
  }
  Endpoint out;
  out.host = e[0].str();
  const std::string& port = e[1].str();
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), out.port);
  if (ec != std::errc() || end != port.data() + port.size() || out.port <= 0 || out.port > 65535) {
    return absl::UnavailableError("sentinel sent a bad port");
  }
  return out;
}

// A sentinel may still name a primary that has just been demoted (it learns of a failover
// by gossip); only a server that says so itself is taken.
bool Sentinel::IsPrimary(const Endpoint& candidate, const Options& redis) const {
  auto role = AskOnce(AskOptions(options_.timeout, redis.user, redis.password),
                      Target{candidate.host, candidate.port, 0}, {"ROLE"});
  return role.ok() && role->is_array() && !role->elements().empty() &&
         role->elements()[0].str() == "master";
}

}  // namespace cityhub::infra::redis
