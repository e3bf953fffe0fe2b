#pragma once

#include <memory>
#include <string>
#include <vector>

#include <grpcpp/channel.h>

#include "absl/status/statusor.h"

namespace cityhub::requests {

// What the accounts service says about an account (its roles and departments now, not as an
// old access token says).
struct StaffMember {
  std::string account_id;
  std::string display_name;
  std::vector<std::string> roles;
  std::vector<std::string> departments;

  // An operator of `department` (admins are not assignees unless they are operators of it).
  bool OperatesFor(const std::string& department) const;
};

// Asks the accounts service (its internal GetContact) who an account is. The call blocks (a
// deadline of 3 s): only from the service's executor, never from a callback thread.
class StaffDirectory final {
 public:
  // `accounts` null: every lookup is UNAVAILABLE (tools and tests that do not assign).
  StaffDirectory(std::shared_ptr<grpc::Channel> accounts, std::string internal_token);
  ~StaffDirectory();

  // NOT_FOUND for an unknown (or deleted) account; UNAVAILABLE when accounts does not answer.
  absl::StatusOr<StaffMember> Get(const std::string& account_id) const;

 private:
  struct Stub;
  std::unique_ptr<Stub> stub_;
  std::string internal_token_;
};

}  // namespace cityhub::requests
