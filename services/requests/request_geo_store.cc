// The geo index of the requests store: weekly GEO sets searched newest first, the open
// requests of a category for duplicate suggestions, and the move from the single set of
// earlier versions.
#include <algorithm>
#include <charconv>

#include "infra/ids.h"
#include "infra/redis/transaction.h"
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
  auto reply = redis_.Command(GeoSearchArgs(keys::GeoOpen(jurisdiction, service_code),
                                            GeoShape{lat, lon, radius_m}, limit));
  if (!reply.ok()) return reply.status();
  return GeoHits(*reply);
}

absl::StatusOr<RequestStore::GeoStart> RequestStore::SearchNewestWeek(
    std::string_view jurisdiction, int64_t min_week, int64_t max_week, int64_t probe_week,
    const GeoShape& shape, GeoLimit limit) {
  auto replies =
      redis_.Pipeline({{"ZREVRANGEBYSCORE", keys::GeoWeeks(jurisdiction), std::to_string(max_week),
                        std::to_string(min_week)},
                       GeoSearchArgs(keys::GeoWeek(jurisdiction, probe_week), shape, limit)});
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
    commands.push_back(GeoSearchArgs(keys::GeoWeek(jurisdiction, week), shape, limit));
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

}  // namespace cityhub::requests
