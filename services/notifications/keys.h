#pragma once

#include <string>
#include <string_view>

#include "infra/auth/deleted_accounts.h"
#include "infra/strings.h"

// The notifications service's Redis keys: the only place they are spelled. Ids go inside {} so
// that every key of one id lands in one cluster slot.
//
//   notifications:n:{id}                 STRING StoredNotification
//   notifications:d:{id}                 HASH   channel → "state|attempts|updated_ms|reason"
//   notifications:inbox:{account}        ZSET   id → UlidSortScore(id), newest kept (500)
//   notifications:feed:{account}         ZSET   id → write sequence (1, 2, …): the live
//                                               stream's order
//   notifications:unread:{account}       SET    unread ids
//   notifications:seen:{event id}        STRING an event already handled (7 days)
//   notifications:gone:{digest}          STRING a deleted account (SHA-256 of its id; 30 days):
//                                               late events add nothing for it
//   notifications:prefs:{account}        STRING StoredPreferences
//   notifications:devices:{account}      HASH   device id → StoredDevice
//   notifications:followers:{request}    SET    accounts following a request
//   notifications:following:{account}    SET    requests an account follows
//   notifications:department:{dept}      SET    operators of a department
//   notifications:departments_of:{acct}  SET    an operator's departments
//   notifications:webhook:{id}           STRING StoredWebhook
//   notifications:webhooks               SET    webhook ids
//   notifications:jobs                   ZSET   job id → due time (ms); a taken job is pushed a
//                                               lease ahead
//   notifications:job:{id}               STRING StoredJob
//   notifications:jobs_of:{account}      SET    an account's queued jobs (for erasure)
//   notifications:dead                   STREAM jobs given up on, with the reason
//   notifications:dead:{stream}          STREAM events the consumer of `stream` gave up on
//   notifications:live                   PUB/SUB account ids with new inbox entries
//   notifications:copies:{comment}       SET    "n:<notification id>", "j:<job id>": where a
//                                               comment's text was copied (inbox, pending
//                                               mails, pushes, webhooks), so that a comment staff
//                                               hide is removed from them too (400 days)
//   notifications:reporter:{request}     STRING "1": the request's anonymous reporter confirmed
//                                               their address (ReporterContactConfirmed, until
//                                               ReporterContactEnded; 400 days at most)
namespace cityhub::notifications::keys {

// The prefix of the deleted-account markers and of the token refusal (infra/auth).
inline constexpr char kService[] = "notifications";

inline constexpr char kNotificationPrefix[] = "notifications:n:{";
inline constexpr char kDeliveriesPrefix[] = "notifications:d:{";
inline constexpr char kFollowersPrefix[] = "notifications:followers:{";
inline constexpr char kDepartmentPrefix[] = "notifications:department:{";
inline constexpr char kJobPrefix[] = "notifications:job:{";
inline constexpr char kWebhooks[] = "notifications:webhooks";
inline constexpr char kJobs[] = "notifications:jobs";
inline constexpr char kDead[] = "notifications:dead";
inline constexpr char kLive[] = "notifications:live";

inline std::string Notification(std::string_view id) {
  return infra::StrCat(kNotificationPrefix, id, "}");
}
inline std::string Deliveries(std::string_view id) {
  return infra::StrCat(kDeliveriesPrefix, id, "}");
}
inline std::string Inbox(std::string_view account) {
  return infra::StrCat("notifications:inbox:{", account, "}");
}
inline std::string Feed(std::string_view account) {
  return infra::StrCat("notifications:feed:{", account, "}");
}
inline std::string Unread(std::string_view account) {
  return infra::StrCat("notifications:unread:{", account, "}");
}
inline std::string CommentCopies(std::string_view comment_id) {
  return infra::StrCat("notifications:copies:{", comment_id, "}");
}
inline std::string Seen(std::string_view event_id) {
  return infra::StrCat("notifications:seen:{", event_id, "}");
}
// A deleted account, by a digest of its id (the id itself is not kept); the same marker refuses
// the account's still valid access tokens on writes (infra/auth/deleted_accounts.h).
inline std::string Gone(std::string_view account) {
  return infra::auth::DeletedAccounts::Key(kService, account);
}
// A script's opening that refuses a write of the account holder's own that lost the race with the
// deletion (it passed the authorizer's check just before the marker was set): such a write must
// not survive the erasure. KEYS[2] is the account's Gone() marker.
inline constexpr char kRefuseGoneLua[] = R"lua(
if redis.call('EXISTS', KEYS[2]) == 1 then
  return redis.error_reply('PERMISSION_DENIED this account was deleted')
end
)lua";
inline std::string Preferences(std::string_view account) {
  return infra::StrCat("notifications:prefs:{", account, "}");
}
inline std::string Devices(std::string_view account) {
  return infra::StrCat("notifications:devices:{", account, "}");
}
inline std::string Followers(std::string_view request) {
  return infra::StrCat(kFollowersPrefix, request, "}");
}
inline std::string Following(std::string_view account) {
  return infra::StrCat("notifications:following:{", account, "}");
}
inline std::string Department(std::string_view department) {
  return infra::StrCat(kDepartmentPrefix, department, "}");
}
inline std::string DepartmentsOf(std::string_view account) {
  return infra::StrCat("notifications:departments_of:{", account, "}");
}
inline std::string Webhook(std::string_view id) {
  return infra::StrCat("notifications:webhook:{", id, "}");
}
inline std::string Job(std::string_view id) { return infra::StrCat(kJobPrefix, id, "}"); }
inline std::string JobsOf(std::string_view account) {
  return infra::StrCat("notifications:jobs_of:{", account, "}");
}
inline std::string Reporter(std::string_view request_id) {
  return infra::StrCat("notifications:reporter:{", request_id, "}");
}
inline std::string DeadEvents(std::string_view stream) {
  return infra::StrCat("notifications:dead:", stream);
}

}  // namespace cityhub::notifications::keys
