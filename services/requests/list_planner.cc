#include "services/requests/list_planner.h"

#include <algorithm>

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

absl::Status ListPlanner::ScanPage(const std::string& jurisdiction, const ListFilter& filter,
                                   int page_size, const Viewer& view,
                                   v1::ListRequestsResponse* out) {
  // The narrowest index the filter names; the other filters are applied as it is read.
  RequestStore::ListIndex index{RequestStore::ListIndex::kTime, jurisdiction, ""};
  if (!filter.assignee.empty()) {
    index = {RequestStore::ListIndex::kAssignee, jurisdiction, filter.assignee};
  } else if (filter.service_codes.size() == 1) {
    index = {RequestStore::ListIndex::kService, jurisdiction, *filter.service_codes.begin()};
  } else if (!filter.department.empty()) {
    index = {RequestStore::ListIndex::kDepartment, jurisdiction, filter.department};
  } else if (!filter.district.empty()) {
    index = {RequestStore::ListIndex::kDistrict, jurisdiction, filter.district};
  }
  std::string cursor = filter.before_id;
  int scanned = 0;
  const int batch = std::min(kMaxScanned, std::max(page_size * 2, 50));
  while (out->requests_size() < page_size) {
    ASSIGN_OR_RETURN(const auto ids,
                     store_.NewestIn(index, filter.since_ms, filter.until_ms, cursor, batch));
    if (ids.empty()) return absl::OkStatus();  // the index is exhausted: no next page
    std::vector<std::string> keys;
    for (const auto& i : ids) keys.push_back(i.id);
    ASSIGN_OR_RETURN(const auto requests, store_.GetMany(keys));
    for (size_t i = 0; i < requests.size(); ++i) {
      cursor = keys[i];
      ++scanned;
      const auto& r = requests[i];
      if (r && r->jurisdiction_id() == jurisdiction && filter.Matches(*r)) {
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
