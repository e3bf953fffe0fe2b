// The geo index of the requests store: weekly GEO sets searched newest first, the open
// requests of a category for duplicate suggestions, and the move from the single set of
// earlier versions.
#include <algorithm>
#include <charconv>

#include "infra/ids.h"
#include "infra/redis/transaction.h"
#include "infra/status.h"
#include "infra/strings.h"
#include "services/requests/keys.h"
#include "services/requests/request_store.h"

namespace cityhub::requests {

using infra::StrCat;
using infra::redis::Args;
using infra::redis::Reply;

int64_t GeoWeekOfId(std::string_view id) {
  const auto t = infra::UlidTime(id);
  return t ? GeoWeekOf(infra::UnixMillis(*t)) : 0;
}

namespace {

double ToDouble(const std::string& s) {
  double v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

// Replies of GEOSEARCH ... WITHDIST ([member, distance]) or WITHCOORD ([member, [lon, lat]]);
// the members are moved out of the reply, not copied.
absl::StatusOr<std::vector<GeoHit>> TakeGeoHits(Reply& reply) {
  if (reply.is_error()) return infra::redis::ErrorReplyToStatus(reply.str());
  std::vector<GeoHit> out;
  out.reserve(reply.elements().size());
  for (Reply& r : reply.mutable_elements()) {
    if (!r.is_array() || r.elements().size() < 2) continue;
    GeoHit& hit = out.emplace_back();
    hit.id = std::move(r.mutable_elements()[0].mutable_str());
    const Reply& extra = r.elements()[1];
    if (extra.is_array() && extra.elements().size() == 2) {
      hit.lon = ToDouble(extra.elements()[0].str());
      hit.lat = ToDouble(extra.elements()[1].str());
    } else {
      hit.distance_m = ToDouble(extra.str());
    }
  }
  return out;
}

// Each reply of a pipeline of geo searches, in order.
absl::StatusOr<std::vector<std::vector<GeoHit>>> TakeGeoHits(std::vector<Reply>& replies,
                                                             size_t from) {
  std::vector<std::vector<GeoHit>> out;
  out.reserve(replies.size() - std::min(from, replies.size()));
  for (size_t i = from; i < replies.size(); ++i) {
    ASSIGN_OR_RETURN(auto hits, TakeGeoHits(replies[i]));
    out.push_back(std::move(hits));
  }
  return out;
}

Args GeoSearchArgs(std::string key, const GeoShape& shape, RequestStore::GeoLimit limit) {
  Args command = {"GEOSEARCH", std::move(key), "FROMLONLAT", StrCat(shape.lon), StrCat(shape.lat)};
  if (shape.radius_m > 0) {
    command.insert(command.end(), {"BYRADIUS", StrCat(shape.radius_m), "m", "WITHDIST"});
  } else {
    command.insert(command.end(),
                   {"BYBOX", StrCat(shape.width_m), StrCat(shape.height_m), "m", "WITHCOORD"});
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
  ASSIGN_OR_RETURN(Reply reply,
                   redis_.Command(GeoSearchArgs(keys::GeoOpen(jurisdiction, service_code),
                                                GeoShape{lat, lon, radius_m}, limit)));
  return TakeGeoHits(reply);
}

void RequestStore::SearchNewestWeeks(std::string_view jurisdiction, int64_t min_week,
                                     int64_t max_week, const std::vector<int64_t>& probe_weeks,
                                     const GeoShape& shape, GeoLimit limit, Done<GeoStart> done) {
  std::vector<Args> commands;
  commands.reserve(probe_weeks.size() + 1);
  commands.push_back({"ZREVRANGEBYSCORE", keys::GeoWeeks(jurisdiction), std::to_string(max_week),
                      std::to_string(min_week)});
  for (int64_t week : probe_weeks)
    commands.push_back(GeoSearchArgs(keys::GeoWeek(jurisdiction, week), shape, limit));
  Pipeline(std::move(commands),
           [done = std::move(done)](absl::StatusOr<std::vector<Reply>> replies) {
             if (!replies.ok()) return done(replies.status());
             const Reply& weeks = replies->front();
             if (weeks.is_error()) return done(infra::redis::ErrorReplyToStatus(weeks.str()));
             auto hits = TakeGeoHits(*replies, 1);
             if (!hits.ok()) return done(hits.status());
             GeoStart start;
             start.weeks.reserve(weeks.elements().size());
             for (const Reply& w : weeks.elements()) {
               int64_t week = 0;
               std::from_chars(w.str().data(), w.str().data() + w.str().size(), week);
               start.weeks.push_back(week);
             }
             start.hits = std::move(*hits);
             done(std::move(start));
           });
}

void RequestStore::SearchWeeks(std::string_view jurisdiction, const std::vector<int64_t>& weeks,
                               const GeoShape& shape, GeoLimit limit,
                               Done<std::vector<std::vector<GeoHit>>> done) {
  std::vector<Args> commands;
  commands.reserve(weeks.size());
  for (int64_t week : weeks)
    commands.push_back(GeoSearchArgs(keys::GeoWeek(jurisdiction, week), shape, limit));
  Pipeline(std::move(commands),
           [done = std::move(done)](absl::StatusOr<std::vector<Reply>> replies) {
             if (!replies.ok()) return done(replies.status());
             done(TakeGeoHits(*replies, 0));
           });
}

absl::StatusOr<int64_t> RequestStore::MigrateGeoIndex(std::string_view jurisdiction,
                                                      int64_t max_entries) {
  // A GEO set is a sorted set whose scores are the positions' geohashes, so an entry moves by
  // copying its score. Each batch is one Transaction: entries are in the new sets before they leave
  // the old one, and a batch cut off by a crash is simply moved again.
  const std::string old_key = keys::OldGeo(jurisdiction);
  int64_t moved = 0;
  while (moved < max_entries) {
    const int64_t batch_size = std::min<int64_t>(500, max_entries - moved);
    auto batch =
        redis_.Command({"ZRANGE", old_key, "0", std::to_string(batch_size - 1), "WITHSCORES"});
    if (!batch.ok()) return batch.status();
    const auto& e = batch->elements();
    if (e.size() < 2) break;
    infra::redis::Transaction tx;
    Args remove = {"ZREM", old_key};
    for (size_t i = 0; i + 1 < e.size(); i += 2) {
      const int64_t week = GeoWeekOfId(e[i].str());
      tx.Then({"ZADD", keys::GeoWeek(jurisdiction, week), e[i + 1].str(), e[i].str()});
      tx.Then({"ZADD", keys::GeoWeeks(jurisdiction), std::to_string(week), std::to_string(week)});
      remove.push_back(e[i].str());
    }
    tx.Then(std::move(remove));
    if (auto done = tx.Run(redis_); !done.ok()) return done.status();
    moved += static_cast<int64_t>(e.size() / 2);
  }
  return moved;
}

absl::StatusOr<int64_t> RequestStore::BackfillDepartmentIndex(std::string_view jurisdiction,
                                                              int64_t max_entries) {
  // Walks the time index oldest first from the cursor kept in Redis. An entry added for a
  // department the request has left meanwhile is harmless: lists check the department of
  // what they read (ListFilter::Matches).
  const std::string cursor_key = keys::DepartmentBackfill(jurisdiction);
  auto cursor = redis_.Command({"GET", cursor_key});
  if (!cursor.ok()) return cursor.status();
  std::string after = cursor->is_nil() ? "" : cursor->str();
  if (after == "done") return 0;
  int64_t added = 0;
  while (added < max_entries) {
    const std::string min = after.empty() ? "-inf" : StrCat("(", SortScore(after));
    auto ids = redis_.Command(
        {"ZRANGEBYSCORE", keys::ByTime(jurisdiction), min, "+inf", "LIMIT", "0", "500"});
    if (!ids.ok()) return ids.status();
    std::vector<std::string> batch;
    for (const Reply& id : ids->elements()) batch.push_back(id.str());
    if (batch.empty()) {
      if (auto s = redis_.Command({"SET", cursor_key, "done"}); !s.ok()) return s.status();
      break;
    }
    ASSIGN_OR_RETURN(auto requests, GetMany(batch));
    std::vector<Args> adds;
    for (const auto& r : requests) {
      if (r && !r->department().empty()) {
        adds.push_back({"ZADD", keys::ByDepartment(jurisdiction, r->department()),
                        StrCat(SortScore(r->id())), r->id()});
      }
    }
    after = batch.back();
    adds.push_back({"SET", cursor_key, after});
    if (auto s = redis_.Pipeline(adds); !s.ok()) return s.status();
    added += static_cast<int64_t>(batch.size());
  }
  return added;
}

}  // namespace cityhub::requests
