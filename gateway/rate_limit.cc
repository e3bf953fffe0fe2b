#include "gateway/rate_limit.h"

#include <algorithm>
#include <charconv>
#include <cmath>

#include "infra/ids.h"
#include "infra/strings.h"

namespace cityhub::gateway {

using infra::StrCat;

std::string RetryAfterSeconds(const Decision& d) {
  return std::to_string((d.retry_after.count() + 999) / 1000);
}

namespace {

// GCRA for one or two buckets at once, reserving up to ARGV[2] units: as many as every bucket
// allows right now, charged to all of them together. KEYS: buckets. ARGV: now ms, units wanted,
// then per bucket: emission interval ms, burst tolerance ms. Returns {units granted, 0} or
// {0, ms to wait}.
const infra::redis::Script& GcraScript() {
  static const infra::redis::Script script(R"lua(
local now = tonumber(ARGV[1])
local grant = tonumber(ARGV[2])
local wait = 0
local tats = {}
for i = 1, #KEYS do
  local interval = tonumber(ARGV[1 + 2 * i])
  local tolerance = tonumber(ARGV[2 + 2 * i])
  local tat = tonumber(redis.call('GET', KEYS[i]) or now)
  if tat < now then tat = now end
  tats[i] = tat
  local room = now + tolerance - tat
  if room < 0 then
    wait = math.max(wait, -room)
    grant = 0
  else
    grant = math.min(grant, math.floor(room / interval + 1e-9) + 1)
  end
end
if grant < 1 then return {0, math.ceil(wait)} end
for i = 1, #KEYS do
  local tat = tats[i] + grant * tonumber(ARGV[1 + 2 * i])
  redis.call('SET', KEYS[i], string.format('%.0f', tat), 'PX', math.ceil(tat - now) + 1000)
end
return {grant, 0}
)lua");
  return script;
}

// Takes one unit back from a bucket: KEYS[1]; ARGV: now ms, emission interval ms.
const infra::redis::Script& RefundScript() {
  static const infra::redis::Script script(R"lua(
local tat = tonumber(redis.call('GET', KEYS[1]))
if not tat then return 0 end
local now = tonumber(ARGV[1])
tat = tat - tonumber(ARGV[2])
if tat <= now then
  redis.call('DEL', KEYS[1])
else
  redis.call('SET', KEYS[1], string.format('%.0f', tat), 'PX', math.ceil(tat - now) + 1000)
end
return 1
)lua");
  return script;
}

double Interval(const Budget& b) {
  return static_cast<double>(b.period.count()) / std::max(1, b.count);
}
double Tolerance(const Budget& b) { return Interval(b) * std::max(0, b.burst - 1); }

std::string_view ClassName(cityhub::api::RateClass c) {
  switch (c) {
    case cityhub::api::RATE_CLASS_SIGN_IN:
      return "sign_in";
    case cityhub::api::RATE_CLASS_CREATE:
      return "create";
    case cityhub::api::RATE_CLASS_WRITE:
      return "write";
    default:
      return "read";
  }
}

}  // namespace

absl::StatusOr<Budget> ParseBudget(std::string_view text) {
  Budget b;
  std::string_view rest = text;
  const size_t comma = rest.find(',');
  std::string_view rate = rest.substr(0, comma);
  const size_t slash = rate.find('/');
  if (slash == std::string_view::npos)
    return absl::InvalidArgumentError("expected N/s, N/min or N/h");
  auto [p, ec] = std::from_chars(rate.data(), rate.data() + slash, b.count);
  if (ec != std::errc() || p != rate.data() + slash || b.count < 1) {
    return absl::InvalidArgumentError("the count must be a positive number");
  }
  const std::string_view unit = rate.substr(slash + 1);
  if (unit == "s")
    b.period = std::chrono::seconds(1);
  else if (unit == "min")
    b.period = std::chrono::minutes(1);
  else if (unit == "h")
    b.period = std::chrono::hours(1);
  else
    return absl::InvalidArgumentError("the unit must be s, min or h");
  b.burst = b.count;
  if (comma != std::string_view::npos) {
    std::string_view burst = rest.substr(comma + 1);
    if (!burst.starts_with("burst="))
      return absl::InvalidArgumentError("expected burst=N after the comma");
    burst.remove_prefix(6);
    auto [q, ec2] = std::from_chars(burst.data(), burst.data() + burst.size(), b.burst);
    if (ec2 != std::errc() || q != burst.data() + burst.size() || b.burst < 1) {
      return absl::InvalidArgumentError("burst must be a positive number");
    }
  }
  return b;
}

RateLimiter::RateLimiter(infra::redis::Client& redis, RateLimits limits, const infra::Clock& clock,
                         infra::MetricsRegistry& metrics)
    : redis_(redis),
      limits_(limits),
      clock_(clock),
      limited_(metrics.AddCounter("gateway_rate_limited_total", "Requests refused by rate limits")
                   .Get()),
      fallback_(metrics
                    .AddCounter("gateway_rate_limit_fallback_total",
                                "Rate-limit checks decided without Redis")
                    .Get()),
      refused_from_memory_(metrics
                               .AddCounter("gateway_rate_limit_refused_from_memory_total",
                                           "Refusals decided from a refusal still running, "
                                           "without asking Redis")
                               .Get()),
      refunds_({"rate_limit_refunds", 1, 1024}, metrics) {}

RateLimiter::~RateLimiter() { StopRefunds(); }

const Budget& RateLimiter::BudgetFor(cityhub::api::RateClass rate_class, bool signed_in) const {
  switch (rate_class) {
    case cityhub::api::RATE_CLASS_SIGN_IN:
      return signed_in ? limits_.sign_in : limits_.anonymous_sign_in;
    case cityhub::api::RATE_CLASS_CREATE:
      return signed_in ? limits_.create : limits_.anonymous_create;
    case cityhub::api::RATE_CLASS_WRITE:
      return signed_in ? limits_.write : limits_.anonymous_write;
    default:
      return signed_in ? limits_.read : limits_.anonymous_read;
  }
}

std::string RateLimiter::Key(std::string_view class_name, std::string_view client_address,
                             std::string_view account_id) const {
  if (!account_id.empty()) return StrCat("gateway:rl:{", class_name, "}:u:", account_id);
  // Addresses are hashed: the keys hold no personal data.
  return StrCat("gateway:rl:{", class_name,
                "}:a:", infra::HexEncode(infra::Sha256(client_address)).substr(0, 32));
}

Decision RateLimiter::Check(cityhub::api::RateClass rate_class, std::string_view client_address,
                            std::string_view account_id) {
  const Budget& budget = BudgetFor(rate_class, !account_id.empty());
  const bool read = rate_class == cityhub::api::RATE_CLASS_READ ||
                    rate_class == cityhub::api::RATE_CLASS_UNSPECIFIED;
  const std::string key = Key(ClassName(rate_class), client_address, account_id);
  // Reads spend a lease this replica took from Redis before, while it lasts.
  const auto steady_now = std::chrono::steady_clock::now();
  // A key's lease grows while it keeps using its leases up (1, 2, 4, … up to the cap), so only
  // busy clients hold leases and what a lease holds back stays within twice what is used.
  int want = 1;
  if (read) {
    std::lock_guard lock(mu_);
    auto it = leases_.find(key);
    if (it != leases_.end() && steady_now < it->second.expires) {
      if (it->second.units > 0) {
        --it->second.units;
        return {};
      }
      want = it->second.size * 2;
    }
  }
  // At most an eighth of the burst, so that a replica's lease cannot starve the others sharing
  // the bucket; small budgets ask every time.
  want = std::clamp(std::min(want, std::min(limits_.read_lease, budget.burst / 8)), 1, 1 << 20);
  int64_t granted = 0;
  const Decision d = ChargeOrRecall(key, budget, want, read, &granted);
  if (granted >= 1 && read && limits_.read_lease > 1) {
    std::lock_guard lock(mu_);
    if (leases_.size() > 100'000) leases_.clear();  // bounded memory under many clients
    // Another request for this key may have taken a lease meanwhile: keep its units too
    // (Redis charged for them).
    Lease& lease = leases_[key];
    lease.units = (steady_now < lease.expires ? lease.units : 0) + static_cast<int>(granted - 1);
    lease.expires = steady_now + limits_.lease_lifetime;
    lease.size = want;
  }
  return d;
}

Decision RateLimiter::CheckPartner(std::string_view api_key_id) {
  return ChargeOrRecall(StrCat("gateway:rl:{partner}:k:", api_key_id), limits_.partner, 1, false,
                        nullptr);
}

std::optional<Decision> RateLimiter::RefusedBefore(const std::string& key, int64_t now_ms) {
  std::lock_guard lock(mu_);
  auto it = refused_until_.find(key);
  if (it == refused_until_.end()) return std::nullopt;
  if (it->second <= now_ms) {
    refused_until_.erase(it);
    return std::nullopt;
  }
  return Decision{false, std::chrono::milliseconds(it->second - now_ms)};
}

Decision RateLimiter::ChargeOrRecall(const std::string& key, const Budget& budget, int want,
                                     bool read, int64_t* granted) {
  const int64_t now = infra::UnixMillis(clock_.Now());
  if (auto refused = RefusedBefore(key, now)) {
    refused_from_memory_.Inc();
    limited_.Inc();
    return *refused;
  }
  const Decision d = Charge({key}, budget, want, read, granted);
  if (d.allowed) return d;
  limited_.Inc();
  if (d.retry_after.count() > 0) {
    std::lock_guard lock(mu_);
    if (refused_until_.size() >= kMaxRefused) {
      std::erase_if(refused_until_, [now](const auto& entry) { return entry.second <= now; });
    }
    if (refused_until_.size() < kMaxRefused) refused_until_[key] = now + d.retry_after.count();
  }
  return d;
}

void RateLimiter::CheckPartnerOffThread(std::string api_key_id,
                                        std::function<void(Decision)> then) {
  auto shared_then = std::make_shared<std::function<void(Decision)>>(std::move(then));
  if (!refunds_.TryPost([this, api_key_id = std::move(api_key_id), shared_then] {
        (*shared_then)(CheckPartner(api_key_id));
      })) {
    limited_.Inc();
    (*shared_then)(Decision{false, std::chrono::seconds(1)});
  }
}

void RateLimiter::RefundCreate(std::string client_address, std::string account_id,
                               std::function<void()> then) {
  if (!refunds_.TryPost([this, client_address, account_id, then] {
        Refund(client_address, account_id);
        then();
      })) {
    then();
  }
}

void RateLimiter::Refund(const std::string& client_address, const std::string& account_id) {
  const bool signed_in = !account_id.empty();
  // The write unit first: without room there, the create unit stays spent.
  if (!Charge({Key("write", client_address, account_id)},
              BudgetFor(cityhub::api::RATE_CLASS_WRITE, signed_in), 1, false, nullptr)
           .allowed)
    return;
  const std::string create_key = Key("create", client_address, account_id);
  const double interval = Interval(BudgetFor(cityhub::api::RATE_CLASS_CREATE, signed_in));
  const int64_t now = infra::UnixMillis(clock_.Now());
  const bool refunded =
      redis_.Eval(RefundScript(), {create_key}, {std::to_string(now), std::to_string(interval)})
          .ok();
  std::lock_guard lock(mu_);
  refused_until_.erase(create_key);  // a unit came back: ask again
  if (refunded) return;
  fallback_.Inc();
  if (auto it = local_tat_.find(create_key); it != local_tat_.end()) it->second -= interval;
}

Decision RateLimiter::Charge(const infra::redis::Args& keys, const Budget& budget, int want,
                             bool read, int64_t* granted) {
  const int64_t now = infra::UnixMillis(clock_.Now());
  infra::redis::Args args = {std::to_string(now), std::to_string(want)};
  for (size_t i = 0; i < keys.size(); ++i) {
    args.push_back(std::to_string(Interval(budget)));
    args.push_back(std::to_string(Tolerance(budget)));
  }
  auto reply = redis_.Eval(GcraScript(), keys, args);
  Decision d;
  if (reply.ok() && reply->is_array() && reply->elements().size() == 2) {
    const int64_t units = reply->elements()[0].integer();
    if (granted != nullptr) *granted = units;
    d.allowed = units >= 1;
    d.retry_after = std::chrono::milliseconds(reply->elements()[1].integer());
  } else {
    fallback_.Inc();
    if (read) return d;  // fail open
    d = Local(keys.back(), budget, now);
    if (d.allowed && keys.size() > 1) d = Local(keys.front(), budget, now);
  }
  return d;
}

Decision RateLimiter::Local(std::string_view key, const Budget& budget, int64_t now_ms) {
  std::lock_guard lock(mu_);
  if (local_tat_.size() > 100'000) local_tat_.clear();  // bounded memory during long outages
  double& tat = local_tat_[std::string(key)];
  const double now = static_cast<double>(now_ms);
  if (tat < now) tat = now;
  const double allow_at = tat - Tolerance(budget);
  if (now < allow_at)
    return {false, std::chrono::milliseconds(static_cast<int64_t>(std::ceil(allow_at - now)))};
  tat += Interval(budget);
  return {true, std::chrono::milliseconds(0)};
}

}  // namespace cityhub::gateway
