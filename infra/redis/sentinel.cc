#include "infra/redis/sentinel.h"

#include <sys/time.h>

#include <charconv>
#include <memory>

#include <hiredis/hiredis.h>

#include "infra/config.h"
#include "infra/log.h"
#include "infra/redis/client.h"
#include "infra/strings.h"

namespace cityhub::infra::redis {
namespace {

struct ContextDeleter {
  void operator()(redisContext* c) const { redisFree(c); }
};
using ContextPtr = std::unique_ptr<redisContext, ContextDeleter>;
struct ReplyDeleter {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using ReplyPtr = std::unique_ptr<redisReply, ReplyDeleter>;

timeval ToTimeval(std::chrono::milliseconds d) {
  return timeval{static_cast<time_t>(d.count() / 1000),
                 static_cast<suseconds_t>((d.count() % 1000) * 1000)};
}

// A short-lived connection for one question; null when unreachable or AUTH fails.
ContextPtr Open(const Endpoint& at, std::chrono::milliseconds timeout, const std::string& user,
                const std::string& password) {
  ContextPtr ctx(redisConnectWithTimeout(at.host.c_str(), at.port, ToTimeval(timeout)));
  if (ctx == nullptr || ctx->err != 0) return nullptr;
  redisSetTimeout(ctx.get(), ToTimeval(timeout));
  if (!password.empty()) {
    ReplyPtr auth(static_cast<redisReply*>(
        user.empty() ? redisCommand(ctx.get(), "AUTH %s", password.c_str())
                     : redisCommand(ctx.get(), "AUTH %s %s", user.c_str(), password.c_str())));
    if (auth == nullptr || auth->type == REDIS_REPLY_ERROR) return nullptr;
  }
  return ctx;
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
  ContextPtr ctx = Open(sentinel, options_.timeout, options_.user, options_.password);
  if (ctx == nullptr) return absl::UnavailableError("sentinel unreachable");
  ReplyPtr reply(static_cast<redisReply*>(redisCommand(
      ctx.get(), "SENTINEL get-master-addr-by-name %s", options_.master_name.c_str())));
  if (reply == nullptr || reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
      reply->element[0]->type != REDIS_REPLY_STRING ||
      reply->element[1]->type != REDIS_REPLY_STRING) {
    return absl::UnavailableError("sentinel does not know the master");
  }
  Endpoint e;
  e.host = std::string(reply->element[0]->str, reply->element[0]->len);
  const std::string port(reply->element[1]->str, reply->element[1]->len);
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), e.port);
  if (ec != std::errc() || end != port.data() + port.size() || e.port <= 0 || e.port > 65535) {
    return absl::UnavailableError("sentinel sent a bad port");
  }
  return e;
}

// A sentinel may still name a primary that has just been demoted (it learns of a failover
// by gossip); only a server that says so itself is taken.
bool Sentinel::IsPrimary(const Endpoint& candidate, const Options& redis) const {
  ContextPtr ctx = Open(candidate, options_.timeout, redis.user, redis.password);
  if (ctx == nullptr) return false;
  ReplyPtr role(static_cast<redisReply*>(redisCommand(ctx.get(), "ROLE")));
  return role != nullptr && role->type == REDIS_REPLY_ARRAY && role->elements > 0 &&
         role->element[0]->type == REDIS_REPLY_STRING &&
         std::string_view(role->element[0]->str, role->element[0]->len) == "master";
}

}  // namespace cityhub::infra::redis
