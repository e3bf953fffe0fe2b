#include "services/requests/request_store.h"

#include <charconv>
#include <cstdio>
#include <set>

#include "infra/events/events.h"
#include "infra/ids.h"
#include "infra/status.h"
#include "infra/strings.h"
#include "services/requests/keys.h"
#include "services/requests/lifecycle.h"
#include "services/requests/stats_layout.h"

// A request's value, its index entries and its events, written together (request_store.h).
// The geo searches are in request_geo_store.cc; follows, comments and erasure in
// request_social_store.cc.
namespace cityhub::requests {

using infra::StrCat;
using infra::redis::Args;
using infra::redis::Reply;
using infra::redis::Transaction;

namespace {

// An index entry of a request: a sorted set (or GEO set) it belongs to.
struct IndexEntry {
  enum Kind { kByTime, kGeo, kWeekList };
  std::string key;
  Kind kind = kByTime;
  Args AddCommand(const StoredRequest& r) const {
    switch (kind) {
      case kGeo:
        return {"GEOADD", key, StrCat(r.long_()), StrCat(r.lat()), r.id()};
      case kWeekList: {
        const std::string week = std::to_string(GeoWeekOfId(r.id()));
        return {"ZADD", key, week, week};
      }
      case kByTime:
        break;
    }
    return {"ZADD", key, StrCat(SortScore(r.id())), r.id()};
  }
};

std::vector<IndexEntry> IndexesOf(const StoredRequest& r) {
  const std::string& j = r.jurisdiction_id();
  std::vector<IndexEntry> out = {{keys::ByTime(j)},
                                 {keys::ByService(j, r.service_code())},
                                 {keys::ByDepartment(j, r.department())}};
  if (r.has_location()) {
    // The week list is never shrunk: a week whose set is empty costs one empty search.
    out.push_back({keys::GeoWeek(j, GeoWeekOfId(r.id())), IndexEntry::kGeo});
    out.push_back({keys::GeoWeeks(j), IndexEntry::kWeekList});
    if (IsOpen(static_cast<Status>(r.status()))) {
      out.push_back({keys::GeoOpen(j, r.service_code()), IndexEntry::kGeo});
    }
  }
  if (!r.account_id().empty()) out.push_back({keys::ByOwner(r.account_id())});
  if (!r.assignee_account_id().empty()) out.push_back({keys::ByAssignee(r.assignee_account_id())});
  if (!r.district().empty()) out.push_back({keys::ByDistrict(j, r.district())});
  return out;
}

void AppendEvents(const Events& events, Transaction& tx) {
  for (const auto& e : events) infra::events::Append(tx, kEventsStream, e);
}

// A stored request's value starts with its version in 8 hex digits.
std::string VersionPrefix(int64_t version) {
  char hex[24];
  std::snprintf(hex, sizeof hex, "%08llx", static_cast<unsigned long long>(version));
  return hex;
}

// "<8 hex digits of version><StoredRequest>".
absl::StatusOr<VersionedRequest> ParseVersioned(const Reply& value) {
  if (value.is_error()) return infra::redis::ErrorReplyToStatus(value.str());
  if (value.is_nil()) return absl::NotFoundError("request not found");
  const std::string& s = value.str();
  VersionedRequest out;
  if (s.size() < 8 || std::from_chars(s.data(), s.data() + 8, out.version, 16).ec != std::errc() ||
      !out.request.ParseFromArray(s.data() + 8, static_cast<int>(s.size() - 8))) {
    return absl::DataLossError("stored request damaged");
  }
  return out;
}

absl::StatusOr<std::pair<VersionedRequest, FollowState>> ParseWithFollowers(
    absl::StatusOr<std::vector<Reply>> replies, bool signed_in) {
  if (!replies.ok()) return replies.status();
  for (size_t i = 1; i < replies->size(); ++i) {
    if ((*replies)[i].is_error()) return infra::redis::ErrorReplyToStatus((*replies)[i].str());
  }
  auto request = ParseVersioned((*replies)[0]);
  if (!request.ok()) return request.status();
  FollowState follow{(*replies)[1].integer(), signed_in && (*replies)[2].integer() == 1};
  return std::make_pair(std::move(*request), follow);
}

Args MGetCommand(const std::vector<std::string>& ids) {
  Args mget;
  mget.reserve(ids.size() + 1);
  mget.emplace_back("MGET");
  for (const auto& id : ids) mget.push_back(keys::Request(id));
  return mget;
}

// MGET's reply: one entry per id, nullopt for missing (or damaged) ones. The records are
// parsed straight from the reply's strings.
absl::StatusOr<std::vector<std::optional<StoredRequest>>> ParseMany(absl::StatusOr<Reply> reply,
                                                                    size_t count) {
  if (!reply.ok()) return reply.status();
  if (reply->is_error()) return infra::redis::ErrorReplyToStatus(reply->str());
  std::vector<std::optional<StoredRequest>> out(count);
  for (size_t i = 0; i < reply->elements().size() && i < count; ++i) {
    auto parsed = ParseVersioned(reply->elements()[i]);
    if (parsed.ok()) out[i] = std::move(parsed->request);
  }
  return out;
}

// Up to count + 1 ids of `key` newest first, from the cursor `before_id` on (RangeBefore).
Args RangeBeforeCommand(const std::string& key, int64_t since_ms, int64_t until_ms,
                        std::string_view before_id, int count) {
  const std::string max = before_id.empty() ? StrCat("(", static_cast<double>(until_ms) * 4096)
                                            : StrCat(SortScore(before_id));
  // The cursor's own score is included and the cursor skipped by id: equal scores (same
  // millisecond and same 12 random bits) are rare but possible.
  return {"ZREVRANGEBYSCORE", key,     max, StrCat(static_cast<double>(since_ms) * 4096),
          "WITHSCORES",       "LIMIT", "0", std::to_string(count + 1)};
}

std::vector<IdAndTime> IdsWithScores(const Reply& reply, std::string_view before_id) {
  std::vector<IdAndTime> out;
  const auto& e = reply.elements();
  for (size_t i = 0; i + 1 < e.size(); i += 2) {
    if (!before_id.empty() && e[i].str() >= before_id) continue;
    IdAndTime item{e[i].str(), 0};
    double score = 0;
    std::from_chars(e[i + 1].str().data(), e[i + 1].str().data() + e[i + 1].str().size(), score);
    item.ms = static_cast<int64_t>(score / 4096);
    out.push_back(std::move(item));
  }
  return out;
}

}  // namespace

RequestStore::RequestStore(infra::redis::Client& redis, infra::redis::AsyncClient* async)
    : redis_(redis), async_(async) {}

std::string RequestStore::IdempotencyKey(std::string_view scope, std::string_view client_key) {
  return StrCat(keys::IdemPrefix(scope), infra::HexEncode(infra::Sha256(client_key)));
}

// Create: the request must not exist, and an idempotency key already used skips the unit
// (the key's value is the first request's id). Update: the stored version must be the one read.
absl::StatusOr<CreateResult> RequestStore::Create(const StoredRequest& request,
                                                  const Events& events, std::string_view idem_key,
                                                  std::chrono::seconds idem_ttl) {
  const std::string key = keys::Request(request.id());
  const std::string ttl = std::to_string(idem_ttl.count());
  Transaction tx;
  if (!idem_key.empty()) tx.SkipIfSet({"GET", std::string(idem_key)});
  tx.RequireEqual({"EXISTS", key}, "0", "ALREADY_EXISTS request exists")
      .Then({"SET", key, VersionPrefix(1) + request.SerializeAsString() + stats::CountedMarker()});
  stats::AppendStatsChange(nullptr, request, tx);  // the statistics' counters (#15)
  if (!idem_key.empty()) {
    tx.Then({"SET", std::string(idem_key), request.id(), "EX", ttl});
    // The set lives as long as the newest key in it; members that expired earlier are harmless.
    if (!request.account_id().empty()) {
      tx.Then({"SADD", keys::IdemOf(request.account_id()), std::string(idem_key)})
          .Then({"EXPIRE", keys::IdemOf(request.account_id()), ttl});
    }
  }
  for (const IndexEntry& index : IndexesOf(request)) tx.Then(index.AddCommand(request));
  AppendEvents(events, tx);
  // Acknowledged only once a replica has it, when configured (CITYHUB_REDIS_WAIT_REPLICAS).
  ASSIGN_OR_RETURN(const Transaction::Outcome outcome, tx.Durable().Apply(redis_));
  if (!outcome.applied) return CreateResult{outcome.skip_reply.str(), false};
  return CreateResult{request.id(), true};
}

absl::StatusOr<VersionedRequest> RequestStore::Get(std::string_view id) {
  auto reply = redis_.Command({"GET", keys::Request(id)});
  if (!reply.ok()) return reply.status();
  return ParseVersioned(*reply);
}

std::vector<Args> RequestStore::GetWithFollowersCommands(std::string_view id,
                                                         std::string_view account) const {
  std::vector<Args> commands = {{"GET", keys::Request(id)}, {"SCARD", keys::Followers(id)}};
  if (!account.empty())
    commands.push_back({"SISMEMBER", keys::Followers(id), std::string(account)});
  return commands;
}

absl::StatusOr<std::pair<VersionedRequest, FollowState>> RequestStore::GetWithFollowers(
    std::string_view id, std::string_view account) {
  return ParseWithFollowers(redis_.Pipeline(GetWithFollowersCommands(id, account)),
                            !account.empty());
}

void RequestStore::Pipeline(std::vector<Args> commands, infra::redis::AsyncClient::Callback done) {
  if (async_ == nullptr) {
    done(redis_.Pipeline(commands));
    return;
  }
  async_->Pipeline(std::move(commands), std::move(done));
}

void RequestStore::GetWithFollowersAsync(std::string_view id, std::string_view account,
                                         GetCallback done) {
  Pipeline(GetWithFollowersCommands(id, account),
           [signed_in = !account.empty(),
            done = std::move(done)](absl::StatusOr<std::vector<Reply>> replies) {
             done(ParseWithFollowers(std::move(replies), signed_in));
           });
}

absl::StatusOr<std::vector<std::optional<StoredRequest>>> RequestStore::GetMany(
    const std::vector<std::string>& ids) {
  if (ids.empty()) return std::vector<std::optional<StoredRequest>>();
  return ParseMany(redis_.Command(MGetCommand(ids)), ids.size());
}

void RequestStore::GetManyAsync(const std::vector<std::string>& ids,
                                Done<std::vector<std::optional<StoredRequest>>> done) {
  if (ids.empty()) {
    done(std::vector<std::optional<StoredRequest>>());
    return;
  }
  std::vector<Args> commands;
  commands.push_back(MGetCommand(ids));
  Pipeline(std::move(commands), [count = ids.size(), done = std::move(done)](
                                    absl::StatusOr<std::vector<Reply>> replies) {
    if (!replies.ok()) return done(replies.status());
    done(ParseMany(std::move(replies->front()), count));
  });
}

absl::Status RequestStore::Update(const VersionedRequest& before, const StoredRequest& after,
                                  const Events& events, std::string_view assigned_by) {
  return Update(before, after, events, ExtraWrites{}, assigned_by);
}

absl::Status RequestStore::Update(const VersionedRequest& before, const StoredRequest& after,
                                  const Events& events, const ExtraWrites& extra,
                                  std::string_view assigned_by) {
  const std::string key = keys::Request(after.id());
  // Requests stored before the statistics are counted by their rebuild (stats_store.h).
  const bool counted = before.request.stats_counted();
  Transaction tx;
  tx.RequireEqual({"EXISTS", key}, "1", "NOT_FOUND request not found")
      .RequireEqual({"GETRANGE", key, "0", "7"}, VersionPrefix(before.version),
                    "ABORTED the request changed meanwhile")
      .Then({"SET", key,
             VersionPrefix(before.version + 1) + after.SerializeAsString() +
                 (counted ? stats::CountedMarker() : std::string())});
  if (counted) stats::AppendStatsChange(&before.request, after, tx);  // (#15)
  for (const auto& [read, value] : extra.require_equal)
    tx.RequireEqual(read, value, "ABORTED the request changed meanwhile");
  const std::vector<IndexEntry> new_indexes = IndexesOf(after);
  std::set<std::string> keep;
  for (const auto& i : new_indexes) keep.insert(i.key);
  for (const auto& i : IndexesOf(before.request)) {
    if (!keep.count(i.key)) tx.Then({"ZREM", i.key, before.request.id()});
  }
  for (const auto& i : new_indexes) tx.Then(i.AddCommand(after));
  for (const auto& op : extra.ops) tx.Then(op);
  if (!assigned_by.empty()) {
    tx.Then({"ZADD", keys::AssignedBy(assigned_by), StrCat(SortScore(after.id())), after.id()});
  }
  if (after.status() != before.request.status()) {
    const bool final = !IsOpen(static_cast<Status>(after.status()));
    // Only requests with something to erase are scheduled (an empty contact is no data).
    if (final && after.has_contact() && after.contact().ByteSizeLong() > 0) {
      tx.Then({"ZADD", keys::ContactErasures(),
               std::to_string(after.updated_ms() + retention_.count()), after.id()});
    } else if (!final) {
      tx.Then({"ZREM", keys::ContactErasures(), after.id()});
    }
  }
  AppendEvents(events, tx);
  return tx.Run(redis_).status();
}

absl::StatusOr<std::vector<std::string>> RequestStore::DueContactErasures(int64_t now_ms,
                                                                          int count) {
  auto reply = redis_.Command({"ZRANGEBYSCORE", keys::ContactErasures(), "-inf",
                               std::to_string(now_ms), "LIMIT", "0", std::to_string(count)});
  if (!reply.ok()) return reply.status();
  std::vector<std::string> out;
  for (const Reply& id : reply->elements()) out.push_back(id.str());
  return out;
}

absl::Status RequestStore::DropContactErasure(std::string_view id) {
  return redis_.Command({"ZREM", keys::ContactErasures(), std::string(id)}).status();
}

absl::StatusOr<std::vector<IdAndTime>> RequestStore::RangeBefore(const std::string& key,
                                                                 int64_t since_ms, int64_t until_ms,
                                                                 std::string_view before_id,
                                                                 int count) {
  auto reply = redis_.Command(RangeBeforeCommand(key, since_ms, until_ms, before_id, count));
  if (!reply.ok()) return reply.status();
  auto out = IdsWithScores(*reply, before_id);
  if (static_cast<int>(out.size()) > count) out.resize(count);
  return out;
}

absl::StatusOr<std::vector<IdAndTime>> RequestStore::Newest(std::string_view jurisdiction,
                                                            std::string_view service_code,
                                                            int64_t since_ms, int64_t until_ms,
                                                            std::string_view before_id, int count) {
  return RangeBefore(service_code.empty() ? keys::ByTime(jurisdiction)
                                          : keys::ByService(jurisdiction, service_code),
                     since_ms, until_ms, before_id, count);
}

absl::StatusOr<std::vector<IdAndTime>> RequestStore::NewestIn(const ListIndex& index,
                                                              int64_t since_ms, int64_t until_ms,
                                                              std::string_view before_id,
                                                              int count) {
  std::string key;
  switch (index.kind) {
    case ListIndex::kDepartment:
      key = keys::ByDepartment(index.jurisdiction, index.value);
      break;
    case ListIndex::kAssignee:
      key = keys::ByAssignee(index.value);
      break;
    case ListIndex::kService:
      key = keys::ByService(index.jurisdiction, index.value);
      break;
    case ListIndex::kTime:
      key = keys::ByTime(index.jurisdiction);
      break;
    case ListIndex::kDistrict:
      key = keys::ByDistrict(index.jurisdiction, index.value);
      break;
  }
  return RangeBefore(key, since_ms, until_ms, before_id, count);
}

absl::StatusOr<std::vector<IdAndTime>> RequestStore::NewestOfOwner(std::string_view account,
                                                                   std::string_view before_id,
                                                                   int count) {
  return RangeBefore(keys::ByOwner(account), 0, int64_t{1} << 50, before_id, count);
}

absl::StatusOr<std::vector<IdAndTime>> RequestStore::NewestOfAssignee(std::string_view account,
                                                                      std::string_view before_id,
                                                                      int count) {
  return RangeBefore(keys::ByAssignee(account), 0, int64_t{1} << 50, before_id, count);
}

std::vector<Args> RequestStore::FollowStateCommands(const std::vector<std::string>& ids,
                                                    std::string_view account) const {
  std::vector<Args> commands;
  for (const auto& id : ids) {
    commands.push_back({"SCARD", keys::Followers(id)});
    if (!account.empty())
      commands.push_back({"SISMEMBER", keys::Followers(id), std::string(account)});
  }
  return commands;
}

namespace {

absl::StatusOr<std::vector<FollowState>> ParseFollowStates(
    absl::StatusOr<std::vector<Reply>> replies, size_t count, bool signed_in) {
  if (!replies.ok()) return replies.status();
  const size_t per = signed_in ? 2 : 1;
  if (replies->size() != count * per) return absl::InternalError("follow states: short reply");
  std::vector<FollowState> out(count);
  for (size_t i = 0; i < count; ++i) {
    const Reply& followers = (*replies)[i * per];
    if (followers.is_error()) return infra::redis::ErrorReplyToStatus(followers.str());
    out[i].followers = followers.integer();
    if (signed_in) out[i].following = (*replies)[i * per + 1].integer() == 1;
  }
  return out;
}

}  // namespace

absl::StatusOr<std::vector<FollowState>> RequestStore::FollowStates(
    const std::vector<std::string>& ids, std::string_view account) {
  if (ids.empty()) return std::vector<FollowState>();
  return ParseFollowStates(redis_.Pipeline(FollowStateCommands(ids, account)), ids.size(),
                           !account.empty());
}

void RequestStore::FollowStatesAsync(const std::vector<std::string>& ids, std::string_view account,
                                     Done<std::vector<FollowState>> done) {
  if (ids.empty()) return done(std::vector<FollowState>());
  Pipeline(FollowStateCommands(ids, account),
           [count = ids.size(), signed_in = !account.empty(),
            done = std::move(done)](absl::StatusOr<std::vector<Reply>> replies) {
             done(ParseFollowStates(std::move(replies), count, signed_in));
           });
}

void RequestStore::NewestOfOwnerAsync(std::string_view account, std::string_view before_id,
                                      int count, Done<std::vector<OwnedRequest>> done) {
  std::vector<Args> range;
  range.push_back(
      RangeBeforeCommand(keys::ByOwner(account), 0, int64_t{1} << 50, before_id, count));
  Pipeline(std::move(range),
           [this, account = std::string(account), before_id = std::string(before_id), count,
            done = std::move(done)](absl::StatusOr<std::vector<Reply>> replies) {
             if (!replies.ok()) return done(replies.status());
             if (replies->front().is_error())
               return done(infra::redis::ErrorReplyToStatus(replies->front().str()));
             std::vector<std::string> ids;
             for (auto& entry : IdsWithScores(replies->front(), before_id)) {
               if (static_cast<int>(ids.size()) < count) ids.push_back(std::move(entry.id));
             }
             if (ids.empty()) return done(std::vector<OwnedRequest>());
             // The records and their follow states in one pipeline: the ids are all either needs.
             std::vector<Args> reads = FollowStateCommands(ids, account);
             reads.insert(reads.begin(), MGetCommand(ids));
             Pipeline(std::move(reads), [n = ids.size(), signed_in = !account.empty(),
                                         done](absl::StatusOr<std::vector<Reply>> replies) {
               if (!replies.ok()) return done(replies.status());
               auto records = ParseMany(std::move(replies->front()), n);
               if (!records.ok()) return done(records.status());
               replies->erase(replies->begin());
               auto states = ParseFollowStates(std::move(replies), n, signed_in);
               if (!states.ok()) return done(states.status());
               std::vector<OwnedRequest> out;
               out.reserve(n);
               for (size_t i = 0; i < n; ++i) {
                 if ((*records)[i]) out.push_back({std::move(*(*records)[i]), (*states)[i]});
               }
               done(std::move(out));
             });
           });
}

absl::StatusOr<std::vector<IdAndTime>> RequestStore::NewestAssignedBy(std::string_view account,
                                                                      std::string_view before_id,
                                                                      int count) {
  return RangeBefore(keys::AssignedBy(account), 0, int64_t{1} << 50, before_id, count);
}

absl::StatusOr<int64_t> RequestStore::Count(std::string_view jurisdiction) {
  return infra::redis::AsInteger(redis_.Command({"ZCARD", keys::ByTime(jurisdiction)}));
}

}  // namespace cityhub::requests
