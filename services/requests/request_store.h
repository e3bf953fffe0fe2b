#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "cityhub/events/v1/events.pb.h"
#include "cityhub/storage/requests.pb.h"
#include "infra/ids.h"
#include "infra/redis/async_client.h"
#include "infra/redis/client.h"
#include "services/requests/keys.h"

// Service requests in Redis. A request is a versioned value (a string, not a hash: a hash
// with a value this long loses Redis's compact encoding and costs twice the memory); its index
// entries change with it in one script, together with the events that describe the change
// (transactional outbox). The keys are in keys.h.
namespace cityhub::requests {

using cityhub::storage::requests::StoredComment;
using cityhub::storage::requests::StoredRequest;
using Events = std::vector<cityhub::events::v1::Event>;

// The score of a request id in the time indexes (equal scores, which are rare, are ordered by
// id in Redis too, so cursor paging by id holds).
inline double SortScore(std::string_view ulid) { return infra::UlidSortScore(ulid); }

struct VersionedRequest {
  StoredRequest request;
  int64_t version = 0;
};

struct CreateResult {
  std::string id;
  // False when the idempotency key had been used: `id` is the first request's.
  bool created = false;
};

struct IdAndTime {
  std::string id;
  int64_t ms = 0;
};

// A search hit with what Redis knows of its position (from its 52-bit geohash, about 0.6 m
// off): the distance from the search centre for radius searches, the position for boxes.
struct GeoHit {
  std::string id;
  double distance_m = 0;
  double lat = 0;
  double lon = 0;
};

// The geo index is split by week (7 days since the Unix epoch, by the time in the request id)
// so that a newest-first "near me" page searches the newest weeks, not the whole history.
inline constexpr int64_t kGeoWeekMs = int64_t{7} * 86'400'000;
inline int64_t GeoWeekOf(int64_t unix_ms) {
  return unix_ms >= 0 ? unix_ms / kGeoWeekMs : (unix_ms - kGeoWeekMs + 1) / kGeoWeekMs;
}
// The week of a request by the time in its id (0 for a malformed id).
int64_t GeoWeekOfId(std::string_view id);

// A geo search: within `radius_m` of a point (by Redis's reckoning), or, when `radius_m` is 0,
// in a `width_m` × `height_m` box centred on it.
struct GeoShape {
  double lat = 0;
  double lon = 0;
  double radius_m = 0;
  double width_m = 0;
  double height_m = 0;
};

struct FollowState {
  int64_t followers = 0;
  bool following = false;
};

class RequestStore final {
 public:
  // What the non-blocking reads call with their result: on a Redis I/O thread, where it must
  // not block; at once, on the calling thread, when the store has no async client (tools).
  template <typename T>
  using Done = std::function<void(absl::StatusOr<T>)>;

  // `async` serves the hot read path (GetWithFollowersAsync); may be null in tools.
  RequestStore(infra::redis::Client& redis, infra::redis::AsyncClient* async = nullptr);

  // The storage key of a client's Idempotency-Key within `scope` (an account id, or another
  // name for a group of anonymous callers).
  static std::string IdempotencyKey(std::string_view scope, std::string_view client_key);

  // Stores a new request with its index entries and events. With an idempotency key (from
  // IdempotencyKey), a key used within `idem_ttl` returns the first request's id and creates
  // nothing. The keys of a request with an owner are remembered for ForgetAccount.
  absl::StatusOr<CreateResult> Create(const StoredRequest& request, const Events& events,
                                      std::string_view idem_key, std::chrono::seconds idem_ttl);

  // NOT_FOUND when absent.
  absl::StatusOr<VersionedRequest> Get(std::string_view id);
  // One entry per id, nullopt for missing ones; one round trip.
  absl::StatusOr<std::vector<std::optional<StoredRequest>>> GetMany(
      const std::vector<std::string>& ids);
  // The same without blocking: `done` runs on a Redis I/O thread.
  void GetManyAsync(const std::vector<std::string>& ids,
                    Done<std::vector<std::optional<StoredRequest>>> done);
  // A request with its follower count and whether `account` follows it; one round trip.
  absl::StatusOr<std::pair<VersionedRequest, FollowState>> GetWithFollowers(
      std::string_view id, std::string_view account);
  // The same without blocking: `done` runs on a Redis I/O thread.
  using GetCallback = Done<std::pair<VersionedRequest, FollowState>>;
  void GetWithFollowersAsync(std::string_view id, std::string_view account, GetCallback done);

  // Replaces `before` with `after` if nobody changed it since it was read (ABORTED
  // otherwise), moving index entries and publishing `events`. A request with contact details
  // that reaches a final state (not IsOpen) is scheduled for the erasure of its contact after
  // the contact retention (keys::ContactErasures); one that opens again is taken off.
  // With `assigned_by`, the request is remembered among the ones that account assigned
  // (NewestAssignedBy, for its export), in the same script.
  absl::Status Update(const VersionedRequest& before, const StoredRequest& after,
                      const Events& events, std::string_view assigned_by = {});
  // Writes to other keys that belong to a change of a request (moderation: a photo's hidden
  // marker, a hidden comment), in the same script: each guard's reply must equal its value
  // (ABORTED otherwise), then the operations run after the request's own writes.
  struct ExtraWrites {
    std::vector<std::pair<infra::redis::Args, std::string>> require_equal;
    std::vector<infra::redis::Args> ops;
  };
  absl::Status Update(const VersionedRequest& before, const StoredRequest& after,
                      const Events& events, const ExtraWrites& extra,
                      std::string_view assigned_by = {});
  // The comment of request `id` with `comment_id` and its position in the list; NOT_FOUND
  // when the request has no such comment.
  absl::StatusOr<std::pair<StoredComment, int64_t>> FindComment(std::string_view id,
                                                                std::string_view comment_id);
  // The guard and write that replace the comment at `index` of request `id` (read as
  // `before`) with `after`, for Update's ExtraWrites.
  static void ReplaceComment(std::string_view id, int64_t index, const StoredComment& before,
                             const StoredComment& after, ExtraWrites* extra);

  // Newest first from the jurisdiction's (or one category's) time index, with requested_ms in
  // [since_ms, until_ms) and, given a cursor, only ids older than it.
  absl::StatusOr<std::vector<IdAndTime>> Newest(std::string_view jurisdiction,
                                                std::string_view service_code, int64_t since_ms,
                                                int64_t until_ms, std::string_view before_id,
                                                int count);
  absl::StatusOr<std::vector<IdAndTime>> NewestOfOwner(std::string_view account,
                                                       std::string_view before_id, int count);
  // A page of `account`'s requests, newest first after the cursor `before_id` (at most
  // `count`), with the follow state of each, without blocking: the ids, then their records and
  // follow states in one pipeline (two round trips). `done` runs on a Redis I/O thread. A
  // request deleted between the two reads is left out.
  struct OwnedRequest {
    StoredRequest request;
    FollowState follow;
  };
  void NewestOfOwnerAsync(std::string_view account, std::string_view before_id, int count,
                          Done<std::vector<OwnedRequest>> done);
  // The same from one of the list indexes (maintained by Create and Update with the request).
  struct ListIndex {
    enum Kind { kTime, kService, kDepartment, kAssignee, kDistrict };
    Kind kind = kTime;
    std::string jurisdiction;
    std::string value;  // the service code, department, assignee account id or district
  };
  absl::StatusOr<std::vector<IdAndTime>> NewestIn(const ListIndex& index, int64_t since_ms,
                                                  int64_t until_ms, std::string_view before_id,
                                                  int count);
  // The requests assigned to `account`, newest first (erasure).
  absl::StatusOr<std::vector<IdAndTime>> NewestOfAssignee(std::string_view account,
                                                          std::string_view before_id, int count);
  // The requests `account` assigned (to anyone or nobody), newest first.
  absl::StatusOr<std::vector<IdAndTime>> NewestAssignedBy(std::string_view account,
                                                          std::string_view before_id, int count);
  // The follower count of each of `ids` and whether `account` (empty: nobody) follows it, in
  // one round trip.
  absl::StatusOr<std::vector<FollowState>> FollowStates(const std::vector<std::string>& ids,
                                                        std::string_view account);
  // The same without blocking: `done` runs on a Redis I/O thread.
  void FollowStatesAsync(const std::vector<std::string>& ids, std::string_view account,
                         Done<std::vector<FollowState>> done);
  // Every id in the jurisdiction's time index (tests, tools).
  absl::StatusOr<int64_t> Count(std::string_view jurisdiction);
  // How many hits a geo search returns: the `count` nearest, or (`any`) the first `count`
  // Redis comes across, which is cheaper (nothing is sorted) and all of them when there are
  // no more than `count`.
  struct GeoLimit {
    int count = 0;
    bool any = false;
  };
  // Open located requests of one category near a point (duplicate suggestions), within
  // `limit`, in no particular order.
  absl::StatusOr<std::vector<GeoHit>> NearOpen(std::string_view jurisdiction,
                                               std::string_view service_code, double lat,
                                               double lon, double radius_m, GeoLimit limit);
  // The first step of a newest-first geo search, in one round trip: the weeks in
  // [min_week, max_week] that hold located requests (newest first) and the hits of `shape` in
  // each of `probe_weeks` (searched whether or not they hold any: usually the current week and
  // the one before), within `limit` per week. `done` runs on a Redis I/O thread and must not
  // block (at once, on this thread, for a store without an async client).
  struct GeoStart {
    std::vector<int64_t> weeks;
    std::vector<std::vector<GeoHit>> hits;  // one entry per probe week, in its order
  };
  void SearchNewestWeeks(std::string_view jurisdiction, int64_t min_week, int64_t max_week,
                         const std::vector<int64_t>& probe_weeks, const GeoShape& shape,
                         GeoLimit limit, Done<GeoStart> done);
  // `shape` in each of `weeks`, in one round trip: the hits of each week (in no particular
  // order), within `limit` per week. `done` as above.
  void SearchWeeks(std::string_view jurisdiction, const std::vector<int64_t>& weeks,
                   const GeoShape& shape, GeoLimit limit,
                   Done<std::vector<std::vector<GeoHit>>> done);
  // Moves up to `max_entries` entries of the single geo set that earlier versions kept
  // (keys::OldGeo) into the weekly sets, in batches of 500; safe to run again,
  // from several replicas at once and while replicas of the earlier version still write to
  // the old set. Returns how many entries it moved (fewer than `max_entries`: none are left).
  absl::StatusOr<int64_t> MigrateGeoIndex(std::string_view jurisdiction, int64_t max_entries);
  // Adds requests filed before the department index existed to it, up to `max_entries` per
  // call, from a cursor kept in Redis (keys::DepartmentBackfill); once through, it does
  // nothing. Returns how many requests it read (0: done).
  absl::StatusOr<int64_t> BackfillDepartmentIndex(std::string_view jurisdiction,
                                                  int64_t max_entries);

  // Follows; publishes `events` only when something changed.
  absl::StatusOr<FollowState> Follow(std::string_view id, std::string_view account, bool follow,
                                     const Events& events);
  absl::StatusOr<std::vector<std::string>> Following(std::string_view account);

  static constexpr int kMaxComments = 500;
  // RESOURCE_EXHAUSTED beyond kMaxComments.
  absl::Status AddComment(const StoredComment& comment, const Events& events);
  absl::StatusOr<std::vector<StoredComment>> Comments(std::string_view id, int64_t start,
                                                      int count);
  absl::StatusOr<std::vector<StoredComment>> CommentsBy(std::string_view account);

  // How long contact details stay after a request reached a final state (Update).
  void set_contact_retention(std::chrono::milliseconds retention) { retention_ = retention; }
  // Requests whose contact erasure is due at `now_ms`, at most `count`, oldest first.
  absl::StatusOr<std::vector<std::string>> DueContactErasures(int64_t now_ms, int count);
  // Takes a request off the erasure schedule (erased, or nothing left to erase).
  absl::Status DropContactErasure(std::string_view id);

  // Removes every link from `account` to requests, comments, follows and idempotency keys
  // (the account was deleted). The requests stay, without their owner and contact details.
  // Leaves the deleted marker first (infra/auth/deleted_accounts.h). Idempotent.
  absl::Status ForgetAccount(std::string_view account);

 private:
  std::vector<infra::redis::Args> FollowStateCommands(const std::vector<std::string>& ids,
                                                      std::string_view account) const;
  std::vector<infra::redis::Args> GetWithFollowersCommands(std::string_view id,
                                                           std::string_view account) const;
  // Sends `commands` through the async client (through the blocking one, at once, without).
  void Pipeline(std::vector<infra::redis::Args> commands, infra::redis::AsyncClient::Callback done);
  absl::StatusOr<std::vector<IdAndTime>> RangeBefore(const std::string& key, int64_t since_ms,
                                                     int64_t until_ms, std::string_view before_id,
                                                     int count);
  infra::redis::Client& redis_;
  infra::redis::AsyncClient* async_;
  std::chrono::milliseconds retention_{std::chrono::hours(24 * 30)};
};

}  // namespace cityhub::requests
