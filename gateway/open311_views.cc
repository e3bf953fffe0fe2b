// Requests and services as GeoReport v2 shows them.
#include <algorithm>

#include <google/protobuf/util/time_util.h>

#include "gateway/open311_impl.h"
#include "infra/strings.h"

namespace cityhub::gateway {

using google::protobuf::util::TimeUtil;

namespace open311 {

Json OrNull(const std::string& text) { return text.empty() ? Json(nullptr) : Json(text); }

bool IsOpen(requests_v1::Status status) {
  return status == requests_v1::SUBMITTED || status == requests_v1::ACKNOWLEDGED ||
         status == requests_v1::IN_PROGRESS;
}

// A request as GeoReport v2 shows it; private fields (owner, contact, internal notes) are not
// in the public view the service answered with, and are not read here either.
Json RequestObject(const requests_v1::ServiceRequest& r) {
  const bool located = r.lat() != 0 || r.long_() != 0;
  const int64_t requested = TimeUtil::TimestampToMilliseconds(r.requested_at());
  const int64_t expected = TimeUtil::TimestampToMilliseconds(r.expected_at());
  Json o;
  o["service_request_id"] = r.request_id();
  o["status"] = IsOpen(r.status()) ? "open" : "closed";
  o["status_notes"] = OrNull(r.status_notes());
  o["service_name"] = r.service_name();
  o["service_code"] = r.service_code();
  o["description"] = r.description();
  o["agency_responsible"] = OrNull(r.department());
  o["service_notice"] = OrNull(r.service_notice());
  o["requested_datetime"] = open311::FormatDateTime(requested);
  o["updated_datetime"] =
      open311::FormatDateTime(TimeUtil::TimestampToMilliseconds(r.updated_at()));
  o["expected_datetime"] =
      expected > requested ? Json(open311::FormatDateTime(expected)) : Json(nullptr);
  o["address"] = r.address();
  o["address_id"] = OrNull(r.address_id());
  o["zipcode"] = OrNull(r.zipcode());
  o["lat"] = located ? Json(r.lat()) : Json(nullptr);
  o["long"] = located ? Json(r.long_()) : Json(nullptr);
  o["media_url"] = r.media_urls().empty() ? Json(nullptr) : Json(r.media_urls(0));
  return o;
}

Json ExtendedAttributes(const requests_v1::ServiceRequest& r) {
  Json history = Json::array();
  // The filing, then every change of status; reroutes and assignments are not status changes.
  history.push_back(Json{
      {"status", requests_v1::Status_Name(requests_v1::SUBMITTED)},
      {"changed_at", open311::FormatDateTime(TimeUtil::TimestampToMilliseconds(r.requested_at()))},
      {"note", nullptr}});
  for (const auto& change : r.history()) {
    if (!change.kind().empty() && change.kind() != "status") continue;
    history.push_back(Json{
        {"status", requests_v1::Status_Name(change.to_status())},
        {"changed_at", open311::FormatDateTime(TimeUtil::TimestampToMilliseconds(change.at()))},
        {"note", OrNull(change.public_note())}});
  }
  Json o;
  o["district"] = OrNull(r.district());
  o["status_history"] = std::move(history);
  return o;
}

Json ServiceObject(const requests_v1::Service& s) {
  const bool metadata = std::any_of(s.attributes().begin(), s.attributes().end(),
                                    [](const auto& a) { return a.variable(); });
  Json o;
  o["service_code"] = s.service_code();
  o["service_name"] = s.name();
  o["description"] = s.description();
  o["metadata"] = metadata;
  o["type"] = "realtime";
  o["keywords"] = infra::StrJoin(s.keywords(), ", ");
  o["group"] = s.group();
  return o;
}

Json ServiceDefinition(const requests_v1::Service& s) {
  Json attributes = Json::array();
  for (const auto& a : s.attributes()) {
    Json values = Json::array();
    for (const auto& v : a.values()) values.push_back(Json{{"key", v.key()}, {"name", v.name()}});
    Json o;
    o["variable"] = a.variable();
    o["code"] = a.code();
    o["datatype"] = a.datatype();
    o["required"] = a.required();
    o["datatype_description"] = nullptr;
    o["order"] = a.order();
    o["description"] = a.description();
    o["values"] = std::move(values);
    attributes.push_back(std::move(o));
  }
  Json o;
  o["service_code"] = s.service_code();
  o["attributes"] = std::move(attributes);
  return o;
}

}  // namespace open311

}  // namespace cityhub::gateway
