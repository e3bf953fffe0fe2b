#include "gateway/rate_limit.h"

#include <algorithm>
#include <charconv>
#include <cmath>

#include "infra/ids.h"
#include "infra/redis/async_script.h"
#include "infra/strings.h"

namespace cityhub::gateway {

using infra::StrCat;

std::string RetryAfterSeconds(const Decision& d) {
  return std::to_string((d.retry_after.count() + 999) / 1000);
}

namespace {

// GCRA for one or two buckets at once, reserving up to ARGV[2] units and at least ARGV[3]: as
// many as every bucket allows right now, charged to all of them together. KEYS: buckets. ARGV:
// now ms, units wanted, units needed, then per bucket: emission interval ms, burst tolerance ms.
// Returns {units granted, 0} or {0, ms to wait until the needed units fit}.
const infra::redis::Script& GcraScript() {
  static const infra::redis::Script script(R"lua(
local now = tonumber(ARGV[1])
local grant = tonumber(ARGV[2])
local least = tonumber(ARGV[3])
local wait = 0
local tats = {}
for i = 1, #KEYS do
  local interval = tonumber(ARGV[2 + 2 * i])
  local tolerance = tonumber(ARGV[3 + 2 * i])
  local tat = tonumber(redis.call('GET', KEYS[i]) or now)
  if tat < now then tat = now end
  tats[i] = tat
  local room = now + tolerance - tat
  local need = (least - 1) * interval
  if room < need then
    wait = math.max(wait, need - room)
    grant = 0
  else
    grant = math.min(grant, math.floor(room / interval + 1e-9) + 1)
  end
end
if grant < least then return {0, math.ceil(wait)} end
for i = 1, #KEYS do
  local tat = tats[i] + grant * tonumber(ARGV[2 + 2 * i])
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
    case cityhub::api::RATE_CLASS_UPLOAD:
      return "upload";
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

RateLimiter::RateLimiter(infra::redis::AsyncClient& redis, RateLimits limits,
                         const infra::Clock& clock, infra::MetricsRegistry& metrics)
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
                               .Get()) {}

RateLimiter::~RateLimiter() { Drain(); }

const Budget& RateLimiter::BudgetFor(cityhub::api::RateClass rate_class, bool signed_in) const {
  switch (rate_class) {
    case cityhub::api::RATE_CLASS_SIGN_IN:
      return signed_in ? limits_.sign_in : limits_.anonymous_sign_in;
    case cityhub::api::RATE_CLASS_CREATE:
      return signed_in ? limits_.create : limits_.anonymous_create;
    case cityhub::api::RATE_CLASS_WRITE:
      return signed_in ? limits_.write : limits_.anonymous_write;
    case cityhub::api::RATE_CLASS_UPLOAD:
      return signed_in ? limits_.create : limits_.anonymous_upload;
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

std::variant<Decision, RateLimiter::Pending> RateLimiter::Begin(cityhub::api::RateClass rate_class,
                                                                std::string_view client_address,
                                                                std::string_view account_id,
                                                                int units) {
  Pending p;
  p.budget = &BudgetFor(rate_class, !account_id.empty());
  p.read = rate_class == cityhub::api::RATE_CLASS_READ ||
           rate_class == cityhub::api::RATE_CLASS_UNSPECIFIED;
  p.key = Key(ClassName(rate_class), client_address, account_id);
  p.least = std::max(1, units);
  p.asked = std::chrono::steady_clock::now();
  // Reads spend a lease this replica took from Redis before, while it lasts. A key's lease
  // grows while it keeps using its leases up (1, 2, 4, … up to the cap), so only busy clients
  // hold leases and what a lease holds back stays within twice what is used.
  int want = 1;
  if (p.read && p.least == 1) {
    std::lock_guard lock(mu_);
    auto it = leases_.find(p.key);
    if (it != leases_.end() && p.asked < it->second.expires) {
      if (it->second.units > 0) {
        --it->second.units;
        return Decision{};
      }
      want = it->second.size * 2;
    }
  }
  if (auto refused = RefusedBefore(p.key)) return *refused;
  // At most an eighth of the burst, so that a replica's lease cannot starve the others sharing
  // the bucket; small budgets ask every time.
  p.want = std::max(
      p.least,
      std::clamp(std::min(want, std::min(limits_.read_lease, p.budget->burst / 8)), 1, 1 << 20));
  return p;
}

void RateLimiter::Ask(Pending p, Then then) {
  const std::string key = p.key;
  const Budget& budget = *p.budget;
  const int want = p.want, least = p.least;
  const bool read = p.read;
  Charge(key, budget, want, least, read,
         [this, p = std::move(p), then = std::move(then)](Decision d, int64_t granted) {
           if (granted >= 1 && p.read && p.least == 1 && limits_.read_lease > 1) {
             std::lock_guard lock(mu_);
             if (leases_.size() > 100'000) leases_.clear();  // bounded under many clients
             // Another request for this key may have taken a lease meanwhile: keep its units
             // too (Redis charged for them).
             Lease& lease = leases_[p.key];
             lease.units =
                 (p.asked < lease.expires ? lease.units : 0) + static_cast<int>(granted - 1);
             lease.expires = p.asked + limits_.lease_lifetime;
             lease.size = p.want;
           } else if (!d.allowed) {
             Remember(p.key, d);
           }
           then(d);
         });
}

void RateLimiter::Check(cityhub::api::RateClass rate_class, std::string_view client_address,
                        std::string_view account_id, Then then, int units) {
  auto begun = Begin(rate_class, client_address, account_id, units);
  if (auto* decided = std::get_if<Decision>(&begun)) return then(*decided);
  Ask(std::get<Pending>(std::move(begun)), std::move(then));
}

void RateLimiter::CheckPartner(std::string_view api_key_id, Then then) {
  Pending p;
  p.key = StrCat("gateway:rl:{partner}:k:", api_key_id);
  p.budget = &limits_.partner;
  if (auto refused = RefusedBefore(p.key)) return then(*refused);
  Ask(std::move(p), std::move(then));
}

std::optional<Decision> RateLimiter::RefusedBefore(const std::string& key) {
  const int64_t now_ms = infra::UnixMillis(clock_.Now());
  std::lock_guard lock(mu_);
  auto it = refused_until_.find(key);
  if (it == refused_until_.end()) return std::nullopt;
  if (it->second <= now_ms) {
    refused_until_.erase(it);
    return std::nullopt;
  }
  refused_from_memory_.Inc();
  limited_.Inc();
  return Decision{false, std::chrono::milliseconds(it->second - now_ms)};
}

void RateLimiter::Remember(const std::string& key, const Decision& d) {
  limited_.Inc();
  if (d.retry_after.count() <= 0) return;
  const int64_t now = infra::UnixMillis(clock_.Now());
  std::lock_guard lock(mu_);
  if (refused_until_.size() >= kMaxRefused) {
    std::erase_if(refused_until_, [now](const auto& entry) { return entry.second <= now; });
  }
  if (refused_until_.size() < kMaxRefused) refused_until_[key] = now + d.retry_after.count();
}

void RateLimiter::RefundCreate(std::string client_address, std::string account_id,
                               std::function<void()> then) {
  const bool signed_in = !account_id.empty();
  // The write unit first: without room there, the create unit stays spent.
  Charge(Key("write", client_address, account_id),
         BudgetFor(cityhub::api::RATE_CLASS_WRITE, signed_in), 1, 1, false,
         [this, client_address, account_id, signed_in, then = std::move(then)](Decision d,
                                                                               int64_t) mutable {
           if (!d.allowed || !Enter()) return then();
           const std::string create_key = Key("create", client_address, account_id);
           const double interval = Interval(BudgetFor(cityhub::api::RATE_CLASS_CREATE, signed_in));
           const int64_t now = infra::UnixMillis(clock_.Now());
           infra::redis::EvalAsync(
               redis_, RefundScript(), {create_key},
               {std::to_string(now), std::to_string(interval)},
               [this, create_key, interval,
                then = std::move(then)](absl::StatusOr<infra::redis::Reply> refunded) {
                 {
                   std::lock_guard lock(mu_);
                   refused_until_.erase(create_key);  // a unit came back: ask again
                   if (!refunded.ok()) {
                     fallback_.Inc();
                     if (auto it = local_tat_.find(create_key); it != local_tat_.end()) {
                       it->second -= interval;
                     }
                   }
                 }
                 then();
                 Leave();
               });
         });
}

void RateLimiter::Charge(std::string key, const Budget& budget, int want, int least, bool read,
                         std::function<void(Decision, int64_t)> done) {
  if (!Enter()) return done(Decision{false, std::chrono::seconds(1)}, 0);
  const int64_t now = infra::UnixMillis(clock_.Now());
  infra::redis::Args args = {std::to_string(now), std::to_string(want), std::to_string(least),
                             std::to_string(Interval(budget)), std::to_string(Tolerance(budget))};
  infra::redis::EvalAsync(redis_, GcraScript(), {key}, args,
                          [this, &budget, now, least, read, key,
                           done = std::move(done)](absl::StatusOr<infra::redis::Reply> reply) {
                            Decision d;
                            int64_t granted = 0;
                            if (reply.ok() && reply->is_array() && reply->elements().size() == 2) {
                              granted = reply->elements()[0].integer();
                              d.allowed = granted >= least;
                              d.retry_after =
                                  std::chrono::milliseconds(reply->elements()[1].integer());
                            } else {
                              fallback_.Inc();
                              // Fail open for reads; the rest from this replica's memory.
                              if (!read) d = Local(key, budget, now, least);
                            }
                            done(d, granted);
                            Leave();
                          });
}

Decision RateLimiter::Local(std::string_view key, const Budget& budget, int64_t now_ms, int units) {
  std::lock_guard lock(mu_);
  if (local_tat_.size() > 100'000) local_tat_.clear();  // bounded memory during long outages
  double& tat = local_tat_[std::string(key)];
  const double now = static_cast<double>(now_ms);
  if (tat < now) tat = now;
  const double allow_at = tat + (units - 1) * Interval(budget) - Tolerance(budget);
  if (now < allow_at)
    return {false, std::chrono::milliseconds(static_cast<int64_t>(std::ceil(allow_at - now)))};
  tat += units * Interval(budget);
  return {true, std::chrono::milliseconds(0)};
}

bool RateLimiter::Enter() {
  std::lock_guard lock(flight_mu_);
  if (draining_) return false;
  ++in_flight_;
  return true;
}

void RateLimiter::Leave() {
  std::lock_guard lock(flight_mu_);
  if (--in_flight_ == 0) flight_cv_.notify_all();
}

void RateLimiter::Drain() {
  std::unique_lock lock(flight_mu_);
  draining_ = true;
  // Each call ends within the Redis client's command timeout.
  flight_cv_.wait(lock, [this] { return in_flight_ == 0; });
}

}  // namespace cityhub::gateway
