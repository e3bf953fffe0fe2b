#include "gateway/connection_limits.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>

#include "infra/strings.h"

namespace cityhub::gateway {

std::string ClientIdentity(std::string_view address) {
  if (address.find(':') == std::string_view::npos) return std::string(address);
  std::string text(address);
  if (text.size() > 2 && text.front() == '[' && text.back() == ']')
    text = text.substr(1, text.size() - 2);
  in6_addr ip{};
  if (inet_pton(AF_INET6, text.c_str(), &ip) != 1) return std::string(address);
  static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  char out[INET6_ADDRSTRLEN] = {};
  if (std::memcmp(ip.s6_addr, kMapped, sizeof(kMapped)) == 0) {
    in_addr v4{};
    std::memcpy(&v4, ip.s6_addr + 12, 4);
    return inet_ntop(AF_INET, &v4, out, sizeof(out)) != nullptr ? std::string(out)
                                                                : std::string(address);
  }
  std::memset(ip.s6_addr + 8, 0, 8);
  if (inet_ntop(AF_INET6, &ip, out, sizeof(out)) == nullptr) return std::string(address);
  return infra::StrCat(out, "/64");
}

bool ConnectionsPerClient::TryAdd(const std::string& client) {
  std::lock_guard lock(mu_);
  int& open = open_[client];
  if (open >= max_) {
    if (open == 0) open_.erase(client);
    return false;
  }
  ++open;
  return true;
}

void ConnectionsPerClient::Remove(const std::string& client) {
  std::lock_guard lock(mu_);
  auto it = open_.find(client);
  if (it == open_.end()) return;
  if (--it->second <= 0) open_.erase(it);
}

}  // namespace cityhub::gateway
