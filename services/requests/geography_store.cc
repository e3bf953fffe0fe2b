#include "services/requests/geography_store.h"

#include <charconv>

#include "infra/redis/transaction.h"
#include "infra/status.h"
#include "services/requests/keys.h"

namespace cityhub::requests {

namespace {

using infra::redis::Reply;
using infra::redis::Transaction;

absl::StatusOr<int64_t> ParseVersion(const Reply& reply) {
  if (reply.is_error()) return infra::redis::ErrorReplyToStatus(reply.str());
  if (reply.is_nil()) return 0;
  if (reply.is_integer()) return reply.integer();
  int64_t v = 0;
  const std::string& s = reply.str();
  if (std::from_chars(s.data(), s.data() + s.size(), v).ec != std::errc()) {
    return absl::DataLossError("geography version damaged");
  }
  return v;
}

absl::StatusOr<std::string> Text(const Reply& reply) {
  if (reply.is_error()) return infra::redis::ErrorReplyToStatus(reply.str());
  return reply.is_nil() ? std::string() : reply.str();
}

// SET `key` and INCR the version together; with `only_if_unset`, nothing when `key` exists.
absl::StatusOr<std::optional<int64_t>> SetDocument(infra::redis::Client& redis,
                                                   std::string_view jurisdiction,
                                                   const std::string& key, const std::string& json,
                                                   bool only_if_unset, Transaction tx) {
  if (only_if_unset) tx.SkipIfSet({"GET", key});
  tx.Then({"INCR", keys::GeographyVersion(jurisdiction)}).Then({"SET", key, json});
  ASSIGN_OR_RETURN(const Transaction::Outcome outcome, tx.Apply(redis));
  if (!outcome.applied) return std::nullopt;
  return outcome.replies.at(0).integer();
}

}  // namespace

absl::StatusOr<int64_t> GeographyStore::Version(std::string_view jurisdiction) {
  ASSIGN_OR_RETURN(const Reply reply,
                   redis_.Command({"GET", keys::GeographyVersion(jurisdiction)}));
  return ParseVersion(reply);
}

absl::StatusOr<StoredGeography> GeographyStore::Load(std::string_view jurisdiction) {
  ASSIGN_OR_RETURN(const auto replies,
                   redis_.Pipeline({{"GET", keys::GeographyVersion(jurisdiction)},
                                    {"GET", keys::Boundary(jurisdiction)},
                                    {"GET", keys::Districts(jurisdiction)},
                                    {"GET", keys::RoutingRules(jurisdiction)}}));
  StoredGeography out;
  ASSIGN_OR_RETURN(out.version, ParseVersion(replies.at(0)));
  ASSIGN_OR_RETURN(out.boundary, Text(replies.at(1)));
  ASSIGN_OR_RETURN(out.districts, Text(replies.at(2)));
  ASSIGN_OR_RETURN(out.rules, Text(replies.at(3)));
  return out;
}

absl::StatusOr<std::optional<int64_t>> GeographyStore::SetBoundary(std::string_view jurisdiction,
                                                                   const std::string& json,
                                                                   bool only_if_unset) {
  return SetDocument(redis_, jurisdiction, keys::Boundary(jurisdiction), json, only_if_unset,
                     Transaction());
}

absl::StatusOr<std::optional<int64_t>> GeographyStore::SetDistricts(std::string_view jurisdiction,
                                                                    const std::string& json,
                                                                    const std::string& job_id,
                                                                    bool only_if_unset) {
  Transaction tx;
  const std::string key = keys::Districts(jurisdiction);
  if (only_if_unset) tx.SkipIfSet({"GET", key});
  tx.Then({"INCR", keys::GeographyVersion(jurisdiction)})
      .Then({"SET", key, json})
      .Then({"SET", keys::DistrictReassign(jurisdiction), ReassignJob{job_id, ""}.Encode()});
  ASSIGN_OR_RETURN(const Transaction::Outcome outcome, tx.Apply(redis_));
  if (!outcome.applied) return std::nullopt;
  return outcome.replies.at(0).integer();
}

absl::StatusOr<int64_t> GeographyStore::SetRoutingRules(std::string_view jurisdiction,
                                                        const std::string& json) {
  ASSIGN_OR_RETURN(auto version, SetDocument(redis_, jurisdiction, keys::RoutingRules(jurisdiction),
                                             json, false, Transaction()));
  return version.value_or(0);
}

absl::StatusOr<std::vector<std::string>> GeographyStore::RequestsFrom(std::string_view jurisdiction,
                                                                      int64_t offset, int count) {
  ASSIGN_OR_RETURN(const Reply reply,
                   redis_.Command({"ZRANGE", keys::ByTime(jurisdiction), std::to_string(offset),
                                   std::to_string(offset + count - 1)}));
  if (reply.is_error()) return infra::redis::ErrorReplyToStatus(reply.str());
  std::vector<std::string> ids;
  for (const auto& e : reply.elements()) ids.push_back(e.str());
  return ids;
}

absl::StatusOr<std::optional<ReassignJob>> GeographyStore::Job(std::string_view jurisdiction) {
  ASSIGN_OR_RETURN(const Reply reply,
                   redis_.Command({"GET", keys::DistrictReassign(jurisdiction)}));
  ASSIGN_OR_RETURN(const std::string text, Text(reply));
  if (text.empty()) return std::nullopt;
  const size_t bar = text.find('|');
  if (bar == std::string::npos) return absl::DataLossError("district reassignment job damaged");
  return ReassignJob{text.substr(0, bar), text.substr(bar + 1)};
}

absl::Status GeographyStore::AdvanceJob(std::string_view jurisdiction, const ReassignJob& current,
                                        const std::string& next_cursor, bool done) {
  const std::string key = keys::DistrictReassign(jurisdiction);
  Transaction tx;
  tx.RequireEqual({"GET", key}, current.Encode(), "ABORTED another reassignment replaced this one");
  if (done) {
    tx.Then({"DEL", key});
  } else {
    tx.Then({"SET", key, ReassignJob{current.id, next_cursor}.Encode()});
  }
  return tx.Run(redis_).status();
}

}  // namespace cityhub::requests
