#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "cityhub/storage/requests.pb.h"
#include "infra/redis/client.h"

// Response templates of the staff, per department, in the requests service's keyspace (keys.h):
// the template itself, its department's index (which holds the limit) and its author's index
// (privacy export and erasure), written together in one script.
namespace cityhub::requests {

using cityhub::storage::requests::StoredResponseTemplate;

class ResponseTemplateStore final {
 public:
  static constexpr int kMaxPerDepartment = 200;

  explicit ResponseTemplateStore(infra::redis::Client& redis);

  // FAILED_PRECONDITION when the department holds kMaxPerDepartment already.
  absl::Status Create(const StoredResponseTemplate& t);
  // NOT_FOUND when absent.
  absl::StatusOr<StoredResponseTemplate> Get(std::string_view id);
  // Replaces `before` with `after` (ABORTED when it changed meanwhile); a new department must
  // have room (FAILED_PRECONDITION).
  absl::Status Update(const StoredResponseTemplate& before, const StoredResponseTemplate& after);
  // NOT_FOUND when absent or changed meanwhile.
  absl::Status Delete(const StoredResponseTemplate& t);
  // Every template of `departments`, ordered by id (creation).
  absl::StatusOr<std::vector<StoredResponseTemplate>> OfDepartments(
      const std::vector<std::string>& departments);
  // The departments that have templates.
  absl::StatusOr<std::vector<std::string>> Departments();
  // The templates `account` wrote (privacy export).
  absl::StatusOr<std::vector<StoredResponseTemplate>> By(std::string_view account);
  // Drops the author reference of every template `account` wrote (the account was deleted);
  // the templates stay with their department. Idempotent.
  absl::Status ForgetAuthor(std::string_view account);

 private:
  absl::StatusOr<std::vector<StoredResponseTemplate>> GetMany(const std::vector<std::string>& ids);

  infra::redis::Client& redis_;
};

}  // namespace cityhub::requests
