#include "services/requests/response_template_store.h"

#include <algorithm>

#include "infra/redis/transaction.h"
#include "infra/status.h"
#include "infra/strings.h"
#include "services/requests/keys.h"

namespace cityhub::requests {

using infra::redis::Args;
using infra::redis::Reply;
using infra::redis::Transaction;

namespace {

std::string FullMessage() {
  return infra::StrCat("FAILED_PRECONDITION department: holds ",
                       ResponseTemplateStore::kMaxPerDepartment,
                       " response templates, the most it may; delete one first");
}

}  // namespace

ResponseTemplateStore::ResponseTemplateStore(infra::redis::Client& redis) : redis_(redis) {}

absl::Status ResponseTemplateStore::Create(const StoredResponseTemplate& t) {
  const std::string index = keys::ResponseTemplatesOf(t.department());
  Transaction tx;
  tx.RequireLess({"ZCARD", index}, kMaxPerDepartment, FullMessage())
      .RequireNil({"GET", keys::ResponseTemplate(t.id())}, "ALREADY_EXISTS template exists")
      .Then({"SET", keys::ResponseTemplate(t.id()), t.SerializeAsString()})
      .Then({"ZADD", index, std::to_string(t.created_ms()), t.id()})
      .Then({"SADD", keys::ResponseTemplateDepartments(), t.department()});
  if (!t.author_account_id().empty())
    tx.Then({"SADD", keys::ResponseTemplatesBy(t.author_account_id()), t.id()});
  return tx.Run(redis_).status();
}

absl::StatusOr<StoredResponseTemplate> ResponseTemplateStore::Get(std::string_view id) {
  auto reply = redis_.Command({"GET", keys::ResponseTemplate(id)});
  if (!reply.ok()) return reply.status();
  if (reply->is_nil()) return absl::NotFoundError("template_id: no such response template");
  StoredResponseTemplate t;
  if (!t.ParseFromString(reply->str())) return absl::DataLossError("stored template damaged");
  return t;
}

absl::Status ResponseTemplateStore::Update(const StoredResponseTemplate& before,
                                           const StoredResponseTemplate& after) {
  const std::string key = keys::ResponseTemplate(after.id());
  Transaction tx;
  tx.RequireEqual({"GET", key}, before.SerializeAsString(),
                  "ABORTED the template changed meanwhile");
  if (before.department() != after.department()) {
    const std::string index = keys::ResponseTemplatesOf(after.department());
    tx.RequireLess({"ZCARD", index}, kMaxPerDepartment, FullMessage())
        .Then({"ZREM", keys::ResponseTemplatesOf(before.department()), after.id()})
        .Then({"ZADD", index, std::to_string(after.created_ms()), after.id()})
        .Then({"SADD", keys::ResponseTemplateDepartments(), after.department()});
  }
  tx.Then({"SET", key, after.SerializeAsString()});
  return tx.Run(redis_).status();
}

absl::Status ResponseTemplateStore::Delete(const StoredResponseTemplate& t) {
  const std::string key = keys::ResponseTemplate(t.id());
  Transaction tx;
  tx.RequireEqual({"GET", key}, t.SerializeAsString(), "ABORTED the template changed meanwhile")
      .Then({"DEL", key})
      .Then({"ZREM", keys::ResponseTemplatesOf(t.department()), t.id()});
  if (!t.author_account_id().empty())
    tx.Then({"SREM", keys::ResponseTemplatesBy(t.author_account_id()), t.id()});
  return tx.Run(redis_).status();
}

absl::StatusOr<std::vector<StoredResponseTemplate>> ResponseTemplateStore::GetMany(
    const std::vector<std::string>& ids) {
  std::vector<StoredResponseTemplate> out;
  if (ids.empty()) return out;
  Args mget = {"MGET"};
  for (const auto& id : ids) mget.push_back(keys::ResponseTemplate(id));
  auto reply = redis_.Command(mget);
  if (!reply.ok()) return reply.status();
  for (const Reply& r : reply->elements()) {
    StoredResponseTemplate t;
    if (!r.is_nil() && t.ParseFromString(r.str())) out.push_back(std::move(t));
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.id() < b.id(); });
  return out;
}

absl::StatusOr<std::vector<StoredResponseTemplate>> ResponseTemplateStore::OfDepartments(
    const std::vector<std::string>& departments) {
  std::vector<Args> commands;
  for (const auto& d : departments)
    commands.push_back({"ZRANGE", keys::ResponseTemplatesOf(d), "0", "-1"});
  if (commands.empty()) return std::vector<StoredResponseTemplate>();
  auto replies = redis_.Pipeline(commands);
  if (!replies.ok()) return replies.status();
  std::vector<std::string> ids;
  for (const Reply& r : *replies) {
    for (const Reply& id : r.elements()) ids.push_back(id.str());
  }
  return GetMany(ids);
}

absl::StatusOr<std::vector<std::string>> ResponseTemplateStore::Departments() {
  auto reply = redis_.Command({"SMEMBERS", keys::ResponseTemplateDepartments()});
  if (!reply.ok()) return reply.status();
  std::vector<std::string> out;
  for (const Reply& r : reply->elements()) out.push_back(r.str());
  std::sort(out.begin(), out.end());
  return out;
}

absl::StatusOr<std::vector<StoredResponseTemplate>> ResponseTemplateStore::By(
    std::string_view account) {
  auto reply = redis_.Command({"SMEMBERS", keys::ResponseTemplatesBy(account)});
  if (!reply.ok()) return reply.status();
  std::vector<std::string> ids;
  for (const Reply& r : reply->elements()) ids.push_back(r.str());
  ASSIGN_OR_RETURN(auto found, GetMany(ids));
  std::erase_if(found, [&](const auto& t) { return t.author_account_id() != account; });
  return found;
}

absl::Status ResponseTemplateStore::ForgetAuthor(std::string_view account) {
  ASSIGN_OR_RETURN(auto mine, By(account));
  for (const auto& t : mine) {
    for (int attempt = 0;; ++attempt) {
      auto current = Get(t.id());
      if (!current.ok()) {
        if (current.status().code() == absl::StatusCode::kNotFound) break;
        return current.status();
      }
      if (current->author_account_id() != account) break;
      StoredResponseTemplate after = *current;
      after.clear_author_account_id();
      const absl::Status s = Update(*current, after);
      if (s.ok()) break;
      if (s.code() != absl::StatusCode::kAborted || attempt >= 5) return s;
    }
  }
  return redis_.Command({"DEL", keys::ResponseTemplatesBy(account)}).status();
}

}  // namespace cityhub::requests
