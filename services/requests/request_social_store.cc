// Follows, comments and the erasure of an account in the requests store.
#include <algorithm>

#include "infra/auth/deleted_accounts.h"
#include "infra/events/events.h"
#include "infra/redis/transaction.h"
#include "infra/status.h"
#include "infra/strings.h"
#include "services/requests/keys.h"
#include "services/requests/request_store.h"

namespace cityhub::requests {

using infra::redis::Args;
using infra::redis::Reply;
// A follow that changes nothing (already in the wanted state) writes nothing and publishes no
// event: the skip guard ends the unit; the count is then read on its own.
absl::StatusOr<FollowState> RequestStore::Follow(std::string_view id, std::string_view account,
                                                 bool follow, const Events& events) {
  const std::string followers = keys::Followers(id);
  const std::string following = keys::Following(account);
  infra::redis::Transaction tx;
  tx.RequireEqual({"EXISTS", keys::Request(id)}, "1", "NOT_FOUND request not found");
  if (follow) {
    tx.RequireLess({"SCARD", following}, 1000,
                   "RESOURCE_EXHAUSTED you follow 1000 requests already");
  }
  tx.SkipIfEqual({"SISMEMBER", followers, std::string(account)}, follow ? "1" : "0")
      .Then({follow ? "SADD" : "SREM", followers, std::string(account)})
      .Then({follow ? "SADD" : "SREM", following, std::string(id)})
      .Then({"SCARD", followers});
  for (const auto& e : events) infra::events::Append(tx, kEventsStream, e);
  ASSIGN_OR_RETURN(const infra::redis::Transaction::Outcome outcome, tx.Apply(redis_));
  if (outcome.applied) return FollowState{outcome.replies[2].integer(), follow};
  ASSIGN_OR_RETURN(const int64_t count,
                   infra::redis::AsInteger(redis_.Command({"SCARD", followers})));
  return FollowState{count, follow};
}

absl::StatusOr<std::vector<std::string>> RequestStore::Following(std::string_view account) {
  auto reply = redis_.Command({"SMEMBERS", keys::Following(account)});
  if (!reply.ok()) return reply.status();
  std::vector<std::string> out;
  for (const Reply& r : reply->elements()) out.push_back(r.str());
  std::sort(out.begin(), out.end());
  return out;
}

absl::Status RequestStore::AddComment(const StoredComment& comment, const Events& events) {
  const std::string comments = keys::Comments(comment.request_id());
  infra::redis::Transaction tx;
  tx.RequireEqual({"EXISTS", keys::Request(comment.request_id())}, "1",
                  "NOT_FOUND request not found")
      .RequireLess({"LLEN", comments}, kMaxComments,
                   "RESOURCE_EXHAUSTED this request has the most comments it can take")
      .Then({"RPUSH", comments, comment.SerializeAsString()});
  // The author's index names the comment by the position RPUSH gave it.
  if (!comment.author_account_id().empty()) {
    tx.ThenWithReply({"SADD", keys::CommentsBy(comment.author_account_id())}, 0,
                     comment.request_id() + ":", -1);
  }
  for (const auto& e : events) infra::events::Append(tx, kEventsStream, e);
  return tx.Run(redis_).status();
}

absl::StatusOr<std::vector<StoredComment>> RequestStore::Comments(std::string_view id,
                                                                  int64_t start, int count) {
  auto reply = redis_.Command(
      {"LRANGE", keys::Comments(id), std::to_string(start), std::to_string(start + count - 1)});
  if (!reply.ok()) return reply.status();
  std::vector<StoredComment> out;
  for (const Reply& r : reply->elements()) {
    StoredComment c;
    if (c.ParseFromString(r.str())) out.push_back(std::move(c));
  }
  return out;
}

absl::StatusOr<std::pair<StoredComment, int64_t>> RequestStore::FindComment(
    std::string_view id, std::string_view comment_id) {
  auto reply = redis_.Command({"LRANGE", keys::Comments(id), "0", "-1"});
  if (!reply.ok()) return reply.status();
  const auto& e = reply->elements();
  for (size_t i = 0; i < e.size(); ++i) {
    StoredComment c;
    if (c.ParseFromString(e[i].str()) && c.id() == comment_id)
      return std::make_pair(std::move(c), static_cast<int64_t>(i));
  }
  return absl::NotFoundError("comment_id: no such comment on this request");
}

void RequestStore::ReplaceComment(std::string_view id, int64_t index, const StoredComment& before,
                                  const StoredComment& after, ExtraWrites* extra) {
  const std::string list = keys::Comments(id);
  extra->require_equal.push_back(
      {{"LINDEX", list, std::to_string(index)}, before.SerializeAsString()});
  extra->ops.push_back({"LSET", list, std::to_string(index), after.SerializeAsString()});
}

absl::StatusOr<std::vector<StoredComment>> RequestStore::CommentsBy(std::string_view account) {
  auto refs = redis_.Command({"SMEMBERS", keys::CommentsBy(account)});
  if (!refs.ok()) return refs.status();
  std::vector<Args> commands;
  for (const Reply& ref : refs->elements()) {
    const std::string& s = ref.str();
    const size_t colon = s.rfind(':');
    commands.push_back({"LINDEX", keys::Comments(s.substr(0, colon)), s.substr(colon + 1)});
  }
  auto replies = redis_.Pipeline(commands);
  if (!replies.ok()) return replies.status();
  std::vector<StoredComment> out;
  for (const Reply& r : *replies) {
    StoredComment c;
    if (!r.is_nil() && !r.is_error() && c.ParseFromString(r.str()) &&
        c.author_account_id() == account) {
      out.push_back(std::move(c));
    }
  }
  std::sort(out.begin(), out.end(),
            [](const StoredComment& a, const StoredComment& b) { return a.id() < b.id(); });
  return out;
}

absl::Status RequestStore::ForgetAccount(std::string_view account) {
  // First the marker that refuses the account's still valid tokens on writes: whatever was
  // written before it is erased below.
  auto marked =
      redis_.Command(infra::auth::DeletedAccounts::MarkArgs(kDeletedAccountsArea, account));
  if (!marked.ok()) return marked.status();
  // Owned requests stay public records without owner and contact details. Each is updated
  // with the usual version check, retried if an operator changed it meanwhile.
  auto owned = redis_.Command({"ZRANGE", keys::ByOwner(account), "0", "-1"});
  if (!owned.ok()) return owned.status();
  for (const Reply& id : owned->elements()) {
    for (int attempt = 0;; ++attempt) {
      auto current = Get(id.str());
      if (!current.ok()) {
        if (current.status().code() == absl::StatusCode::kNotFound) break;
        return current.status();
      }
      if (current->request.account_id() != account) break;
      StoredRequest after = current->request;
      after.clear_account_id();
      after.clear_contact();
      // The feedback stays with the request (its rating counts), without its author.
      if (after.has_feedback()) after.mutable_feedback()->clear_account_id();
      const absl::Status s = Update(*current, after, {});
      if (s.ok()) break;
      if (s.code() != absl::StatusCode::kAborted || attempt >= 5) return s;
    }
  }
  // Requests assigned to the account go back to nobody (its name goes with it). The
  // assignments it made stay in the requests' history as the department's record, without
  // the export index.
  auto assigned = redis_.Command({"ZRANGE", keys::ByAssignee(account), "0", "-1"});
  if (!assigned.ok()) return assigned.status();
  for (const Reply& id : assigned->elements()) {
    for (int attempt = 0;; ++attempt) {
      auto current = Get(id.str());
      if (!current.ok()) {
        if (current.status().code() == absl::StatusCode::kNotFound) break;
        return current.status();
      }
      if (current->request.assignee_account_id() != account) break;
      StoredRequest after = current->request;
      after.clear_assignee_account_id();
      after.clear_assignee_name();
      const absl::Status s = Update(*current, after, {});
      if (s.ok()) break;
      if (s.code() != absl::StatusCode::kAborted || attempt >= 5) return s;
    }
  }
  // Comments keep their text but lose their author.
  auto mine = redis_.Command({"SMEMBERS", keys::CommentsBy(account)});
  if (!mine.ok()) return mine.status();
  for (const Reply& ref : mine->elements()) {
    const std::string& s = ref.str();
    const size_t colon = s.rfind(':');
    const std::string list = keys::Comments(s.substr(0, colon));
    const std::string index = s.substr(colon + 1);
    auto raw = redis_.Command({"LINDEX", list, index});
    if (!raw.ok()) return raw.status();
    StoredComment c;
    if (raw->is_nil() || !c.ParseFromString(raw->str()) || c.author_account_id() != account)
      continue;
    c.clear_author_account_id();
    if (auto set = redis_.Command({"LSET", list, index, c.SerializeAsString()}); !set.ok()) {
      return set.status();
    }
  }
  auto followed = Following(account);
  if (!followed.ok()) return followed.status();
  // Idempotency keys name the account (and would answer a retry with a forgotten request).
  auto idem = redis_.Command({"SMEMBERS", keys::IdemOf(account)});
  if (!idem.ok()) return idem.status();
  std::vector<Args> cleanup;
  for (const std::string& id : *followed)
    cleanup.push_back({"SREM", keys::Followers(id), std::string(account)});
  Args del = {"DEL",
              keys::Following(account),
              keys::CommentsBy(account),
              keys::ByOwner(account),
              keys::IdemOf(account),
              keys::ByAssignee(account),
              keys::AssignedBy(account)};
  // Never anything but the account's own keys, whatever the set holds.
  const std::string own = keys::IdemPrefix(account);
  for (const Reply& k : idem->elements()) {
    if (k.str().starts_with(own)) del.push_back(k.str());
  }
  cleanup.push_back(std::move(del));
  return redis_.Pipeline(cleanup).status();
}

}  // namespace cityhub::requests
