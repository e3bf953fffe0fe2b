#pragma once

#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace cityhub::gateway {

// Whom rate limits, sign-in throttles and connection caps count as one client: an IPv4 address
// as it is, an IPv6 address by its /64 ("2001:db8:1:2::/64"; one subscriber gets a whole /64, so
// single IPv6 addresses would give an attacker 2^64 identities), an IPv4-mapped IPv6 address as
// IPv4. Anything that is not an address is passed on unchanged.
std::string ClientIdentity(std::string_view address);

// Open connections per client (ClientIdentity), capped: one client cannot hold the connections
// everyone shares. Thread-safe; memory is one entry per client with a connection open.
class ConnectionsPerClient final {
 public:
  explicit ConnectionsPerClient(int max_per_client) : max_(max_per_client) {}

  // Counts one more connection of `client`; false (nothing counted) when it holds the maximum.
  bool TryAdd(const std::string& client);
  // Ends one counted connection of `client`.
  void Remove(const std::string& client);

 private:
  const int max_;
  std::mutex mu_;
  std::unordered_map<std::string, int> open_;
};

}  // namespace cityhub::gateway
