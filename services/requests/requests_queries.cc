// The read side of the requests service: lists, "near me", "my requests" and duplicate
// suggestions.
#include <algorithm>
#include <cmath>
#include <set>

#include <google/protobuf/util/time_util.h>

#include "infra/ids.h"
#include "infra/status.h"
#include "infra/strings.h"
#include "services/requests/lifecycle.h"
#include "services/requests/requests_service.h"

namespace cityhub::requests {

using google::protobuf::util::TimeUtil;
using infra::Done;
using infra::InvalidField;
using infra::auth::Caller;

namespace {

// Seconds within RFC 3339's years 0001..9999 and nanos below a second.
bool IsValidTimestamp(const google::protobuf::Timestamp& t) {
  return t.seconds() >= TimeUtil::kTimestampMinSeconds &&
         t.seconds() <= TimeUtil::kTimestampMaxSeconds && t.nanos() >= 0 &&
         t.nanos() < 1'000'000'000;
}

constexpr double kMaxRadiusM = 20'000;
// Geo searches look this much further than asked and then decide by exact coordinates: Redis
// keeps positions as 52-bit geohashes (about 0.6 m off).
constexpr double kGeoMarginM = 2.0;
// A list call reads at most this many index entries before answering with a shorter page
// and a token to go on from.
constexpr int kMaxScanned = 2000;

}  // namespace

struct RequestsService::Filter {
  std::set<std::string> service_codes;
  std::set<int> statuses;
  int64_t since_ms = 0;
  int64_t until_ms = int64_t{1} << 50;
  bool near = false;
  double lat = 0, lon = 0, radius_m = 0;
  bool box = false;
  double min_lat = 0, min_lon = 0, max_lat = 0, max_lon = 0;
  std::string before_id;  // the page token

  bool Matches(const StoredRequest& r) const {
    if (!service_codes.empty() && !service_codes.count(r.service_code())) return false;
    if (!statuses.empty() && !statuses.count(r.status())) return false;
    if (r.requested_ms() < since_ms || r.requested_ms() >= until_ms) return false;
    if (!before_id.empty() && r.id() >= before_id) return false;
    if (near && (!r.has_location() || DistanceM(lat, lon, r.lat(), r.long_()) > radius_m))
      return false;
    if (box && (!r.has_location() || r.lat() < min_lat || r.lat() > max_lat ||
                r.long_() < min_lon || r.long_() > max_lon)) {
      return false;
    }
    return true;
  }
};

namespace {

using Filter = RequestsService::Filter;

absl::StatusOr<Filter> ParseFilter(const v1::ListRequestsRequest& req) {
  Filter f;
  if (req.service_code_size() > 20) return InvalidField("service_code", "at most 20 codes");
  for (const auto& code : req.service_code()) {
    if (!IsServiceCode(code)) return InvalidField("service_code", "malformed");
    f.service_codes.insert(code);
  }
  for (int s : req.status()) {
    if (!v1::Status_IsValid(s) || s == v1::STATUS_UNSPECIFIED) {
      return InvalidField(
          "status",
          "not one of SUBMITTED, ACKNOWLEDGED, IN_PROGRESS, RESOLVED, REJECTED, DUPLICATE, CLOSED");
    }
    f.statuses.insert(s);
  }
  if (req.has_since()) {
    if (!IsValidTimestamp(req.since())) return InvalidField("since", "not a valid time");
    f.since_ms = TimeUtil::TimestampToMilliseconds(req.since());
  }
  if (req.has_until()) {
    if (!IsValidTimestamp(req.until())) return InvalidField("until", "not a valid time");
    f.until_ms = TimeUtil::TimestampToMilliseconds(req.until());
  }
  if (f.since_ms >= f.until_ms) return InvalidField("since", "must be before until");
  const int near_parts = req.has_lat() + req.has_long_() + req.has_radius_m();
  if (near_parts != 0 && near_parts != 3) {
    return InvalidField("radius_m", "lat, long and radius_m go together");
  }
  if (near_parts == 3) {
    if (auto s = CheckCoordinates(req.lat(), req.long_(), "lat", "long"); !s.ok()) return s;
    if (!std::isfinite(req.radius_m()) || req.radius_m() <= 0 || req.radius_m() > kMaxRadiusM) {
      return InvalidField("radius_m", "must be more than 0 and at most 20000");
    }
    f.near = true;
    f.lat = req.lat();
    f.lon = req.long_();
    f.radius_m = req.radius_m();
  }
  const int box_parts =
      req.has_min_lat() + req.has_min_long() + req.has_max_lat() + req.has_max_long();
  if (box_parts != 0 && box_parts != 4) {
    return InvalidField("min_lat", "min_lat, min_long, max_lat and max_long go together");
  }
  if (box_parts == 4) {
    if (f.near) return InvalidField("min_lat", "use either a radius or a box, not both");
    if (auto s = CheckCoordinates(req.min_lat(), req.min_long(), "min_lat", "min_long"); !s.ok())
      return s;
    if (auto s = CheckCoordinates(req.max_lat(), req.max_long(), "max_lat", "max_long"); !s.ok())
      return s;
    if (req.min_lat() >= req.max_lat()) return InvalidField("min_lat", "must be less than max_lat");
    if (req.min_long() >= req.max_long())
      return InvalidField("min_long", "must be less than max_long");
    if (DistanceM(req.min_lat(), req.min_long(), req.max_lat(), req.max_long()) > 2 * kMaxRadiusM) {
      return InvalidField("max_lat", "the box is larger than 40 km across");
    }
    f.box = true;
    f.min_lat = req.min_lat();
    f.min_lon = req.min_long();
    f.max_lat = req.max_lat();
    f.max_lon = req.max_long();
  }
  if (auto s = CheckPageToken(req.page_token()); !s.ok()) return s;
  f.before_id = req.page_token();
  if (req.request_ids_size() > 100) return InvalidField("request_ids", "at most 100");
  for (const auto& id : req.request_ids()) {
    if (!infra::IsUlid(id)) return InvalidField("request_ids", "not request ids");
  }
  return f;
}

}  // namespace

absl::Status RequestsService::Page(const Caller& caller, std::vector<StoredRequest> matches,
                                   int page_size, std::string_view language,
                                   v1::ListRequestsResponse* out) {
  std::sort(matches.begin(), matches.end(),
            [](const StoredRequest& a, const StoredRequest& b) { return a.id() > b.id(); });
  const bool more = static_cast<int>(matches.size()) > page_size;
  if (more) matches.resize(page_size);
  for (const StoredRequest& r : matches) View(caller, r, language, out->add_requests());
  if (more) out->set_next_page_token(matches.back().id());
  return absl::OkStatus();
}

absl::Status RequestsService::GeoPage(const Caller& caller, const std::string& jurisdiction,
                                      const Filter& filter, int page_size,
                                      std::string_view language, v1::ListRequestsResponse* out) {
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
  const int cap = settings_.max_geo_candidates;
  // Weeks of [since, until), none newer than the cursor's. The first round searches this
  // server's current week; a newer one exists only if another replica's clock runs ahead
  // across the turn of a week, and is then searched in the same round.
  const int64_t this_week = GeoWeekOf(infra::UnixMillis(deps_.clock.Now()));
  int64_t newest = std::min(GeoWeekOf(filter.until_ms - 1), this_week + 1);
  if (!filter.before_id.empty()) {
    if (auto t = infra::UlidTime(filter.before_id))
      newest = std::min(newest, GeoWeekOf(infra::UnixMillis(*t)));
  }
  const int64_t oldest = GeoWeekOf(filter.since_ms);
  if (oldest > newest) return absl::OkStatus();
  const int64_t probe = std::min(newest, this_week);
  auto start = deps_.requests.SearchNewestWeek(jurisdiction, oldest, newest, probe, shape,
                                               RequestStore::GeoLimit{cap + 1, true});
  if (!start.ok()) return start.status();
  std::vector<int64_t> weeks, ahead;
  for (int64_t w : start->weeks) {
    if (w > probe) ahead.push_back(w);
    if (w < probe) weeks.push_back(w);
  }
  std::vector<GeoHit> hits = std::move(start->hits);
  bool truncated = static_cast<int>(hits.size()) > cap;
  if (!ahead.empty() && !truncated) {
    auto more = deps_.requests.SearchWeeks(jurisdiction, ahead, shape,
                                           RequestStore::GeoLimit{cap + 1, true});
    if (!more.ok()) return more.status();
    for (auto& week : *more) hits.insert(hits.end(), week.begin(), week.end());
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
      Filter rest = filter;
      rest.before_id = last_id;
      return ScanPage(caller, jurisdiction, rest, page_size, language, out);
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
      auto requests = deps_.requests.GetMany(part);
      if (!requests.ok()) return requests.status();
      for (auto& r : *requests) {
        if (!r || r->jurisdiction_id() != jurisdiction || !filter.Matches(*r)) continue;
        if (out->requests_size() == page_size) {
          out->set_next_page_token(last_id);
          return absl::OkStatus();
        }
        View(caller, *r, language, out->add_requests());
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
    auto more =
        deps_.requests.SearchWeeks(jurisdiction, round, shape, RequestStore::GeoLimit{share, true});
    if (!more.ok()) return more.status();
    hits.clear();
    for (auto& week : *more) {
      truncated = truncated || static_cast<int>(week.size()) >= share;
      hits.insert(hits.end(), std::make_move_iterator(week.begin()),
                  std::make_move_iterator(week.end()));
    }
  }
}

absl::Status RequestsService::ScanPage(const Caller& caller, const std::string& jurisdiction,
                                       const Filter& filter, int page_size,
                                       std::string_view language, v1::ListRequestsResponse* out) {
  const std::string index_code =
      filter.service_codes.size() == 1 ? *filter.service_codes.begin() : std::string();
  std::string cursor = filter.before_id;
  int scanned = 0;
  const int batch = std::min(kMaxScanned, std::max(page_size * 2, 50));
  while (out->requests_size() < page_size) {
    auto ids = deps_.requests.Newest(jurisdiction, index_code, filter.since_ms, filter.until_ms,
                                     cursor, batch);
    if (!ids.ok()) return ids.status();
    if (ids->empty()) return absl::OkStatus();  // the index is exhausted: no next page
    std::vector<std::string> keys;
    for (const auto& i : *ids) keys.push_back(i.id);
    auto requests = deps_.requests.GetMany(keys);
    if (!requests.ok()) return requests.status();
    for (size_t i = 0; i < requests->size(); ++i) {
      cursor = keys[i];
      ++scanned;
      const auto& r = (*requests)[i];
      if (r && filter.Matches(*r)) {
        View(caller, *r, language, out->add_requests());
        if (out->requests_size() == page_size) break;
      }
    }
    if (static_cast<int>(ids->size()) < batch && out->requests_size() < page_size &&
        cursor == keys.back()) {
      return absl::OkStatus();  // read to the end of the index
    }
    if (scanned >= kMaxScanned) break;
  }
  out->set_next_page_token(cursor);
  return absl::OkStatus();
}

grpc::Status RequestsService::DoListRequests(grpc::ServerContextBase* ctx,
                                             const v1::ListRequestsRequest* req,
                                             v1::ListRequestsResponse* response) {
  auto caller = deps_.authorizer.Authorize(*ctx, "ListRequests");
  if (!caller.ok()) return Done(ctx, caller.status());
  auto jurisdiction = Jurisdiction(req->jurisdiction_id());
  if (!jurisdiction.ok()) return Done(ctx, jurisdiction.status());
  auto language = Language(req->language());
  if (!language.ok()) return Done(ctx, language.status());
  auto page_size = PageSize(req->page_size());
  if (!page_size.ok()) return Done(ctx, page_size.status());
  auto filter = ParseFilter(*req);
  if (!filter.ok()) return Done(ctx, filter.status());

  // Exact ids: a small set, fetched whole.
  if (req->request_ids_size() > 0) {
    std::vector<std::string> ids(req->request_ids().begin(), req->request_ids().end());
    auto requests = deps_.requests.GetMany(ids);
    if (!requests.ok()) return Done(ctx, requests.status());
    std::vector<StoredRequest> matches;
    for (auto& r : *requests) {
      if (r && r->jurisdiction_id() == *jurisdiction && filter->Matches(*r))
        matches.push_back(std::move(*r));
    }
    return Done(ctx, Page(*caller, std::move(matches), *page_size, *language, response));
  }
  if (filter->near || filter->box) {
    return Done(ctx, GeoPage(*caller, *jurisdiction, *filter, *page_size, *language, response));
  }
  return Done(ctx, ScanPage(*caller, *jurisdiction, *filter, *page_size, *language, response));
}

grpc::Status RequestsService::DoListMyRequests(grpc::ServerContextBase* ctx,
                                               const v1::ListMyRequestsRequest* req,
                                               v1::ListRequestsResponse* response) {
  auto caller = deps_.authorizer.Authorize(*ctx, "ListMyRequests");
  if (!caller.ok()) return Done(ctx, caller.status());
  auto language = Language(req->language());
  if (!language.ok()) return Done(ctx, language.status());
  auto page_size = PageSize(req->page_size());
  if (!page_size.ok()) return Done(ctx, page_size.status());
  if (auto s = CheckPageToken(req->page_token()); !s.ok()) return Done(ctx, s);
  auto ids = deps_.requests.NewestOfOwner(caller->account_id, req->page_token(), *page_size + 1);
  if (!ids.ok()) return Done(ctx, ids.status());
  std::vector<std::string> keys;
  for (const auto& i : *ids) keys.push_back(i.id);
  auto requests = deps_.requests.GetMany(keys);
  if (!requests.ok()) return Done(ctx, requests.status());
  std::vector<StoredRequest> mine;
  for (auto& r : *requests) {
    if (r && r->account_id() == caller->account_id) mine.push_back(std::move(*r));
  }
  return Done(ctx, Page(*caller, std::move(mine), *page_size, *language, response));
}

grpc::Status RequestsService::DoSuggestDuplicates(grpc::ServerContextBase* ctx,
                                                  const v1::SuggestDuplicatesRequest* req,
                                                  v1::ListRequestsResponse* response) {
  auto caller = deps_.authorizer.Authorize(*ctx, "SuggestDuplicates");
  if (!caller.ok()) return Done(ctx, caller.status());
  auto language = Language(req->language());
  if (!language.ok()) return Done(ctx, language.status());
  if (!IsServiceCode(req->service_code()))
    return Done(ctx, InvalidField("service_code", "is required"));
  if (auto s = CheckCoordinates(req->lat(), req->long_(), "lat", "long"); !s.ok())
    return Done(ctx, s);
  const std::string& jurisdiction = settings_.default_jurisdiction;
  auto service = deps_.catalogue.Find(jurisdiction, req->service_code());
  if (!service.ok()) return Done(ctx, service.status());
  auto nearby = deps_.requests.NearOpen(jurisdiction, req->service_code(), req->lat(), req->long_(),
                                        settings_.duplicate_radius_m + kGeoMarginM,
                                        RequestStore::GeoLimit{200, false});
  if (!nearby.ok()) return Done(ctx, nearby.status());
  std::vector<std::string> ids;
  for (const auto& h : *nearby) ids.push_back(h.id);
  auto requests = deps_.requests.GetMany(ids);
  if (!requests.ok()) return Done(ctx, requests.status());
  const int64_t oldest =
      infra::UnixMillis(deps_.clock.Now()) -
      std::chrono::duration_cast<std::chrono::milliseconds>(settings_.duplicate_window).count();
  struct Hit {
    double distance;
    StoredRequest request;
  };
  std::vector<Hit> hits;
  for (auto& r : *requests) {
    if (!r || !IsOpen(static_cast<Status>(r->status())) || r->requested_ms() < oldest) continue;
    const double d = DistanceM(req->lat(), req->long_(), r->lat(), r->long_());
    if (d <= settings_.duplicate_radius_m) hits.push_back({d, std::move(*r)});
  }
  std::sort(hits.begin(), hits.end(),
            [](const Hit& a, const Hit& b) { return a.distance < b.distance; });
  if (hits.size() > 10) hits.resize(10);
  for (const Hit& h : hits) View(*caller, h.request, *language, response->add_requests());
  return grpc::Status::OK;
}

}  // namespace cityhub::requests
