// Open311 GeoReport v2 input: form and query strings with attribute[CODE] fields, W3C
// date-times and the .json/.xml suffix. Errors name the field; a date-time that parses prints
// and parses back to the same second; documents render in both formats.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "gateway/open311_format.h"
#include "gateway/open311_impl.h"
#include "gateway/transcode.h"
#include "infra/text.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using cityhub::fuzz::Check;
namespace open311 = cityhub::gateway::open311;

void CheckForm(std::string_view input) {
  auto form = cityhub::gateway::ParseQuery(input);
  if (!form.ok()) return cityhub::fuzz::CheckNamesField(form.status());
  auto attributes = open311::AttributesFromForm(*form);
  if (!attributes.ok()) return cityhub::fuzz::CheckNamesField(attributes.status());
  Check(attributes->fields_size() <= static_cast<int>(form->params.size()), "an answer per field");
  // Date filters (start_date, end_date) are read from the same form.
  for (const auto& [name, value] : form->params) {
    const auto ms = open311::ParseDateTime(value);
    if (!ms) continue;
    const std::string printed = open311::FormatDateTime(*ms);
    const auto again = open311::ParseDateTime(printed);
    Check(again.has_value(), "a printed date-time does not parse");
    Check(*again - *ms < 1000 && *ms - *again < 1000, "date-time round trip moved it");
  }
}

// The parameters of GET requests and POST requests: each known one at most once, unknown ones
// ignored in a query and refused in a form; numbers parse whole or not at all.
void CheckParams(std::string_view input) {
  auto query = cityhub::gateway::ParseQuery(input);
  if (!query.ok()) return;
  static const std::set<std::string_view> kAllowed = {"service_request_id",
                                                      "service_code",
                                                      "start_date",
                                                      "end_date",
                                                      "status",
                                                      "lat",
                                                      "long",
                                                      "radius",
                                                      "page",
                                                      "page_size",
                                                      "jurisdiction_id"};
  for (bool form : {false, true}) {
    auto params = open311::Collect(*query, kAllowed, form);
    if (!params.ok()) {
      cityhub::fuzz::CheckNamesField(params.status());
      Check(form || params.status().message().find("more than once") != std::string::npos,
            "a query refuses only a repeated parameter");
      continue;
    }
    for (const auto& [name, value] : *params) {
      Check(kAllowed.contains(name), "a parameter the resource does not take was kept");
      Check(open311::Get(*params, name) == value, "Get answers another value");
      int i = 0;
      if (open311::ParseInt(value, &i)) {
        Check(std::to_string(i) == value || value.starts_with('0') || value.starts_with("-0"),
              "an integer parsed from text that is not an integer");
      }
      double d = 0;
      if (open311::ParseDouble(value, &d)) Check(std::isfinite(d), "a number that is not finite");
    }
  }
}

void CheckFormat(std::string_view input) {
  const auto resource = open311::SplitFormat(input);
  if (!resource) return;
  const std::string_view suffix = resource->format == open311::Format::kJson ? ".json" : ".xml";
  Check(std::string(resource->name) + std::string(suffix) == input, "suffix split loses text");
}

void CheckRender(std::string_view input) {
  const auto doc = nlohmann::ordered_json::parse(input, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !(doc.is_object() || doc.is_array())) return;
  if (doc.is_array()) {
    for (const auto& item : doc) {
      if (!item.is_object()) return;
    }
  }
  for (auto format : {open311::Format::kJson, open311::Format::kXml}) {
    const std::string out = open311::Render(doc, format, "service_requests", "request");
    Check(cityhub::infra::IsValidUtf8(out), "rendered document is not UTF-8");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  CheckForm(input);
  CheckParams(input);
  CheckFormat(input);
  (void)open311::ParseDateTime(input);
  CheckRender(input);
  (void)open311::RenderErrors(400, input, open311::Format::kXml);
  return 0;
}
