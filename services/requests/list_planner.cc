#include "services/requests/list_planner.h"

#include <algorithm>
#include <functional>

#include "infra/ids.h"
#include "infra/status.h"

namespace cityhub::requests {

namespace {

// A list call reads at most this many index entries before answering with a shorter page
// and a token to go on from.
constexpr int kMaxScanned = 2000;

}  // namespace

void ListPlanner::Page(std::vector<StoredRequest> matches, int page_size, const Viewer& view,
                       v1::ListRequestsResponse* out) {
  std::sort(matches.begin(), matches.end(),
            [](const StoredRequest& a, const StoredRequest& b) { return a.id() > b.id(); });
  const bool more = static_cast<int>(matches.size()) > page_size;
  if (more) matches.resize(page_size);
  for (const StoredRequest& r : matches) view(r, out->add_requests());
  if (more) out->set_next_page_token(matches.back().id());
}

absl::Status ListPlanner::GeoPage(const std::string& jurisdiction, const ListFilter& filter,
                                  int page_size, const Viewer& view,
                                  v1::ListRequestsResponse* out) {
  // The geo index holds one set per week, so the newest weeks are searched first, one, then
  // two, four ... at a time, until the page is full: a page near a point costs a search in a
  // week or two, not in the whole history. Redis is asked with a margin (positions are
  // geohashes); hits clearly outside are dropped at once and the exact check runs on the
  // records, read newest first only until the page is full. A round holds at most the cap of
  // hits: each of its weeks is asked for its share of the cap and one more (ANY: Redis stops
  // there and sorts nothing), so a week that fills it marks an area too large to sort in
  // memory, and the time index is walked instead from where the page got to.
  GeoShape shape;
  if (filter.near) {
    shape = GeoShape{filter.lat, filter.lon, filter.radius_m + kGeoMarginM};
  } else {
    shape.lat = (filter.min_lat + filter.max_lat) / 2;
    shape.lon = (filter.min_lon + filter.max_lon) / 2;
    shape.height_m =
        DistanceM(filter.min_lat, shape.lon, filter.max_lat, shape.lon) + 2 * kGeoMarginM;
    shape.width_m =
        std::max(DistanceM(filter.min_lat, filter.min_lon, filter.min_lat, filter.max_lon),
                 DistanceM(filter.max_lat, filter.min_lon, filter.max_lat, filter.max_lon)) +
        2 * kGeoMarginM;
  }
  const int cap = max_geo_candidates_;
  // Weeks of [since, until), none newer than the cursor's. The first round searches this
  // server's current week; a newer one exists only if another replica's clock runs ahead
  // across the turn of a week, and is then searched in the same round.
  const int64_t this_week = GeoWeekOf(infra::UnixMillis(clock_.Now()));
  int64_t newest = std::min(GeoWeekOf(filter.until_ms - 1), this_week + 1);
  if (!filter.before_id.empty()) {
    if (auto t = infra::UlidTime(filter.before_id))
      newest = std::min(newest, GeoWeekOf(infra::UnixMillis(*t)));
  }
  const int64_t oldest = GeoWeekOf(filter.since_ms);
  if (oldest > newest) return absl::OkStatus();
  const int64_t probe = std::min(newest, this_week);
  ASSIGN_OR_RETURN(auto start, store_.SearchNewestWeek(jurisdiction, oldest, newest, probe, shape,
                                                       RequestStore::GeoLimit{cap + 1, true}));
  std::vector<int64_t> weeks, ahead;
  for (int64_t w : start.weeks) {
    if (w > probe) ahead.push_back(w);
    if (w < probe) weeks.push_back(w);
  }
  std::vector<GeoHit> hits = std::move(start.hits);
  bool truncated = static_cast<int>(hits.size()) > cap;
  if (!ahead.empty() && !truncated) {
    ASSIGN_OR_RETURN(auto more, store_.SearchWeeks(jurisdiction, ahead, shape,
                                                   RequestStore::GeoLimit{cap + 1, true}));
    for (auto& week : more) hits.insert(hits.end(), week.begin(), week.end());
    truncated = static_cast<int>(hits.size()) > cap;
  }

  constexpr double kEdgeM = 1.5;
  constexpr double kEdgeDeg = 2e-5;  // about 1.4 m of latitude; less than that of longitude here
  std::string last_id = filter.before_id;  // the oldest id on the page so far
  size_t next_week = 0;
  size_t batch = 1;
  for (;;) {
    if (truncated) {
      // A large area: most of the city's requests lie in it, so walking the time index newest
      // first and checking positions on the records finds a page quickly, and pages stay
      // complete and in order however many requests the area holds.
      ListFilter rest = filter;
      rest.before_id = last_id;
      return ScanPage(jurisdiction, rest, page_size, view, out);
    }
    std::vector<std::string> ids;
    for (const GeoHit& h : hits) {
      if (!filter.before_id.empty() && h.id >= filter.before_id) continue;
      if (filter.near && h.distance_m > filter.radius_m + kEdgeM) continue;
      if (filter.box && (h.lat < filter.min_lat - kEdgeDeg || h.lat > filter.max_lat + kEdgeDeg ||
                         h.lon < filter.min_lon - kEdgeDeg || h.lon > filter.max_lon + kEdgeDeg)) {
        continue;
      }
      ids.push_back(h.id);
    }
    // Newest first (ids are ULIDs; every id of this round is older than those of the rounds
    // before), then records in chunks until the page is full and one more match proves a next
    // page. A chunk is what the page still needs and a little more; later chunks grow, since
    // filters on status or category may reject many.
    std::sort(ids.begin(), ids.end(), std::greater<>());
    size_t chunk = static_cast<size_t>(page_size - out->requests_size()) + 3;
    for (size_t at = 0; at < ids.size(); at += chunk, chunk *= 2) {
      std::vector<std::string> part(ids.begin() + at,
                                    ids.begin() + std::min(ids.size(), at + chunk));
      ASSIGN_OR_RETURN(auto requests, store_.GetMany(part));
      for (auto& r : requests) {
        if (!r || r->jurisdiction_id() != jurisdiction || !filter.Matches(*r)) continue;
        if (out->requests_size() == page_size) {
          out->set_next_page_token(last_id);
          return absl::OkStatus();
        }
        view(*r, out->add_requests());
        last_id = r->id();
      }
    }
    if (next_week >= weeks.size()) return absl::OkStatus();  // every week searched: last page
    const std::vector<int64_t> round(weeks.begin() + next_week,
                                     weeks.begin() + std::min(weeks.size(), next_week + batch));
    next_week += round.size();
    batch = std::min<size_t>(batch * 2, 16);
    // The cap shared out over the round's weeks: a week that fills its share may hold more,
    // and then the round is incomplete.
    const int share = cap / static_cast<int>(round.size()) + 1;
    ASSIGN_OR_RETURN(auto more, store_.SearchWeeks(jurisdiction, round, shape,
                                                   RequestStore::GeoLimit{share, true}));
    hits.clear();
    for (auto& week : more) {
      truncated = truncated || static_cast<int>(week.size()) >= share;
      hits.insert(hits.end(), std::make_move_iterator(week.begin()),
                  std::make_move_iterator(week.end()));
    }
  }
}

absl::Status ListPlanner::ScanPage(const std::string& jurisdiction, const ListFilter& filter,
                                   int page_size, const Viewer& view,
                                   v1::ListRequestsResponse* out) {
  const std::string index_code =
      filter.service_codes.size() == 1 ? *filter.service_codes.begin() : std::string();
  std::string cursor = filter.before_id;
  int scanned = 0;
  const int batch = std::min(kMaxScanned, std::max(page_size * 2, 50));
  while (out->requests_size() < page_size) {
    ASSIGN_OR_RETURN(const auto ids, store_.Newest(jurisdiction, index_code, filter.since_ms,
                                                   filter.until_ms, cursor, batch));
    if (ids.empty()) return absl::OkStatus();  // the index is exhausted: no next page
    std::vector<std::string> keys;
    for (const auto& i : ids) keys.push_back(i.id);
    ASSIGN_OR_RETURN(const auto requests, store_.GetMany(keys));
    for (size_t i = 0; i < requests.size(); ++i) {
      cursor = keys[i];
      ++scanned;
      const auto& r = requests[i];
      if (r && filter.Matches(*r)) {
        view(*r, out->add_requests());
        if (out->requests_size() == page_size) break;
      }
    }
    if (static_cast<int>(ids.size()) < batch && out->requests_size() < page_size &&
        cursor == keys.back()) {
      return absl::OkStatus();  // read to the end of the index
    }
    if (scanned >= kMaxScanned) break;
  }
  out->set_next_page_token(cursor);
  return absl::OkStatus();
}

}  // namespace cityhub::requests
