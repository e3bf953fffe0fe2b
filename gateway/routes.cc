#include "gateway/routes.h"

#include <algorithm>
#include <set>

#include "cityhub/accounts/v1/accounts.pb.h"
#include "cityhub/notifications/v1/notifications.pb.h"
#include "cityhub/requests/v1/requests.pb.h"
#include "infra/strings.h"

namespace cityhub::gateway {

using google::protobuf::FieldDescriptor;
using infra::StrAppend;
using infra::StrCat;

namespace {

bool IsFieldPath(std::string_view path) {
  if (path.empty()) return false;
  bool start = true;
  for (char c : path) {
    if (c == '.') {
      if (start) return false;
      start = true;
      continue;
    }
    const bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '_';
    if (!ok || (start && std::isdigit(static_cast<unsigned char>(c)))) return false;
    start = false;
  }
  return !start;
}

// The field a dotted path names in `message`, or null.
const FieldDescriptor* FindField(const google::protobuf::Descriptor* message,
                                 std::string_view path) {
  const FieldDescriptor* field = nullptr;
  size_t start = 0;
  while (message != nullptr) {
    const size_t dot = path.find('.', start);
    field = message->FindFieldByName(std::string(path.substr(start, dot - start)));
    if (field == nullptr || dot == std::string_view::npos) return field;
    message = field->message_type();
    start = dot + 1;
  }
  return nullptr;
}

std::vector<std::string_view> SplitPath(std::string_view path) {
  std::vector<std::string_view> out;
  size_t start = 1;  // after the leading '/'
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    out.push_back(path.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

int Specificity(const Route& r) {
  int literal = 0;
  for (const auto& s : r.path.segments) literal += s.variable ? 0 : 1;
  return literal * 2 + (r.path.verb.empty() ? 0 : 1);
}

}  // namespace

std::vector<const google::protobuf::ServiceDescriptor*> PublicServices() {
  return {
      cityhub::accounts::v1::Account::descriptor()->file()->FindServiceByName("AccountsService"),
      cityhub::requests::v1::ServiceRequest::descriptor()->file()->FindServiceByName(
          "RequestsService"),
      cityhub::notifications::v1::Notification::descriptor()->file()->FindServiceByName(
          "NotificationsService")};
}

std::optional<std::string> PercentDecode(std::string_view text, bool plus_is_space) {
  auto hex = [](char h) -> int {
    if (h >= '0' && h <= '9') return h - '0';
    if (h >= 'a' && h <= 'f') return h - 'a' + 10;
    if (h >= 'A' && h <= 'F') return h - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '%') {
      if (i + 2 >= text.size()) return std::nullopt;  // needs two hex digits after it
      const int hi = hex(text[i + 1]);
      const int lo = hex(text[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

std::string PathTemplate::Shape() const {
  std::string shape;
  for (const auto& s : segments) StrAppend(&shape, "/", s.variable ? std::string("{}") : s.literal);
  if (!verb.empty()) StrAppend(&shape, ":", verb);
  return shape;
}

absl::StatusOr<PathTemplate> ParsePathTemplate(std::string_view text) {
  PathTemplate t;
  t.text = std::string(text);
  if (!text.starts_with("/") || text.size() < 2) {
    return absl::InvalidArgumentError(StrCat("path template '", text, "' must start with /"));
  }
  std::string_view rest = text;
  // A custom verb follows the last ':' after the last '}' or '/'.
  const size_t last_slash = rest.rfind('/');
  const size_t last_brace = rest.rfind('}');
  const size_t colon = rest.rfind(':');
  if (colon != std::string_view::npos && colon > last_slash &&
      (last_brace == std::string_view::npos || colon > last_brace)) {
    t.verb = std::string(rest.substr(colon + 1));
    rest = rest.substr(0, colon);
    if (t.verb.empty()) return absl::InvalidArgumentError(StrCat("empty verb in '", text, "'"));
  }
  for (std::string_view segment : SplitPath(rest)) {
    PathTemplate::Segment s;
    if (segment.empty()) return absl::InvalidArgumentError(StrCat("empty segment in '", text, "'"));
    if (segment.front() == '{') {
      if (segment.back() != '}' || !IsFieldPath(segment.substr(1, segment.size() - 2))) {
        return absl::InvalidArgumentError(StrCat("bad variable ", segment, " in '", text, "'"));
      }
      s.variable = true;
      s.field_path = std::string(segment.substr(1, segment.size() - 2));
    } else {
      if (segment.find_first_of("{}") != std::string_view::npos) {
        return absl::InvalidArgumentError(StrCat("bad segment ", segment, " in '", text, "'"));
      }
      s.literal = std::string(segment);
    }
    t.segments.push_back(std::move(s));
  }
  return t;
}

absl::StatusOr<RouteTable> RouteTable::Build(
    const std::vector<const google::protobuf::ServiceDescriptor*>& services) {
  RouteTable table;
  std::map<std::string, std::string> claimed;  // "METHOD shape" → grpc method
  for (const auto* service : services) {
    for (int i = 0; i < service->method_count(); ++i) {
      const auto* method = service->method(i);
      const auto& options = method->options();
      if (!options.HasExtension(cityhub::api::http)) continue;
      const auto& rule = options.GetExtension(cityhub::api::http);
      Route r;
      r.method = method;
      r.grpc_path = StrCat("/", service->full_name(), "/", method->name());
      r.policy = options.GetExtension(cityhub::api::policy);
      if (r.policy.access() == cityhub::api::ACCESS_INTERNAL ||
          r.policy.access() == cityhub::api::ACCESS_UNSPECIFIED) {
        return absl::FailedPreconditionError(
            StrCat(method->full_name(), " has an HTTP rule but no public access policy"));
      }
      std::string_view templ;
      switch (rule.pattern_case()) {
        case cityhub::api::HttpRule::kGet:
          r.http_method = "GET";
          templ = rule.get();
          break;
        case cityhub::api::HttpRule::kPost:
          r.http_method = "POST";
          templ = rule.post();
          break;
        case cityhub::api::HttpRule::kPut:
          r.http_method = "PUT";
          templ = rule.put();
          break;
        case cityhub::api::HttpRule::kPatch:
          r.http_method = "PATCH";
          templ = rule.patch();
          break;
        case cityhub::api::HttpRule::kDelete:
          r.http_method = "DELETE";
          templ = rule.delete_();
          break;
        default:
          return absl::FailedPreconditionError(
              StrCat(method->full_name(), ": HTTP rule without a method"));
      }
      auto path = ParsePathTemplate(templ);
      if (!path.ok())
        return absl::FailedPreconditionError(
            StrCat(method->full_name(), ": ", path.status().message()));
      r.path = std::move(*path);
      for (const auto& s : r.path.segments) {
        if (s.variable && FindField(method->input_type(), s.field_path) == nullptr) {
          return absl::FailedPreconditionError(StrCat(method->full_name(), ": path variable ",
                                                      s.field_path, " is not a request field"));
        }
      }
      r.body = rule.body();
      if (!r.body.empty() && r.body != "*") {
        const auto* field = method->input_type()->FindFieldByName(r.body);
        if (field == nullptr) {
          return absl::FailedPreconditionError(
              StrCat(method->full_name(), ": body field ", r.body, " does not exist"));
        }
        r.raw_request = field->message_type() != nullptr &&
                        field->message_type()->full_name() == "cityhub.api.HttpBody";
      }
      r.raw_response = method->output_type()->full_name() == "cityhub.api.HttpBody";
      r.success_status = rule.success_status() == 0 ? 200 : rule.success_status();
      r.server_streaming = method->server_streaming();
      r.stream_id_field = rule.stream_id_field();
      r.resume_field = rule.resume_field();
      if (method->client_streaming()) {
        return absl::FailedPreconditionError(
            StrCat(method->full_name(), ": client streaming has no HTTP mapping"));
      }
      const std::string key = StrCat(r.http_method, " ", r.path.Shape());
      if (auto [it, fresh] = claimed.emplace(key, method->full_name()); !fresh) {
        return absl::FailedPreconditionError(
            StrCat("two routes claim ", key, ": ", it->second, " and ", method->full_name()));
      }
      table.routes_.push_back(std::move(r));
    }
  }
  for (size_t i = 0; i < table.routes_.size(); ++i) {
    table.by_length_[table.routes_[i].path.segments.size()].push_back(i);
  }
  for (auto& [length, indexes] : table.by_length_) {
    std::stable_sort(indexes.begin(), indexes.end(), [&](size_t a, size_t b) {
      return Specificity(table.routes_[a]) > Specificity(table.routes_[b]);
    });
  }
  return table;
}

std::optional<RouteTable::Match> RouteTable::Find(std::string_view http_method,
                                                  std::string_view path,
                                                  std::vector<std::string>* allowed) const {
  if (path.empty() || path.front() != '/') return std::nullopt;
  std::vector<std::string_view> segments = SplitPath(path);
  auto it = by_length_.find(segments.size());
  if (it == by_length_.end()) return std::nullopt;
  std::optional<Match> found;
  for (size_t index : it->second) {
    const Route& r = routes_[index];
    // Without `allowed`, a route of another method cannot be the answer: skipped before any
    // segment is looked at (most routes of a length are other methods').
    if (allowed == nullptr && r.http_method != http_method) continue;
    // First the literal segments and the verb, without decoding or allocating anything; only
    // a route whose shape matches has its variables decoded.
    std::string_view last_value;
    bool ok = true;
    for (size_t i = 0; i < segments.size() && ok; ++i) {
      std::string_view actual = segments[i];
      if (i + 1 == segments.size()) {
        const std::string& verb = r.path.verb;
        if (!verb.empty()) {
          ok = actual.size() > verb.size() && actual.ends_with(verb) &&
               actual[actual.size() - verb.size() - 1] == ':';
          if (!ok) break;
          actual.remove_suffix(verb.size() + 1);
        } else if (r.path.segments[i].variable && actual.find(':') != std::string_view::npos) {
          ok = false;  // "x:verb" is a custom method, not a value
          break;
        }
        last_value = actual;
      }
      const auto& s = r.path.segments[i];
      if (!s.variable && actual != s.literal) ok = false;
    }
    if (!ok) continue;
    Match m;
    for (size_t i = 0; i < segments.size() && ok; ++i) {
      const auto& s = r.path.segments[i];
      if (!s.variable) continue;
      auto value = PercentDecode(i + 1 == segments.size() ? last_value : segments[i], false);
      if (!value || value->empty()) {
        ok = false;
      } else {
        m.bindings.emplace_back(s.field_path, std::move(*value));
      }
    }
    if (!ok) continue;
    if (r.http_method == http_method) {
      if (!found) {
        m.route = &r;
        found = std::move(m);
        if (allowed == nullptr) return found;
      }
    }
    if (allowed != nullptr &&
        std::find(allowed->begin(), allowed->end(), r.http_method) == allowed->end()) {
      allowed->push_back(r.http_method);
    }
  }
  return found;
}

}  // namespace cityhub::gateway
