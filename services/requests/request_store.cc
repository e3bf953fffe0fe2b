#include "services/requests/request_store.h"

#include <charconv>
#include <cmath>
#include <set>

#include "infra/auth/deleted_accounts.h"
#include "infra/events/events.h"
#include "infra/ids.h"
#include "infra/strings.h"
#include "services/requests/lifecycle.h"

namespace cityhub::requests {

using infra::StrCat;
using infra::redis::Args;
using infra::redis::Reply;
using infra::redis::Script;

namespace {

std::string RequestKey(std::string_view id) { return StrCat("requests:request:{", id, "}"); }
std::string ByTimeKey(std::string_view j) { return StrCat("requests:by_time:{", j, "}"); }
std::string ByServiceKey(std::string_view j, std::string_view code) {
  return StrCat("requests:by_service:{", j, "}:", code);
}
// The single geo set of earlier versions; MigrateGeoIndex empties it.
std::string OldGeoKey(std::string_view j) { return StrCat("requests:geo:{", j, "}"); }
std::string GeoWeekKey(std::string_view j, int64_t week) {
  return StrCat("requests:geo_week:{", j, "}:", std::to_string(week));
}
std::string GeoWeeksKey(std::string_view j) { return StrCat("requests:geo_weeks:{", j, "}"); }
std::string GeoOpenKey(std::string_view j, std::string_view code) {
  return StrCat("requests:geo_open:{", j, "}:", code);
}
std::string ByOwnerKey(std::string_view account) {
  return StrCat("requests:by_owner:{", account, "}");
}
std::string FollowersKey(std::string_view id) { return StrCat("requests:followers:{", id, "}"); }
std::string FollowingKey(std::string_view account) {
  return StrCat("requests:following:{", account, "}");
}
std::string IdemPrefix(std::string_view scope) { return StrCat("requests:idem:{", scope, "}:"); }
std::string IdemOfKey(std::string_view account) {
  return StrCat("requests:idem_of:{", account, "}");
}
std::string CommentsKey(std::string_view id) { return StrCat("requests:comments:{", id, "}"); }
std::string CommentsByKey(std::string_view account) {
  return StrCat("requests:comments_by:{", account, "}");
}

std::string Num(double v) {
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  return std::string(buf, end);
}

int64_t WeekOfId(std::string_view id) {
  const auto t = infra::UlidTime(id);
  return t ? GeoWeekOf(infra::UnixMillis(*t)) : 0;
}

// An index entry of a request: a sorted set (or GEO set) it belongs to.
struct IndexEntry {
  enum Kind { kByTime, kGeo, kWeekList };
  std::string key;
  Kind kind = kByTime;
  Args AddCommand(const StoredRequest& r) const {
    switch (kind) {
      case kGeo:
        return {"GEOADD", key, Num(r.long_()), Num(r.lat()), r.id()};
      case kWeekList: {
        const std::string week = std::to_string(WeekOfId(r.id()));
        return {"ZADD", key, week, week};
      }
      case kByTime:
        break;
    }
    return {"ZADD", key, Num(SortScore(r.id())), r.id()};
  }
};

std::vector<IndexEntry> IndexesOf(const StoredRequest& r) {
  const std::string& j = r.jurisdiction_id();
  std::vector<IndexEntry> out = {{ByTimeKey(j)}, {ByServiceKey(j, r.service_code())}};
  if (r.has_location()) {
    // The week list is never shrunk: a week whose set is empty costs one empty search.
    out.push_back({GeoWeekKey(j, WeekOfId(r.id())), IndexEntry::kGeo});
    out.push_back({GeoWeeksKey(j), IndexEntry::kWeekList});
    if (IsOpen(static_cast<Status>(r.status()))) {
      out.push_back({GeoOpenKey(j, r.service_code()), IndexEntry::kGeo});
    }
  }
  if (!r.account_id().empty()) out.push_back({ByOwnerKey(r.account_id())});
  return out;
}

void AppendOp(const Args& op, Args* argv) {
  argv->push_back(std::to_string(op.size()));
  argv->insert(argv->end(), op.begin(), op.end());
}

void AppendEvents(const Events& events, std::vector<Args>* ops) {
  for (const auto& e : events) ops->push_back(infra::events::XAddArgs(kEventsStream, e));
}

// Writes a request value and runs `ops` (index changes, events) if the precondition holds:
//   create: the request does not exist and the idempotency key (if any) is unused;
//   update: the stored version is the expected one.
// KEYS: request, idempotency key, the owner's set of idempotency keys (each the request key
// again when there is none).
// ARGV: mode, expected version, data, request id, idempotency ttl s, op count, ops...
// Returns {1, id} when written, {0, id} when the idempotency key was already used.
const Script& ApplyScript() {
  static const Script script(R"lua(
local version = 0
if ARGV[1] == 'create' then
  if KEYS[2] ~= KEYS[1] then
    local existing = redis.call('GET', KEYS[2])
    if existing then return {0, existing} end
  end
  if redis.call('EXISTS', KEYS[1]) == 1 then
    return redis.error_reply('ALREADY_EXISTS request exists')
  end
else
  local current = redis.call('GETRANGE', KEYS[1], 0, 7)
  if current == '' then return redis.error_reply('NOT_FOUND request not found') end
  version = tonumber(current, 16)
  if version ~= tonumber(ARGV[2]) then
    return redis.error_reply('ABORTED the request changed meanwhile')
  end
end
redis.call('SET', KEYS[1], string.format('%08x', version + 1) .. ARGV[3])
if ARGV[1] == 'create' and KEYS[2] ~= KEYS[1] then
  redis.call('SET', KEYS[2], ARGV[4], 'EX', ARGV[5])
  if KEYS[3] ~= KEYS[1] then
    redis.call('SADD', KEYS[3], KEYS[2])
    redis.call('EXPIRE', KEYS[3], ARGV[5])
  end
end
local i = 7
for _ = 1, tonumber(ARGV[6]) do
  local n = tonumber(ARGV[i])
  local op = {}
  for j = 1, n do op[j] = ARGV[i + j] end
  redis.call(unpack(op))
  i = i + n + 1
end
return {1, ARGV[4]}
)lua");
  return script;
}

const Script& FollowScript() {
  // KEYS: request, followers, following. ARGV: account, request id, 1/0, event count, events...
  static const Script script(R"lua(
if redis.call('EXISTS', KEYS[1]) == 0 then return redis.error_reply('NOT_FOUND request not found') end
local changed
if ARGV[3] == '1' then
  if redis.call('SCARD', KEYS[3]) >= 1000 then
    return redis.error_reply('RESOURCE_EXHAUSTED you follow 1000 requests already')
  end
  changed = redis.call('SADD', KEYS[2], ARGV[1])
  redis.call('SADD', KEYS[3], ARGV[2])
else
  changed = redis.call('SREM', KEYS[2], ARGV[1])
  redis.call('SREM', KEYS[3], ARGV[2])
end
if changed == 1 then
  for i = 0, tonumber(ARGV[4]) - 1 do
    redis.call('XADD', ARGV[5 + 3 * i], '*', 'type', ARGV[6 + 3 * i], 'event', ARGV[7 + 3 * i])
  end
end
return {redis.call('SCARD', KEYS[2]), ARGV[3] == '1' and 1 or 0}
)lua");
  return script;
}

const Script& CommentScript() {
  // KEYS: request, comments, author's comments (or comments again when anonymous).
  // ARGV: comment, request id, max, event count, events (stream, type, data)...
  static const Script script(R"lua(
if redis.call('EXISTS', KEYS[1]) == 0 then return redis.error_reply('NOT_FOUND request not found') end
if redis.call('LLEN', KEYS[2]) >= tonumber(ARGV[3]) then
  return redis.error_reply('RESOURCE_EXHAUSTED this request has the most comments it can take')
end
local n = redis.call('RPUSH', KEYS[2], ARGV[1])
if KEYS[3] ~= KEYS[2] then redis.call('SADD', KEYS[3], ARGV[2] .. ':' .. (n - 1)) end
for i = 0, tonumber(ARGV[4]) - 1 do
  redis.call('XADD', ARGV[5 + 3 * i], '*', 'type', ARGV[6 + 3 * i], 'event', ARGV[7 + 3 * i])
end
return n
)lua");
  return script;
}

void AppendEventTriples(const Events& events, Args* args) {
  args->push_back(std::to_string(events.size()));
  for (const auto& e : events) {
    args->push_back(kEventsStream);
    args->push_back(infra::events::TypeName(e));
    args->push_back(e.SerializeAsString());
  }
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
  return StrCat(IdemPrefix(scope), infra::HexEncode(infra::Sha256(client_key)));
}

absl::StatusOr<CreateResult> RequestStore::Create(const StoredRequest& request,
                                                  const Events& events, std::string_view idem_key,
                                                  std::chrono::seconds idem_ttl) {
  std::vector<Args> ops;
  for (const IndexEntry& index : IndexesOf(request)) ops.push_back(index.AddCommand(request));
  AppendEvents(events, &ops);
  const std::string key = RequestKey(request.id());
  Args argv = {"create",
               "0",
               request.SerializeAsString(),
               request.id(),
               std::to_string(idem_ttl.count()),
               std::to_string(ops.size())};
  for (const Args& op : ops) AppendOp(op, &argv);
  // The set lives as long as the newest key in it; members that expired earlier are harmless.
  const bool remember = !idem_key.empty() && !request.account_id().empty();
  // Acknowledged only once a replica has it, when configured (CITYHUB_REDIS_WAIT_REPLICAS).
  auto reply = redis_.EvalDurable(ApplyScript(),
                                  {key, idem_key.empty() ? key : std::string(idem_key),
                                   remember ? IdemOfKey(request.account_id()) : key},
                                  argv);
  if (!reply.ok()) return reply.status();
  return CreateResult{reply->elements()[1].str(), reply->elements()[0].integer() == 1};
}

absl::StatusOr<VersionedRequest> RequestStore::Get(std::string_view id) {
  auto reply = redis_.Command({"GET", RequestKey(id)});
  if (!reply.ok()) return reply.status();
  return ParseVersioned(*reply);
}

std::vector<Args> RequestStore::GetWithFollowersCommands(std::string_view id,
                                                         std::string_view account) const {
  std::vector<Args> commands = {{"GET", RequestKey(id)}, {"SCARD", FollowersKey(id)}};
  if (!account.empty()) commands.push_back({"SISMEMBER", FollowersKey(id), std::string(account)});
  return commands;
}

absl::StatusOr<std::pair<VersionedRequest, FollowState>> RequestStore::GetWithFollowers(
    std::string_view id, std::string_view account) {
  return ParseWithFollowers(redis_.Pipeline(GetWithFollowersCommands(id, account)),
                            !account.empty());
}

void RequestStore::GetWithFollowersAsync(std::string_view id, std::string_view account,
                                         GetCallback done) {
  if (async_ == nullptr) {
    done(GetWithFollowers(id, account));
    return;
  }
  async_->Pipeline(GetWithFollowersCommands(id, account),
                   [signed_in = !account.empty(),
                    done = std::move(done)](absl::StatusOr<std::vector<Reply>> replies) {
                     done(ParseWithFollowers(std::move(replies), signed_in));
                   });
}

absl::StatusOr<std::vector<std::optional<StoredRequest>>> RequestStore::GetMany(
    const std::vector<std::string>& ids) {
  std::vector<std::optional<StoredRequest>> out(ids.size());
  if (ids.empty()) return out;
  Args mget = {"MGET"};
  mget.reserve(ids.size() + 1);
  for (const auto& id : ids) mget.push_back(RequestKey(id));
  auto reply = redis_.Command(mget);
  if (!reply.ok()) return reply.status();
  for (size_t i = 0; i < reply->elements().size() && i < ids.size(); ++i) {
    auto parsed = ParseVersioned(reply->elements()[i]);
    if (parsed.ok()) out[i] = std::move(parsed->request);
  }
  return out;
}

absl::Status RequestStore::Update(const VersionedRequest& before, const StoredRequest& after,
                                  const Events& events) {
  const std::vector<IndexEntry> old_indexes = IndexesOf(before.request);
  const std::vector<IndexEntry> new_indexes = IndexesOf(after);
  std::set<std::string> keep;
  for (const auto& i : new_indexes) keep.insert(i.key);
  std::vector<Args> ops;
  for (const auto& i : old_indexes) {
    if (!keep.count(i.key)) ops.push_back({"ZREM", i.key, before.request.id()});
  }
  for (const auto& i : new_indexes) ops.push_back(i.AddCommand(after));
  AppendEvents(events, &ops);
  const std::string key = RequestKey(after.id());
  Args argv = {"update", std::to_string(before.version), after.SerializeAsString(), after.id(),
               "0",      std::to_string(ops.size())};
  for (const Args& op : ops) AppendOp(op, &argv);
  return redis_.Eval(ApplyScript(), {key, key, key}, argv).status();
}

absl::StatusOr<std::vector<IdAndTime>> RequestStore::RangeBefore(const std::string& key,
                                                                 int64_t since_ms, int64_t until_ms,
                                                                 std::string_view before_id,
                                                                 int count) {
  const std::string max = before_id.empty() ? StrCat("(", Num(static_cast<double>(until_ms) * 4096))
                                            : Num(SortScore(before_id));
  // The cursor's own score is included and the cursor skipped by id: equal scores (same
  // millisecond and same 12 random bits) are rare but possible.
  auto reply =
      redis_.Command({"ZREVRANGEBYSCORE", key, max, Num(static_cast<double>(since_ms) * 4096),
                      "WITHSCORES", "LIMIT", "0", std::to_string(count + 1)});
  if (!reply.ok()) return reply.status();
  auto out = IdsWithScores(*reply, before_id);
  if (static_cast<int>(out.size()) > count) out.resize(count);
  return out;
}

absl::StatusOr<std::vector<IdAndTime>> RequestStore::Newest(std::string_view jurisdiction,
                                                            std::string_view service_code,
                                                            int64_t since_ms, int64_t until_ms,
                                                            std::string_view before_id, int count) {
  return RangeBefore(
      service_code.empty() ? ByTimeKey(jurisdiction) : ByServiceKey(jurisdiction, service_code),
      since_ms, until_ms, before_id, count);
}

absl::StatusOr<std::vector<IdAndTime>> RequestStore::NewestOfOwner(std::string_view account,
                                                                   std::string_view before_id,
                                                                   int count) {
  return RangeBefore(ByOwnerKey(account), 0, int64_t{1} << 50, before_id, count);
}

absl::StatusOr<int64_t> RequestStore::Count(std::string_view jurisdiction) {
  return infra::redis::AsInteger(redis_.Command({"ZCARD", ByTimeKey(jurisdiction)}));
}

namespace {

double ToDouble(const std::string& s) {
  double v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

// Replies of GEOSEARCH ... WITHDIST ([member, distance]) or WITHCOORD ([member, [lon, lat]]).
std::vector<GeoHit> GeoHits(const Reply& reply) {
  std::vector<GeoHit> out;
  out.reserve(reply.elements().size());
  for (const Reply& r : reply.elements()) {
    if (!r.is_array() || r.elements().size() < 2) continue;
    GeoHit hit;
    hit.id = r.elements()[0].str();
    const Reply& extra = r.elements()[1];
    if (extra.is_array() && extra.elements().size() == 2) {
      hit.lon = ToDouble(extra.elements()[0].str());
      hit.lat = ToDouble(extra.elements()[1].str());
    } else {
      hit.distance_m = ToDouble(extra.str());
    }
    out.push_back(std::move(hit));
  }
  return out;
}

}  // namespace

namespace {

Args GeoSearchArgs(std::string key, const GeoShape& shape, RequestStore::GeoLimit limit) {
  Args command = {"GEOSEARCH", std::move(key), "FROMLONLAT", Num(shape.lon), Num(shape.lat)};
  if (shape.radius_m > 0) {
    command.insert(command.end(), {"BYRADIUS", Num(shape.radius_m), "m", "WITHDIST"});
  } else {
    command.insert(command.end(),
                   {"BYBOX", Num(shape.width_m), Num(shape.height_m), "m", "WITHCOORD"});
  }
  command.insert(command.end(), {"COUNT", std::to_string(limit.count)});
  if (limit.any) command.push_back("ANY");
  return command;
}

}  // namespace

absl::StatusOr<std::vector<GeoHit>> RequestStore::NearOpen(std::string_view jurisdiction,
                                                           std::string_view service_code,
                                                           double lat, double lon, double radius_m,
                                                           GeoLimit limit) {
  auto reply = redis_.Command(
      GeoSearchArgs(GeoOpenKey(jurisdiction, service_code), GeoShape{lat, lon, radius_m}, limit));
  if (!reply.ok()) return reply.status();
  return GeoHits(*reply);
}

absl::StatusOr<RequestStore::GeoStart> RequestStore::SearchNewestWeek(
    std::string_view jurisdiction, int64_t min_week, int64_t max_week, int64_t probe_week,
    const GeoShape& shape, GeoLimit limit) {
  auto replies =
      redis_.Pipeline({{"ZREVRANGEBYSCORE", GeoWeeksKey(jurisdiction), std::to_string(max_week),
                        std::to_string(min_week)},
                       GeoSearchArgs(GeoWeekKey(jurisdiction, probe_week), shape, limit)});
  if (!replies.ok()) return replies.status();
  for (const Reply& r : *replies) {
    if (r.is_error()) return infra::redis::ErrorReplyToStatus(r.str());
  }
  GeoStart start;
  for (const Reply& w : (*replies)[0].elements()) {
    int64_t week = 0;
    std::from_chars(w.str().data(), w.str().data() + w.str().size(), week);
    start.weeks.push_back(week);
  }
  start.hits = GeoHits((*replies)[1]);
  return start;
}

absl::StatusOr<std::vector<std::vector<GeoHit>>> RequestStore::SearchWeeks(
    std::string_view jurisdiction, const std::vector<int64_t>& weeks, const GeoShape& shape,
    GeoLimit limit) {
  std::vector<Args> commands;
  commands.reserve(weeks.size());
  for (int64_t week : weeks)
    commands.push_back(GeoSearchArgs(GeoWeekKey(jurisdiction, week), shape, limit));
  auto replies = redis_.Pipeline(commands);
  if (!replies.ok()) return replies.status();
  std::vector<std::vector<GeoHit>> out;
  out.reserve(replies->size());
  for (const Reply& r : *replies) {
    if (r.is_error()) return infra::redis::ErrorReplyToStatus(r.str());
    out.push_back(GeoHits(r));
  }
  return out;
}

absl::StatusOr<int64_t> RequestStore::MigrateGeoIndex(std::string_view jurisdiction,
                                                      int64_t max_entries) {
  // A GEO set is a sorted set whose scores are the positions' geohashes, so an entry moves by
  // copying its score. Each batch is one MULTI: entries are in the new sets before they leave
  // the old one, and a batch cut off by a crash is simply moved again.
  const std::string old_key = OldGeoKey(jurisdiction);
  int64_t moved = 0;
  while (moved < max_entries) {
    const int64_t batch_size = std::min<int64_t>(500, max_entries - moved);
    auto batch =
        redis_.Command({"ZRANGE", old_key, "0", std::to_string(batch_size - 1), "WITHSCORES"});
    if (!batch.ok()) return batch.status();
    const auto& e = batch->elements();
    if (e.size() < 2) break;
    std::vector<Args> commands;
    Args remove = {"ZREM", old_key};
    for (size_t i = 0; i + 1 < e.size(); i += 2) {
      const int64_t week = WeekOfId(e[i].str());
      commands.push_back({"ZADD", GeoWeekKey(jurisdiction, week), e[i + 1].str(), e[i].str()});
      commands.push_back(
          {"ZADD", GeoWeeksKey(jurisdiction), std::to_string(week), std::to_string(week)});
      remove.push_back(e[i].str());
    }
    commands.push_back(std::move(remove));
    auto done = redis_.Transaction(commands);
    if (!done.ok()) return done.status();
    for (const Reply& r : *done) {
      if (r.is_error()) return infra::redis::ErrorReplyToStatus(r.str());
    }
    moved += static_cast<int64_t>(e.size() / 2);
  }
  return moved;
}

absl::StatusOr<FollowState> RequestStore::Follow(std::string_view id, std::string_view account,
                                                 bool follow, const Events& events) {
  Args args = {std::string(account), std::string(id), follow ? "1" : "0"};
  AppendEventTriples(events, &args);
  auto reply =
      redis_.Eval(FollowScript(), {RequestKey(id), FollowersKey(id), FollowingKey(account)}, args);
  if (!reply.ok()) return reply.status();
  return FollowState{reply->elements()[0].integer(), reply->elements()[1].integer() == 1};
}

absl::StatusOr<std::vector<std::string>> RequestStore::Following(std::string_view account) {
  auto reply = redis_.Command({"SMEMBERS", FollowingKey(account)});
  if (!reply.ok()) return reply.status();
  std::vector<std::string> out;
  for (const Reply& r : reply->elements()) out.push_back(r.str());
  std::sort(out.begin(), out.end());
  return out;
}

absl::Status RequestStore::AddComment(const StoredComment& comment, const Events& events) {
  Args args = {comment.SerializeAsString(), comment.request_id(), std::to_string(kMaxComments)};
  AppendEventTriples(events, &args);
  const std::string comments = CommentsKey(comment.request_id());
  return redis_
      .Eval(CommentScript(),
            {RequestKey(comment.request_id()), comments,
             comment.author_account_id().empty() ? comments
                                                 : CommentsByKey(comment.author_account_id())},
            args)
      .status();
}

absl::StatusOr<std::vector<StoredComment>> RequestStore::Comments(std::string_view id,
                                                                  int64_t start, int count) {
  auto reply = redis_.Command(
      {"LRANGE", CommentsKey(id), std::to_string(start), std::to_string(start + count - 1)});
  if (!reply.ok()) return reply.status();
  std::vector<StoredComment> out;
  for (const Reply& r : reply->elements()) {
    StoredComment c;
    if (c.ParseFromString(r.str())) out.push_back(std::move(c));
  }
  return out;
}

absl::StatusOr<std::vector<StoredComment>> RequestStore::CommentsBy(std::string_view account) {
  auto refs = redis_.Command({"SMEMBERS", CommentsByKey(account)});
  if (!refs.ok()) return refs.status();
  std::vector<Args> commands;
  for (const Reply& ref : refs->elements()) {
    const std::string& s = ref.str();
    const size_t colon = s.rfind(':');
    commands.push_back({"LINDEX", CommentsKey(s.substr(0, colon)), s.substr(colon + 1)});
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
  auto marked = redis_.Command(infra::auth::DeletedAccounts::MarkArgs("requests", account));
  if (!marked.ok()) return marked.status();
  // Owned requests stay public records without owner and contact details. Each is updated
  // with the usual version check, retried if an operator changed it meanwhile.
  auto owned = redis_.Command({"ZRANGE", ByOwnerKey(account), "0", "-1"});
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
      const absl::Status s = Update(*current, after, {});
      if (s.ok()) break;
      if (s.code() != absl::StatusCode::kAborted || attempt >= 5) return s;
    }
  }
  // Comments keep their text but lose their author.
  auto mine = redis_.Command({"SMEMBERS", CommentsByKey(account)});
  if (!mine.ok()) return mine.status();
  for (const Reply& ref : mine->elements()) {
    const std::string& s = ref.str();
    const size_t colon = s.rfind(':');
    const std::string list = CommentsKey(s.substr(0, colon));
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
  auto idem = redis_.Command({"SMEMBERS", IdemOfKey(account)});
  if (!idem.ok()) return idem.status();
  std::vector<Args> cleanup;
  for (const std::string& id : *followed)
    cleanup.push_back({"SREM", FollowersKey(id), std::string(account)});
  Args del = {"DEL", FollowingKey(account), CommentsByKey(account), ByOwnerKey(account),
              IdemOfKey(account)};
  // Never anything but the account's own keys, whatever the set holds.
  const std::string own = IdemPrefix(account);
  for (const Reply& k : idem->elements()) {
    if (k.str().starts_with(own)) del.push_back(k.str());
  }
  cleanup.push_back(std::move(del));
  return redis_.Pipeline(cleanup).status();
}

}  // namespace cityhub::requests
