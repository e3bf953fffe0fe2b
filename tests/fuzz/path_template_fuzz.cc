// Path templates: a template that parses prints back to an equivalent template (same segments,
// verb and shape); the route table's matching agrees with the templates it matched.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "gateway/routes.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/fuzz_routes.h"

namespace {

using cityhub::fuzz::Check;
using cityhub::gateway::PathTemplate;

std::string Print(const PathTemplate& t) {
  std::string out = t.segments.empty() ? "/" : "";
  for (const auto& s : t.segments) out += s.variable ? "/{" + s.field_path + "}" : "/" + s.literal;
  if (!t.verb.empty()) out += ":" + t.verb;
  return out;
}

void CheckTemplate(std::string_view input) {
  auto parsed = cityhub::gateway::ParsePathTemplate(input);
  if (!parsed.ok()) {
    return Check(parsed.status().code() == absl::StatusCode::kInvalidArgument, "error code");
  }
  Check(parsed->text == input, "text kept as written");
  auto again = cityhub::gateway::ParsePathTemplate(Print(*parsed));
  Check(again.ok(), "printed template does not parse");
  Check(again->Shape() == parsed->Shape(), "round trip changed the shape");
  Check(again->verb == parsed->verb && again->segments.size() == parsed->segments.size(),
        "round trip changed the segments");
  for (size_t i = 0; i < parsed->segments.size(); ++i) {
    const auto& a = parsed->segments[i];
    const auto& b = again->segments[i];
    Check(a.variable == b.variable && a.literal == b.literal && a.field_path == b.field_path,
          "round trip changed a segment");
  }
}

void CheckMatching(std::string_view path) {
  const auto* routes = &cityhub::fuzz::PublicRoutes();
  for (const char* method : {"GET", "POST", "PATCH", "DELETE"}) {
    std::vector<std::string> allowed;
    auto match = routes->Find(method, path, &allowed);
    if (!match) {
      for (const auto& m : allowed) Check(m != method, "allowed names a method that did not match");
      continue;
    }
    Check(match->route->http_method == method, "matched a route of another method");
    size_t variables = 0;
    for (const auto& s : match->route->path.segments) variables += s.variable;
    Check(match->bindings.size() == variables, "a binding per variable");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  CheckTemplate(input);
  CheckMatching(input);
  for (bool plus_is_space : {false, true}) {
    if (auto decoded = cityhub::gateway::PercentDecode(input, plus_is_space)) {
      Check(decoded->size() <= input.size(), "decoding grew the text");
    }
  }
  return 0;
}
