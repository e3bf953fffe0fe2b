#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "cityhub/requests/v1/requests.pb.h"

// The open-data files (#15): a page of requests as a GeoJSON FeatureCollection (RFC 7946) or
// as CSV (RFC 4180), written piece by piece: the head, one record per request, the tail. Only
// what the request's public view (RequestToApi with Visibility::kPublic) holds is written.
namespace cityhub::requests {

enum class ExportFormat { kGeoJson, kCsv };

// What the whole file carries besides its records.
struct ExportMeta {
  std::string_view jurisdiction;
  // The jurisdiction's open-data licence (CITYHUB_OPEN_DATA_LICENSE); may be empty.
  std::string_view license;
  // Empty on the last page.
  std::string_view next_page_token;
  int64_t generated_ms = 0;
};

// "application/geo+json" or "text/csv; charset=utf-8; header=present".
std::string_view ExportContentType(ExportFormat format);

// `attachment; filename="cityhub-requests-<UTC date of now_ms>.geojson|csv"`.
std::string ExportContentDisposition(ExportFormat format, int64_t now_ms);

// GeoJSON: the collection's members up to the opening of "features" (the licence, the
// jurisdiction, next_page_token and generated_at as foreign members). CSV: the header row.
std::string ExportHead(ExportFormat format, const ExportMeta& meta);

// Appends one request; `first` for the file's first record (GeoJSON separates by commas).
// CSV rows end in CRLF and carry the licence in their last column.
void AppendExportRecord(ExportFormat format, const cityhub::requests::v1::ServiceRequest& r,
                        const ExportMeta& meta, bool first, std::string* out);

// What closes the file after the last record ("" for CSV).
std::string_view ExportTail(ExportFormat format);

// One CSV field per RFC 4180: quoted (with quotes doubled) when it holds a comma, a quote, CR
// or LF, else as it is.
void AppendCsvField(std::string_view value, std::string* out);

}  // namespace cityhub::requests
