// ListPlanner::GeoPage: a page near a point or in a box, read from the weekly geo index
// without blocking. Each step is one round trip through the store's async client, started from
// the reply of the one before (on a Redis I/O thread), so that no thread waits for Redis.
#include <algorithm>
#include <deque>
#include <functional>
#include <memory>

#include "infra/ids.h"
#include "services/requests/list_planner.h"

namespace cityhub::requests {

namespace {

// Hits this far beyond the asked area (by Redis's positions) cannot match: they are dropped
// before their records are read.
constexpr double kEdgeM = 1.5;
constexpr double kEdgeDeg = 2e-5;  // about 1.4 m of latitude; less than that of longitude here

// The geo index holds one set per week, so the newest weeks are searched first, one, then
// two, four ... at a time (a round), until the page is full: a page near a point costs a
// search in a week or two, not in the whole history. Redis is asked with a margin (positions
// are geohashes); hits clearly outside are dropped at once and the exact check runs on the
// records, read newest first only until the page is full. A round holds at most the cap of
// hits: each of its weeks is asked for its share of the cap and one more (ANY: Redis stops
// there and sorts nothing), so a week that fills it marks an area too large to sort in
// memory, and the time index is walked instead from where the page got to.
//
// Round trips: the first asks for the list of weeks, the current week (round 0) and the week
// before it (round 1 when that week holds requests, which is usual), so that a page of a
// city's usual density needs that and one read of records. Rounds after that are searched
// when the page needs them. The page is the same as if each round were searched only when
// needed: a round's hits are used only once the rounds before it are read to the end.
class GeoPageRead final : public std::enable_shared_from_this<GeoPageRead> {
 public:
  GeoPageRead(RequestStore& store, std::string jurisdiction, const ListFilter& filter,
              int page_size, int cap, ListPlanner::GeoPageDone done)
      : store_(store),
        jurisdiction_(std::move(jurisdiction)),
        filter_(filter),
        page_size_(page_size),
        cap_(cap),
        done_(std::move(done)),
        last_id_(filter.before_id) {}

  void Start(int64_t this_week) {
    if (filter_.near) {
      shape_ = GeoShape{filter_.lat, filter_.lon, filter_.radius_m + kGeoMarginM};
    } else {
      shape_.lat = (filter_.min_lat + filter_.max_lat) / 2;
      shape_.lon = (filter_.min_lon + filter_.max_lon) / 2;
      shape_.height_m =
          DistanceM(filter_.min_lat, shape_.lon, filter_.max_lat, shape_.lon) + 2 * kGeoMarginM;
      shape_.width_m =
          std::max(DistanceM(filter_.min_lat, filter_.min_lon, filter_.min_lat, filter_.max_lon),
                   DistanceM(filter_.max_lat, filter_.min_lon, filter_.max_lat, filter_.max_lon)) +
          2 * kGeoMarginM;
    }
    // Weeks of [since, until), none newer than the cursor's. Round 0 searches this server's
    // current week; a newer one exists only if another replica's clock runs ahead across the
    // turn of a week, and is then searched in the same round.
    int64_t newest = std::min(GeoWeekOf(filter_.until_ms - 1), this_week + 1);
    if (!filter_.before_id.empty()) {
      if (auto t = infra::UlidTime(filter_.before_id))
        newest = std::min(newest, GeoWeekOf(infra::UnixMillis(*t)));
    }
    const int64_t oldest = GeoWeekOf(filter_.since_ms);
    if (oldest > newest) return Finish();
    probe_ = std::min(newest, this_week);
    std::vector<int64_t> probes = {probe_};
    if (probe_ - 1 >= oldest) probes.push_back(probe_ - 1);
    store_.SearchNewestWeeks(jurisdiction_, oldest, newest, probes, shape_, WholeWeek(),
                             [self = shared_from_this()](auto start) { self->Started(start); });
  }

 private:
  // A round of one week: the cap and one more, so that more than the cap marks it too large.
  RequestStore::GeoLimit WholeWeek() const { return {cap_ + 1, true}; }

  void Started(absl::StatusOr<RequestStore::GeoStart>& start) {
    if (!start.ok()) return Fail(start.status());
    std::vector<int64_t> ahead;
    for (int64_t w : start->weeks) {
      if (w > probe_) ahead.push_back(w);
      if (w < probe_) weeks_.push_back(w);
    }
    round0_ = std::move(start->hits[0]);
    if (start->hits.size() > 1 && !weeks_.empty() && weeks_[0] == probe_ - 1) {
      round1_ = std::move(start->hits[1]);
    }
    if (ahead.empty() || static_cast<int>(round0_.size()) > cap_) return StartedAll();
    store_.SearchWeeks(jurisdiction_, ahead, shape_, WholeWeek(),
                       [self = shared_from_this()](auto more) {
                         if (!more.ok()) return self->Fail(more.status());
                         for (auto& week : *more) {
                           std::move(week.begin(), week.end(), std::back_inserter(self->round0_));
                         }
                         self->StartedAll();
                       });
  }

  // Round 0 complete; round 1 too when it was searched ahead.
  void StartedAll() {
    AddRound(round0_, static_cast<int>(round0_.size()) > cap_);
    if (round1_) {
      // Round 1 is weeks_[0] alone, with the share of a one-week round.
      AddRound(*round1_, static_cast<int>(round1_->size()) >= cap_ + 1);
      next_week_ = 1;
      batch_ = 2;
    }
    Next();
  }

  // Queues the round's candidates (newest first, after those of earlier rounds: ids are
  // ULIDs, and every id of a round is older than those of the rounds before), or marks the
  // area too large at this point.
  void AddRound(std::vector<GeoHit>& hits, bool truncated) {
    if (truncated_) return;
    if (truncated) {
      truncated_ = true;
      return;
    }
    const size_t from = candidates_.size();
    for (GeoHit& h : hits) {
      if (!filter_.before_id.empty() && h.id >= filter_.before_id) continue;
      if (filter_.near && h.distance_m > filter_.radius_m + kEdgeM) continue;
      if (filter_.box &&
          (h.lat < filter_.min_lat - kEdgeDeg || h.lat > filter_.max_lat + kEdgeDeg ||
           h.lon < filter_.min_lon - kEdgeDeg || h.lon > filter_.max_lon + kEdgeDeg)) {
        continue;
      }
      candidates_.push_back(std::move(h.id));
    }
    std::sort(candidates_.begin() + static_cast<std::ptrdiff_t>(from), candidates_.end(),
              std::greater<>());
  }

  // The next step: read records of queued candidates, hand over to the time index, search
  // the next round, or end with the last page.
  void Next() {
    if (!candidates_.empty()) return ReadRecords();
    if (truncated_) {
      // A large area: most of the city's requests lie in it, so walking the time index newest
      // first and checking positions on the records finds a page quickly, and pages stay
      // complete and in order however many requests the area holds.
      result_.scan_rest = filter_;
      result_.scan_rest->before_id = last_id_;
      return Finish();
    }
    if (next_week_ >= weeks_.size()) return Finish();  // every week searched: last page
    const std::vector<int64_t> round(
        weeks_.begin() + static_cast<std::ptrdiff_t>(next_week_),
        weeks_.begin() + static_cast<std::ptrdiff_t>(std::min(weeks_.size(), next_week_ + batch_)));
    next_week_ += round.size();
    batch_ = std::min<size_t>(batch_ * 2, 16);
    // The cap shared out over the round's weeks: a week that fills its share may hold more,
    // and then the round is incomplete.
    const int share = cap_ / static_cast<int>(round.size()) + 1;
    chunk_ = 0;
    store_.SearchWeeks(jurisdiction_, round, shape_, RequestStore::GeoLimit{share, true},
                       [self = shared_from_this(), share](auto more) {
                         if (!more.ok()) return self->Fail(more.status());
                         bool truncated = false;
                         std::vector<GeoHit> hits;
                         for (auto& week : *more) {
                           truncated = truncated || static_cast<int>(week.size()) >= share;
                           std::move(week.begin(), week.end(), std::back_inserter(hits));
                         }
                         self->AddRound(hits, truncated);
                         self->Next();
                       });
  }

  // Records in chunks until the page is full and one more match proves a next page. A chunk
  // is what the page still needs and a little more; later chunks grow, since filters on
  // status or category may reject many.
  void ReadRecords() {
    chunk_ =
        chunk_ == 0 ? static_cast<size_t>(page_size_) - result_.requests.size() + 3 : chunk_ * 2;
    const size_t n = std::min(chunk_, candidates_.size());
    std::vector<std::string> ids(
        std::make_move_iterator(candidates_.begin()),
        std::make_move_iterator(candidates_.begin() + static_cast<std::ptrdiff_t>(n)));
    candidates_.erase(candidates_.begin(), candidates_.begin() + static_cast<std::ptrdiff_t>(n));
    store_.GetManyAsync(ids, [self = shared_from_this()](auto records) {
      if (!records.ok()) return self->Fail(records.status());
      for (auto& r : *records) {
        if (!r || r->jurisdiction_id() != self->jurisdiction_ || !self->filter_.Matches(*r))
          continue;
        if (static_cast<int>(self->result_.requests.size()) == self->page_size_) {
          self->result_.next_page_token = self->last_id_;
          return self->Finish();
        }
        self->result_.requests.push_back(std::move(*r));
        self->last_id_ = self->result_.requests.back().id();
      }
      self->Next();
    });
  }

  void Finish() { done_(std::move(result_)); }
  void Fail(const absl::Status& status) { done_(status); }

  RequestStore& store_;
  const std::string jurisdiction_;
  const ListFilter filter_;
  const int page_size_;
  const int cap_;
  const ListPlanner::GeoPageDone done_;
  GeoShape shape_;
  int64_t probe_ = 0;
  std::vector<GeoHit> round0_;
  std::optional<std::vector<GeoHit>> round1_;  // searched ahead
  std::vector<int64_t> weeks_;                 // older than the probe, newest first
  size_t next_week_ = 0;                       // the first of weeks_ not searched yet
  size_t batch_ = 1;                           // weeks in the next round
  std::deque<std::string> candidates_;  // ids whose records are still to be read, newest first
  bool truncated_ = false;              // after the candidates: the area is too large
  size_t chunk_ = 0;                    // records in the last read of this round (0: none yet)
  ListPlanner::GeoPageResult result_;
  std::string last_id_;  // the oldest id on the page so far
};

}  // namespace

void ListPlanner::GeoPage(const std::string& jurisdiction, const ListFilter& filter, int page_size,
                          GeoPageDone done) {
  auto read = std::make_shared<GeoPageRead>(store_, jurisdiction, filter, page_size,
                                            max_geo_candidates_, std::move(done));
  read->Start(GeoWeekOf(infra::UnixMillis(clock_.Now())));
}

}  // namespace cityhub::requests
