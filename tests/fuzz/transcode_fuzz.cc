// JSON bodies and query strings → protobuf for every public route: bad input is
// INVALID_ARGUMENT naming its field, and what was accepted writes back to JSON that builds the
// same message again (parse → serialize → parse round trip).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <google/protobuf/util/message_differencer.h>

#include "gateway/routes.h"
#include "gateway/transcode.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/fuzz_routes.h"

namespace {

using cityhub::fuzz::Check;
using cityhub::gateway::Route;
using cityhub::gateway::RouteTable;
using google::protobuf::Message;

// The part of the request message the body fills.
const Message& BodyOf(const Route& route, const Message& request) {
  if (route.body == "*") return request;
  const auto* field = request.GetDescriptor()->FindFieldByName(route.body);
  return request.GetReflection()->GetMessage(request, field);
}

}  // namespace

// The first byte picks the route; the rest is its JSON body (routes with a body) or its query
// string (routes without one).
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const auto& routes = cityhub::fuzz::PublicRoutes().routes();
  const Route& route = routes[data[0] % routes.size()];
  if (route.raw_request) return 0;
  const std::string rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  RouteTable::Match match{&route, {}};
  cityhub::gateway::ParsedQuery query;
  std::string body;
  if (route.body.empty()) {
    auto parsed = cityhub::gateway::ParseQuery(rest);
    if (!parsed.ok()) return cityhub::fuzz::CheckNamesField(parsed.status()), 0;
    query = *std::move(parsed);
  } else {
    body = rest;
  }
  auto request = cityhub::gateway::BuildRequest(match, query, body, "application/json");
  if (!request.ok()) return cityhub::fuzz::CheckNamesField(request.status()), 0;
  // The accepted message, written as JSON and read back as a body, is the same message.
  if (route.body.empty()) return 0;
  const std::string json = cityhub::gateway::ToJson(BodyOf(route, **request));
  auto again = cityhub::gateway::BuildRequest(match, {}, json, "application/json");
  Check(again.ok(), "written JSON does not read back");
  Check(google::protobuf::util::MessageDifferencer::Equals(**request, **again),
        "JSON round trip changed the message");
  (void)cityhub::gateway::KeyBefore(rest, rest.size() / 2);
  return 0;
}
