#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "cityhub/requests/v1/requests.pb.h"
#include "infra/clock.h"
#include "services/requests/request_input.h"
#include "services/requests/request_store.h"

namespace cityhub::requests {

// Geo searches look this much further than asked and then decide by exact coordinates: Redis
// keeps positions as 52-bit geohashes (about 0.6 m off).
inline constexpr double kGeoMarginM = 2.0;

// Plans and reads one page of a list call from the request store: from the weekly geo index
// for lists near a point or in a box, from a time index otherwise, or from candidates already
// read. Pages are newest first; the page token is the id of the page's oldest request. The
// pages near a point or in a box are read without blocking (through the store's async client);
// ScanPage blocks (short Redis round trips): call it from the service's executor.
class ListPlanner final {
 public:
  // Turns a stored request into its API form in the list answer (as the caller may see it).
  using Viewer = std::function<void(const StoredRequest&, cityhub::requests::v1::ServiceRequest*)>;

  // Near and box lists sort up to `max_geo_candidates` geo hits in memory; an area holding
  // more is read from the time index instead, filtered by position (complete either way).
  ListPlanner(RequestStore& store, const infra::Clock& clock, int max_geo_candidates)
      : store_(store), clock_(clock), max_geo_candidates_(max_geo_candidates) {}

  // Fills a page from candidate requests (already filtered), newest first.
  static void Page(std::vector<StoredRequest> matches, int page_size, const Viewer& view,
                   cityhub::requests::v1::ListRequestsResponse* out);
  // A page of a near or box list (filter.near or filter.box), read without blocking: `done`
  // runs on a Redis I/O thread (geo_page.cc). The requests are the page (or, with scan_rest,
  // its start), newest first and already filtered.
  struct GeoPageResult {
    std::vector<StoredRequest> requests;
    std::string next_page_token;  // set when the page is full and more follow
    // Set when the area holds too many requests to sort in memory: the rest of the page is
    // read by ScanPage with this filter (which blocks), after `requests`.
    std::optional<ListFilter> scan_rest;
  };
  using GeoPageDone = std::function<void(absl::StatusOr<GeoPageResult>)>;
  void GeoPage(const std::string& jurisdiction, const ListFilter& filter, int page_size,
               GeoPageDone done);
  // A page from a time index, newest first, filtered as it is read; reads at most a bounded
  // number of entries and then answers with a shorter page and a token to go on from.
  absl::Status ScanPage(const std::string& jurisdiction, const ListFilter& filter, int page_size,
                        const Viewer& view, cityhub::requests::v1::ListRequestsResponse* out);

 private:
  RequestStore& store_;
  const infra::Clock& clock_;
  int max_geo_candidates_;
};

}  // namespace cityhub::requests
