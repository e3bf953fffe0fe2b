#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "absl/status/statusor.h"
#include "infra/clock.h"

namespace grpc {
class Channel;
}

namespace cityhub::notifications {

struct ContactInfo {
  std::string email;
  bool email_verified = false;
  std::string display_name;
  std::string language = "de";
};

// How to reach an account holder, asked from the accounts service (GetContact, an internal
// method) and kept briefly, so that a burst of events for one resident costs one call.
class Contacts final {
 public:
  Contacts(std::shared_ptr<grpc::Channel> accounts, std::string internal_token,
           const infra::Clock& clock, std::chrono::milliseconds ttl = std::chrono::seconds(60));
  ~Contacts();

  // NOT_FOUND for accounts that no longer exist; UNAVAILABLE when the accounts service is.
  absl::StatusOr<ContactInfo> Get(const std::string& account_id);
  void Forget(const std::string& account_id);

  static constexpr std::chrono::milliseconds kUnverifiedTtl{2'000};

 private:
  struct Entry {
    absl::StatusOr<ContactInfo> contact;
    std::chrono::system_clock::time_point expires;
  };
  struct Stub;
  std::unique_ptr<Stub> stub_;
  std::string internal_token_;
  const infra::Clock& clock_;
  std::chrono::milliseconds ttl_;
  std::mutex mu_;
  std::unordered_map<std::string, Entry> cache_;
};

}  // namespace cityhub::notifications
