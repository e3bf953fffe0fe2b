// The short-lived cache of public answers to anonymous reads.
#include "gateway/gateway.h"

namespace cityhub::gateway {

std::optional<HttpResponse> Gateway::CacheGet(const std::string& key) {
  std::lock_guard lock(cache_mu_);
  auto it = cache_.find(key);
  if (it == cache_.end()) return std::nullopt;
  if (std::chrono::steady_clock::now() >= it->second.expires) {
    cache_bytes_ -= it->second.response.body.size();
    cache_.erase(it);
    return std::nullopt;
  }
  return it->second.response;
}

void Gateway::CachePut(const std::string& key, const HttpResponse& response,
                       std::chrono::milliseconds ttl) {
  if (ttl.count() <= 0 || response.body.size() > options_.cache_max_entry_bytes) return;
  std::lock_guard lock(cache_mu_);
  if (cache_bytes_ + response.body.size() > options_.cache_max_bytes) {
    cache_.clear();  // simple and bounded; the cache refills within a TTL
    cache_bytes_ = 0;
  }
  if (auto old = cache_.find(key); old != cache_.end()) {
    cache_bytes_ -= old->second.response.body.size();
    cache_.erase(old);
  }
  cache_.emplace(key, CacheEntry{response, std::chrono::steady_clock::now() + ttl});
  cache_bytes_ += response.body.size();
}

}  // namespace cityhub::gateway
