#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <google/protobuf/struct.pb.h>
#include <nlohmann/json_fwd.hpp>

#include "absl/status/statusor.h"
#include "gateway/transcode.h"

// The wire formats of Open311 GeoReport v2, apart from the calls: the .json/.xml suffix, one
// document model written as the spec's JSON or XML (UTF-8, no namespace), its W3C date-times
// and the attribute[CODE] form fields.
namespace cityhub::gateway::open311 {

enum class Format { kJson, kXml };

// "requests.json" → {"requests", kJson}; nullopt without a .json or .xml suffix.
struct Resource {
  std::string_view name;
  Format format;
};
std::optional<Resource> SplitFormat(std::string_view path);

std::string_view ContentType(Format format);

// Writes `doc` (an object, or an array of objects) as JSON, or as XML under the element
// `root`: an array becomes one child element per item, named by the array's key ("services" →
// "service", "attributes" → "attribute", "values" → "value", "endpoints" → "endpoint",
// "formats" → "format", "status_history" → "status_change"; the root array's items are
// `root_item`). null is an empty element.
std::string Render(const nlohmann::ordered_json& doc, Format format, std::string_view root,
                   std::string_view root_item);

// The spec's error list: [{"code": 404, "description": "..."}] or
// <errors><error>…</error></errors>.
std::string RenderErrors(int code, std::string_view description, Format format);

// A W3C date-time with a time zone ("2026-11-24T18:00:00+01:00", "…Z", seconds and fractions
// optional) as Unix milliseconds; nullopt when malformed or without a zone.
std::optional<int64_t> ParseDateTime(std::string_view text);
// Unix milliseconds as "2026-11-24T17:00:00Z" (UTC, whole seconds).
std::string FormatDateTime(int64_t unix_ms);

// The answers in attribute[CODE]=v and attribute[CODE][]=v form fields (the latter for
// multi-value lists), in order; other parameters are skipped. INVALID_ARGUMENT names a
// malformed field, an answer given twice and a code given in both forms.
absl::StatusOr<google::protobuf::Struct> AttributesFromForm(const ParsedQuery& form);

}  // namespace cityhub::gateway::open311
