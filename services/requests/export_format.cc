#include "services/requests/export_format.h"

#include <google/protobuf/util/time_util.h>
#include <nlohmann/json.hpp>

#include "infra/strings.h"

namespace cityhub::requests {

namespace {

using Json = nlohmann::ordered_json;
using google::protobuf::util::TimeUtil;

constexpr std::string_view kCsvColumns[] = {
    "request_id",   "service_code", "service_name", "status",       "status_notes", "description",
    "lat",          "long",         "address",      "zipcode",      "district",     "department",
    "requested_at", "updated_at",   "expected_at",  "duplicate_of", "media_urls",   "license"};

bool IsSet(const google::protobuf::Timestamp& t) { return t.seconds() != 0 || t.nanos() != 0; }

std::string Time(const google::protobuf::Timestamp& t) {
  return IsSet(t) ? TimeUtil::ToString(t) : std::string();
}

Json TimeOrNull(const google::protobuf::Timestamp& t) {
  return IsSet(t) ? Json(TimeUtil::ToString(t)) : Json(nullptr);
}

Json TextOrNull(const std::string& s) { return s.empty() ? Json(nullptr) : Json(s); }

bool HasLocation(const v1::ServiceRequest& r) { return r.lat() != 0 || r.long_() != 0; }

std::string Dump(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

void AppendFeature(const v1::ServiceRequest& r, std::string* out) {
  Json properties = {
      {"request_id", r.request_id()},
      {"service_code", r.service_code()},
      {"service_name", TextOrNull(r.service_name())},
      {"status", v1::Status_Name(r.status())},
      {"status_notes", TextOrNull(r.status_notes())},
      {"description", TextOrNull(r.description())},
      {"address", TextOrNull(r.address())},
      {"zipcode", TextOrNull(r.zipcode())},
      {"district", TextOrNull(r.district())},
      {"department", TextOrNull(r.department())},
      {"requested_at", TimeOrNull(r.requested_at())},
      {"updated_at", TimeOrNull(r.updated_at())},
      {"expected_at", TimeOrNull(r.expected_at())},
      {"duplicate_of", TextOrNull(r.duplicate_of())},
  };
  Json urls = Json::array();
  for (const auto& url : r.media_urls()) urls.push_back(url);
  properties["media_urls"] = std::move(urls);
  Json feature = {{"type", "Feature"}, {"id", r.request_id()}};
  // RFC 7946 3.1.1: longitude first. A request filed by address only has no geometry (3.2).
  feature["geometry"] =
      HasLocation(r) ? Json{{"type", "Point"}, {"coordinates", Json::array({r.long_(), r.lat()})}}
                     : Json(nullptr);
  feature["properties"] = std::move(properties);
  out->append(Dump(feature));
}

void AppendNumber(double value, std::string* out) { out->append(Json(value).dump()); }

void AppendRow(const v1::ServiceRequest& r, std::string_view license, std::string* out) {
  auto field = [out](std::string_view v) {
    AppendCsvField(v, out);
    out->push_back(',');
  };
  field(r.request_id());
  field(r.service_code());
  field(r.service_name());
  field(v1::Status_Name(r.status()));
  field(r.status_notes());
  field(r.description());
  if (HasLocation(r)) AppendNumber(r.lat(), out);
  out->push_back(',');
  if (HasLocation(r)) AppendNumber(r.long_(), out);
  out->push_back(',');
  field(r.address());
  field(r.zipcode());
  field(r.district());
  field(r.department());
  field(Time(r.requested_at()));
  field(Time(r.updated_at()));
  field(Time(r.expected_at()));
  field(r.duplicate_of());
  std::string urls;
  for (const auto& url : r.media_urls()) {
    if (!urls.empty()) urls.push_back(' ');
    urls += url;  // URLs hold no spaces
  }
  field(urls);
  AppendCsvField(license, out);
  out->append("\r\n");
}

}  // namespace

std::string_view ExportContentType(ExportFormat format) {
  return format == ExportFormat::kGeoJson ? "application/geo+json"
                                          : "text/csv; charset=utf-8; header=present";
}

std::string ExportContentDisposition(ExportFormat format, int64_t now_ms) {
  const std::string day =
      TimeUtil::ToString(TimeUtil::MillisecondsToTimestamp(now_ms)).substr(0, 10);
  return infra::StrCat("attachment; filename=\"cityhub-requests-", day,
                       format == ExportFormat::kGeoJson ? ".geojson" : ".csv", "\"");
}

std::string ExportHead(ExportFormat format, const ExportMeta& meta) {
  if (format == ExportFormat::kCsv) {
    std::string row;
    for (std::string_view column : kCsvColumns) {
      if (!row.empty()) row.push_back(',');
      row.append(column);
    }
    row.append("\r\n");
    return row;
  }
  // Foreign members (RFC 7946 6.1) before the features, so that a reader streaming the file
  // learns the licence and the next page first.
  std::string head = "{\"type\":\"FeatureCollection\",\"license\":";
  head += Dump(meta.license.empty() ? Json(nullptr) : Json(std::string(meta.license)));
  infra::StrAppend(&head, ",\"jurisdiction_id\":", Dump(Json(std::string(meta.jurisdiction))),
                   ",\"generated_at\":\"",
                   TimeUtil::ToString(TimeUtil::MillisecondsToTimestamp(meta.generated_ms)),
                   "\",\"next_page_token\":");
  head +=
      Dump(meta.next_page_token.empty() ? Json(nullptr) : Json(std::string(meta.next_page_token)));
  head += ",\"features\":[";
  return head;
}

void AppendExportRecord(ExportFormat format, const v1::ServiceRequest& r, const ExportMeta& meta,
                        bool first, std::string* out) {
  if (format == ExportFormat::kCsv) return AppendRow(r, meta.license, out);
  if (!first) out->push_back(',');
  AppendFeature(r, out);
}

std::string_view ExportTail(ExportFormat format) {
  return format == ExportFormat::kGeoJson ? "]}" : "";
}

void AppendCsvField(std::string_view value, std::string* out) {
  if (value.find_first_of(",\"\r\n") == std::string_view::npos) {
    out->append(value);
    return;
  }
  out->push_back('"');
  for (char c : value) {
    if (c == '"') out->push_back('"');
    out->push_back(c);
  }
  out->push_back('"');
}

}  // namespace cityhub::requests
