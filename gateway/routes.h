#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <google/protobuf/descriptor.h>

#include "absl/status/statusor.h"
#include "cityhub/api/annotations.pb.h"

// The route table, built at start-up from the cityhub.api.http and cityhub.api.policy options of
// every linked service: adding an RPC with an HTTP option adds its route.
namespace cityhub::gateway {

// A path template: "/v1/requests/{request_id}:transition" → segments [v1, requests, {request_id}]
// and verb "transition". Variables take one path segment and bind a (possibly nested) field.
struct PathTemplate {
  struct Segment {
    bool variable = false;
    std::string literal;     // for literal segments
    std::string field_path;  // for variables, e.g. "service.service_code"
  };
  std::string text;
  std::vector<Segment> segments;
  std::string verb;

  // A key that two templates share when they match the same paths.
  std::string Shape() const;
};

// INVALID_ARGUMENT for templates that do not start with "/", have empty segments, unbalanced
// braces or variables that are not field paths.
absl::StatusOr<PathTemplate> ParsePathTemplate(std::string_view text);

struct Route {
  std::string http_method;  // GET, POST, PUT, PATCH, DELETE
  PathTemplate path;
  const google::protobuf::MethodDescriptor* method = nullptr;
  // "/cityhub.requests.v1.RequestsService/GetRequest"
  std::string grpc_path;
  // "*", a request field name, or empty.
  std::string body;
  cityhub::api::Policy policy;
  int success_status = 200;
  // The request body field is a cityhub.api.HttpBody (raw upload).
  bool raw_request = false;
  // The response is a cityhub.api.HttpBody (raw download).
  bool raw_response = false;
  bool server_streaming = false;
  std::string stream_id_field;
  std::string resume_field;
};

class RouteTable final {
 public:
  // Builds routes from the services' methods. Fails for two routes claiming one path shape and
  // method, malformed templates, body fields that do not exist, and HTTP options on methods
  // whose policy is internal.
  static absl::StatusOr<RouteTable> Build(
      const std::vector<const google::protobuf::ServiceDescriptor*>& services);

  struct Match {
    const Route* route = nullptr;
    // Field path → percent-decoded segment value.
    std::vector<std::pair<std::string, std::string>> bindings;
  };
  // The route for a method and path; nullopt when none matches. `allowed` (if given) receives
  // the methods that would match the path, to tell 404 from 405.
  std::optional<Match> Find(std::string_view http_method, std::string_view path,
                            std::vector<std::string>* allowed = nullptr) const;

  const std::vector<Route>& routes() const { return routes_; }

 private:
  std::vector<Route> routes_;
  // By segment count, for quick candidate lookup; most specific first.
  std::map<size_t, std::vector<size_t>> by_length_;
};

// The services behind the public API. Taking them from generated messages' file descriptors
// also makes sure their generated code is linked (a static library would drop it otherwise).
std::vector<const google::protobuf::ServiceDescriptor*> PublicServices();

// Percent-decodes a path segment or query component ('+' stays '+' in paths, becomes ' ' in
// queries). Nullopt for malformed escapes.
std::optional<std::string> PercentDecode(std::string_view text, bool plus_is_space);

}  // namespace cityhub::gateway
