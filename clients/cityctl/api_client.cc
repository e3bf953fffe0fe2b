#include "clients/cityctl/api_client.h"

#include "clients/cityctl/errors.h"
#include "clients/cityctl/http_client.h"

namespace cityhub::cityctl {
namespace {

using json = nlohmann::json;

constexpr int64_t kRefreshAheadMs = 30'000;

int64_t ToInt(const json& v) {
  if (v.is_number_integer()) return v.get<int64_t>();
  if (v.is_string()) {
    try {
      return std::stoll(v.get<std::string>());
    } catch (const std::exception&) {
      return 0;
    }
  }
  return 0;
}

}  // namespace

std::string CodeName(int code) {
  static const char* const kNames[] = {"ok",
                                       "cancelled",
                                       "unknown",
                                       "invalid_argument",
                                       "deadline_exceeded",
                                       "not_found",
                                       "already_exists",
                                       "permission_denied",
                                       "resource_exhausted",
                                       "failed_precondition",
                                       "aborted",
                                       "out_of_range",
                                       "unimplemented",
                                       "internal",
                                       "unavailable",
                                       "data_loss",
                                       "unauthenticated"};
  if (code >= 0 && code <= 16) return kNames[code];
  return "error";
}

std::string DescribeError(int status, const std::string& body, const std::string& request_id) {
  std::string text = std::to_string(status);
  try {
    const json error = json::parse(body);
    if (error.is_object() && error.contains("code") && error.contains("message")) {
      text += " " + CodeName(static_cast<int>(ToInt(error["code"]))) + ": " +
              error["message"].get<std::string>();
    } else {
      text += ": the server's answer is not a cityhub error";
    }
  } catch (const std::exception&) {
    text += ": the server's answer is not a cityhub error (is --server the gateway's URL?)";
  }
  if (status >= 500 && !request_id.empty()) text += " (request id " + request_id + ")";
  return text;
}

ApiClient::ApiClient(std::string credentials_path, Credentials credentials,
                     std::string context_name, Clock now)
    : path_(std::move(credentials_path)),
      credentials_(std::move(credentials)),
      context_name_(std::move(context_name)),
      now_(std::move(now)) {
  if (context_name_.empty()) context_name_ = credentials_.current_context;
}

const Context& ApiClient::context() const {
  const auto it = credentials_.contexts.find(context_name_);
  if (it == credentials_.contexts.end()) {
    if (context_name_.empty())
      throw Failure("not logged in: run cityctl login --server URL --email E");
    throw Failure("no context " + context_name_ + ": run cityctl login --context " + context_name_);
  }
  return it->second;
}

Context& ApiClient::Mutable() {
  context();  // throws when missing
  return credentials_.contexts[context_name_];
}

ApiClient::Answer ApiClient::Send(const std::string& method, const std::string& path,
                                  const json& body, const std::string& token) const {
  std::vector<std::string> headers = {"Accept: application/json"};
  if (!body.is_null()) headers.push_back("Content-Type: application/json");
  if (!token.empty()) headers.push_back("Authorization: Bearer " + token);
  const std::string text =
      body.is_null() ? "" : body.dump(-1, ' ', false, json::error_handler_t::strict);
  const HttpAnswer answer = HttpExchange(method, context().server + path, text, headers);
  if (answer.status == 0) {
    throw Failure("cannot reach " + context().server + ": " + answer.error);
  }
  return {answer.status, answer.body, answer.request_id};
}

json ApiClient::Parse(const Answer& answer) const {
  if (answer.status / 100 != 2) {
    throw Failure(DescribeError(answer.status, answer.body, answer.request_id));
  }
  if (answer.body.empty()) return json::object();
  try {
    return json::parse(answer.body);
  } catch (const json::exception&) {
    throw Failure("the server's answer is not JSON (is --server the gateway's URL?)");
  }
}

void ApiClient::Store(const json& pair) {
  Context& c = Mutable();
  c.access_token = pair.value("access_token", "");
  c.refresh_token = pair.value("refresh_token", "");
  c.expires_at_ms = now_() + ToInt(pair.value("expires_in", json(0))) * 1000;
  Save();
}

void ApiClient::Save() {
  std::string error;
  if (!SaveCredentials(path_, credentials_, &error)) throw Failure(error);
}

void ApiClient::Login(const std::string& server, const std::string& email,
                      const std::string& password) {
  if (context_name_.empty()) context_name_ = "default";
  Context& c = credentials_.contexts[context_name_];
  c.server = server;
  c.email = email;
  c.access_token.clear();
  c.refresh_token.clear();
  const json pair =
      Parse(Send("POST", "/v1/sessions", {{"email", email}, {"password", password}}, ""));
  credentials_.current_context = context_name_;
  Store(pair);
}

void ApiClient::Logout() {
  Context& c = Mutable();
  if (!c.refresh_token.empty()) {
    try {
      Call("POST", "/v1/sessions:signOut", {{"refresh_token", c.refresh_token}});
    } catch (const CliError&) {
      // An expired or already revoked session is over anyway; the tokens go below.
    }
  }
  Context& after = Mutable();
  after.access_token.clear();
  after.refresh_token.clear();
  after.expires_at_ms = 0;
  Save();
}

void ApiClient::Refresh() {
  Context& c = Mutable();
  if (c.refresh_token.empty()) {
    throw Failure("not logged in to context " + context_name_ + ": run cityctl login");
  }
  const Answer answer =
      Send("POST", "/v1/sessions:refresh", {{"refresh_token", c.refresh_token}}, "");
  if (answer.status == 400 || answer.status == 401 || answer.status == 403 ||
      answer.status == 404) {
    // The refresh token will never work again: forget the session.
    c.access_token.clear();
    c.refresh_token.clear();
    Save();
    throw Failure("the session of context " + context_name_ +
                  " has ended: run cityctl login again");
  }
  Store(Parse(answer));
}

json ApiClient::Call(const std::string& method, const std::string& path, const json& body) {
  if (Mutable().access_token.empty() || Mutable().expires_at_ms - now_() < kRefreshAheadMs) {
    Refresh();
  }
  Answer answer = Send(method, path, body, Mutable().access_token);
  if (answer.status == 401) {
    Refresh();
    answer = Send(method, path, body, Mutable().access_token);
  }
  return Parse(answer);
}

json ApiClient::CallAnonymous(const std::string& method, const std::string& path,
                              const json& body) {
  return Parse(Send(method, path, body, ""));
}

}  // namespace cityhub::cityctl
