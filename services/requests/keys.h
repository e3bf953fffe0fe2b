#pragma once

// The Redis key schema of the requests service: the only place its keys are spelled. Every key
// of one request, account or jurisdiction carries it in {braces}, so that a script touching
// them runs on one Redis Cluster slot.
//
//   requests:request:{id}                   STRING 8 hex digits of version, then StoredRequest
//   requests:by_time:{jurisdiction}         ZSET   id → SortScore(id)
//   requests:by_service:{jurisdiction}:<c>  ZSET   id → SortScore(id)
//   requests:geo_week:{jurisdiction}:<w>    GEO    located requests filed in week <w> (GeoWeekOf)
//   requests:geo_weeks:{jurisdiction}       ZSET   the weeks that have a geo_week set, score = week
//   requests:geo_open:{jurisdiction}:<c>    GEO    open located requests of a category (duplicates)
//   requests:geo:{jurisdiction}             GEO    the single geo set of earlier versions
//   (migrated) requests:by_owner:{account}             ZSET   id → SortScore(id)
//   requests:followers:{id}                 SET    account ids
//   requests:following:{account}            SET    request ids
//   requests:comments:{id}                  LIST   StoredComment, oldest first
//   requests:comments_by:{account}          SET    "<request id>:<list index>"
//   requests:idem:{scope}:<key>             STRING request id, for 24 h
//   requests:idem_of:{account}              SET    the account's idem keys (erased with it)
//   requests:service:{jurisdiction}:<code>  STRING StoredService
//   requests:services:{jurisdiction}        SET    codes
//   requests:media:{sha256 hex}             STRING StoredMedia
//   requests:media_hidden:{sha256 hex}      STRING "1": staff hid the photo (moderation)
//   requests:response_template:{id}         STRING StoredResponseTemplate
//   requests:response_templates:{department} ZSET  template id → created ms (at most 200)
//   requests:response_template_departments  SET    departments that have templates
//   requests:response_templates_by:{account} SET   template ids the account wrote
//   requests:gone:...                       the deleted-account markers (infra/auth, area below)
//   requests:events                         STREAM domain events (infra/events/streams.h)
//   requests:dead                           STREAM account events the consumer gave up on
//   requests:stats:{jurisdiction}:...        HASH   the counters of GET /v1/stats (#15): their keys
//                                                  are spelled in stats_layout.h
//   requests:contact_erasures               ZSET   request id → when its reporter's contact is
//                                                  erased (ms; final state + retention, #14)
//   requests:boundary:{jurisdiction}        STRING the boundary, GeoJSON geometry text (#15)
//   requests:districts:{jurisdiction}       STRING the districts, GeoJSON FeatureCollection text
//   requests:routing_rules:{jurisdiction}   STRING the routing rules, JSON array text
//   requests:geography_version:{jurisdiction} STRING counter, INCRed with each of the three above
//   requests:by_district:{jurisdiction}:<d> ZSET   id → SortScore(id), requests in district <d>
//   requests:district_reassign:{jurisdiction} STRING "<job id>|<offset>": open requests are
//                                                  being given new districts (offset: how many
//                                                  of by_time, oldest first, are done)
#include <cstdint>
#include <string>
#include <string_view>

#include "infra/events/streams.h"
#include "infra/strings.h"

namespace cityhub::requests {

// The stream of the service's domain events; its name is shared with the consumers.
inline constexpr auto& kEventsStream = infra::events::kRequestsStream;
// The group the service consumes the accounts service's events as, and where that consumer puts
// the events it gave up on (STREAM, with the reason).
inline constexpr char kConsumerGroup[] = "requests";
inline constexpr char kDeadEvents[] = "requests:dead";
// The area name of the service's deleted-account markers (infra/auth/deleted_accounts.h).
inline constexpr char kDeletedAccountsArea[] = "requests";

namespace keys {

inline std::string Request(std::string_view id) {
  return infra::StrCat("requests:request:{", id, "}");
}
inline std::string ByTime(std::string_view jurisdiction) {
  return infra::StrCat("requests:by_time:{", jurisdiction, "}");
}
inline std::string ByService(std::string_view jurisdiction, std::string_view code) {
  return infra::StrCat("requests:by_service:{", jurisdiction, "}:", code);
}
inline std::string GeoWeek(std::string_view jurisdiction, int64_t week) {
  return infra::StrCat("requests:geo_week:{", jurisdiction, "}:", week);
}
inline std::string GeoWeeks(std::string_view jurisdiction) {
  return infra::StrCat("requests:geo_weeks:{", jurisdiction, "}");
}
inline std::string GeoOpen(std::string_view jurisdiction, std::string_view code) {
  return infra::StrCat("requests:geo_open:{", jurisdiction, "}:", code);
}
// The single geo set of earlier versions; RequestStore::MigrateGeoIndex empties it.
inline std::string OldGeo(std::string_view jurisdiction) {
  return infra::StrCat("requests:geo:{", jurisdiction, "}");
}
inline std::string ByOwner(std::string_view account) {
  return infra::StrCat("requests:by_owner:{", account, "}");
}
inline std::string ByDepartment(std::string_view jurisdiction, std::string_view department) {
  return infra::StrCat("requests:by_department:{", jurisdiction, "}:", department);
}
inline std::string ByAssignee(std::string_view account) {
  return infra::StrCat("requests:by_assignee:{", account, "}");
}
inline std::string DepartmentBackfill(std::string_view jurisdiction) {
  return infra::StrCat("requests:backfill_department:{", jurisdiction, "}");
}
inline std::string AssignedBy(std::string_view account) {
  return infra::StrCat("requests:assigned_by:{", account, "}");
}
inline std::string Followers(std::string_view id) {
  return infra::StrCat("requests:followers:{", id, "}");
}
inline std::string Following(std::string_view account) {
  return infra::StrCat("requests:following:{", account, "}");
}
inline std::string Comments(std::string_view id) {
  return infra::StrCat("requests:comments:{", id, "}");
}
inline std::string CommentsBy(std::string_view account) {
  return infra::StrCat("requests:comments_by:{", account, "}");
}
// Every idempotency key of `scope` starts with this.
inline std::string IdemPrefix(std::string_view scope) {
  return infra::StrCat("requests:idem:{", scope, "}:");
}
inline std::string IdemOf(std::string_view account) {
  return infra::StrCat("requests:idem_of:{", account, "}");
}
inline std::string Service(std::string_view jurisdiction, std::string_view code) {
  return infra::StrCat("requests:service:{", jurisdiction, "}:", code);
}
inline std::string Services(std::string_view jurisdiction) {
  return infra::StrCat("requests:services:{", jurisdiction, "}");
}
inline std::string Media(std::string_view sha256_hex) {
  return infra::StrCat("requests:media:{", sha256_hex, "}");
}
inline std::string MediaHidden(std::string_view sha256_hex) {
  return infra::StrCat("requests:media_hidden:{", sha256_hex, "}");
}
inline std::string ResponseTemplate(std::string_view id) {
  return infra::StrCat("requests:response_template:{", id, "}");
}
inline std::string ResponseTemplatesOf(std::string_view department) {
  return infra::StrCat("requests:response_templates:{", department, "}");
}
inline std::string ResponseTemplateDepartments() {
  return "requests:response_template_departments";
}
inline std::string ResponseTemplatesBy(std::string_view account) {
  return infra::StrCat("requests:response_templates_by:{", account, "}");
}

// Requests in a final state whose contact details are due for erasure, by due time (ms).
inline std::string ContactErasures() { return "requests:contact_erasures"; }

// Geography (#15): geography_store.cc.
inline std::string Boundary(std::string_view jurisdiction) {
  return infra::StrCat("requests:boundary:{", jurisdiction, "}");
}
inline std::string Districts(std::string_view jurisdiction) {
  return infra::StrCat("requests:districts:{", jurisdiction, "}");
}
inline std::string RoutingRules(std::string_view jurisdiction) {
  return infra::StrCat("requests:routing_rules:{", jurisdiction, "}");
}
inline std::string GeographyVersion(std::string_view jurisdiction) {
  return infra::StrCat("requests:geography_version:{", jurisdiction, "}");
}
inline std::string ByDistrict(std::string_view jurisdiction, std::string_view district) {
  return infra::StrCat("requests:by_district:{", jurisdiction, "}:", district);
}
inline std::string DistrictReassign(std::string_view jurisdiction) {
  return infra::StrCat("requests:district_reassign:{", jurisdiction, "}");
}

}  // namespace keys
}  // namespace cityhub::requests
