#include <nlohmann/json.hpp>

#include "infra/strings.h"
#include "services/notifications/channels.h"
#include "services/notifications/http_post.h"

namespace cityhub::notifications {

using infra::StrCat;

Outcome PushChannel::Send(const StoredJob& job) {
  if (settings_.endpoint.empty()) return {Outcome::kGiveUp, "push is not configured", false};
  nlohmann::json data = nlohmann::json::object();
  for (const auto& [k, v] : job.data()) data[k] = v;
  const nlohmann::json message = {
      {"message",
       {{"token", job.push_token()},
        {"notification", {{"title", job.title()}, {"body", job.text()}}},
        {"data", data},
        {"android", {{"priority", "high"}}},
        {"apns", {{"headers", {{"apns-priority", "10"}}}}}}}};
  std::vector<std::string> headers = {"Content-Type: application/json; charset=UTF-8"};
  if (!settings_.token.empty()) headers.push_back("Authorization: Bearer " + settings_.token);
  const HttpResult r = Post(settings_.endpoint, message.dump(), headers, settings_.timeout);
  if (r.code != CURLE_OK)
    return {Outcome::kRetry, StrCat("push provider unreachable: ", r.error), false};
  if (r.status >= 200 && r.status < 300) return {Outcome::kSent, "", false};
  if (r.status == 404 || r.body.find("UNREGISTERED") != std::string::npos) {
    return {Outcome::kGiveUp, "push token unregistered", true};
  }
  if (r.status == 429 || r.status >= 500)
    return {Outcome::kRetry, StrCat("push provider answered ", r.status), false};
  return {Outcome::kGiveUp, StrCat("push provider refused: ", r.status), false};
}

}  // namespace cityhub::notifications
