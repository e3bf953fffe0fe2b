#pragma once

// For tests: the rate limiter's decisions, waited for.
#include <future>
#include <string_view>

#include "gateway/rate_limit.h"

namespace cityhub::gateway {

inline Decision CheckNow(RateLimiter& limiter, cityhub::api::RateClass rate_class,
                         std::string_view client_address, std::string_view account_id,
                         int units = 1) {
  std::promise<Decision> decided;
  limiter.Check(
      rate_class, client_address, account_id, [&](Decision d) { decided.set_value(d); }, units);
  return decided.get_future().get();
}

inline Decision CheckPartnerNow(RateLimiter& limiter, std::string_view api_key_id) {
  std::promise<Decision> decided;
  limiter.CheckPartner(api_key_id, [&](Decision d) { decided.set_value(d); });
  return decided.get_future().get();
}

}  // namespace cityhub::gateway
